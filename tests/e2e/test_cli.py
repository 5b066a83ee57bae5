"""The `treaty` command as a user runs it: a real process on a real SQLite file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers import CHROMIUM, NO_CHROMIUM, Accepted, print_to_pdf, smtp_server

TREATY = Path(sys.executable).parent / "treaty"


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TREATY_DB_PATH": str(db), "COLUMNS": "200"}
    env.pop("TREATY_POSTGRES_DSN", None)
    return subprocess.run([str(TREATY), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("cli") / "ledger.sqlite"
    first = run(path, "load", "ccm-2018")
    assert first.returncode == 0, first.stderr
    assert "132 States" in first.stdout  # 125 of states.csv + 7 States not party met through outreach
    return path


def test_an_empty_ledger_says_how_to_load_it(tmp_path):
    result = run(tmp_path / "empty.sqlite", "status", "--as-of", "2018-06-30")
    assert result.returncode == 2
    assert "treaty load ccm-2018" in result.stderr


def test_loading_again_adds_nothing(db):
    again = run(db, "load", "ccm-2018")
    assert again.returncode == 0, again.stderr
    assert " 0 events added" in again.stdout


def test_status_as_json_gives_the_2018_counts(db):
    result = run(db, "status", "--as-of", "2018-06-30", "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert (summary["states_parties"]["count"], summary["in_force"]["count"],
            summary["signatories"]["count"], summary["joined"]["count"]) == (103, 102, 17, 120)


def test_status_as_a_table_is_readable(db):
    result = run(db, "status", "--as-of", "2018-06-30")
    assert result.returncode == 0, result.stderr
    assert "103 States Parties (102 in force, 1 not yet in force), 17 signatories, 120 in all" in result.stdout
    assert "Sri Lanka" in result.stdout


def test_one_state_can_be_named_by_an_alias_or_iso3(db):
    by_alias = json.loads(run(db, "status", "--as-of", "2018-06-30", "--state", "Cape Verde",
                              "--format", "json").stdout)
    by_code = json.loads(run(db, "status", "--as-of", "2018-06-30", "--state", "cpv", "--format", "json").stdout)
    assert by_alias["states"][0]["name"] == by_code["states"][0]["name"] == "Cabo Verde"


def test_an_unknown_state_gets_close_names_suggested(db):
    result = run(db, "status", "--state", "Benim")
    assert result.returncode == 2
    assert "did you mean Benin" in result.stderr


def test_an_impossible_date_is_refused_with_the_option_named(db):
    result = run(db, "status", "--as-of", "2018-02-30")
    assert result.returncode == 2
    assert "--as-of" in result.stderr and "2018-02-30" in result.stderr


def test_overdue_lists_the_13_initial_reports_of_paragraph_85(db):
    result = run(db, "overdue", "--as-of", "2018-06-30", "--format", "json")
    names = [r["name"] for r in json.loads(result.stdout)["initial"]]
    assert len(names) == 13 and "Benin" in names and "Sri Lanka" not in names


def test_timeline_shows_events_with_record_time_actor_and_source(db):
    result = run(db, "timeline", "Benin", "--format", "json")
    events = json.loads(result.stdout)["events"]
    assert events[0]["event_id"] == "CCM/BEN/1"
    assert all(e["recorded_by"] == "reference-loader" and e["source"] for e in events)


def test_a_recorded_fact_and_its_retraction_change_the_answer_from_their_record_time(tmp_path, db):
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(db.read_bytes())
    rec = run(copy, "record", "report_submitted", "--state", "Benin", "--on", "2018-06-29",
              "--source", "UNODA Article 7 database", "--field", "report=initial")
    assert rec.returncode == 0, rec.stderr
    event_id = rec.stdout.split()[-1]
    overdue = json.loads(run(copy, "overdue", "--as-of", "2018-06-30", "--format", "json").stdout)
    assert "Benin" not in [r["name"] for r in overdue["initial"]]
    ret = run(copy, "retract", event_id, "--reason", "entered against the wrong State")
    assert ret.returncode == 0, ret.stderr
    overdue = json.loads(run(copy, "overdue", "--as-of", "2018-06-30", "--format", "json").stdout)
    assert "Benin" in [r["name"] for r in overdue["initial"]]


def test_a_wrong_deposit_date_is_superseded_and_the_old_answer_stays_auditable(tmp_path, db):
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(db.read_bytes())
    timeline = json.loads(run(copy, "timeline", "Benin", "--format", "json").stdout)["events"]
    deposit = next(e for e in timeline if e["kind"] == "InstrumentDeposited")
    result = run(copy, "supersede", deposit["event_id"], "instrument_deposited", "--on", "2017-08-10",
                 "--reason", "test correction", "--source", "test", "--field", "instrument=ratification")
    assert result.returncode == 0, result.stderr
    benin = json.loads(run(copy, "status", "--as-of", "2018-06-30", "--state", "BEN", "--format", "json").stdout)
    assert benin["states"][0]["entry_into_force_on"] == "2018-02-01"
    bad = run(copy, "record", "signed", "--state", "BEN", "--on", "2008-12-03", "--source", "x", "--field", "oops")
    assert bad.returncode == 2 and "--field" in bad.stderr


def test_report_writes_html_md_and_json_for_the_8msp_period(db, tmp_path):
    html = tmp_path / "report.html"
    result = run(db, "report", "--from", "2017-07-01", "--to", "2018-06-30", "--out", str(html))
    assert result.returncode == 0, result.stderr
    assert "<h2>I. Report summary</h2>" in html.read_text()
    md = run(db, "report", "--from", "2017-07-01", "--to", "2018-06-30", "--format", "md")
    assert "## II. Progress by thematic area" in md.stdout
    data = json.loads(run(db, "report", "--from", "2017-07-01", "--to", "2018-06-30", "--format", "json").stdout)
    assert data["indicators"]["initial_overdue"]["value"] == 13


def test_indicators_explain_names_states_and_events(db):
    result = run(db, "indicators", "--from", "2017-07-01", "--to", "2018-06-30", "--id", "new_states_parties",
                 "--explain")
    assert result.returncode == 0, result.stderr
    assert "Benin" in result.stdout and "Sri Lanka" in result.stdout and "CCM/BEN/" in result.stdout


def test_an_unknown_indicator_and_a_reversed_period_are_refused_clearly(db):
    unknown = run(db, "indicators", "--from", "2017-07-01", "--to", "2018-06-30", "--id", "initial_overdu")
    assert unknown.returncode == 2 and "initial_overdue" in unknown.stderr
    reversed_period = run(db, "report", "--from", "2018-07-01", "--to", "2018-06-30")
    assert reversed_period.returncode == 2 and "--to" in reversed_period.stderr


@pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)
def test_headless_chromium_prints_the_report_to_a_multi_page_a4_pdf(db, tmp_path):
    html = tmp_path / "report.html"
    assert run(db, "report", "--from", "2017-07-01", "--to", "2018-06-30", "--out", str(html)).returncode == 0
    data = print_to_pdf(html, tmp_path)
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) > 10  # the report runs to many pages
    width, height = map(float, re.search(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", data).groups())
    assert (round(width), round(height)) == (595, 842)  # A4 in points, from the print stylesheet


# ------------------------------------------------------------------ reminders
def test_reminders_from_the_dry_run_to_the_reply_and_the_audit(tmp_path, db):
    import shutil

    ledger = tmp_path / "ledger.sqlite"
    shutil.copy(db, ledger)
    key = "CCM/BEN/initial_report/-/overdue"
    dry = run(ledger, "reminders", "run", "--as-of", "2018-07-01", "--dry-run", "--format", "json")
    assert dry.returncode == 0, dry.stderr
    due = json.loads(dry.stdout)["due"]
    assert len([r for r in due if r["obligation"] == "initial_report"]) == 13
    assert {r["iso3"] for r in due if r["obligation"] == "stockpile_deadline" and r["period"] == "2018-08-01"} == \
        {"HRV", "ESP"}
    assert "would draft 27" in run(ledger, "reminders", "run", "--as-of", "2018-07-01", "--dry-run").stdout
    assert run(ledger, "reminders", "list").stdout.count("CCM/") == 0  # a dry run records nothing
    typo = run(ledger, "reminders", "list", "--status", "sennt")
    assert typo.returncode == 2 and "status: 'sennt' is not valid" in typo.stderr
    assert "drafted 27" in run(ledger, "reminders", "run", "--as-of", "2018-07-01").stdout
    assert "drafted 0, already recorded 27" in run(ledger, "reminders", "run", "--as-of", "2018-07-01").stdout
    letter = run(ledger, "reminders", "show", key)
    assert "Excellence," in letter.stdout and "article 7" in letter.stdout  # Benin writes in French
    early = run(ledger, "reminders", "reply", key, "--received-on", "2018-07-20", "--summary", "x")
    assert early.returncode == 2 and "only a sent letter" in early.stderr
    assert run(ledger, "reminders", "approve", key).returncode == 0
    accepted = Accepted()
    with smtp_server(accepted) as port:
        env = {**os.environ, "TREATY_DB_PATH": str(ledger), "TREATY_SMTP_PORT": str(port), "COLUMNS": "200"}
        env.pop("TREATY_POSTGRES_DSN", None)
        sent = [subprocess.run([str(TREATY), "reminders", "send"], env=env, capture_output=True, text=True,
                               timeout=120) for _ in range(2)]
    assert sent[0].stdout.startswith("sent 1,") and sent[1].stdout.startswith("sent 0,")
    assert len(accepted.message_ids) == 1
    bad_date = run(ledger, "reminders", "reply", key, "--received-on", "2018-13-01", "--summary", "x")
    assert bad_date.returncode == 2 and "--received-on" in bad_date.stderr
    replied = run(ledger, "reminders", "reply", key, "--received-on", _today(), "--summary", "Report in March",
                  "--reference", "NV/12")
    assert replied.returncode == 0, replied.stderr
    audit = json.loads(run(ledger, "audit", "letter", key).stdout)
    assert audit["rule"]["stage"]["id"] == "overdue" and audit["rule"]["article"] == 7
    assert audit["trigger"]["status_as_known_at_the_run"]["participation"] == "in_force"
    assert [h["kind"] for h in audit["history"]] == ["ReminderDrafted", "ReminderApproved", "SendAttempted",
                                                      "ReminderSent", "ReplyReceived"]
    assert audit["status"] == "replied"


@pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)
def test_a_reminder_letter_prints_to_a_one_page_a4_pdf(db, tmp_path):
    import shutil

    ledger = tmp_path / "ledger.sqlite"
    shutil.copy(db, ledger)
    key = "CCM/BEN/initial_report/-/overdue"
    assert run(ledger, "reminders", "run", "--as-of", "2018-07-01").returncode == 0
    html = tmp_path / "letter.html"
    written = run(ledger, "reminders", "show", key, "--html", "--out", str(html))
    assert written.returncode == 0, written.stderr
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    data = print_to_pdf(html, tmp_path)
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", data)) == 1
    width, height = map(float, re.search(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", data).groups())
    assert (round(width), round(height)) == (595, 842)


def _today() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).date().isoformat()
