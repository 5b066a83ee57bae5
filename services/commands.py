"""Use cases that change the ledger: load the dossier, decide, save. Primitives in and out.

Every command takes `now` (the record time) from its caller; the entry points read the
clock, the domain never does. A version conflict (another writer saved the same dossier
first) is retried on fresh state; an import key already recorded returns the first event.
"""

from __future__ import annotations

import difflib
import threading
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.conventions import Convention, load_convention
from domain.dates import When, parse_date
from domain.dossier import OBLIGATION_FACTS, Dossier, Provenance, storage_id
from domain.errors import (
    AlreadyRegisteredError,
    ConcurrencyConflictError,
    InvalidValueError,
    UnknownStateError,
)
from domain.meeting import Meeting
from services.ledger import Ledger

MAX_ATTEMPTS = 50


def _back_off(attempt: int) -> None:
    """Jittered pause before retrying a version conflict, so contending writers spread out."""
    import random
    import time

    time.sleep(random.uniform(0, 0.002 * min(attempt, 10)))

# snake_case fact name (CLI, data files, API) -> aggregate event class name
_OBLIGATIONS = {
    "stockpile_declared": "StockpileDeclared",
    "stockpile_destruction_completed": "StockpileDestructionCompleted",
    "retention_declared": "RetentionDeclared",
    "retained_stock_reported": "RetainedStockReported",
    "retained_stock_destroyed": "RetainedStockDestroyed",
    "contamination_declared": "ContaminationDeclared",
    "new_contamination_reported": "NewContaminationReported",
    "clearance_completed": "ClearanceCompleted",
    "victims_declared": "VictimsDeclared",
}
assert set(_OBLIGATIONS.values()) == set(OBLIGATION_FACTS)
FACTS = (
    "signed", "instrument_deposited", "withdrawal_notified", "report_submitted",
    "report_missing", *_OBLIGATIONS, "extension_requested", "extension_granted",
    "extension_request_closed", "declaration",
)


def fold_name(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key for matching State names."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in plain.casefold() if c.isalnum())


def when_from(occurred_on: str | date, occurred_from: str | date | None = None) -> When:
    on = occurred_on if isinstance(occurred_on, date) else parse_date(occurred_on, "occurred_on")
    if occurred_from is None or occurred_from == "":
        return When.exactly(on)
    if occurred_from == "unknown":
        return When.by(on)
    start = occurred_from if isinstance(occurred_from, date) else parse_date(occurred_from, "occurred_from")
    return When(on=on, earliest=start)


class Commands:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._names: dict[str, dict[str, str]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # ------------------------------------------------------------------ lookup
    def resolve_state(self, query: str, convention: str = "CCM") -> str:
        """Dossier id for an ISO3 code, a name or an alias; suggests close names if none."""
        index = self._name_index(convention)
        key = fold_name(query)
        if key in index:
            return index[key]
        self._names.pop(convention, None)  # maybe registered since: look again once
        index = self._name_index(convention)
        if key in index:
            return index[key]
        names = sorted({n for n in index_names(self.ledger, convention)})
        close = difflib.get_close_matches(query, names, n=3, cutoff=0.6)
        if not close:
            folded = {fold_name(n): n for n in names}
            close = [folded[k] for k in difflib.get_close_matches(key, list(folded), n=3, cutoff=0.6)]
        raise UnknownStateError(query, close)

    def _name_index(self, convention: str) -> dict[str, str]:
        if convention not in self._names:
            index: dict[str, str] = {}
            for dossier_id, iso3, name, aliases in self.ledger.registered_states(convention):
                for label in (iso3, name, *aliases):
                    index[fold_name(label)] = dossier_id
            self._names[convention] = index
        return self._names[convention]

    # ------------------------------------------------------------------ commands
    def register_state(
        self, *, iso3: str, name: str, aliases: list[str] | None = None, language: str = "en",
        occurred_on: str | date, source: str, actor: str, now: datetime,
        convention: str = "CCM", note: str = "", import_key: str | None = None,
    ) -> str:
        conv = load_convention(convention)
        prov = Provenance(recorded_by=actor, source=source, note=note, import_key=import_key)
        dossier = Dossier.register(
            convention=conv, iso3=iso3, name=name, aliases=aliases or [], language=language,
            when=when_from(occurred_on), prov=prov, now=now,
        )
        try:
            self.ledger.save(dossier)
        except IntegrityError:
            if import_key and import_key in self.ledger.existing_import_keys(conv.id):
                return dossier.last_event_id()
            raise AlreadyRegisteredError(dossier.dossier) from None
        self._names.pop(conv.id, None)
        return dossier.last_event_id()

    def record(
        self, *, state: str, fact: str, occurred_on: str | date, source: str, actor: str,
        now: datetime, occurred_from: str | date | None = None, note: str = "",
        import_key: str | None = None, convention: str = "CCM", **fields: Any,
    ) -> str:
        """Record one treaty fact about a State; returns the new event's id."""
        if fact not in FACTS:
            raise InvalidValueError("fact", fact, FACTS)
        conv = load_convention(convention)
        dossier_id = self.resolve_state(state, conv.id)
        when = when_from(occurred_on, occurred_from)
        prov = Provenance(recorded_by=actor, source=source, note=note, import_key=import_key)
        decide = _decision(fact, conv, when, prov, now, fields)
        return self._change(dossier_id, decide, import_key)

    def record_batch(self, dossier_id: str, items: list[dict[str, Any]], *, actor: str, now: datetime,
                     convention: str = "CCM", registration: dict[str, Any] | None = None) -> list[str]:
        """Record several facts about one State in one transaction (all or nothing).

        Each item holds the keyword arguments of `record` except state/actor/now. With
        `registration` (the arguments of `register_state`), a State not yet registered is
        registered in the same transaction. Used by bulk imports: one load, one save."""
        conv = load_convention(convention)
        decisions = []
        for item in items:
            item = dict(item)
            fact = item.pop("fact")
            when = when_from(item.pop("occurred_on"), item.pop("occurred_from", None))
            prov = Provenance(recorded_by=actor, source=item.pop("source"), note=item.pop("note", ""),
                              import_key=item.pop("import_key", None))
            if fact.startswith("outreach:"):  # "outreach:letter", "outreach:meeting", ...
                kind, reference = fact.removeprefix("outreach:"), item.pop("reference")
                if kind not in OUTREACH_KINDS:
                    raise InvalidValueError("kind", kind, OUTREACH_KINDS)
                decisions.append(lambda d, k=kind, r=reference, w=when, p=prov, f=item:
                                 _outreach_decision(k, d, r, w, p, now, f))
                continue
            if fact not in FACTS:
                raise InvalidValueError("fact", fact, FACTS)
            decisions.append(_decision(fact, conv, when, prov, now, item))

        def decide_all(d: Dossier) -> None:
            for decide in decisions:
                decide(d)

        for attempt in range(MAX_ATTEMPTS):
            dossier = self._get_or_register(dossier_id, conv, registration, actor, now)
            first = 1 if dossier.version == len(dossier.pending_events) else dossier.version + 1
            decide_all(dossier)
            try:
                self.ledger.save(dossier)
                return [f"{dossier_id}/{v}" for v in range(first, dossier.version + 1)]
            except IntegrityError:
                self.ledger.forget(storage_id(dossier_id))
                _back_off(attempt)
        raise ConcurrencyConflictError(dossier_id, MAX_ATTEMPTS)

    def _get_or_register(self, dossier_id: str, conv: Convention, registration: dict[str, Any] | None,
                         actor: str, now: datetime) -> Dossier:
        try:
            return self.ledger.repository.get(storage_id(dossier_id))
        except AggregateNotFoundError:
            if registration is None:
                raise UnknownStateError(dossier_id.partition("/")[2]) from None
        reg = dict(registration)
        prov = Provenance(recorded_by=actor, source=reg.pop("source"), note=reg.pop("note", ""),
                          import_key=reg.pop("import_key", None))
        self._names.pop(conv.id, None)
        return Dossier.register(
            convention=conv, iso3=reg["iso3"], name=reg["name"], aliases=reg.get("aliases", []),
            language=reg.get("language", "en"), when=when_from(reg["occurred_on"]), prov=prov, now=now,
        )

    def retract(
        self, *, event_id: str, reason: str, actor: str, now: datetime, source: str,
        superseded_by: str | None = None, import_key: str | None = None,
    ) -> str:
        """Record a correction: the event is retracted from `now` on (record time)."""
        from domain.facts import split_event_id

        dossier_id, _ = split_event_id(event_id)
        prov = Provenance(recorded_by=actor, source=source, import_key=import_key)

        def decide(d: Dossier) -> None:
            d.retract(event_id=event_id, reason=reason, superseded_by=superseded_by,
                      when=When.exactly(now.date()), prov=prov, now=now)

        return self._change(dossier_id, decide, import_key)

    def supersede(
        self, *, event_id: str, reason: str, fact: str, occurred_on: str | date, source: str, actor: str,
        now: datetime, occurred_from: str | date | None = None, note: str = "", **fields: Any,
    ) -> str:
        """Replace an event by a corrected fact in one transaction; returns the new fact's id."""
        from domain.facts import split_event_id

        dossier_id, _ = split_event_id(event_id)
        if fact not in FACTS:
            raise InvalidValueError("fact", fact, FACTS)
        conv = load_convention(dossier_id.partition("/")[0])
        prov = Provenance(recorded_by=actor, source=source, note=note)
        replacement = _decision(fact, conv, when_from(occurred_on, occurred_from), prov, now, fields)

        def decide(d: Dossier) -> None:
            d.supersede(event_id=event_id, reason=reason, replacement=replacement,
                        when=When.exactly(now.date()), prov=prov, now=now)

        return self._change(dossier_id, decide, None)

    def outreach(
        self, *, kind: str, states: list[str], reference: str, occurred_on: str | date, source: str, actor: str,
        now: datetime, occurred_from: str | date | None = None, note: str = "", import_key: str | None = None,
        convention: str = "CCM", **fields: Any,
    ) -> list[str]:
        """Record one outreach item (a letter to several States, a meeting, ...) on every
        State it concerns, in one transaction; returns the new event ids."""
        if kind not in OUTREACH_KINDS:
            raise InvalidValueError("kind", kind, OUTREACH_KINDS)
        if not states and kind != "meeting":
            raise InvalidValueError("states", states, "at least one State (a meeting may name none)")
        if kind == "reply" and len(states) != 1:
            raise InvalidValueError("states", states, "exactly one State: the one that replied")
        conv = load_convention(convention)
        dossier_ids = [self.resolve_state(state, conv.id) for state in states]
        if len(set(dossier_ids)) != len(dossier_ids):
            raise InvalidValueError("states", states, "each State once")
        when = when_from(occurred_on, occurred_from)

        def decide(d: Dossier) -> None:
            prov = Provenance(recorded_by=actor, source=source, note=note,
                              import_key=f"{import_key}/{d.dossier}" if import_key else None)
            _outreach_decision(kind, d, reference, when, prov, now, fields)

        locks = [self._lock(d) for d in sorted(dossier_ids)]  # a fixed order: no deadlock
        for lock in locks:
            lock.acquire()
        try:
            for attempt in range(MAX_ATTEMPTS):
                meeting = None
                if kind == "meeting":  # the meeting itself, once, beside each participant's attendance
                    meeting = self._meeting(conv, reference, when, source, note, actor, now, import_key, fields)
                dossiers = [self.ledger.repository.get(storage_id(d)) for d in dossier_ids]
                for dossier in dossiers:
                    decide(dossier)
                try:
                    self.ledger.save(*dossiers, *([meeting] if meeting is not None else []))
                    return [d.last_event_id() for d in dossiers] + ([f"{meeting.dossier}/1"] if meeting else [])
                except IntegrityError:
                    if import_key:  # a retry of a command already recorded: answer as the first time
                        recorded = [self._recorded(d, f"{import_key}/{d}") for d in dossier_ids]
                        if all(recorded):
                            return [r for r in recorded if r]
                    for d in dossier_ids:
                        self.ledger.forget(storage_id(d))
                    _back_off(attempt)
            raise ConcurrencyConflictError(",".join(dossier_ids), MAX_ATTEMPTS)
        finally:
            for lock in reversed(locks):
                lock.release()

    def _meeting(self, conv: Convention, reference: str, when: When, source: str, note: str, actor: str,
                 now: datetime, import_key: str | None, fields: dict[str, Any]) -> Meeting | None:
        """A new Meeting aggregate, or None if the meeting is already recorded (more
        participants are being added to it)."""
        from domain.meeting import meeting_id_for, meeting_storage_id

        try:
            self.ledger.repository.get(meeting_storage_id(meeting_id_for(conv.id, reference)))
            return None
        except AggregateNotFoundError:
            pass
        organisations = fields.get("organisations") or []
        if isinstance(organisations, str):
            organisations = [o.strip() for o in organisations.split(";") if o.strip()]
        text = lambda key: str(fields.get(key) or "")  # noqa: E731 - a local shorthand
        return Meeting.hold(
            convention=conv, reference=reference, meeting_kind=text("meeting_kind"), area=text("area"),
            place=text("place"), margins_of=text("margins_of"), organisations=organisations, topics=text("topics"),
            outcomes=text("outcomes"), unnamed_participants=text("unnamed_participants"), when=when,
            prov=Provenance(recorded_by=actor, source=source, note=note,
                            import_key=f"{import_key}/meeting" if import_key else None),
            now=now)

    def outreach_area(self, *, kind: str, states: list[str], reference: str, fields: dict[str, Any],
                      convention: str = "CCM") -> str | None:
        """The thematic area an outreach command belongs to (a reply: its letter's)."""
        if kind != "reply":
            area = fields.get("area")
            return area if isinstance(area, str) else None
        if len(states) != 1:
            return None  # the command itself will be refused, naming the field
        dossier_id = self.resolve_state(states[0], convention)
        for fact, _ in self.ledger.timeline(dossier_id):
            if fact.kind == "LetterReceived" and fact.data["reference"] == reference:
                return str(fact.data["area"])
        return None

    def _lock(self, dossier_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(dossier_id, threading.Lock())

    def _change(self, dossier_id: str, decide: Callable[[Dossier], None], import_key: str | None) -> str:
        # Writers in this process queue per State instead of racing; writers elsewhere are
        # still caught by the store's version uniqueness and retried below.
        with self._lock(dossier_id):
            return self._change_unlocked(dossier_id, decide, import_key)

    def _change_unlocked(self, dossier_id: str, decide: Callable[[Dossier], None], import_key: str | None) -> str:
        last_error: Exception | None = None
        for attempt in range(MAX_ATTEMPTS):
            try:
                dossier: Dossier = self.ledger.repository.get(storage_id(dossier_id))
            except AggregateNotFoundError:
                raise UnknownStateError(dossier_id.partition("/")[2]) from None
            decide(dossier)
            event_id = dossier.last_event_id()  # decide() has appended it
            try:
                self.ledger.save(dossier)
                return event_id
            except IntegrityError as e:
                if import_key and import_key in self.ledger.existing_import_keys(dossier_id.partition("/")[0]):
                    return self._event_with_import_key(dossier_id, import_key)
                last_error = e  # a concurrent writer won this version: decide again on fresh state
                self.ledger.forget(storage_id(dossier_id))
                _back_off(attempt)
        raise ConcurrencyConflictError(dossier_id, MAX_ATTEMPTS) from last_error

    def _recorded(self, dossier_id: str, import_key: str) -> str | None:
        """The id of the event recorded with this import key, if any."""
        rows = self.ledger.query(
            "SELECT event_id FROM ledger_facts WHERE dossier_id = ? AND import_key = ?",
            [dossier_id, import_key],
        )
        return str(rows[0][0]) if rows else None

    def _event_with_import_key(self, dossier_id: str, import_key: str) -> str:
        return self._recorded(dossier_id, import_key) or dossier_id


OUTREACH_KINDS = ("letter", "reply", "meeting", "demarche", "partnership", "mandate")


def _outreach_decision(kind: str, d: Dossier, reference: str, when: When, prov: Provenance, now: datetime,
                       f: dict[str, Any]) -> None:
    common = {"when": when, "prov": prov, "now": now}
    text = lambda key: str(f.get(key) or "")  # noqa: E731 - a local shorthand
    if kind == "letter":
        article = _int_field(f, "article") if f.get("article") not in (None, "") else None
        d.receive_letter(reference=reference, sender=text("sender") or "coordinators", area=text("area"),
                         purpose=text("purpose"), article=article, action_point=text("action_point") or None,
                         **common)
    elif kind == "reply":
        d.answer_letter(reference=reference, summary=text("summary"), **common)
    elif kind == "meeting":
        organisations = f.get("organisations") or []
        if isinstance(organisations, str):
            organisations = [o.strip() for o in organisations.split(";") if o.strip()]
        d.attend_meeting(reference=reference, meeting_kind=text("meeting_kind"), area=text("area"),
                         place=text("place"), margins_of=text("margins_of"), organisations=organisations,
                         topics=text("topics"), outcomes=text("outcomes"), **common)
    elif kind == "demarche":
        d.receive_demarche(reference=reference, sender=text("sender") or "coordinators", area=text("area"),
                           purpose=text("purpose"), **common)
    elif kind == "partnership":
        d.change_partnership(reference=reference, status=text("status"), role=text("role"), area=text("area"),
                             **common)
    else:
        d.hold_mandate(area=text("area"), mandate=text("mandate") or "coordinator",
                       from_meeting=text("from_meeting"), to_meeting=text("to_meeting"), **common)


def index_names(ledger: Ledger, convention: str) -> list[str]:
    return [name for _, _, name, _ in ledger.registered_states(convention)]


def _int_field(fields: dict[str, Any], name: str) -> int:
    value = fields.get(name)
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidValueError(name, value, "a whole number") from None


def _date_field(fields: dict[str, Any], name: str) -> date:
    value = fields.get(name)
    if isinstance(value, date):
        return value
    if not value:
        raise InvalidValueError(name, value, "a date YYYY-MM-DD")
    return parse_date(str(value), name)


def _decision(
    fact: str, conv: Convention, when: When, prov: Provenance, now: datetime, fields: dict[str, Any]
) -> Callable[[Dossier], None]:
    common = {"when": when, "prov": prov, "now": now}
    if fact == "signed":
        return lambda d: d.sign(convention=conv, **common)
    if fact == "instrument_deposited":
        return lambda d: d.deposit_instrument(
            convention=conv, instrument=str(fields.get("instrument", "")), **common)
    if fact == "withdrawal_notified":
        return lambda d: d.notify_withdrawal(convention=conv, **common)
    if fact in ("report_submitted", "report_missing"):
        report = str(fields.get("report", ""))
        year_raw = fields.get("reporting_year")
        year = _int_field(fields, "reporting_year") if year_raw not in (None, "") else None
        method = "submit_report" if fact == "report_submitted" else "note_report_missing"
        return lambda d: getattr(d, method)(convention=conv, report=report, reporting_year=year, **common)
    if fact in _OBLIGATIONS:
        starts_raw = fields.get("obligation_starts_on")
        starts = _date_field(fields, "obligation_starts_on") if starts_raw else None
        return lambda d: d.declare(kind=_OBLIGATIONS[fact], detail=str(fields.get("detail") or ""),
                                   obligation_starts_on=starts, **common)
    if fact == "declaration":
        year_raw = fields.get("reporting_year")
        year = _int_field(fields, "reporting_year") if year_raw not in (None, "") else None
        return lambda d: d.make_declaration(
            subject=str(fields.get("subject", "")), area=str(fields.get("area") or "") or None, reporting_year=year,
            detail=str(fields.get("detail") or ""), via=str(fields.get("via") or "unspecified"), **common)
    article = _int_field(fields, "article")
    if fact == "extension_requested":
        requested = _date_field(fields, "requested_deadline") if fields.get("requested_deadline") else None
        return lambda d: d.request_extension(article=article, requested_deadline=requested, **common)
    if fact == "extension_granted":
        deadline = _date_field(fields, "new_deadline")
        return lambda d: d.grant_extension(article=article, new_deadline=deadline, **common)
    outcome = str(fields.get("outcome", ""))
    return lambda d: d.close_extension_request(article=article, outcome=outcome, **common)
