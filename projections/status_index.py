"""The status read model: every State's facts in valid-time order, with fold checkpoints.

Question it answers fast: "the Standing of every State on D, as known at T". A naive
answer refolds the whole history; here each dossier keeps its facts sorted by
(occurred_on, version) and a `Standing` after every `CHECKPOINT_EVERY` facts, so an
as-of answer costs a bisect, a copy and a short tail fold per State.

Why this is exact, not approximate:
- checkpoints are folds of *valid-time prefixes*, never library snapshots (which replay by
  version and would be wrong for as-of answers);
- a checkpoint records the latest record time it depends on (its facts and the
  retractions of facts in its range) and is used only for `known_at` at or after it;
- a fact learned late, or retracted, drops the checkpoints it would change; they are
  rebuilt lazily by the next query that sees everything.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from domain.facts import Fact
from domain.standing import Standing

CHECKPOINT_EVERY = 64
_BEGINNING = datetime.min.replace(tzinfo=UTC)


@dataclass
class _Checkpoint:
    folded: int  # how many facts of the valid-time list it has folded
    standing: Standing
    needs_known_at: datetime  # the latest record time the fold depends on


@dataclass
class _Dossier:
    keys: list[tuple[date, int]] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    checkpoints: list[_Checkpoint] = field(default_factory=list)
    retracted_at: dict[str, datetime] = field(default_factory=dict)
    latest_record: datetime | None = None

    def add(self, fact: Fact) -> None:
        if self.latest_record is None or fact.recorded_at > self.latest_record:
            self.latest_record = fact.recorded_at
        if fact.kind == "EventRetracted":
            target = fact.data["retracted_event_id"]
            earlier = self.retracted_at.get(target)
            # the first correction counts (the domain refuses a second one; be robust anyway)
            self.retracted_at[target] = fact.recorded_at if earlier is None else min(earlier, fact.recorded_at)
            _, _, version = target.rpartition("/")
            for i, f in enumerate(self.facts):
                if f.version == int(version):
                    self._drop_checkpoints_after(i)
                    break
            return
        key = (fact.occurred_on, fact.version)
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
            self.facts.append(fact)
            return
        position = bisect_right(self.keys, key)  # learned late: insert in valid-time order
        insort(self.keys, key)
        self.facts.insert(position, fact)
        self._drop_checkpoints_after(position)

    def _drop_checkpoints_after(self, position: int) -> None:
        while self.checkpoints and self.checkpoints[-1].folded > position:
            self.checkpoints.pop()

    def known_facts(self, first: date, last: date, known_at: datetime, kinds: frozenset[str]) -> list[Fact]:
        """Facts of `kinds` that occurred between `first` and `last` (inclusive), as known at
        `known_at` (recorded by then and not retracted by then)."""
        lo = bisect_right(self.keys, (first, -1))
        hi = bisect_right(self.keys, (last, 2**62))
        out = []
        for fact in self.facts[lo:hi]:
            if fact.kind not in kinds or fact.recorded_at > known_at:
                continue
            gone = self.retracted_at.get(fact.event_id)
            if gone is None or gone > known_at:
                out.append(fact)
        return out

    def standing(self, as_of: date, known_at: datetime) -> Standing:
        end = bisect_right(self.keys, (as_of, 2**62))
        start_cp = None
        for cp in reversed(self.checkpoints):
            if cp.folded <= end and cp.needs_known_at <= known_at:
                start_cp = cp
                break
        if start_cp is None:
            standing, start, needs = Standing(), 0, _BEGINNING
        else:
            standing, start, needs = start_cp.standing.copy(), start_cp.folded, start_cp.needs_known_at
        # Only a query that sees every record of this dossier may leave checkpoints behind.
        sees_all = self.latest_record is not None and known_at >= self.latest_record
        retracted_at = self.retracted_at
        facts = self.facts
        for i in range(start, end):
            fact = facts[i]
            if fact.recorded_at > known_at:
                continue
            gone = retracted_at.get(fact.event_id)
            if gone is not None and gone <= known_at:
                needs = max(needs, gone)  # the fold now depends on knowing the retraction
            else:
                standing.add(fact)
                needs = max(needs, fact.recorded_at)
            folded = i + 1
            if sees_all and folded % CHECKPOINT_EVERY == 0 and (
                not self.checkpoints or self.checkpoints[-1].folded < folded
            ):
                self.checkpoints.append(_Checkpoint(folded, standing.copy(), needs))
        return standing


class StatusIndex:
    """All dossiers of one convention, kept current by `add` and caught up by sequence."""

    def __init__(self, convention: str) -> None:
        self.convention = convention
        self.dossiers: dict[str, _Dossier] = {}
        self.position = 0  # the highest fact sequence number folded in

    def add(self, fact: Fact) -> None:
        dossier = self.dossiers.get(fact.dossier_id)
        if dossier is None:
            dossier = self.dossiers[fact.dossier_id] = _Dossier()
        dossier.add(fact)

    def add_all(self, facts: Iterable[tuple[int, Fact]]) -> None:
        for seq, fact in facts:
            if seq > self.position:
                self.add(fact)
                self.position = seq

    def known_facts(self, first: date, last: date, known_at: datetime, kinds: frozenset[str]) -> dict[str, list[Fact]]:
        """Every dossier's facts of `kinds` between two dates, as known at a time."""
        out = {}
        for did, d in self.dossiers.items():
            facts = d.known_facts(first, last, known_at, kinds)
            if facts:
                out[did] = facts
        return out

    def standings(self, as_of: date, known_at: datetime, dossier_id: str | None = None) -> dict[str, Standing]:
        out = {}
        items = ([(dossier_id, self.dossiers[dossier_id])] if dossier_id in self.dossiers else []) \
            if dossier_id else self.dossiers.items()
        for did, dossier in items:
            standing = dossier.standing(as_of, known_at)
            if standing.registered is not None:
                out[did] = standing
        return out
