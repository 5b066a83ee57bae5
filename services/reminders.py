"""Use cases for reminder letters: find what is due, draft each letter once, withdraw what
lost its cause, approve, render. The run reads the status projection as known now; its
identity rule (State, obligation, period, stage) and the store's uniqueness make repeating a
run, or running it in two processes at once, record each reminder exactly once."""

from __future__ import annotations

import csv
import json
import tomllib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.conventions import load_convention
from domain.dates import parse_timestamp
from domain.dossier import Provenance
from domain.errors import InvalidValueError
from domain.reminders import DueReminder, Reminder, due_reminders, reminder_storage_id
from services.ledger import Ledger
from services.queries import Queries

POLICY_DIR = Path(__file__).resolve().parents[1] / "data" / "reminders"
_ROW = "dossier_id, kind, data, recorded_at, recorded_by, occurred_on"
STATUSES = ("drafted", "approved", "sent", "replied", "withdrawn")
NAMES = Path(__file__).resolve().parents[1] / "data" / "state-names.csv"


@cache
def load_policy(convention: str) -> dict[str, Any]:
    """The convention's reminder policy, read once per process (like the convention itself).
    Shared: do not mutate."""
    path = POLICY_DIR / f"{convention.lower()}.toml"
    if not path.exists():
        raise InvalidValueError("convention", convention, "a convention with a reminder policy in data/reminders")
    return tomllib.loads(path.read_text(encoding="utf-8"))


class Reminders:
    def __init__(self, ledger: Ledger, queries: Queries) -> None:
        self.ledger = ledger
        self.queries = queries

    def due(self, *, as_of: date, known_at: datetime, convention: str = "CCM") -> list[DueReminder]:
        conv = load_convention(convention)
        index = self.queries.index(conv.id)
        standings = index.standings(as_of, known_at)
        declarations = index.known_facts(date.min, as_of, known_at, frozenset({"DeclarationMade"}))
        declared = {d: {f.data["subject"] for f in facts} for d, facts in declarations.items()}
        return due_reminders(load_policy(conv.id), conv, standings, declared, as_of)

    def run(self, *, as_of: date, now: datetime, actor: str, dry_run: bool = False,
            convention: str = "CCM") -> dict[str, Any]:
        """Draft every reminder due on `as_of` that is not yet recorded; withdraw unsent ones
        whose cause went away or that a later stage superseded."""
        conv = load_convention(convention)
        due = self.due(as_of=as_of, known_at=now, convention=conv.id)
        existing = {r["key"]: r for r in self.list()}
        drafted, already, withdrawn = [], [], []
        for reminder in due:
            if reminder.key in existing:
                already.append(reminder.key)
                continue
            if dry_run:
                drafted.append(reminder.key)
                continue
            prov = Provenance(recorded_by=actor, source=f"reminder run as of {as_of.isoformat()}")
            try:
                self.ledger.save(Reminder.draft(due=reminder, convention=conv, run_as_of=as_of, prov=prov, now=now))
                drafted.append(reminder.key)
            except IntegrityError:  # another run recorded it first: exactly once
                already.append(reminder.key)
        due_by_cause = {r.cause: r for r in due}
        for key, r in existing.items():
            if r["status"] not in ("drafted", "approved") or key in {d.key for d in due}:
                continue
            cause = key.rsplit("/", 1)[0]
            later = due_by_cause.get(cause)
            if later is not None and r["status"] == "approved":
                continue  # a person approved it for sending: a later stage does not undo that
            reason = (f"superseded by stage {later.stage}" if later is not None else
                      f"no longer due as of {as_of.isoformat()}: the report arrived or the obligation was met")
            if not dry_run:
                aggregate: Reminder = self.ledger.repository.get(reminder_storage_id(key))
                aggregate.withdraw(reason=reason, prov=Provenance(recorded_by=actor, source="reminder run"), now=now)
                self.ledger.save(aggregate)
            withdrawn.append({"key": key, "reason": reason})
        return {"as_of": as_of.isoformat(), "dry_run": dry_run, "due": [self.describe(r) for r in due],
                "drafted": drafted, "already_recorded": already, "withdrawn": withdrawn}

    @staticmethod
    def describe(r: DueReminder) -> dict[str, Any]:
        return {"key": r.key, "state": r.state, "iso3": r.iso3, "language": r.language, "obligation": r.obligation,
                "period": r.period, "stage": r.stage, "signatory": r.signatory, "area": r.area,
                "article": r.article, "action_point": r.action_point, "due_on": r.due_on.isoformat(),
                "days_overdue": r.days_overdue, "cause_event_ids": list(r.cause_event_ids)}

    def list(self, status: str | None = None) -> list[dict[str, Any]]:  # noqa: A003
        """Every recorded reminder with its current status, from the fact rows."""
        if status is not None and status not in STATUSES:
            raise InvalidValueError("status", status, STATUSES)
        out = sorted(self._fold(self.ledger.query(
            f"SELECT {_ROW} FROM ledger_facts WHERE convention = 'REM' ORDER BY dossier_id, version")).values(),
            key=lambda r: r["key"])
        return [r for r in out if status is None or r["status"] == status]

    def get(self, key: str) -> dict[str, Any]:
        """One reminder, from its own fact rows (the facts' (dossier_id, version) index)."""
        found = self._fold(self.ledger.query(
            f"SELECT {_ROW} FROM ledger_facts WHERE dossier_id = ? ORDER BY version", [f"REM/{key}"]))
        if not found:
            raise InvalidValueError("reminder", key, "the key of a recorded reminder (see `treaty reminders list`)")
        return next(iter(found.values()))

    @staticmethod
    def _fold(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
        """Reminders with their current status and history fields, from their fact rows."""
        reminders: dict[str, dict[str, Any]] = {}
        for dossier_id, kind, data, recorded_at, recorded_by, occurred_on in rows:
            fields = json.loads(data)
            if kind == "ReminderDrafted":
                reminders[dossier_id] = {**fields, "status": "drafted", "drafted_at": recorded_at,
                                         "drafted_by": recorded_by}
            elif dossier_id in reminders:
                r = reminders[dossier_id]
                if kind == "ReminderWithdrawn":
                    r.update(status="withdrawn", withdrawn_reason=fields["reason"], withdrawn_at=recorded_at)
                elif kind == "ReminderApproved":
                    r.update(status="approved", approved_by=recorded_by, approved_at=recorded_at)
                elif kind == "SendAttempted":
                    r.update(attempts=fields["attempt"], message_id=fields["message_id"])
                elif kind == "DeliveryFailed":
                    r.update(last_error=fields["error"], retry_after=fields["retry_after"])
                elif kind == "ReminderSent":
                    r.update(status="sent", sent_at=recorded_at, sent_to=fields["to"],
                             confirmed_by=fields["confirmed_by"])
                elif kind == "ReplyReceived":
                    r.setdefault("replies", []).append(
                        {"received_on": occurred_on, "summary": fields["summary"],
                         "reply_reference": fields["reply_reference"], "recorded_by": recorded_by,
                         "recorded_at": recorded_at})
                    r.update(status="replied")
        return reminders

    def approve(self, *, key: str, role: str, actor: str, now: datetime) -> dict[str, Any]:
        aggregate = self._aggregate(key)
        aggregate.approve(role=role, prov=Provenance(recorded_by=actor, source="review"), now=now)
        self.ledger.save(aggregate)
        return self.get(key)

    def reply(self, *, key: str, received_on: date, summary: str, reply_reference: str, actor: str,
              now: datetime) -> dict[str, Any]:
        """The State's answer to a sent letter."""
        aggregate = self._aggregate(key)
        aggregate.receive_reply(received_on=received_on, summary=summary, reply_reference=reply_reference,
                                prov=Provenance(recorded_by=actor, source=reply_reference or "reply to the letter"),
                                now=now)
        self.ledger.save(aggregate)
        return self.get(key)

    def _aggregate(self, key: str) -> Reminder:
        try:
            return self.ledger.repository.get(reminder_storage_id(key))
        except AggregateNotFoundError:
            raise InvalidValueError("reminder", key, "the key of a recorded reminder") from None

    def audit(self, key: str) -> dict[str, Any]:
        """A letter explained end to end: the rule and stage, the status that triggered it as
        known at the run, the run that drafted it, who approved or withdrew it."""
        reminder = self.get(key)
        policy = load_policy(reminder["convention"])
        section = (next(c for c in policy.get("commitments", []) if f"commitment:{c['id']}" == reminder["obligation"])
                   if reminder["obligation"].startswith("commitment:") else policy[reminder["obligation"]])
        stage = next(st for st in section["stages"] if st["id"] == reminder["stage"])
        run_as_of = date.fromisoformat(reminder["run_as_of"])
        known_at = parse_timestamp(reminder["drafted_at"])
        status = self.queries.status(as_of=run_as_of, known_at=known_at, state=reminder["iso3"],
                                     convention=reminder["convention"])["states"][0]
        history = [
            {"event_id": f"REM/{key}/{i}", "kind": kind, "recorded_at": at, "recorded_by": by, "data": json.loads(data)}
            for i, (kind, at, by, data) in enumerate(self.ledger.query(
                "SELECT kind, recorded_at, recorded_by, data FROM ledger_facts WHERE dossier_id = ? ORDER BY version",
                [f"REM/{key}"]), start=1)
        ]
        return {
            "key": key, "reference": reminder_reference(key), "status": reminder["status"],
            "rule": {"policy": f"data/reminders/{reminder['convention'].lower()}.toml", "obligation":
                     reminder["obligation"], "stage": stage, "area": section["area"],
                     "article": section["article"], "action_point": section["action_point"]},
            "trigger": {"due_on": reminder["due_on"], "trigger_on": reminder["trigger_on"],
                        "days_overdue_at_run": reminder["days_overdue"], "cause_event_ids": reminder["cause_event_ids"],
                        "status_as_known_at_the_run": status},
            "run": {"as_of": reminder["run_as_of"], "recorded_at": reminder["drafted_at"],
                    "recorded_by": reminder["drafted_by"]},
            "history": history,
        }

    def render(self, reminder: dict[str, Any], *, today: date, fmt: str = "txt") -> str:
        """The letter in the State's language, as plain text or (`fmt="html"`) as an HTML page
        with the same words (escaped) laid out as a letter."""
        from notifications.render import render, state_forms

        policy = load_policy(reminder["convention"])
        language = reminder["language"]
        name, article = state_names().get((reminder["iso3"], language), (reminder["state"], ""))
        commitment = next((c for c in policy.get("commitments", [])
                           if f"commitment:{c['id']}" == reminder["obligation"]), None)
        context = {
            "r": reminder, "today": today, "convention": load_convention(reminder["convention"]).name,
            "isu_contact": policy["isu_contact"], "reference": reminder_reference(reminder["key"]), "lang": language,
            "days_overdue": max(0, (today - date.fromisoformat(reminder["due_on"])).days),  # on the letter's date
            **state_forms(name, article, language),
            "commitment_text": (commitment.get(f"text_{language}", commitment["text"]) if commitment
                                else reminder["text"]),
        }
        text = render(f"letters/reminder.{reminder['language']}.txt", context)
        if fmt == "html":
            return render("letters/reminder.html", context | {"text": text})
        return text


@cache
def state_names() -> dict[tuple[str, str], tuple[str, str]]:
    """(ISO3, language) -> (name, article) from data/state-names.csv (UNTERM short names)."""
    with NAMES.open(encoding="utf-8", newline="") as f:
        return {(row["iso3"], row["language"]): (row["name"], row["article"]) for row in csv.DictReader(f)}


def reminder_reference(key: str) -> str:
    """A short, stable letter reference: CCM/REM/BEN/INI-OVERDUE style."""
    convention, iso3, obligation, period, stage = key.split("/")
    parts = [convention, "REM", iso3, obligation.replace("commitment:", "").replace("_", "-").upper()]
    if period != "-":
        parts.append(period)
    parts.append(stage.replace("_", "-").upper())
    return "/".join(parts)
