"""Acceptance on the real CCM data: the 8MSP progress report's figures as of 30 June 2018.

The reference ledger is loaded once per store (SQLite file and PostgreSQL) per module.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from services.bootstrap import System, bootstrap
from services.loader import load_dataset
from services.settings import Settings
from tests.conftest import postgres_schema, utc

LOADED_AT = utc(2026, 1, 15, 9, 0)
CUT_OFF = date(2018, 6, 30)
PARA_85 = ["Benin", "Cabo Verde", "Comoros", "Congo", "Guinea", "Guinea-Bissau", "Guyana", "Iceland",
           "Madagascar", "Rwanda", "Somalia", "Togo", "Tunisia"]
PARA_4 = ["Angola", "Central African Republic", "Cyprus", "Democratic Republic of the Congo", "Djibouti",
          "Gambia", "Haiti", "Indonesia", "Jamaica", "Kenya", "Liberia", "Namibia", "Nigeria", "Philippines",
          "Sao Tome and Principe", "Uganda", "United Republic of Tanzania"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def ccm(request, tmp_path_factory) -> Iterator[System]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        settings = Settings(db_path=tmp_path_factory.mktemp("ccm") / "ledger.sqlite")
        system = bootstrap(settings)
        load_dataset(system.ledger, system.commands, "ccm-2018", now=LOADED_AT)
        yield system
        system.close()
        return
    with postgres_schema() as settings:
        system = bootstrap(settings)
        load_dataset(system.ledger, system.commands, "ccm-2018", now=LOADED_AT)
        yield system
        system.close()


@pytest.fixture(scope="module")
def status(ccm):  # type: ignore[no-untyped-def]
    return ccm.queries.status(as_of=CUT_OFF, known_at=utc(2026, 2, 1))


def _state(status, name):  # type: ignore[no-untyped-def]
    return next(s for s in status["states"] if s["name"] == name)


def test_as_of_30_june_2018_there_are_103_states_parties_17_signatories_120_in_all(status):
    s = status["summary"]
    assert s["states_parties"]["count"] == 103
    assert s["in_force"]["count"] == 102
    assert s["party_not_yet_in_force"]["states"] == ["Sri Lanka"]
    assert s["signatories"]["states"] == PARA_4
    assert s["joined"]["count"] == 120


def test_benin_is_in_force_since_1_january_2018_and_sri_lanka_from_1_september_2018(status):
    benin, sri_lanka = _state(status, "Benin"), _state(status, "Sri Lanka")
    assert (benin["participation"], benin["entry_into_force_on"]) == ("in_force", "2018-01-01")
    assert sri_lanka["entry_into_force_on"] == "2018-09-01"
    assert sri_lanka["deposit"]["instrument"] == "accession"


def test_the_overdue_initial_reports_are_exactly_the_13_of_paragraph_85(ccm):
    overdue = ccm.queries.overdue(as_of=CUT_OFF, known_at=utc(2026, 2, 1))
    assert [r["name"] for r in overdue["initial"]] == PARA_85
    assert all(r["evidence"] == "recorded missing" for r in overdue["initial"])


def test_sri_lankas_initial_report_is_due_28_february_2019_and_not_overdue(status):
    report = _state(status, "Sri Lanka")["initial_report"]
    assert (report["due_on"], report["state"]) == ("2019-02-28", "not_yet_due")


@pytest.mark.parametrize(("state", "article", "deadline"), [
    ("Croatia", 3, "2018-08-01"), ("Spain", 3, "2018-08-01"), ("Botswana", 3, "2019-12-01"),
    ("Switzerland", 3, "2021-01-01"), ("Afghanistan", 4, "2022-03-01"), ("Montenegro", 4, "2020-08-01"),
    ("Lao People's Democratic Republic", 4, "2020-08-01"), ("Germany", 4, "2020-08-01"),
])
def test_article_3_and_4_deadlines_match_the_report(status, state, article, deadline):
    obligation = next(o for o in _state(status, state)["obligations"] if o["article"] == article)
    assert obligation["deadline_on"] == deadline
    assert obligation["state"] == "open"


def test_cuba_completed_its_stockpile_destruction_and_the_nine_of_paragraph_13_remain(status):
    cuba = next(o for o in _state(status, "Cuba")["obligations"] if o["article"] == 3)
    assert cuba["state"] == "completed"
    remaining = sorted(s["name"] for s in status["states"]
                       for o in s["obligations"] if o["article"] == 3 and o["state"] != "completed")
    assert remaining == ["Botswana", "Bulgaria", "Croatia", "Guinea-Bissau", "Peru", "Slovakia",
                         "South Africa", "Spain", "Switzerland"]


def test_reports_known_only_to_the_month_or_as_a_bound_say_so(status):
    belize = _state(status, "Belize")["initial_report"]["received"]
    assert (belize["precision"], belize["text"]) == ("month", "2017-11 (day not known)")
    canada = _state(status, "Canada")["initial_report"]["received"]
    assert canada["text"] == "on or before 2018-06-30"


def test_every_cited_event_exists_in_the_ledger(ccm, status):
    ids = {f.event_id for f in ccm.ledger.all_facts()}
    cited = set()

    def walk(node):  # type: ignore[no-untyped-def]
        if isinstance(node, dict):
            if "event_id" in node:
                cited.add(node["event_id"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(status["states"])
    assert cited and cited <= ids


def test_loading_twice_adds_nothing(ccm):
    before = ccm.ledger.count_events()
    result = load_dataset(ccm.ledger, ccm.commands, "ccm-2018", now=utc(2026, 1, 16))
    assert result.events_added == 0
    assert ccm.ledger.count_events() == before


def test_as_known_before_the_load_the_ledger_knew_nothing(ccm):
    st = ccm.queries.status(as_of=CUT_OFF, known_at=utc(2026, 1, 15, 8, 59))
    assert st["summary"]["joined"]["count"] == 0


def test_lithuania_is_a_state_party_in_2018_and_withdrawn_from_6_march_2025(ccm):
    def participation(d: date) -> str:
        return ccm.queries.status(as_of=d, known_at=utc(2026, 2, 1), state="LTU")["states"][0]["participation"]

    assert participation(CUT_OFF) == "in_force"
    assert participation(date(2024, 12, 1)) == "withdrawal_pending"
    assert participation(date(2025, 3, 6)) == "withdrawn"


@pytest.mark.parametrize("as_of", [date(2010, 8, 1), date(2014, 1, 1), CUT_OFF, date(2025, 6, 1)])
def test_the_status_index_agrees_with_filtering_in_the_store_itself(ccm, as_of):
    from domain.conventions import load_convention
    from projections.state_status import fold_by_dossier, status_of

    ccm_rules = load_convention("CCM")
    for known_at in (utc(2026, 1, 15, 8, 59), utc(2026, 2, 1)):
        by_store = fold_by_dossier(ccm.ledger.facts_known(convention="CCM", as_of=as_of, known_at=known_at))
        by_index = ccm.queries.standings("CCM", as_of, known_at)
        assert {d: status_of(s, ccm_rules, as_of) for d, s in by_index.items()} == {
            d: status_of(s, ccm_rules, as_of) for d, s in by_store.items() if s.registered
        }
