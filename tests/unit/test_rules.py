"""Treaty rules as data: entry into force, due dates, deadlines, withdrawal (CCM and APMBC)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from domain.conventions import UnknownConventionError, known_conventions, load_convention
from domain.dates import When, add_months

CCM = load_convention("CCM")
APMBC = load_convention("APMBC")
DATA = Path(__file__).resolve().parents[2] / "data" / "ccm-2018"


def test_deposits_up_to_the_thirtieth_instrument_enter_into_force_with_the_convention():
    assert CCM.entry_into_force_for(date(2008, 12, 3)) == date(2010, 8, 1)
    assert CCM.entry_into_force_for(date(2010, 2, 16)) == date(2010, 8, 1)


def test_a_later_deposit_enters_into_force_on_the_first_day_of_the_sixth_month():
    assert CCM.entry_into_force_for(date(2010, 2, 17)) == date(2010, 8, 1)
    assert CCM.entry_into_force_for(date(2010, 3, 31)) == date(2010, 9, 1)
    assert CCM.entry_into_force_for(date(2010, 11, 5)) == date(2011, 5, 1)
    assert CCM.entry_into_force_for(date(2018, 3, 1)) == date(2018, 9, 1)  # Sri Lanka


def test_the_sixth_month_rule_crosses_year_ends():
    assert CCM.entry_into_force_for(date(2017, 7, 10)) == date(2018, 1, 1)  # Benin
    assert CCM.entry_into_force_for(date(2017, 12, 31)) == date(2018, 6, 1)
    assert CCM.entry_into_force_for(date(2018, 8, 31)) == date(2019, 2, 1)  # Namibia
    assert CCM.entry_into_force_for(date(2019, 7, 1)) == date(2020, 1, 1)


def test_the_rule_reproduces_every_entry_into_force_date_of_the_reference_file():
    with (DATA / "states.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["deposit_on"]]
    assert len(rows) > 100
    for row in rows:
        assert CCM.entry_into_force_for(date.fromisoformat(row["deposit_on"])) == date.fromisoformat(
            row["entry_into_force_on"]
        ), row["name"]


def test_the_initial_report_is_due_180_days_after_entry_into_force():
    assert CCM.initial_report_due(date(2018, 1, 1)) == date(2018, 6, 30)  # Benin
    assert CCM.initial_report_due(date(2018, 9, 1)) == date(2019, 2, 28)  # Sri Lanka, para 88
    assert CCM.initial_report_due(date(2017, 11, 1)) == date(2018, 4, 30)  # Madagascar


def test_a_report_due_on_a_day_is_overdue_as_at_that_day_as_the_8msp_counts_benin():
    assert CCM.report_overdue_since(date(2018, 6, 30)) == date(2018, 6, 30)


def test_annual_reports_are_due_on_30_april_and_start_with_the_year_the_initial_report_falls_due():
    assert CCM.annual_report_due(2017) == date(2018, 4, 30)
    assert CCM.first_annual_reporting_year(date(2010, 8, 1)) == 2011
    assert CCM.first_annual_reporting_year(date(2012, 3, 1)) == 2012  # Afghanistan reported for 2012
    assert CCM.first_annual_reporting_year(date(2017, 11, 1)) == 2018


def test_stockpile_and_clearance_deadlines_count_from_entry_into_force():
    assert CCM.stockpile_deadline(date(2010, 8, 1)) == date(2018, 8, 1)  # Croatia, Spain
    assert CCM.stockpile_deadline(date(2011, 12, 1)) == date(2019, 12, 1)  # Botswana
    assert CCM.stockpile_deadline(date(2013, 1, 1)) == date(2021, 1, 1)  # Switzerland
    assert CCM.clearance_deadline(date(2012, 3, 1)) == date(2022, 3, 1)  # Afghanistan
    assert CCM.deadline_overdue_since(date(2018, 8, 1)) == date(2018, 8, 2)


def test_a_withdrawal_takes_effect_six_months_after_notification():
    assert CCM.withdrawal_effective(date(2024, 9, 6)) == date(2025, 3, 6)
    assert CCM.withdrawal_effective(date(2024, 8, 31)) == date(2025, 2, 28)


def test_the_mine_ban_convention_is_a_second_data_file_with_its_own_periods():
    assert set(known_conventions()) >= {"CCM", "APMBC"}
    assert APMBC.entry_into_force_for(date(1997, 12, 3)) == date(1999, 3, 1)
    assert APMBC.entry_into_force_for(date(2003, 12, 10)) == date(2004, 6, 1)
    assert APMBC.stockpile_deadline(date(1999, 3, 1)) == date(2003, 3, 1)
    assert APMBC.clearance_deadline(date(1999, 3, 1)) == date(2009, 3, 1)


def test_an_unknown_convention_is_named_with_the_known_ones():
    with pytest.raises(UnknownConventionError, match="CCM"):
        load_convention("XYZ")


def test_add_months_clamps_to_the_end_of_a_shorter_month():
    assert add_months(date(2024, 8, 31), 6) == date(2025, 2, 28)
    assert add_months(date(2023, 12, 15), 2) == date(2024, 2, 15)


def test_imprecise_dates_say_what_is_known_and_no_more():
    assert When.in_month(2017, 11).text() == "2017-11 (day not known)"
    assert When.in_year(2011).text() == "2011 (month not known)"
    assert When.by(date(2018, 6, 30)).text() == "on or before 2018-06-30"
    assert When(on=date(2017, 12, 31), earliest=date(2017, 7, 1)).precision == "between"
    assert When.exactly(date(2018, 1, 1)).text() == "2018-01-01"
