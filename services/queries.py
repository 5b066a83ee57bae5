"""Use cases that read: status, overdue reports, timeline. Primitives in, plain data out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.conventions import load_convention
from domain.dates import utc_text
from domain.errors import EmptyLedgerError
from domain.standing import Standing
from projections.overdue_reports import overdue_reports
from projections.state_status import status_of, summarize
from projections.status_index import StatusIndex
from services.commands import Commands
from services.ledger import Ledger


class Queries:
    def __init__(self, ledger: Ledger, commands: Commands) -> None:
        self.ledger = ledger
        self.commands = commands
        self._indexes: dict[str, StatusIndex] = {}

    def status(
        self, *, as_of: date, known_at: datetime, state: str | None = None, convention: str = "CCM"
    ) -> dict[str, Any]:
        conv = load_convention(convention)
        dossier_id = self.commands.resolve_state(state, conv.id) if state else None
        standings = self.standings(conv.id, as_of, known_at, dossier_id)
        if not standings and self.ledger.is_empty():
            raise EmptyLedgerError(self.ledger.settings.location)
        statuses = [status_of(s, conv, as_of) for s in standings.values()]
        statuses.sort(key=lambda st: st["name"])
        return {
            "convention": conv.id,
            "as_of": as_of.isoformat(),
            "known_at": utc_text(known_at),
            "summary": summarize(statuses),
            "states": statuses,
        }

    def index(self, convention: str) -> StatusIndex:
        """The in-memory status index, first caught up with whatever any process committed."""
        index = self._indexes.get(convention)
        if index is None:
            index = self._indexes[convention] = StatusIndex(convention)
        index.add_all(self.ledger.facts_since(convention, index.position))
        return index

    def standings(self, convention: str, as_of: date, known_at: datetime,
                  dossier_id: str | None = None) -> dict[str, Standing]:
        """The fold of every State (or one) as of a date, as known at a time."""
        return self.index(convention).standings(as_of, known_at, dossier_id)

    def outreach_facts(self, as_of: date, known_at: datetime, convention: str = "CCM") -> dict[str, list[Any]]:
        from projections.outreach import KINDS

        return self.index(convention).known_facts(date.min, as_of, known_at, KINDS)

    def letters(self, *, as_of: date, known_at: datetime, area: str | None = None, awaiting_reply: bool = False,
                convention: str = "CCM") -> dict[str, Any]:
        from projections.outreach import letters

        names = {d: name for d, _, name, _ in self.ledger.registered_states(convention)}
        items = letters(self.outreach_facts(as_of, known_at, convention), names, area, awaiting_reply)
        return {"as_of": as_of.isoformat(), "known_at": utc_text(known_at), "letters": items}

    def meetings(self, *, as_of: date, known_at: datetime, area: str | None = None,
                 convention: str = "CCM") -> dict[str, Any]:
        from projections.outreach import meetings

        names = {d: name for d, _, name, _ in self.ledger.registered_states(convention)}
        items = meetings(self.outreach_facts(as_of, known_at, convention), names, area)
        return {"as_of": as_of.isoformat(), "known_at": utc_text(known_at), "meetings": items}

    def overdue(self, *, as_of: date, known_at: datetime, convention: str = "CCM") -> dict[str, Any]:
        st = self.status(as_of=as_of, known_at=known_at, convention=convention)
        return {"convention": st["convention"], "as_of": st["as_of"], "known_at": st["known_at"],
                **overdue_reports(st["states"])}

    def timeline(self, *, state: str, convention: str = "CCM", as_of: date | None = None,
                 known_at: datetime | None = None) -> dict[str, Any]:
        """A State's events in valid-time order; with `as_of`, only those that occurred by
        then; with `known_at`, only those recorded by then (and retractions recorded by then)."""
        dossier_id = self.commands.resolve_state(state, convention)
        rows = self.ledger.timeline(dossier_id)
        recorded = {fact.event_id: fact.recorded_at for fact, _ in rows}
        entries = []
        for fact, retracted_by in rows:
            if as_of is not None and fact.occurred_on > as_of:
                continue
            if known_at is not None and fact.recorded_at > known_at:
                continue
            if retracted_by and known_at is not None and recorded[retracted_by] > known_at:
                retracted_by = None  # the correction came later than the moment asked about
            entries.append({
                "event_id": fact.event_id,
                "kind": fact.kind,
                "occurred": fact.when.text(),
                "occurred_on": fact.occurred_on.isoformat(),
                "recorded_at": utc_text(fact.recorded_at),
                "recorded_by": fact.recorded_by,
                "source": fact.source,
                "note": fact.note,
                "data": fact.data,
                "retracted_by": retracted_by,
            })
        return {"dossier_id": dossier_id, "as_of": as_of.isoformat() if as_of else None,
                "known_at": utc_text(known_at) if known_at else None, "events": entries}
