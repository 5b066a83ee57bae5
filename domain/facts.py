"""A `Fact` is the plain, storage-neutral view of one recorded domain event.

The aggregate emits events; the store writes each event's fact row in the same
transaction; projections fold facts. Keeping one shape for all three means a projection
never decodes library objects and every figure can cite `event_id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from domain.dates import When


@dataclass(frozen=True)
class Fact:
    dossier_id: str
    version: int
    kind: str
    occurred_on: date
    occurred_from: date | None
    recorded_at: datetime
    recorded_by: str
    source: str
    note: str
    import_key: str | None
    data: dict[str, Any] = field(default_factory=dict)

    def __deepcopy__(self, memo: dict[int, Any]) -> Fact:
        # Immutable: copies of an aggregate (the repository's cache hands out deep copies)
        # can share it.
        return self

    @cached_property
    def event_id(self) -> str:
        return event_id_of(self.dossier_id, self.version)

    @property
    def when(self) -> When:
        return When(on=self.occurred_on, earliest=self.occurred_from)

    @cached_property
    def citation(self) -> dict[str, Any]:
        """How answers cite this fact (computed once: facts are immutable). Do not mutate."""
        w = self.when
        return {
            "on": w.on.isoformat(),
            "earliest": w.earliest.isoformat() if w.earliest else None,
            "precision": w.precision,
            "text": w.text(),
            "event_id": self.event_id,
            "source": self.source,
        }


def event_id_of(dossier_id: str, version: int) -> str:
    """Stable, readable event id: `CCM/BEN/3` is the 3rd event recorded about Benin."""
    return f"{dossier_id}/{version}"


def split_event_id(event_id: str) -> tuple[str, int]:
    from domain.errors import InvalidValueError

    dossier_id, _, version = event_id.rpartition("/")
    if not dossier_id or not version.isdigit():
        raise InvalidValueError("event_id", event_id, "an event id such as CCM/BEN/3")
    return dossier_id, int(version)
