"""Reminder letters: which are due on a date, from a State's standing and the policy (data).

Pure: standings, the States' declarations and the policy in; the reminders due out. Each
reminder has a deterministic identity (State, obligation, period, stage), so that recording
it twice, from one run repeated or from two processes at once, is impossible: the event
store refuses a second aggregate with the same id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate

from domain.conventions import Convention
from domain.dates import When
from domain.dossier import LedgerEvent, Provenance, check_in, check_when, common_fields
from domain.errors import InvalidValueError, RuleViolationError
from domain.standing import Standing

_NAMESPACE = uuid.UUID("3c5e7f0a-9d1b-5b7e-8f2a-4e6d9c0b1a23")
ROLES_THAT_APPROVE = ("isu", "coordinator")


@dataclass(frozen=True)
class DueReminder:
    key: str  # e.g. CCM/BEN/initial_report/-/overdue
    dossier_id: str
    iso3: str
    state: str
    language: str
    obligation: str  # initial_report, annual_report, stockpile_deadline, clearance_deadline, commitment:<id>
    period: str  # "-", a reporting year, or a deadline
    stage: str
    signatory: str
    area: str
    article: int
    action_point: str
    due_on: date
    trigger_on: date
    days_overdue: int
    text: str = ""
    cause_event_ids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def cause(self) -> str:
        """The (State, obligation, period) whose stages follow one another."""
        return f"{self.dossier_id}/{self.obligation}/{self.period}"


def _latest_stage(stages: list[dict[str, Any]], due: date, as_of: date) -> dict[str, Any] | None:
    reached = [s for s in sorted(stages, key=lambda s: s["offset_days"])
               if due + timedelta(days=s["offset_days"]) <= as_of]
    return reached[-1] if reached else None


def due_reminders(
    policy: dict[str, Any], convention: Convention, standings: dict[str, Standing],
    declared: dict[str, set[str]], as_of: date,
) -> list[DueReminder]:
    """Every reminder due on `as_of`: for each State Party and obligation, the latest stage
    reached. `declared`: dossier id -> the declaration subjects the State has reported."""
    out: list[DueReminder] = []

    def add(d: str, s: Standing, obligation: str, period: str, section: dict[str, Any], due: date,
            causes: list[str], text: str = "") -> None:
        stage = _latest_stage(section["stages"], due, as_of)
        if stage is None:
            return
        out.append(DueReminder(
            key=f"{d}/{obligation}/{period}/{stage['id']}", dossier_id=d, iso3=s.iso3, state=s.name,
            language=s.language, obligation=obligation, period=period, stage=stage["id"],
            signatory=stage["signatory"], area=section["area"], article=int(section["article"]),
            action_point=str(section["action_point"]), due_on=due,
            trigger_on=due + timedelta(days=stage["offset_days"]), days_overdue=max(0, (as_of - due).days),
            text=text, cause_event_ids=tuple(c for c in causes if c),
        ))

    for d, s in sorted(standings.items()):
        if not s.is_party(as_of, convention):
            continue
        eif = s.entry_into_force(convention)
        assert eif is not None and s.deposit is not None  # a party has deposited
        deposit_id = s.deposit.event_id
        if s.initial_report is None:
            due = convention.initial_report_due(eif)
            missing = s.missing.get(("initial", None))
            add(d, s, "initial_report", "-", policy["initial_report"], convention.report_overdue_since(due),
                [deposit_id, missing.event_id if missing else ""])
        annual = policy["annual_report"]
        for year in range(convention.first_annual_reporting_year(eif), as_of.year):
            if year in s.annual_reports:
                continue
            missing = s.missing.get(("annual", year))
            if annual.get("only_when") == "recorded_missing" and missing is None:
                continue
            due = convention.report_overdue_since(convention.annual_report_due(year))
            add(d, s, "annual_report", str(year), annual, due, [deposit_id, missing.event_id if missing else ""])
        for article, name in ((3, "stockpile_deadline"), (4, "clearance_deadline")):
            declaration = s.declared.get(article)
            if declaration is None or article in s.completed:
                continue
            granted = s.extensions_granted.get(article)
            if granted is not None:
                deadline = date.fromisoformat(granted.data["new_deadline"])
            elif article == 3:
                deadline = convention.stockpile_deadline(eif)
            else:
                starts = declaration.data.get("obligation_starts_on")
                deadline = convention.clearance_deadline(max(date.fromisoformat(starts), eif) if starts else eif)
            add(d, s, name, deadline.isoformat(), policy[name], deadline,
                [declaration.event_id, granted.event_id if granted else ""])
        for commitment in policy.get("commitments", []):
            if int(commitment["article"]) not in s.declared:
                continue
            if commitment["met_by_declaration"] in declared.get(d, set()):
                continue
            add(d, s, f"commitment:{commitment['id']}", "-", commitment, commitment["due_on"],
                [s.declared[int(commitment["article"])].event_id], text=commitment["text"])
    return out


# ---------------------------------------------------------------------------- aggregate
def reminder_storage_id(key: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, key)


class Reminder(Aggregate):
    """One reminder letter, from draft to reply. Its id derives from its key: recorded once."""

    class Event(LedgerEvent):  # `dossier` is the reminder's readable id, REM/<key>
        pass

    class ReminderDrafted(Event, Aggregate.Created):
        key: str
        convention: str
        iso3: str
        state: str
        language: str
        obligation: str
        period: str
        stage: str
        signatory: str
        area: str
        article: int
        action_point: str
        due_on: date
        trigger_on: date
        days_overdue: int
        text: str
        cause_event_ids: list[str]
        run_as_of: date

        def apply(self, aggregate: Reminder) -> None:
            aggregate.dossier, aggregate.key, aggregate.status = self.dossier, self.key, "drafted"
            aggregate.area = self.area

    class ReminderWithdrawn(Event):
        reason: str

        def apply(self, aggregate: Reminder) -> None:
            aggregate.status = "withdrawn"

    class ReminderApproved(Event):
        role: str

        def apply(self, aggregate: Reminder) -> None:
            aggregate.status = "approved"

    class SendAttempted(Event):
        """Written before the letter is handed to the mail server: if the process stops
        before `ReminderSent`, the next delivery knows the letter may have gone."""

        message_id: str
        attempt: int

        def apply(self, aggregate: Reminder) -> None:
            aggregate.attempts = self.attempt
            aggregate.in_doubt = True
            aggregate.attempted_at = self.timestamp

    class ReminderSent(Event):
        message_id: str
        to: str
        confirmed_by: str  # "smtp" (the server accepted it) or "archive" (found after a crash)

        def apply(self, aggregate: Reminder) -> None:
            aggregate.status, aggregate.in_doubt = "sent", False
            aggregate.sent_on = (aggregate.attempted_at or self.timestamp).date()  # the day it left

    class DeliveryFailed(Event):
        message_id: str
        attempt: int
        error: str
        retry_after: datetime

        def apply(self, aggregate: Reminder) -> None:
            aggregate.in_doubt = False
            aggregate.retry_after = self.retry_after

    class ReplyReceived(Event):
        """The State answered the letter (`occurred_on` is the day the reply was received)."""

        summary: str
        reply_reference: str

        def apply(self, aggregate: Reminder) -> None:
            aggregate.status = "replied"

    def __init__(self) -> None:
        self.dossier = self.key = self.status = self.area = ""
        self.attempts = 0
        self.in_doubt = False
        self.attempted_at: datetime | None = None
        self.retry_after: datetime | None = None
        self.sent_on: date | None = None

    @property
    def message_id(self) -> str:
        """Stable for the letter: every attempt carries the same Message-ID."""
        return f"<{reminder_storage_id(self.key)}@treaty-ledger.invalid>"

    def attempt_send(self, *, prov: Provenance, now: datetime) -> None:
        if self.status != "approved":
            raise RuleViolationError("reminder", f"{self.key} is {self.status}; only an approved letter is sent")
        self.trigger_event(self.SendAttempted, timestamp=now, dossier=self.dossier,
                           **common_fields(When.exactly(now.date()), prov), message_id=self.message_id,
                           attempt=self.attempts + 1)

    def confirm_sent(self, *, to: str, confirmed_by: str, prov: Provenance, now: datetime) -> None:
        self.trigger_event(self.ReminderSent, timestamp=now, dossier=self.dossier,
                           **common_fields(When.exactly(now.date()), prov), message_id=self.message_id, to=to,
                           confirmed_by=confirmed_by)

    def resolve_in_doubt(self, *, delivered: bool, to: str, prov: Provenance, now: datetime) -> None:
        """A person checked whether a letter in doubt (handed to the server, never recorded)
        reached its addressee: record it as sent, or as failed so that the outbox sends it."""
        if not self.in_doubt:
            raise RuleViolationError("reminder", f"{self.key} is not in doubt; only a letter whose sending was "
                                     "interrupted is resolved by a person")
        if delivered:
            self.confirm_sent(to=to, confirmed_by=f"person:{prov.recorded_by}", prov=prov, now=now)
        else:
            self.fail(error=f"not delivered, as checked by {prov.recorded_by}", retry_after=now, prov=prov, now=now)

    def receive_reply(self, *, received_on: date, summary: str, reply_reference: str, prov: Provenance,
                      now: datetime) -> None:
        if self.status not in ("sent", "replied"):
            raise RuleViolationError("reminder", f"{self.key} is {self.status}; only a sent letter gets a reply")
        if received_on > now.date():
            raise InvalidValueError("received_on", received_on.isoformat(),
                                    f"a date on or before today ({now.date().isoformat()})")
        if self.sent_on is not None and received_on < self.sent_on:
            raise InvalidValueError("received_on", received_on.isoformat(),
                                    f"a date on or after the letter was sent ({self.sent_on.isoformat()})")
        if not summary.strip():
            raise InvalidValueError("summary", summary, "a few words on what the State answered")
        self.trigger_event(self.ReplyReceived, timestamp=now, dossier=self.dossier,
                           **common_fields(When.exactly(received_on), prov), summary=summary.strip(),
                           reply_reference=reply_reference.strip())

    def fail(self, *, error: str, retry_after: datetime, prov: Provenance, now: datetime) -> None:
        self.trigger_event(self.DeliveryFailed, timestamp=now, dossier=self.dossier,
                           **common_fields(When.exactly(now.date()), prov), message_id=self.message_id,
                           attempt=self.attempts, error=error[:500], retry_after=retry_after)

    @classmethod
    def draft(cls, *, due: DueReminder, convention: Convention, run_as_of: date, prov: Provenance,
              now: datetime) -> Reminder:
        when = When.exactly(now.date())
        check_when(when, now)
        return cls._create(
            cls.ReminderDrafted, id=reminder_storage_id(due.key), timestamp=now, dossier=f"REM/{due.key}",
            **common_fields(when, prov), key=due.key, convention=convention.id, iso3=due.iso3, state=due.state,
            language=due.language, obligation=due.obligation, period=due.period, stage=due.stage,
            signatory=due.signatory, area=due.area, article=due.article, action_point=due.action_point,
            due_on=due.due_on, trigger_on=due.trigger_on, days_overdue=due.days_overdue, text=due.text,
            cause_event_ids=list(due.cause_event_ids), run_as_of=run_as_of,
        )

    def withdraw(self, *, reason: str, prov: Provenance, now: datetime) -> None:
        if self.status not in ("drafted", "approved"):
            raise RuleViolationError("reminder", f"{self.key} is {self.status}; only an unsent reminder is withdrawn")
        self.trigger_event(self.ReminderWithdrawn, timestamp=now, dossier=self.dossier,
                           **common_fields(When.exactly(now.date()), prov), reason=reason)

    def approve(self, *, role: str, prov: Provenance, now: datetime) -> None:
        check_in("role", role, ROLES_THAT_APPROVE)
        if self.status != "drafted":
            raise RuleViolationError("reminder", f"{self.key} is {self.status}; only a drafted reminder is approved")
        self.trigger_event(self.ReminderApproved, timestamp=now, dossier=self.dossier,
                           **common_fields(When.exactly(now.date()), prov), role=role)
