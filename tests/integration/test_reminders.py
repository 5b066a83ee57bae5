"""Reminder letters on the ccm-2018 ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest

from domain.errors import RuleViolationError
from services.bootstrap import System, bootstrap
from services.loader import load_dataset
from services.reminders import Reminders
from tests.conftest import race, utc

LOADED = utc(2026, 1, 15)
NOW = utc(2026, 2, 1)
PARA_85 = ["Benin", "Cabo Verde", "Comoros", "Congo", "Guinea", "Guinea-Bissau", "Guyana", "Iceland",
           "Madagascar", "Rwanda", "Somalia", "Togo", "Tunisia"]


@pytest.fixture
def ledger(settings) -> Iterator[tuple[System, Reminders]]:  # type: ignore[no-untyped-def]
    system = bootstrap(settings)
    load_dataset(system.ledger, system.commands, "ccm-2018", now=LOADED)
    try:
        yield system, Reminders(system.ledger, system.queries)
    finally:
        system.close()


def by(result, obligation):  # type: ignore[no-untyped-def]
    return {r["state"]: r for r in result["due"] if r["obligation"] == obligation}


def test_a_dry_run_on_1_july_2018_lists_the_letters_the_8msp_situation_calls_for(ledger):
    system, reminders = ledger
    result = reminders.run(as_of=date(2018, 7, 1), now=NOW, actor="isu", dry_run=True)
    initial = by(result, "initial_report")
    assert sorted(initial) == PARA_85
    # the stage follows how long the report is overdue
    assert (initial["Benin"]["stage"], initial["Madagascar"]["stage"]) == ("overdue", "overdue")
    assert initial["Cabo Verde"]["stage"] == "escalation" and initial["Cabo Verde"]["signatory"] == "president"
    assert sorted(by(result, "annual_report")) == ["Cameroon", "Chile", "Sierra Leone", "South Africa"]
    art3 = by(result, "stockpile_deadline")
    assert {s: (r["period"], r["stage"]) for s, r in art3.items() if r["period"] == "2018-08-01"} == {
        "Croatia": ("2018-08-01", "6_months_before"), "Spain": ("2018-08-01", "6_months_before")}
    assert sorted(by(result, "commitment:va_focal_point")) == ["Guinea-Bissau", "Sierra Leone"]
    assert system.ledger.query("SELECT COUNT(*) FROM ledger_facts WHERE convention = 'REM'")[0][0] == 0


def test_each_letter_renders_in_the_states_language(ledger):
    _, reminders = ledger
    reminders.run(as_of=date(2018, 7, 1), now=NOW, actor="isu")
    letters = {r["state"]: reminders.render(r, today=date(2018, 7, 2)) for r in reminders.list()
               if r["obligation"] in ("initial_report", "annual_report", "stockpile_deadline")}
    assert "Excellence," in letters["Benin"] and "attendu le 30 juin 2018" in letters["Benin"]  # French
    assert "Mission permanente du Bénin" in letters["Benin"] and "retard de 2 jours" in letters["Benin"]
    assert "Date : 2 juillet 2018" in letters["Benin"]
    assert "des Comores" in letters["Comoros"] and "Misión Permanente de Chile" in letters["Chile"]
    assert "Excelencia:" in letters["Chile"] and "2017" in letters["Chile"]  # Spanish
    assert "Excellency," in letters["Croatia"] and "extension" in letters["Croatia"]  # English
    assert "not later than 1 August 2018" in letters["Croatia"] and "Date: 2 July 2018" in letters["Croatia"]
    assert "Excelencia:" in letters["Spain"] and "el 1 de agosto de 2018" in letters["Spain"]
    assert "CCM/REM/BEN/INITIAL-REPORT/OVERDUE" in letters["Benin"]
    assert "President" in letters["Cabo Verde"]
    salutation = {"en": "Excellency,", "fr": "Excellence,", "es": "Excelencia:"}
    everyone = reminders.list()
    assert len(everyone) == 27
    for r in everyone:  # every letter of the run, in its State's language, as text and as HTML
        assert salutation[r["language"]] in reminders.render(r, today=date(2018, 7, 2)), r["key"]
        assert salutation[r["language"]] in reminders.render(r, today=date(2018, 7, 2), fmt="html"), r["key"]


def test_a_dap_commitment_letter_speaks_the_states_language_throughout(ledger):
    _, reminders = ledger
    reminders.run(as_of=date(2018, 7, 1), now=NOW, actor="isu")
    chad = reminders.render(reminders.get("CCM/TCD/commitment:va_national_plan/-/ahead"), today=date(2018, 7, 2))
    assert "Mission permanente du Tchad" in chad and "que le Tchad ait fait rapport" in chad
    assert "élaborer un plan d'action national" in chad and "national action plan" not in chad
    assert "au plus tard le 31 décembre 2018" in chad


def test_running_the_same_date_twice_records_each_reminder_once(ledger):
    _, reminders = ledger
    first = reminders.run(as_of=date(2018, 7, 1), now=NOW, actor="isu")
    second = reminders.run(as_of=date(2018, 7, 1), now=utc(2026, 2, 2), actor="isu")
    assert len(first["drafted"]) == len(first["due"]) > 20
    assert second["drafted"] == [] and sorted(second["already_recorded"]) == sorted(first["drafted"])
    keys = [r["key"] for r in reminders.list()]
    assert len(keys) == len(set(keys)) == len(first["due"])


def _run_in_a_process(settings: dict, barrier, results) -> None:  # type: ignore[no-untyped-def]
    """One OS process: its own system and connections; waits for the other, then runs."""
    from services.settings import Settings

    system = bootstrap(Settings(**settings))
    try:
        service = Reminders(system.ledger, system.queries)
        service.due(as_of=date(2018, 7, 1), known_at=NOW)  # warm the index before the race
        barrier.wait(timeout=120)
        results.put(service.run(as_of=date(2018, 7, 1), now=NOW, actor="scheduler")["drafted"])
    finally:
        system.close()


def test_two_os_processes_running_at_once_record_each_reminder_exactly_once(ledger):
    import multiprocessing

    system, reminders = ledger
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_run_in_a_process, args=(system.settings.model_dump(), barrier, results))
                 for _ in range(2)]
    for p in processes:
        p.start()
    drafted = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    assert len(drafted[0]) + len(drafted[1]) == 27 and not set(drafted[0]) & set(drafted[1])
    assert set(Counter(r["key"] for r in reminders.list()).values()) == {1}


def test_two_ledgers_racing_in_threads_record_each_reminder_exactly_once(ledger):
    system, _ = ledger
    others = [bootstrap(system.settings) for _ in range(2)]  # separate connections and caches
    services = [Reminders(o.ledger, o.queries) for o in others]
    for s in services:
        s.due(as_of=date(2018, 7, 1), known_at=NOW)  # warm each process's index before the race
    try:
        results = race(*(lambda s=s: s.run(as_of=date(2018, 7, 1), now=NOW, actor="scheduler") for s in services))
    finally:
        for o in others:
            o.close()
    drafted = results[0]["drafted"] + results[1]["drafted"]
    assert len(drafted) == len(set(drafted)) == len(results[0]["due"])
    counts = Counter(r["key"] for r in Reminders(system.ledger, system.queries).list())
    assert set(counts.values()) == {1}


def test_a_report_recorded_before_approval_withdraws_the_pending_reminder(ledger):
    system, reminders = ledger
    reminders.run(as_of=date(2018, 7, 1), now=NOW, actor="isu")
    system.commands.record(state="Benin", fact="report_submitted", report="initial", occurred_on="2018-07-10",
                           source="UNODA Article 7 database", actor="isu", now=utc(2026, 2, 3))
    result = reminders.run(as_of=date(2018, 7, 15), now=utc(2026, 2, 4), actor="isu")
    benin = reminders.get("CCM/BEN/initial_report/-/overdue")
    assert benin["status"] == "withdrawn" and "no longer due" in benin["withdrawn_reason"]
    assert any(w["key"] == benin["key"] for w in result["withdrawn"])
    with pytest.raises(RuleViolationError, match="withdrawn"):
        reminders.approve(key=benin["key"], role="isu", actor="isu", now=utc(2026, 2, 5))


def test_a_later_stage_supersedes_an_unsent_reminder_and_an_approved_one_stays(ledger):
    _, reminders = ledger
    reminders.run(as_of=date(2018, 7, 1), now=NOW, actor="isu")
    reminders.approve(key="CCM/MDG/initial_report/-/overdue", role="coordinator", actor="zambia", now=NOW)
    result = reminders.run(as_of=date(2018, 10, 1), now=utc(2026, 2, 2), actor="isu")
    assert "CCM/BEN/initial_report/-/follow_up_1" in result["drafted"]
    benin = reminders.get("CCM/BEN/initial_report/-/overdue")
    assert (benin["status"], benin["withdrawn_reason"]) == ("withdrawn", "superseded by stage follow_up_1")
    madagascar = reminders.get("CCM/MDG/initial_report/-/overdue")
    assert (madagascar["status"], madagascar["approved_by"]) == ("approved", "zambia")


def test_the_audit_explains_a_letter_end_to_end(ledger):
    system, reminders = ledger
    reminders.run(as_of=date(2018, 7, 1), now=NOW, actor="scheduler")
    reminders.approve(key="CCM/BEN/initial_report/-/overdue", role="coordinator", actor="zambia",
                      now=utc(2026, 2, 2))
    audit = reminders.audit("CCM/BEN/initial_report/-/overdue")
    assert audit["rule"]["stage"] == {"id": "overdue", "offset_days": 0, "signatory": "coordinators"}
    assert (audit["rule"]["article"], audit["rule"]["action_point"]) == (7, "6.1")
    assert audit["trigger"]["due_on"] == "2018-06-30" and audit["trigger"]["days_overdue_at_run"] == 1
    assert audit["trigger"]["status_as_known_at_the_run"]["initial_report"]["state"] == "overdue"
    assert set(audit["trigger"]["cause_event_ids"]) <= {f.event_id for f in system.ledger.all_facts()}
    assert audit["run"] == {"as_of": "2018-07-01", "recorded_at": "2026-02-01T00:00:00.000000Z",
                            "recorded_by": "scheduler"}
    assert [(h["kind"], h["recorded_by"]) for h in audit["history"]] == [
        ("ReminderDrafted", "scheduler"), ("ReminderApproved", "zambia")]


def test_a_letter_renders_as_valid_html_with_the_same_words_escaped(ledger):
    import html5lib

    _, reminders = ledger
    reminders.run(as_of=date(2018, 7, 1), now=NOW, actor="isu")
    letter = reminders.get("CCM/BEN/initial_report/-/overdue")
    page = reminders.render(letter, today=date(2018, 7, 2), fmt="html")
    html5lib.HTMLParser(strict=True).parse(page)
    assert '<html lang="fr">' in page and "Excellence," in page
    assert "Unité d&#39;appui" in page  # escaped by the one autoescaping environment
