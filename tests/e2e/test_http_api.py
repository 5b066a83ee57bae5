"""The HTTP API through a real server (uvicorn on loopback) and a real HTTP client, on a
SQLite file and on PostgreSQL."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn

from services.accounts import Accounts
from services.bootstrap import System, bootstrap
from services.http import create_app
from tests.conftest import utc
from tests.peers import Accepted, smtp_server

T0 = utc(2020, 1, 1)


class LiveServer:
    """uvicorn in a thread on a socket bound beforehand: connections queue until it serves,
    so no test ever waits on a timer."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def smtp() -> Iterator[tuple[Accepted, int]]:
    accepted = Accepted()
    with smtp_server(accepted) as port:
        yield accepted, port


@pytest.fixture
def served(settings, smtp) -> Iterator[System]:  # type: ignore[no-untyped-def]
    """The server's own system, with the aggregate cache a running service has, and its
    letters going to a real SMTP server on loopback."""
    system = bootstrap(settings.model_copy(update={"aggregate_cache_size": 1000, "smtp_port": smtp[1]}))
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def api(served) -> Iterator[tuple[str, dict[str, str], dict[str, datetime]]]:  # type: ignore[no-untyped-def]
    system = served
    clock = {"now": datetime(2020, 1, 1, tzinfo=UTC)}
    app = create_app(system, clock=lambda: clock["now"])
    accounts = Accounts(system.ledger)
    tokens = {
        "isu": accounts.add(username="isu.staff", role="isu", area=None, by="test", now=T0),
        "coordinator": accounts.add(username="coord.transparency", role="coordinator", area="transparency",
                                    by="test", now=T0),
        "viewer": accounts.add(username="viewer", role="viewer", area=None, by="test", now=T0),
    }
    system.commands.register_state(iso3="BEN", name="Benin", language="fr", occurred_on="2008-12-03", now=T0,
                                   actor="test", source="test")
    system.commands.record(state="BEN", fact="signed", occurred_on="2008-12-03", now=T0, actor="t", source="t")
    with LiveServer(app) as server:
        yield server.url, tokens, clock


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


DEPOSIT = {"fact": "instrument_deposited", "occurred_on": "2017-07-10", "source": "UNTC",
           "fields": {"instrument": "ratification"}}


def test_without_valid_credentials_every_endpoint_answers_401(api):
    url, _, _ = api
    with httpx.Client(base_url=url) as client:
        assert client.get("/v1/states").status_code == 401
        bad = client.get("/v1/states", headers=auth("tl_000000000000_nope"))
        assert bad.status_code == 401 and bad.headers["WWW-Authenticate"] == "Bearer"
        assert client.post("/v1/states/BEN/facts", json=DEPOSIT).status_code == 401
        assert client.get("/health").status_code == 200


@pytest.mark.parametrize(("role", "expected"), [("isu", 201), ("coordinator", 403), ("viewer", 403)])
def test_only_isu_staff_record_treaty_facts(api, role, expected):
    url, tokens, _ = api
    with httpx.Client(base_url=url, headers=auth(tokens[role])) as client:
        response = client.post("/v1/states/BEN/facts", json=DEPOSIT)
        assert response.status_code == expected, response.text
        if expected == 403:
            assert response.json()["detail"][0]["loc"] == ["body", "role"]
        assert client.get("/v1/states/BEN").status_code == 200  # every role reads


def test_a_recorded_fact_carries_the_authenticated_actor_and_shows_in_the_status(api):
    url, tokens, clock = api
    clock["now"] = datetime(2020, 6, 1, tzinfo=UTC)  # the ledger learns of the deposit on 1 June 2020
    with httpx.Client(base_url=url, headers=auth(tokens["isu"])) as client:
        created = client.post("/v1/states/BEN/facts", json=DEPOSIT)
        assert created.status_code == 201 and created.json() == {"event_id": "CCM/BEN/3"}
        status = client.get("/v1/states/BEN", params={"as_of": "2018-06-30"}).json()
        assert (status["participation"], status["entry_into_force_on"]) == ("in_force", "2018-01-01")
        timeline = client.get("/v1/states/Benin/timeline").json()["events"]
        assert timeline[-1]["recorded_by"] == "isu.staff"
        overdue = client.get("/v1/overdue", params={"as_of": "2018-06-30"}).json()
        assert [r["name"] for r in overdue["initial"]] == ["Benin"]
        before = client.get("/v1/states/BEN", params={"as_of": "2018-06-30", "known_at": "2020-05-31T00:00:00Z"})
        assert before.json()["participation"] == "signatory"


def test_bad_input_is_422_naming_the_field_and_an_unknown_state_404(api):
    url, tokens, _ = api
    with httpx.Client(base_url=url, headers=auth(tokens["isu"])) as client:
        impossible = client.post("/v1/states/BEN/facts", json=DEPOSIT | {"occurred_on": "2017-02-30"})
        assert impossible.status_code == 422 and impossible.json()["detail"][0]["loc"][-1] == "occurred_on"
        unknown_fact = client.post("/v1/states/BEN/facts", json=DEPOSIT | {"fact": "coronation"})
        assert unknown_fact.status_code == 422 and unknown_fact.json()["detail"][0]["loc"] == ["body", "fact"]
        assert client.post("/v1/states/Atlantis/facts", json=DEPOSIT).status_code == 404
        assert client.get("/v1/states/Atlantis").status_code == 404
        client.post("/v1/states/BEN/facts", json=DEPOSIT)
        second = client.post("/v1/states/BEN/facts", json=DEPOSIT)
        assert second.status_code == 422 and "already a State Party" in second.json()["detail"][0]["msg"]
        bad_date = client.get("/v1/states", params={"as_of": "2018-13-01"})
        assert bad_date.status_code == 422 and bad_date.json()["detail"][0]["loc"] == ["query", "as_of"]


def test_a_retried_command_with_the_same_idempotency_key_returns_the_first_answer_and_writes_nothing(api, served):
    url, tokens, _ = api
    with httpx.Client(base_url=url, headers=auth(tokens["isu"]) | {"Idempotency-Key": "deposit-1"}) as client:
        first = client.post("/v1/states/BEN/facts", json=DEPOSIT)
        count = served.ledger.count_events()
        again = client.post("/v1/states/BEN/facts", json=DEPOSIT)
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert served.ledger.count_events() == count
        other = client.post("/v1/states/BEN/facts", json=DEPOSIT | {"occurred_on": "2017-07-11"})
        assert other.status_code == 422 and other.json()["detail"][0]["loc"] == ["body", "Idempotency-Key"]


def test_concurrent_clients_sending_1000_commands_for_one_state_lose_no_event(api, served):
    url, tokens, _ = api
    with httpx.Client(base_url=url, headers=auth(tokens["isu"])) as client:
        assert client.post("/v1/states/BEN/facts", json=DEPOSIT).status_code == 201
    before = served.ledger.count_events()
    body = {"fact": "report_submitted", "occurred_on": "2019-01-01", "source": "load",
            "fields": {"report": "voluntary"}}

    # One client shared by 8 threads (httpx clients are thread-safe; making one per request
    # would measure TLS-context construction, not the ledger).
    client = httpx.Client(base_url=url, headers=auth(tokens["isu"]), timeout=60,
                          limits=httpx.Limits(max_connections=8))

    def send(i: int) -> int:
        headers = {"Idempotency-Key": f"c{i}"}
        response = client.post("/v1/states/BEN/facts", json=body | {"note": f"command {i}"}, headers=headers)
        while response.status_code == 409:  # the documented answer to a lost race: retry
            response = client.post("/v1/states/BEN/facts", json=body | {"note": f"command {i}"}, headers=headers)
        return response.status_code

    with client, ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, range(1000)))
    assert statuses.count(201) == 1000
    assert served.ledger.count_events() == before + 1000
    notes = {e["note"] for e in served.queries.timeline(state="BEN")["events"] if e["kind"] == "ReportSubmitted"}
    assert len(notes) == 1000


def test_reports_and_indicators_are_served_as_json_html_and_markdown(api):
    url, tokens, _ = api
    period = {"from": "2017-07-01", "to": "2018-06-30"}
    with httpx.Client(base_url=url, headers=auth(tokens["viewer"])) as client:
        data = client.get("/v1/reports/progress", params=period).json()
        assert data["period"] == {"start": "2017-07-01", "end": "2018-06-30"}
        html = client.get("/v1/reports/progress", params=period | {"format": "html"})
        assert html.headers["content-type"].startswith("text/html") and "<h2>I. Report summary</h2>" in html.text
        md = client.get("/v1/reports/progress", params=period | {"format": "md"})
        assert md.headers["content-type"].startswith("text/markdown")
        one = client.get("/v1/indicators", params=period | {"id": "signatories"}).json()
        assert list(one["indicators"]) == ["signatories"]
        assert client.get("/v1/indicators", params=period | {"id": "nope"}).status_code == 422


def test_the_openapi_document_lists_every_endpoint_with_examples(api):
    url, _, _ = api
    spec = httpx.get(f"{url}/openapi.json").json()
    assert {"/v1/states", "/v1/states/{state}", "/v1/states/{state}/timeline", "/v1/overdue", "/v1/indicators",
            "/v1/reports/progress", "/v1/states/{state}/facts", "/v1/corrections"} <= set(spec["paths"])
    assert spec["components"]["schemas"]["FactCommand"]["properties"]["fact"]["examples"] == ["report_submitted"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


LETTERS = {"kind": "letter", "states": ["BEN"], "reference": "reminder-initial-report-2018",
           "occurred_on": "2018-07-02", "source": "Coordinators' letter",
           "fields": {"sender": "coordinators", "area": "transparency", "purpose": "initial report overdue",
                      "article": 7, "action_point": "6.1"}}


@pytest.mark.parametrize(("role", "area", "expected"), [
    ("isu", "transparency", 201), ("coordinator", "transparency", 201), ("coordinator", "victim_assistance", 403),
    ("viewer", "transparency", 403),
])
def test_coordinators_record_outreach_of_their_own_area_only(api, role, area, expected):
    url, tokens, _ = api
    body = LETTERS | {"fields": LETTERS["fields"] | {"area": area}}
    with httpx.Client(base_url=url, headers=auth(tokens[role])) as client:
        response = client.post("/v1/outreach", json=body)
        assert response.status_code == expected, response.text


def test_letters_awaiting_a_reply_and_the_reply(api):
    url, tokens, _ = api
    with httpx.Client(base_url=url, headers=auth(tokens["coordinator"])) as client:
        sent = client.post("/v1/outreach", json=LETTERS)
        assert sent.status_code == 201 and len(sent.json()["event_ids"]) == 1
        waiting = client.get("/v1/outreach/letters", params={"as_of": "2018-12-31", "awaiting_reply": True}).json()
        assert [(x["state"], x["reference"]) for x in waiting["letters"]] == [("Benin", LETTERS["reference"])]
        reply = {"kind": "reply", "states": ["Benin"], "reference": LETTERS["reference"], "occurred_on": "2018-08-01",
                 "source": "Note verbale", "fields": {"summary": "report in preparation"}}
        assert client.post("/v1/outreach", json=reply).status_code == 201  # the reply belongs to the letter's area
        waiting = client.get("/v1/outreach/letters", params={"as_of": "2018-12-31", "awaiting_reply": True}).json()
        assert waiting["letters"] == []
        before_reply = client.get("/v1/outreach/letters", params={"as_of": "2018-07-31"}).json()["letters"]
        assert before_reply[0]["reply"] is None
        unknown = client.post("/v1/outreach", json=reply | {"reference": "no-such-letter"})
        assert unknown.status_code in (403, 422)


def test_a_meeting_lists_its_participants(api, served):
    url, tokens, _ = api
    served.commands.register_state(iso3="KHM", name="Cambodia", occurred_on="2018-01-01", now=T0, actor="t",
                                   source="outreach")
    meeting = {"kind": "meeting", "states": ["Benin", "KHM"], "reference": "bilateral-2018-05",
               "occurred_on": "2018-05-23", "source": "Coordinators' notes",
               "fields": {"meeting_kind": "bilateral", "area": "universalization", "place": "Geneva",
                          "organisations": ["ISU"], "topics": "ratification", "outcomes": "follow-up"}}
    with httpx.Client(base_url=url, headers=auth(tokens["isu"])) as client:
        assert client.post("/v1/outreach", json=meeting).status_code == 201
        listed = client.get("/v1/outreach/meetings", params={"as_of": "2018-06-30"}).json()["meetings"]
        assert [p["state"] for p in listed[0]["participants"]] == ["Benin", "Cambodia"]
        assert listed[0]["organisations"] == ["ISU"]


COMMANDS = {
    "register a State": ("/v1/states", {"iso3": "TGO", "name": "Togo", "occurred_on": "2008-12-03",
                                        "source": "UNTC"}),
    "record a treaty fact": ("/v1/states/BEN/facts", DEPOSIT),
    "retract an event": ("/v1/corrections", {"event_id": "CCM/BEN/2", "reason": "test", "source": "test"}),
    "record outreach of another area": ("/v1/outreach", LETTERS | {"fields": LETTERS["fields"] | {
        "area": "universalization"}}),
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(("role", "allowed"), [("isu", True), ("coordinator", False), ("viewer", False)])
def test_the_role_matrix_for_every_kind_of_command(api, command, role, allowed):
    url, tokens, _ = api
    path, body = COMMANDS[command]
    with httpx.Client(base_url=url, headers=auth(tokens[role])) as client:
        response = client.post(path, json=body)
    assert response.status_code == (201 if allowed else 403), response.text


def test_a_reply_naming_no_state_is_refused_not_a_server_error(api):
    """Found by schemathesis."""
    url, tokens, _ = api
    reply = {"kind": "reply", "occurred_on": "2000-01-01", "reference": "0", "source": "0"}
    with httpx.Client(base_url=url, headers=auth(tokens["isu"])) as client:
        response = client.post("/v1/outreach", json=reply)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "states"]


def test_the_timeline_answers_as_of_a_date_and_as_known_at_a_time(api, served):
    url, tokens, clock = api
    with httpx.Client(base_url=url, headers=auth(tokens["isu"])) as client:
        clock["now"] = datetime(2020, 6, 1, tzinfo=UTC)
        client.post("/v1/states/BEN/facts", json=DEPOSIT)
        clock["now"] = datetime(2020, 7, 1, tzinfo=UTC)
        client.post("/v1/corrections", json={"event_id": "CCM/BEN/3", "reason": "test", "source": "test"})
        everything = client.get("/v1/states/BEN/timeline").json()["events"]
        assert [e["event_id"] for e in everything] == ["CCM/BEN/1", "CCM/BEN/2", "CCM/BEN/3", "CCM/BEN/4"]
        assert everything[2]["retracted_by"] == "CCM/BEN/4"
        as_of = client.get("/v1/states/BEN/timeline", params={"as_of": "2010-01-01"}).json()["events"]
        assert [e["event_id"] for e in as_of] == ["CCM/BEN/1", "CCM/BEN/2"]
        then = client.get("/v1/states/BEN/timeline", params={"known_at": "2020-06-15T00:00:00Z"}).json()["events"]
        assert [e["event_id"] for e in then] == ["CCM/BEN/1", "CCM/BEN/2", "CCM/BEN/3"]
        assert then[2]["retracted_by"] is None


def test_reminders_are_run_listed_shown_and_approved_over_http(api, served):
    url, tokens, _ = api
    served.commands.record(state="BEN", fact="instrument_deposited", instrument="ratification",
                           occurred_on="2017-07-10", now=T0, actor="t", source="t")
    with httpx.Client(base_url=url, headers=auth(tokens["isu"])) as client:
        dry = client.post("/v1/reminders/runs", json={"as_of": "2018-07-01", "dry_run": True}).json()
        assert [r["key"] for r in dry["due"]] == ["CCM/BEN/initial_report/-/overdue"] and dry["dry_run"]
        assert client.get("/v1/reminders").json()["reminders"] == []
        ran = client.post("/v1/reminders/runs", json={"as_of": "2018-07-01"}).json()
        assert ran["drafted"] == ["CCM/BEN/initial_report/-/overdue"]
        shown = client.get("/v1/reminders/CCM/BEN/initial_report/-/overdue").json()
        assert shown["status"] == "drafted" and "Excellence," in shown["letter"]
    with httpx.Client(base_url=url, headers=auth(tokens["viewer"])) as client:
        assert client.post("/v1/reminders/CCM/BEN/initial_report/-/overdue/approval").status_code == 403
        assert client.post("/v1/reminders/runs", json={}).status_code == 403
    with httpx.Client(base_url=url, headers=auth(tokens["coordinator"])) as client:  # transparency: its area
        approved = client.post("/v1/reminders/CCM/BEN/initial_report/-/overdue/approval")
        assert approved.status_code == 200 and approved.json()["approved_by"] == "coord.transparency"
        assert client.get("/v1/reminders/CCM/XXX/none/-/none").status_code == 422


def test_an_approved_reminder_is_sent_over_http_and_its_reply_recorded(api, served, smtp):
    url, tokens, clock = api
    accepted, _ = smtp
    key = "CCM/BEN/initial_report/-/overdue"
    served.commands.record(state="BEN", fact="instrument_deposited", instrument="ratification",
                           occurred_on="2017-07-10", now=T0, actor="t", source="t")
    with httpx.Client(base_url=url, headers=auth(tokens["isu"])) as isu:
        isu.post("/v1/reminders/runs", json={"as_of": "2018-07-01"})
        isu.post(f"/v1/reminders/{key}/approval")
        with httpx.Client(base_url=url, headers=auth(tokens["viewer"])) as viewer:
            assert viewer.post("/v1/reminders/deliveries").status_code == 403
        drained = isu.post("/v1/reminders/deliveries").json()
        assert drained["sent"] == [key] and isu.post("/v1/reminders/deliveries").json()["sent"] == []
        assert [sorted(r) for r in accepted.recipients] == [[  # the mission, Cc the coordinators, Bcc the archive
            "archive@treaty-ledger.invalid", "coordinators-transparency@treaty-ledger.invalid",
            "mission-ben@missions.invalid"]]
        assert [r["key"] for r in isu.get("/v1/reminders", params={"status": "sent"}).json()["reminders"]] == [key]
        assert isu.post(f"/v1/reminders/{key}/delivery-check", json={"delivered": True}).status_code == 422
    with httpx.Client(base_url=url, headers=auth(tokens["coordinator"])) as coordinator:
        early = coordinator.post(f"/v1/reminders/{key}/reply", json={"received_on": "2019-12-01", "summary": "x"})
        assert early.status_code == 422 and early.json()["detail"][0]["loc"] == ["body", "received_on"]
        missing = coordinator.post(f"/v1/reminders/{key}/reply", json={"received_on": "2020-01-01"})
        assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "summary"]
        reply = coordinator.post(f"/v1/reminders/{key}/reply", json={
            "received_on": "2020-01-01", "summary": "The report will follow in March.", "reference": "NV-12"})
        assert reply.status_code == 200 and reply.json()["status"] == "replied"
        audit = coordinator.get(f"/v1/audit/letters/{key}").json()
        assert [h["kind"] for h in audit["history"]][-3:] == ["SendAttempted", "ReminderSent", "ReplyReceived"]
