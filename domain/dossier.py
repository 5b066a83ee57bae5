"""The `Dossier`: everything the ledger records about one State under one convention.

Layout: events, state, decisions, errors (errors live in `domain.errors`).
Every event carries when it happened in the world (`occurred_on`, with `occurred_from`
when only a range is known), when the ledger learned it (the library's `timestamp`,
always passed in by the caller: domain code reads no clock), who recorded it and the
source document. Events are never edited; `retract` records a correction.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain.conventions import Convention
from domain.dates import When
from domain.declarations import AREA_SUBJECTS, AREAS, SUBJECTS, VIA
from domain.errors import InvalidValueError, RuleViolationError
from domain.facts import Fact, event_id_of, split_event_id
from domain.outreach import AREAS as OUTREACH_AREAS
from domain.outreach import MANDATES, MEETING_KINDS, PARTNERSHIP_ROLES, PARTNERSHIP_STATUSES, SENDERS
from domain.standing import Standing

INSTRUMENTS = ("ratification", "acceptance", "approval", "accession")
REPORTS = ("initial", "annual", "voluntary")
ARTICLES_WITH_DEADLINES = (3, 4)
EXTENSION_OUTCOMES = ("withdrawn", "refused")
LANGUAGES = ("en", "fr", "es")
_COMMON = {
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_topic",
    "dossier",
    "occurred_on",
    "occurred_from",
    "recorded_by",
    "source",
    "note",
    "import_key",
}
# Facts that decisions depend on; reports and periodic updates are not kept in the
# aggregate, so that it stays small however long a State's history grows.
_DECISIVE = {
    "StateRegistered",
    "Signed",
    "InstrumentDeposited",
    "WithdrawalNotified",
    "StockpileDeclared",
    "StockpileDestructionCompleted",
    "ContaminationDeclared",
    "ClearanceCompleted",
    "VictimsDeclared",
    "ExtensionRequested",
    "ExtensionGranted",
    "ExtensionRequestClosed",
    "RetentionDeclared",
    "RetainedStockDestroyed",
}


_NAMESPACE = uuid.UUID("6f1c8f0e-4a43-5b8e-9d7c-2f6d1e0a7c11")


def dossier_id_for(convention_id: str, iso3: str) -> str:
    return f"{convention_id.upper()}/{iso3.upper()}"


def storage_id(dossier_id: str) -> uuid.UUID:
    """The event store's id for a dossier: deterministic, so registering twice conflicts."""
    return uuid.uuid5(_NAMESPACE, dossier_id)


@dataclasses.dataclass(frozen=True)
class Provenance:
    """Who records a fact, from which document, with what remark and import key."""

    recorded_by: str
    source: str
    note: str = ""
    import_key: str | None = None

    def __post_init__(self) -> None:
        if not self.recorded_by.strip():
            raise InvalidValueError("recorded_by", self.recorded_by, "the name of the actor")
        if not self.source.strip():
            raise InvalidValueError(
                "source", self.source, "the document the fact comes from, e.g. 'UNTC depositary notification'"
            )


class LedgerEvent(Aggregate.Event):
    """What every event of the ledger carries, whatever its aggregate: its readable
    aggregate id, valid time, actor, source, note and import key (record time is the
    library's `timestamp`, always passed in)."""

    dossier: str  # the readable id, e.g. CCM/BEN; the store id is uuid5 of it
    occurred_on: date
    occurred_from: date | None
    recorded_by: str
    source: str
    note: str
    import_key: str | None

    def to_fact(self) -> Fact:
        return fact_of(self)


class Dossier(Aggregate):
    # ---------------------------------------------------------------- events
    class Event(LedgerEvent):
        def apply(self, aggregate: Dossier) -> None:
            # Only decisions' inputs change the aggregate; skip building a fact otherwise.
            name = type(self).__name__
            if name in _DECISIVE or name == "EventRetracted":
                aggregate._apply_fact(self.to_fact())
            elif name == "LetterReceived":
                aggregate.letters.add(self.reference)  # type: ignore[attr-defined]

    class StateRegistered(Event, Aggregate.Created):
        convention: str
        iso3: str
        name: str
        aliases: list[str]
        language: str

    class Signed(Event):
        pass

    class InstrumentDeposited(Event):
        instrument: str

    class WithdrawalNotified(Event):
        pass

    class ReportSubmitted(Event):
        report: str
        reporting_year: int | None

    class ReportFoundMissing(Event):
        report: str
        reporting_year: int | None

    class StockpileDeclared(Event):
        detail: str

    class StockpileDestructionCompleted(Event):
        detail: str

    class RetentionDeclared(Event):
        detail: str

    class RetainedStockReported(Event):
        detail: str

    class RetainedStockDestroyed(Event):
        detail: str

    class ContaminationDeclared(Event):
        obligation_starts_on: date | None
        detail: str

    class NewContaminationReported(Event):
        detail: str

    class ClearanceCompleted(Event):
        detail: str

    class VictimsDeclared(Event):
        detail: str

    class ExtensionRequested(Event):
        article: int
        requested_deadline: date | None  # None: the sources do not state it

    class ExtensionGranted(Event):
        article: int
        new_deadline: date

    class ExtensionRequestClosed(Event):
        article: int
        outcome: str

    class DeclarationMade(Event):
        """A State declared something the action plan monitors (see domain.declarations)."""

        subject: str
        area: str | None
        reporting_year: int | None
        detail: str
        via: str

    # -- outreach: what coordinators, the President and the ISU did with this State
    class LetterReceived(Event):
        reference: str
        sender: str
        area: str
        purpose: str
        article: int | None
        action_point: str | None

    class LetterAnswered(Event):
        reference: str
        summary: str

    class MeetingAttended(Event):
        reference: str
        meeting_kind: str
        area: str
        place: str
        margins_of: str
        organisations: list[str]
        topics: str
        outcomes: str

    class DemarcheReceived(Event):
        reference: str
        sender: str
        area: str
        purpose: str

    class PartnershipChanged(Event):
        reference: str
        status: str
        role: str
        area: str

    class MandateHeld(Event):
        area: str
        mandate: str
        from_meeting: str
        to_meeting: str

    class EventRetracted(Event):
        retracted_event_id: str
        reason: str
        superseded_by: str | None

    # ---------------------------------------------------------------- state
    def __init__(self) -> None:
        self.letters: set[str] = set()  # references of letters this State received
        self.decisive: list[Fact] = []
        self.retracted: set[int] = set()
        self.retractions: set[int] = set()
        self.standing = Standing()

    def __deepcopy__(self, memo: dict[int, Any]) -> Dossier:
        # The repository's cache hands out deep copies; facts are immutable, so copying
        # the containers is enough and keeps a command's load cheap.
        clone = copy.copy(self)
        clone.decisive = list(self.decisive)
        clone.letters = set(self.letters)
        clone.retracted = set(self.retracted)
        clone.retractions = set(self.retractions)
        clone.standing = self.standing.copy()
        clone._pending_events = list(self._pending_events)
        return clone

    @property
    def dossier(self) -> str:
        return self.decisive[0].dossier_id if self.decisive else ""

    def _apply_fact(self, fact: Fact) -> None:
        if fact.kind == "EventRetracted":
            _, version = split_event_id(fact.data["retracted_event_id"])
            self.retractions.add(fact.version)
            self.retracted.add(version)
            before = len(self.decisive)
            self.decisive = [f for f in self.decisive if f.version != version]
            if len(self.decisive) != before:
                self.standing = Standing.of(self.decisive)
            return
        if fact.kind in _DECISIVE:
            late = any(f.occurred_on > fact.occurred_on for f in self.decisive)
            self.decisive.append(fact)
            if late:  # learned out of valid-time order: refold so the order holds
                self.standing = Standing.of(self.decisive)
            else:
                self.standing.add(fact)

    # ---------------------------------------------------------------- decisions
    @classmethod
    def register(
        cls,
        *,
        convention: Convention,
        iso3: str,
        name: str,
        aliases: list[str],
        language: str,
        when: When,
        prov: Provenance,
        now: datetime,
    ) -> Dossier:
        code = iso3.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise InvalidValueError("iso3", iso3, "an ISO 3166-1 alpha-3 code such as BEN")
        if not name.strip():
            raise InvalidValueError("name", name, "the State's name")
        if language not in LANGUAGES:
            raise InvalidValueError("language", language, LANGUAGES)
        check_when(when, now)
        dossier = dossier_id_for(convention.id, code)
        return cls._create(
            cls.StateRegistered,
            id=storage_id(dossier),
            timestamp=now,
            dossier=dossier,
            convention=convention.id,
            iso3=code,
            name=name.strip(),
            aliases=[a.strip() for a in aliases if a.strip()],
            language=language,
            **common_fields(when, prov),
        )

    def sign(self, *, convention: Convention, when: When, prov: Provenance, now: datetime) -> None:
        s = self.standing
        if s.signature is not None:
            raise RuleViolationError(
                "state", f"{s.name} already signed on {s.signature.when.text()} ({s.signature.event_id})"
            )
        if s.deposit is not None:
            raise RuleViolationError(
                "state", f"{s.name} has already deposited an instrument; a signature can only precede it"
            )
        self._record(self.Signed, when, prov, now)

    def deposit_instrument(
        self, *, convention: Convention, instrument: str, when: When, prov: Provenance, now: datetime
    ) -> None:
        if instrument not in INSTRUMENTS:
            raise InvalidValueError("instrument", instrument, INSTRUMENTS)
        s = self.standing
        if s.deposit is not None and s.participation(when.on, convention) != "withdrawn":
            raise RuleViolationError(
                "state",
                f"{s.name} is already a State Party (instrument deposited on "
                f"{s.deposit.when.text()}, {s.deposit.event_id}); a second deposit is not possible",
            )
        if instrument != "accession" and s.signature is None:
            raise RuleViolationError(
                "instrument",
                f"{s.name} has not signed; a State that did not sign joins by accession",
            )
        self._record(self.InstrumentDeposited, when, prov, now, instrument=instrument)

    def notify_withdrawal(
        self, *, convention: Convention, when: When, prov: Provenance, now: datetime
    ) -> None:
        s = self.standing
        if not s.is_party(when.on, convention):
            raise RuleViolationError(
                "state",
                f"{s.name} is not a State Party on {when.on.isoformat()}; only a State Party can withdraw",
            )
        if s.withdrawal is not None:
            raise RuleViolationError(
                "state", f"{s.name} already notified its withdrawal ({s.withdrawal.event_id})"
            )
        self._record(self.WithdrawalNotified, when, prov, now)

    def submit_report(self, *, convention: Convention, report: str, reporting_year: int | None,
                      when: When, prov: Provenance, now: datetime) -> None:
        self._check_report(report, reporting_year)
        self._record(self.ReportSubmitted, when, prov, now, report=report, reporting_year=reporting_year)

    def note_report_missing(self, *, convention: Convention, report: str, reporting_year: int | None,
                            when: When, prov: Provenance, now: datetime) -> None:
        """A source states that the report had not been received as at `when`."""
        self._check_report(report, reporting_year)
        self._record(self.ReportFoundMissing, when, prov, now, report=report, reporting_year=reporting_year)

    def _check_report(self, report: str, reporting_year: int | None) -> None:
        if report not in REPORTS:
            raise InvalidValueError("report", report, REPORTS)
        if report == "annual":
            # None is allowed: some updates cover a period that is not a calendar year, or
            # the sources do not say which year; the status lists them apart.
            if reporting_year is not None and not 1900 < reporting_year < 3000:
                raise InvalidValueError("reporting_year", reporting_year, "a calendar year such as 2017")
        elif reporting_year is not None and report == "initial":
            raise InvalidValueError("reporting_year", reporting_year, "empty for an initial report")
        if report != "voluntary" and self.standing.deposit is None:
            raise RuleViolationError(
                "report",
                f"{self.standing.name} has deposited no instrument; only a State Party owes "
                f"{report} reports (record a voluntary report instead)",
            )

    def declare(
        self, *, kind: str, detail: str, when: When, prov: Provenance, now: datetime,
        obligation_starts_on: date | None = None,
    ) -> None:
        """Record an Article 3, 4 or 5 fact (`kind` is the event name)."""
        spec = _OBLIGATION_EVENTS.get(kind)
        if spec is None:
            raise InvalidValueError("fact", kind, sorted(_OBLIGATION_EVENTS))
        article, needs_declaration = spec
        s = self.standing
        if s.deposit is None:
            raise RuleViolationError(
                "state", f"{s.name} has deposited no instrument; it has no treaty obligations"
            )
        if needs_declaration and not s.holds_obligation(article):
            raise RuleViolationError(
                "article",
                f"{s.name} has no Article {article} obligation recorded; record the declaration first",
            )
        extra: dict[str, Any] = {"detail": detail}
        if kind == "ContaminationDeclared":
            extra["obligation_starts_on"] = obligation_starts_on
        elif obligation_starts_on is not None:
            raise InvalidValueError("obligation_starts_on", obligation_starts_on, "empty for this fact")
        self._record(getattr(self, kind), when, prov, now, **extra)

    def make_declaration(
        self, *, subject: str, area: str | None, reporting_year: int | None, detail: str, via: str,
        when: When, prov: Provenance, now: datetime,
    ) -> None:
        if subject not in SUBJECTS:
            raise InvalidValueError("subject", subject, sorted(SUBJECTS))
        if subject in AREA_SUBJECTS:
            if area not in AREAS:
                raise InvalidValueError("area", area, AREAS)
        elif area:
            raise InvalidValueError("area", area, f"empty for {subject}")
        if via not in VIA:
            raise InvalidValueError("via", via, VIA)
        if reporting_year is not None and not 1900 < reporting_year < 3000:
            raise InvalidValueError("reporting_year", reporting_year, "a calendar year such as 2017")
        self._record(self.DeclarationMade, when, prov, now, subject=subject, area=area or None,
                     reporting_year=reporting_year, detail=detail, via=via)

    # -------------------------------------------------------------- outreach decisions
    def receive_letter(self, *, reference: str, sender: str, area: str, purpose: str, article: int | None,
                       action_point: str | None, when: When, prov: Provenance, now: datetime) -> None:
        check_reference(reference)
        check_in("sender", sender, SENDERS)
        check_in("area", area, OUTREACH_AREAS)
        if reference in self.letters:
            raise RuleViolationError("reference", f"{self.standing.name} already received letter {reference}")
        self._record(self.LetterReceived, when, prov, now, reference=reference, sender=sender, area=area,
                     purpose=purpose, article=article, action_point=action_point or None)

    def answer_letter(self, *, reference: str, summary: str, when: When, prov: Provenance, now: datetime) -> None:
        if reference not in self.letters:
            raise RuleViolationError("reference", f"{self.standing.name} received no letter {reference!r}")
        self._record(self.LetterAnswered, when, prov, now, reference=reference, summary=summary)

    def attend_meeting(self, *, reference: str, meeting_kind: str, area: str, place: str, margins_of: str,
                       organisations: list[str], topics: str, outcomes: str, when: When, prov: Provenance,
                       now: datetime) -> None:
        check_reference(reference)
        check_in("meeting_kind", meeting_kind, MEETING_KINDS)
        check_in("area", area, OUTREACH_AREAS)
        self._record(self.MeetingAttended, when, prov, now, reference=reference, meeting_kind=meeting_kind,
                     area=area, place=place, margins_of=margins_of, organisations=list(organisations),
                     topics=topics, outcomes=outcomes)

    def receive_demarche(self, *, reference: str, sender: str, area: str, purpose: str, when: When,
                         prov: Provenance, now: datetime) -> None:
        check_reference(reference)
        check_in("sender", sender, SENDERS)
        check_in("area", area, OUTREACH_AREAS)
        self._record(self.DemarcheReceived, when, prov, now, reference=reference, sender=sender, area=area,
                     purpose=purpose)

    def change_partnership(self, *, reference: str, status: str, role: str, area: str, when: When,
                           prov: Provenance, now: datetime) -> None:
        check_reference(reference)
        check_in("status", status, PARTNERSHIP_STATUSES)
        check_in("role", role, PARTNERSHIP_ROLES)
        check_in("area", area, OUTREACH_AREAS)
        self._record(self.PartnershipChanged, when, prov, now, reference=reference, status=status, role=role,
                     area=area)

    def hold_mandate(self, *, area: str, mandate: str, from_meeting: str, to_meeting: str, when: When,
                     prov: Provenance, now: datetime) -> None:
        check_in("area", area, OUTREACH_AREAS)
        check_in("mandate", mandate, MANDATES)
        self._record(self.MandateHeld, when, prov, now, area=area, mandate=mandate, from_meeting=from_meeting,
                     to_meeting=to_meeting)

    def request_extension(
        self, *, article: int, requested_deadline: date | None, when: When, prov: Provenance, now: datetime
    ) -> None:
        self._check_extension_article(article)
        self._record(
            self.ExtensionRequested, when, prov, now, article=article, requested_deadline=requested_deadline
        )

    def grant_extension(
        self, *, article: int, new_deadline: date, when: When, prov: Provenance, now: datetime
    ) -> None:
        self._check_extension_article(article)
        self._record(self.ExtensionGranted, when, prov, now, article=article, new_deadline=new_deadline)

    def close_extension_request(
        self, *, article: int, outcome: str, when: When, prov: Provenance, now: datetime
    ) -> None:
        self._check_extension_article(article)
        if outcome not in EXTENSION_OUTCOMES:
            raise InvalidValueError("outcome", outcome, EXTENSION_OUTCOMES)
        if article not in self.standing.extension_requests:
            raise RuleViolationError(
                "article", f"{self.standing.name} has no Article {article} extension request to close"
            )
        self._record(self.ExtensionRequestClosed, when, prov, now, article=article, outcome=outcome)

    def _check_extension_article(self, article: int) -> None:
        if article not in ARTICLES_WITH_DEADLINES:
            raise InvalidValueError("article", article, "3 or 4 (the articles with deadlines)")
        s = self.standing
        if not s.holds_obligation(article):
            raise RuleViolationError(
                "article",
                f"{s.name} has no Article {article} obligation recorded, so there is no deadline to extend",
            )
        if article in s.completed:
            raise RuleViolationError(
                "article",
                f"{s.name} completed its Article {article} obligation on "
                f"{s.completed[article].when.text()}; there is no deadline left to extend",
            )

    def retract(
        self, *, event_id: str, reason: str, superseded_by: str | None, when: When,
        prov: Provenance, now: datetime, _replacement: str | None = None,
    ) -> None:
        dossier_id, version = split_event_id(event_id)
        if dossier_id != self.dossier or not 1 <= version <= self.version:
            raise RuleViolationError(
                "event_id",
                f"{event_id} is not an event of {self.dossier} (its events are "
                f"{self.dossier}/1..{self.dossier}/{self.version})",
            )
        if version == 1:
            raise RuleViolationError("event_id", "a State's registration cannot be retracted")
        if version in self.retracted:
            raise RuleViolationError("event_id", f"{event_id} is already retracted")
        if version in self.retractions:
            raise RuleViolationError(
                "event_id", f"{event_id} is itself a correction; record a new fact instead of retracting it"
            )
        if not reason.strip():
            raise InvalidValueError("reason", reason, "why the event is wrong")
        if superseded_by is not None:
            sup_dossier, sup_version = split_event_id(superseded_by)
            if sup_dossier != self.dossier or not 1 <= sup_version <= self.version or sup_version == version:
                raise RuleViolationError(
                    "superseded_by", f"{superseded_by} is not another event of {self.dossier}"
                )
        self._record(
            self.EventRetracted, when, prov, now,
            retracted_event_id=event_id, reason=reason.strip(), superseded_by=superseded_by or _replacement,
        )

    def supersede(
        self, *, event_id: str, reason: str, replacement: Callable[[Dossier], None], when: When,
        prov: Provenance, now: datetime,
    ) -> None:
        """Retract `event_id` and record its replacement in the same command, so that no
        record time sees both or neither. `replacement` is the decision that records the new
        fact (exactly one event); it runs after the retraction, so a corrected deposit date,
        for example, is not refused as a second deposit."""
        replacement_id = event_id_of(self.dossier, self.version + 2)
        self.retract(event_id=event_id, reason=reason, superseded_by=None, when=when, prov=prov, now=now,
                     _replacement=replacement_id)
        before = self.version
        replacement(self)
        if self.version != before + 1:
            raise RuleViolationError("replacement", "a supersession must record exactly one new fact")

    def last_event_id(self) -> str:
        return event_id_of(self.dossier, self.version)

    def _record(self, event_class: type[Any], when: When, prov: Provenance, now: datetime, **data: Any) -> None:
        check_when(when, now)
        self.trigger_event(event_class, timestamp=now, dossier=self.dossier, **common_fields(when, prov), **data)


# kind -> (article, requires an existing declaration of that article)
_OBLIGATION_EVENTS: dict[str, tuple[int, bool]] = {
    "StockpileDeclared": (3, False),
    "StockpileDestructionCompleted": (3, True),
    "RetentionDeclared": (3, False),
    "RetainedStockReported": (3, False),
    "RetainedStockDestroyed": (3, False),
    "ContaminationDeclared": (4, False),
    "NewContaminationReported": (4, True),
    "ClearanceCompleted": (4, True),
    "VictimsDeclared": (5, False),
}
OBLIGATION_FACTS = tuple(_OBLIGATION_EVENTS)


def fact_of(event: Any) -> Fact:
    """The fact row of a ledger event (any aggregate's). Fact data is JSON-shaped (dates as
    ISO text) whether it comes from an event or from the store, so a projection never sees
    two types for one field."""
    data = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in event.__dict__.items() if k not in _COMMON}
    return Fact(
        dossier_id=event.dossier,
        version=event.originator_version,
        kind=type(event).__name__,
        occurred_on=event.occurred_on,
        occurred_from=event.occurred_from,
        recorded_at=event.timestamp,
        recorded_by=event.recorded_by,
        source=event.source,
        note=event.note,
        import_key=event.import_key,
        data=data,
    )


def check_in(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidValueError(field, value, allowed)


def check_reference(reference: str) -> None:
    if not reference.strip() or len(reference) > 120:
        raise InvalidValueError("reference", reference, "a short identifier shared by all parts of one item")


def common_fields(when: When, prov: Provenance) -> dict[str, Any]:
    return {
        "occurred_on": when.on,
        "occurred_from": when.earliest,
        "recorded_by": prov.recorded_by,
        "source": prov.source,
        "note": prov.note,
        "import_key": prov.import_key,
    }


def check_when(when: When, now: datetime) -> None:
    if when.earliest is not None and when.earliest > when.on:
        raise InvalidValueError(
            "occurred_from", when.earliest.isoformat(), f"a date on or before occurred_on ({when.on.isoformat()})"
        )
    if when.on > now.date():
        raise InvalidValueError(
            "occurred_on",
            when.on.isoformat(),
            f"a date on or before today ({now.date().isoformat()}); the ledger records what has happened",
        )
