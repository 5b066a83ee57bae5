"""One contract, two stores: every test here runs on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from domain.dates import InvalidDateError
from domain.errors import InvalidValueError, RuleViolationError, UnknownStateError
from services.bootstrap import bootstrap
from tests.conftest import utc

T0 = utc(2020, 1, 1)
LOADER = {"actor": "test", "source": "test fixture"}


def _benin(system, now=T0):
    c = system.commands
    c.register_state(iso3="BEN", name="Benin", language="fr", occurred_on="2008-12-03", now=now, **LOADER)
    c.record(state="BEN", fact="signed", occurred_on="2008-12-03", now=now, **LOADER)
    c.record(state="BEN", fact="instrument_deposited", instrument="ratification",
             occurred_on="2017-07-10", now=now, **LOADER)


def _status(system, as_of, known_at, state="BEN"):
    return system.queries.status(as_of=as_of, known_at=known_at, state=state)["states"][0]


def test_a_recorded_fact_is_read_back_with_its_valid_time_record_time_actor_and_source(system):
    _benin(system)
    events = system.queries.timeline(state="Benin")["events"]
    assert [e["kind"] for e in events] == ["StateRegistered", "Signed", "InstrumentDeposited"]
    deposit = events[-1]
    assert deposit["event_id"] == "CCM/BEN/3"
    assert deposit["occurred_on"] == "2017-07-10"
    assert deposit["recorded_at"] == "2020-01-01T00:00:00.000000Z"
    assert (deposit["recorded_by"], deposit["source"]) == ("test", "test fixture")


def test_another_as_of_date_answers_for_that_day_alone(system):
    _benin(system)
    assert _status(system, date(2017, 7, 9), T0)["participation"] == "signatory"
    assert _status(system, date(2017, 7, 10), T0)["participation"] == "party_not_in_force"
    st = _status(system, date(2018, 1, 1), T0)
    assert (st["participation"], st["entry_into_force_on"]) == ("in_force", "2018-01-01")
    assert st["initial_report"]["state"] == "not_yet_due"
    assert _status(system, date(2018, 6, 30), T0)["initial_report"]["state"] == "overdue"


def test_an_event_recorded_late_appears_for_known_at_after_its_recording_and_not_before(system):
    _benin(system)
    system.commands.record(state="BEN", fact="report_submitted", report="initial",
                           occurred_on="2018-05-02", now=utc(2020, 6, 1), **LOADER)
    before = _status(system, date(2018, 6, 30), utc(2020, 5, 31, 23, 59))
    after = _status(system, date(2018, 6, 30), utc(2020, 6, 1))
    assert before["initial_report"]["state"] == "overdue"
    assert after["initial_report"]["state"] == "received"
    assert after["initial_report"]["received"]["event_id"] == "CCM/BEN/4"


def test_a_correction_changes_answers_from_its_record_time_and_leaves_earlier_answers_as_they_were(system):
    _benin(system)
    system.commands.record(state="BEN", fact="report_submitted", report="initial",
                           occurred_on="2018-05-02", now=utc(2020, 2, 1), **LOADER)
    system.commands.retract(event_id="CCM/BEN/4", reason="it was a draft, not the report",
                            actor="auditor", source="UNODA database check", now=utc(2021, 1, 1))
    as_known_in_2020 = _status(system, date(2018, 6, 30), utc(2020, 12, 31))
    as_known_now = _status(system, date(2018, 6, 30), utc(2021, 1, 1))
    assert as_known_in_2020["initial_report"]["state"] == "received"
    assert as_known_now["initial_report"]["state"] == "overdue"
    timeline = system.queries.timeline(state="BEN")["events"]
    assert {e["event_id"]: e["retracted_by"] for e in timeline}["CCM/BEN/4"] == "CCM/BEN/5"


def test_a_superseding_correction_swaps_the_deposit_date_at_one_record_time(system):
    _benin(system)
    new_id = system.commands.supersede(
        event_id="CCM/BEN/3", reason="typo in the date", fact="instrument_deposited", instrument="ratification",
        occurred_on="2017-08-10", actor="isu", source="UNTC C.N.xxx.2017", now=utc(2021, 1, 1))
    assert new_id == "CCM/BEN/5"
    assert _status(system, date(2018, 6, 30), utc(2020, 12, 31))["entry_into_force_on"] == "2018-01-01"
    assert _status(system, date(2018, 6, 30), utc(2021, 1, 1))["entry_into_force_on"] == "2018-02-01"
    retraction = {e["event_id"]: e for e in system.queries.timeline(state="BEN")["events"]}["CCM/BEN/4"]
    assert (retraction["data"]["retracted_event_id"], retraction["data"]["superseded_by"]) == ("CCM/BEN/3",
                                                                                               "CCM/BEN/5")


def test_a_supersession_whose_replacement_is_refused_writes_nothing(system):
    _benin(system)
    before = _count(system)
    with pytest.raises(InvalidDateError):
        system.commands.supersede(event_id="CCM/BEN/3", reason="x", fact="instrument_deposited",
                                  instrument="ratification", occurred_on="2017-02-30", actor="isu", source="s",
                                  now=utc(2021, 1, 1))
    with pytest.raises(InvalidValueError):
        system.commands.supersede(event_id="CCM/BEN/3", reason="x", fact="instrument_deposited",
                                  instrument="signature", occurred_on="2017-08-10", actor="isu", source="s",
                                  now=utc(2021, 1, 1))
    assert _count(system) == before


def _count(system):
    return system.ledger.count_events()


@pytest.mark.parametrize(
    ("command", "error", "field"),
    [
        (dict(state="Atlantis", fact="instrument_deposited", instrument="ratification", occurred_on="2018-01-01"),
         UnknownStateError, "state"),
        (dict(state="BEN", fact="instrument_deposited", instrument="ratification", occurred_on="2018-01-01"),
         RuleViolationError, "state"),
        (dict(state="BEN", fact="report_submitted", report="initial", occurred_on="2018-02-30"),
         InvalidDateError, "occurred_on"),
        (dict(state="BEN", fact="extension_requested", article=3, requested_deadline="2022-01-01",
              occurred_on="2018-01-01"), RuleViolationError, "article"),
        (dict(state="TGO", fact="withdrawal_notified", occurred_on="2018-01-01"), RuleViolationError, "state"),
        (dict(state="BEN", fact="instrument_deposited", instrument="signature", occurred_on="2018-01-01"),
         InvalidValueError, "instrument"),
        (dict(state="BEN", fact="report_submitted", report="initial", occurred_on="2031-01-01"),
         InvalidValueError, "occurred_on"),
    ],
    ids=["deposit-unknown-state", "second-deposit", "impossible-date", "extension-without-obligation",
         "withdrawal-by-non-party", "unknown-instrument", "future-date"],
)
def test_bad_input_writes_nothing_and_names_the_field(system, command, error, field):
    _benin(system)
    system.commands.register_state(iso3="TGO", name="Togo", occurred_on="2008-12-03", now=T0, **LOADER)
    before = _count(system)
    with pytest.raises(error) as caught:
        system.commands.record(now=T0, **LOADER, **command)
    assert getattr(caught.value, "field", None) == field
    assert field in str(caught.value)
    assert _count(system) == before


def test_an_unknown_state_error_suggests_close_names(system):
    _benin(system)
    with pytest.raises(UnknownStateError, match="did you mean Benin"):
        system.commands.record(state="Benim", fact="signed", occurred_on="2008-12-03", now=T0, **LOADER)


def test_an_import_key_recorded_twice_returns_the_first_event_and_adds_nothing(system):
    _benin(system)
    args = dict(state="BEN", fact="report_submitted", report="annual", reporting_year=2018,
                occurred_on="2019-04-30", import_key="isu/BEN/annual/2018", now=T0, **LOADER)
    first = system.commands.record(**args)
    count = _count(system)
    # A second writer that did not see the first (fresh process, no cache) tries again.
    other = bootstrap(system.settings)
    try:
        again = other.commands.record(**args)
    finally:
        other.close()
    assert again == first
    assert _count(system) == count


def test_concurrent_writers_on_one_state_lose_no_event(system):
    _benin(system)
    writers, per_writer = 4, 15
    errors: list[BaseException] = []

    # Each writer has its own connections and no shared cache, like another process.
    # (Built before the threads start: concurrent first-time schema creation is a
    # deployment step, not what this test is about.)
    systems = [bootstrap(system.settings) for _ in range(writers)]

    def write(n: int) -> None:
        own = systems[n]
        try:
            for i in range(per_writer):
                own.commands.record(state="BEN", fact="report_submitted", report="voluntary",
                                    occurred_on="2019-01-01", note=f"writer {n} report {i}", now=T0, **LOADER)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            own.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    notes = {e["note"] for e in system.queries.timeline(state="BEN")["events"] if e["kind"] == "ReportSubmitted"}
    assert len(notes) == writers * per_writer
    assert _count(system) == 3 + writers * per_writer


def test_the_fact_read_model_matches_the_event_log_exactly(system):
    _benin(system)
    system.commands.retract(event_id="CCM/BEN/2", reason="test", actor="a", source="s", now=T0)
    from_log = system.ledger.facts_from_log()
    from_table = system.ledger.all_facts()
    assert from_log == from_table
    assert len(from_log) == 4


def test_sqlite_commits_with_synchronous_full(sqlite_settings):
    system = bootstrap(sqlite_settings)
    try:
        _benin(system)
        rows = system.ledger.query("PRAGMA synchronous")
        assert rows[0][0] == 2  # FULL
    finally:
        system.close()


def test_every_event_type_survives_the_round_trip_through_the_store_unchanged(system):
    _benin(system)
    c = system.commands
    for fact, extra in [
        ("report_submitted", dict(report="annual", reporting_year=2018, occurred_from="2019-03-01")),
        ("report_missing", dict(report="annual", reporting_year=2019)),
        ("stockpile_declared", dict(detail="12 types")),
        ("contamination_declared", dict(obligation_starts_on="2019-01-01")),
        ("new_contamination_reported", dict(detail="area 7")),
        ("victims_declared", dict(detail="")),
        ("retention_declared", dict(detail="")),
        ("retained_stock_reported", dict(detail="")),
        ("retained_stock_destroyed", dict(detail="")),
        ("extension_requested", dict(article=4, requested_deadline="2031-01-01")),
        ("extension_granted", dict(article=4, new_deadline="2030-01-01")),
        ("stockpile_destruction_completed", dict(detail="")),
        ("withdrawal_notified", {}),
    ]:
        c.record(state="BEN", fact=fact, occurred_on="2020-06-01", now=utc(2020, 7, 1), **LOADER, **extra)
    c.retract(event_id="CCM/BEN/6", reason="test", actor="a", source="s", now=utc(2020, 7, 2))
    fresh = bootstrap(system.settings)  # decodes from the store, not from a cache
    try:
        from_log = fresh.ledger.facts_from_log()
    finally:
        fresh.close()
    assert from_log == system.ledger.all_facts()
    kinds = {f.kind for f in from_log}
    assert len(kinds) == 17
    declared = next(f for f in from_log if f.kind == "ContaminationDeclared")
    assert declared.data["obligation_starts_on"] == "2019-01-01"


def _start_in_a_process(settings: dict, barrier) -> None:  # type: ignore[no-untyped-def]
    """One OS process starting the whole system at the same moment as the others."""
    from services.accounts import Accounts
    from services.http import create_app
    from services.scheduler import Scheduler
    from services.settings import Settings

    barrier.wait(timeout=120)
    system = bootstrap(Settings(**settings))
    try:
        Accounts(system.ledger)
        create_app(system)
        Scheduler(system.ledger, system.reminders, system.delivery)
    finally:
        system.close()


def test_processes_starting_together_on_a_new_store_all_start(settings):
    """The service, the scheduler and a CLI may start at once on an empty database: creating
    the tables must not fail in any of them (PostgreSQL: 'tuple concurrently updated')."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    processes = [context.Process(target=_start_in_a_process, args=(settings.model_dump(), barrier))
                 for _ in range(4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
