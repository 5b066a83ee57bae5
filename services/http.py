"""The HTTP API (FastAPI). Thin: parse, authorise, call a service, return.

Domain errors become HTTP errors in one place (`_error_handlers`): 401 without valid
credentials, 403 outside the role, 404 for an unknown State, 409 on a version conflict,
422 naming the field for bad input. Commands accept an `Idempotency-Key` header: a retried
request returns the first answer and writes nothing (the key also becomes the event's import
key, so two concurrent retries cannot both write).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from domain.conventions import load_convention
from domain.dates import InvalidDateError, utc_text
from domain.errors import (
    AlreadyRegisteredError,
    ConcurrencyConflictError,
    EmptyLedgerError,
    InvalidValueError,
    LedgerError,
    RuleViolationError,
    UnknownStateError,
)
from services.accounts import Account, Accounts, AuthenticationError, ForbiddenError
from services.bootstrap import System

Clock = Callable[[], datetime]

_IDEMPOTENCY_DDL = """CREATE TABLE IF NOT EXISTS api_idempotency (
    username TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (username, idempotency_key))"""


# ---------------------------------------------------------------------------- bodies
class StateRegistration(BaseModel):
    iso3: str = Field(min_length=3, max_length=3, examples=["BEN"])
    name: str = Field(min_length=1, examples=["Benin"])
    aliases: list[str] = Field(default_factory=list, examples=[["Republic of Benin"]])
    language: Literal["en", "fr", "es"] = "en"
    occurred_on: date = Field(description="The State's first treaty act (signature or deposit).",
                              examples=["2008-12-03"])
    source: str = Field(min_length=1, examples=["UNTC depositary notification"])
    note: str = ""


class FactCommand(BaseModel):
    """One treaty fact about a State. `fields` holds what the fact needs, e.g.
    `{"instrument": "ratification"}`, `{"report": "annual", "reporting_year": 2017}`,
    `{"article": 3, "new_deadline": "2022-09-01"}`, `{"subject": "assistance_requested",
    "area": "clearance", "via": "annual report"}`."""

    fact: str = Field(examples=["report_submitted"])
    occurred_on: date = Field(description="When it happened (the latest possible day).", examples=["2018-06-29"])
    occurred_from: date | Literal["unknown"] | None = Field(
        default=None, description="Earliest possible day when only a range is known; 'unknown' for a bound.")
    source: str = Field(min_length=1, examples=["Article 7 report for 2017"])
    note: str = ""
    fields: dict[str, str | int | None] = Field(default_factory=dict, examples=[{"report": "initial"}])


class Correction(BaseModel):
    event_id: str = Field(examples=["CCM/BEN/4"])
    reason: str = Field(min_length=1, examples=["entered against the wrong State"])
    source: str = Field(min_length=1, examples=["UNODA Article 7 database"])
    replacement: FactCommand | None = Field(default=None, description="A corrected fact recorded in the same "
                                            "transaction (supersession); omit to only retract.")


class Recorded(BaseModel):
    event_id: str = Field(examples=["CCM/BEN/5"])


class OutreachCommand(BaseModel):
    """One outreach item on every State it concerns. `fields` by kind: letter {sender, area,
    purpose, article, action_point}; reply {summary}; meeting {meeting_kind, area, place,
    margins_of, organisations, topics, outcomes}; demarche {sender, area, purpose};
    partnership {status, role, area}; mandate {area, mandate, from_meeting, to_meeting}."""

    kind: Literal["letter", "reply", "meeting", "demarche", "partnership", "mandate"] = Field(examples=["letter"])
    states: list[str] = Field(default_factory=list, examples=[["Italy", "Netherlands", "Sweden", "Denmark"]],
                              description="The States concerned; a meeting may name none.")
    reference: str = Field(min_length=1, max_length=120, examples=["8msp-letters-retention"])
    occurred_on: date = Field(examples=["2018-03-15"])
    occurred_from: date | Literal["unknown"] | None = None
    source: str = Field(min_length=1, examples=["Coordinators' letter, 15 March 2018"])
    note: str = ""
    fields: dict[str, str | int | list[str] | None] = Field(
        default_factory=dict,
        examples=[{"sender": "coordinators", "area": "stockpile_destruction",
                   "purpose": "update on retained munitions", "article": 3, "action_point": "2.3"}])


class ReminderRun(BaseModel):
    as_of: date | None = Field(default=None, description="The day to run for (default: today).",
                               examples=["2018-07-01"])
    dry_run: bool = Field(default=False, description="List what would be drafted; record nothing.")


class DeliveryCheck(BaseModel):
    delivered: bool = Field(description="Whether the letter in doubt reached its addressee (checked in the "
                                        "archive mailbox).")


class ReplyToReminder(BaseModel):
    received_on: date = Field(description="The day the reply arrived.", examples=["2018-09-14"])
    summary: str = Field(min_length=1, max_length=2000, description="What the State answered, in a few words.")
    reference: str = Field(default="", max_length=200, description="The reply's own reference, if any.")


class RecordedMany(BaseModel):
    event_ids: list[str] = Field(examples=[["CCM/ITA/9", "CCM/NLD/8"]])


# ---------------------------------------------------------------------------- dependencies
# Module level: FastAPI resolves these annotations by name (this module uses postponed
# annotations), so they cannot be local to create_app.
_bearer = HTTPBearer(auto_error=False)


def _account(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Account:
    accounts: Accounts = request.app.state.accounts
    return accounts.authenticate(creds.credentials if creds else None)


Caller = Annotated[Account, Depends(_account)]
AsOf = Annotated[date | None, Query(description="Valid date (default: today, UTC).")]
KnownAt = Annotated[datetime | None, Query(description="Record time: answer as known then (default: now).")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                              description="Retry-safe key: a repeat returns the first answer.")]


# ---------------------------------------------------------------------------- app
def create_app(system: System, clock: Clock | None = None) -> FastAPI:
    now = clock or (lambda: datetime.now(UTC))
    accounts = Accounts(system.ledger)
    system.ledger.create_tables([_IDEMPOTENCY_DDL])
    app = FastAPI(
        title="Treaty Ledger",
        version="0.1.0",
        description="The event-sourced record of the Convention on Cluster Munitions: States, reports, "
                    "obligations, indicators and the progress report, for any date (`as_of`) and as known "
                    "at any moment (`known_at`).",
    )
    app.state.system = system
    app.state.accounts = accounts
    _error_handlers(app)

    def times(as_of: date | None, known_at: datetime | None) -> tuple[date, datetime]:
        """Defaults from the clock (read here, at the edge); a naive known_at is taken as UTC."""
        moment = now()
        if known_at is None:
            known = moment
        elif known_at.tzinfo is None:
            known = known_at.replace(tzinfo=UTC)
        else:
            known = known_at.astimezone(UTC)
        return as_of or moment.date(), known

    def idempotent(caller: Account, key: str | None, request: dict[str, Any], run: Callable[[str | None], Any],
                   status: int = 201) -> Response:
        if key is None:
            return JSONResponse(run(None), status_code=status)
        digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
        rows = system.ledger.query(
            "SELECT request_hash, status, body FROM api_idempotency WHERE username = ? AND idempotency_key = ?",
            [caller.username, key])
        if rows:
            if rows[0][0] != digest:
                raise InvalidValueError("Idempotency-Key", key, "a new key: this one was used for another request")
            return JSONResponse(json.loads(rows[0][2]), status_code=rows[0][1],
                                headers={"Idempotent-Replayed": "true"})
        body = run(f"api/{caller.username}/{key}")
        system.ledger.execute([(
            "INSERT INTO api_idempotency (username, idempotency_key, request_hash, status, body, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [caller.username, key, digest, status, json.dumps(body), utc_text(now())])])
        return JSONResponse(body, status_code=status)

    # -------------------------------------------------------------- queries
    @app.get("/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok", "store": system.settings.location.split(" ")[0]}

    @app.get("/v1/states", tags=["states"], summary="Every State's status on a date")
    def states(caller: Caller, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
        d, t = times(as_of, known_at)
        return system.queries.status(as_of=d, known_at=t)

    @app.get("/v1/states/{state}", tags=["states"], summary="One State's status on a date")
    def state_status(caller: Caller, state: str, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
        d, t = times(as_of, known_at)
        result = system.queries.status(as_of=d, known_at=t, state=state)
        if not result["states"]:
            raise UnknownStateError(state)
        return result["states"][0] | {"as_of": result["as_of"], "known_at": result["known_at"]}

    @app.get("/v1/states/{state}/timeline", tags=["states"], summary="A State's events in valid-time order")
    def timeline(caller: Caller, state: str, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
        _, t = times(None, known_at)
        return system.queries.timeline(state=state, as_of=as_of, known_at=t)

    @app.get("/v1/overdue", tags=["reports"], summary="Overdue Article 7 reports on a date")
    def overdue(caller: Caller, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
        d, t = times(as_of, known_at)
        return system.queries.overdue(as_of=d, known_at=t)

    @app.get("/v1/indicators", tags=["reports"], summary="Action plan indicators for a period")
    def indicators(
        caller: Caller,
        start: Annotated[date, Query(alias="from", examples=["2017-07-01"])],
        end: Annotated[date, Query(alias="to", examples=["2018-06-30"])],
        known_at: KnownAt = None,
        indicator: Annotated[str | None, Query(alias="id")] = None,
    ) -> dict[str, Any]:
        _, t = times(None, known_at)
        return system.reports.indicators(start=start, end=end, known_at=t, indicator_id=indicator)

    @app.get("/v1/reports/progress", tags=["reports"], summary="The action plan's progress report",
             responses={200: {"content": {"application/json": {}, "text/html": {}, "text/markdown": {}}}})
    def progress_report(
        caller: Caller,
        start: Annotated[date, Query(alias="from", examples=["2017-07-01"])],
        end: Annotated[date, Query(alias="to", examples=["2018-06-30"])],
        known_at: KnownAt = None,
        fmt: Annotated[Literal["json", "html", "md"], Query(alias="format")] = "json",
    ) -> Response:
        from notifications.render import render

        _, t = times(None, known_at)
        data = system.reports.progress_report(start=start, end=end, known_at=t)
        if fmt == "json":
            return JSONResponse(data)
        text = render(f"reports/progress_report.{fmt}",
                      {"report": data, "convention_name": load_convention(data["convention"]).name})
        if fmt == "html":
            return HTMLResponse(text)
        return PlainTextResponse(text, media_type="text/markdown")

    @app.get("/v1/outreach/letters", tags=["outreach"], summary="Letters sent, and their replies")
    def list_letters(
        caller: Caller, as_of: AsOf = None, known_at: KnownAt = None, area: str | None = None,
        awaiting_reply: bool = False,
    ) -> dict[str, Any]:
        d, t = times(as_of, known_at)
        return system.queries.letters(as_of=d, known_at=t, area=area, awaiting_reply=awaiting_reply)

    @app.get("/v1/outreach/meetings", tags=["outreach"], summary="Meetings held, with their participants")
    def list_meetings(caller: Caller, as_of: AsOf = None, known_at: KnownAt = None,
                      area: str | None = None) -> dict[str, Any]:
        d, t = times(as_of, known_at)
        return system.queries.meetings(as_of=d, known_at=t, area=area)

    @app.post("/v1/outreach", tags=["commands"], status_code=201, response_model=RecordedMany,
              summary="Record a letter, reply, meeting, demarche, partnership or mandate (ISU; a coordinator "
                      "for their own thematic area)")
    def record_outreach(caller: Caller, body: OutreachCommand, key: IdempotencyKey = None) -> Response:
        area = system.commands.outreach_area(kind=body.kind, states=body.states, reference=body.reference,
                                             fields=body.fields)
        if not caller.can_write_outreach(area):
            raise ForbiddenError(caller, f"record outreach of the {area or 'unknown'} area")

        def run(import_key: str | None) -> dict[str, Any]:
            ids = system.commands.outreach(
                kind=body.kind, states=body.states, reference=body.reference, occurred_on=body.occurred_on,
                occurred_from=body.occurred_from, source=body.source, note=body.note, actor=caller.username,
                now=now(), import_key=import_key, **{k: v for k, v in body.fields.items() if v is not None})
            return {"event_ids": ids}

        return idempotent(caller, key, body.model_dump(mode="json"), run)

    # -------------------------------------------------------------- reminders
    reminders = system.reminders

    @app.get("/v1/reminders", tags=["reminders"], summary="Recorded reminder letters and their status")
    def list_reminders(caller: Caller,
                       status: Literal["drafted", "approved", "withdrawn", "sent", "replied"] | None = None
                       ) -> dict[str, Any]:
        return {"reminders": reminders.list(status)}

    @app.get("/v1/reminders/{key:path}", tags=["reminders"], summary="One reminder, with its letter rendered")
    def show_reminder(caller: Caller, key: str) -> dict[str, Any]:
        reminder = reminders.get(key)
        return reminder | {"letter": reminders.render(reminder, today=now().date())}

    @app.get("/v1/audit/letters/{key:path}", tags=["reminders"], summary="A reminder letter explained end to end")
    def audit_letter(caller: Caller, key: str) -> dict[str, Any]:
        return reminders.audit(key)

    @app.post("/v1/reminders/runs", tags=["reminders"], summary="Run the reminders for a day (ISU)")
    def run_reminders(caller: Caller, body: ReminderRun) -> dict[str, Any]:
        _require_treaty_writer(caller)
        return reminders.run(as_of=body.as_of or now().date(), now=now(), actor=caller.username,
                             dry_run=body.dry_run)

    @app.post("/v1/reminders/{key:path}/approval", tags=["reminders"],
              summary="Approve a drafted reminder (ISU, or the coordinators of its area)")
    def approve_reminder(caller: Caller, key: str) -> dict[str, Any]:
        reminder = reminders.get(key)
        if not caller.can_write_outreach(reminder["area"]):
            raise ForbiddenError(caller, f"approve a reminder of the {reminder['area']} area")
        role = "isu" if caller.role == "isu" else "coordinator"
        return reminders.approve(key=key, role=role, actor=caller.username, now=now())

    @app.post("/v1/reminders/deliveries", tags=["reminders"],
              summary="Drain the outbox: send approved letters by SMTP, each once (ISU)")
    def drain_outbox(caller: Caller) -> dict[str, Any]:
        _require_treaty_writer(caller)
        return system.delivery.drain(now=now(), actor=caller.username)

    @app.post("/v1/reminders/{key:path}/delivery-check", tags=["reminders"],
              summary="Settle a letter in doubt after checking the archive: delivered or not (ISU)")
    def resolve_delivery(caller: Caller, key: str, body: DeliveryCheck) -> dict[str, Any]:
        _require_treaty_writer(caller)
        return system.delivery.resolve(key=key, delivered=body.delivered, actor=caller.username, now=now())

    @app.post("/v1/reminders/{key:path}/reply", tags=["reminders"],
              summary="Record the State's reply to a sent letter (ISU, or the coordinators of its area)")
    def record_reply(caller: Caller, key: str, body: ReplyToReminder) -> dict[str, Any]:
        reminder = reminders.get(key)
        if not caller.can_write_outreach(reminder["area"]):
            raise ForbiddenError(caller, f"record a reply to a reminder of the {reminder['area']} area")
        return reminders.reply(key=key, received_on=body.received_on, summary=body.summary,
                               reply_reference=body.reference, actor=caller.username, now=now())

    # -------------------------------------------------------------- commands
    @app.post("/v1/states", tags=["commands"], status_code=201, response_model=Recorded,
              summary="Register a State (ISU)")
    def register(caller: Caller, body: StateRegistration, key: IdempotencyKey = None) -> Response:
        _require_treaty_writer(caller)

        def run(import_key: str | None) -> dict[str, Any]:
            event_id = system.commands.register_state(
                iso3=body.iso3, name=body.name, aliases=body.aliases, language=body.language,
                occurred_on=body.occurred_on, source=body.source, note=body.note, actor=caller.username,
                now=now(), import_key=import_key)
            return {"event_id": event_id}

        return idempotent(caller, key, body.model_dump(mode="json"), run)

    @app.post("/v1/states/{state}/facts", tags=["commands"], status_code=201, response_model=Recorded,
              summary="Record a treaty fact about a State (ISU)")
    def record(caller: Caller, state: str, body: FactCommand, key: IdempotencyKey = None) -> Response:
        _require_treaty_writer(caller)

        def run(import_key: str | None) -> dict[str, Any]:
            event_id = system.commands.record(
                state=state, fact=body.fact, occurred_on=body.occurred_on, occurred_from=body.occurred_from,
                source=body.source, note=body.note, actor=caller.username, now=now(), import_key=import_key,
                **{k: v for k, v in body.fields.items() if v is not None})
            return {"event_id": event_id}

        return idempotent(caller, key, {"state": state, **body.model_dump(mode="json")}, run)

    @app.post("/v1/corrections", tags=["commands"], status_code=201, response_model=Recorded,
              summary="Retract an event, or supersede it with a corrected fact (ISU)")
    def correct(caller: Caller, body: Correction, key: IdempotencyKey = None) -> Response:
        _require_treaty_writer(caller)

        def run(import_key: str | None) -> dict[str, Any]:
            if body.replacement is None:
                event_id = system.commands.retract(event_id=body.event_id, reason=body.reason, source=body.source,
                                                   actor=caller.username, now=now(), import_key=import_key)
            else:
                r = body.replacement
                event_id = system.commands.supersede(
                    event_id=body.event_id, reason=body.reason, fact=r.fact, occurred_on=r.occurred_on,
                    occurred_from=r.occurred_from, source=r.source, note=r.note, actor=caller.username,
                    now=now(), **{k: v for k, v in r.fields.items() if v is not None})
            return {"event_id": event_id}

        return idempotent(caller, key, body.model_dump(mode="json"), run)

    return app


def _require_treaty_writer(caller: Account) -> None:
    if not caller.can_write_treaty_facts():
        raise ForbiddenError(caller, "record treaty facts (ISU staff only)")


def _error_handlers(app: FastAPI) -> None:
    """Every deliberate error, mapped to its HTTP status in one place."""

    def problem(status: int, error: Exception, headers: dict[str, str] | None = None) -> JSONResponse:
        field = getattr(error, "field", "") or ""
        return JSONResponse(
            {"detail": [{"loc": ["body", field] if field else ["body"], "msg": str(error),
                         "type": type(error).__name__}]},
            status_code=status, headers=headers)

    statuses: list[tuple[type[Exception], int]] = [
        (AuthenticationError, 401), (ForbiddenError, 403), (UnknownStateError, 404), (EmptyLedgerError, 404),
        (ConcurrencyConflictError, 409), (AlreadyRegisteredError, 409), (InvalidValueError, 422),
        (InvalidDateError, 422), (RuleViolationError, 422),
    ]
    for error_type, status in statuses:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None

        def handler(request: Request, exc: Exception, status: int = status,
                    headers: dict[str, str] | None = headers) -> JSONResponse:
            return problem(status, exc, headers)

        app.add_exception_handler(error_type, handler)

    def other(request: Request, exc: Exception) -> JSONResponse:
        return problem(422 if isinstance(exc, ValueError) else 500, exc)

    app.add_exception_handler(LedgerError, other)
