"""Treaty rules as data: one TOML file per convention, read into `Convention`.

The rules are small pure functions over these parameters, so a second convention is a
new file, not new code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Literal

from domain.dates import add_days, add_months, add_years, first_of_month_after

FirstAnnualYear = Literal["year_initial_report_due", "year_after_entry_into_force"]
OverdueFrom = Literal["on_due_date", "day_after_due_date"]
DeadlineOverdueFrom = Literal["on_deadline", "day_after_deadline"]


@dataclass(frozen=True)
class Convention:
    id: str
    name: str
    convention_in_force_on: date
    threshold_instrument_on: date
    later_state_months: int
    initial_report_days: int
    annual_due_month: int
    annual_due_day: int
    first_annual_year: FirstAnnualYear
    overdue_from: OverdueFrom
    stockpile_destruction_years: int
    clearance_years: int
    deadline_overdue_from: DeadlineOverdueFrom
    withdrawal_months: int

    # -- Art. 17: entry into force -------------------------------------------------
    def entry_into_force_for(self, deposited_on: date) -> date:
        """The day the convention enters into force for a State depositing on `deposited_on`."""
        if deposited_on <= self.threshold_instrument_on:
            return self.convention_in_force_on
        return first_of_month_after(deposited_on, self.later_state_months)

    # -- Art. 7: transparency reports ---------------------------------------------
    def initial_report_due(self, entry_into_force: date) -> date:
        return add_days(entry_into_force, self.initial_report_days)

    def annual_report_due(self, reporting_year: int) -> date:
        return date(reporting_year + 1, self.annual_due_month, self.annual_due_day)

    def first_annual_reporting_year(self, entry_into_force: date) -> int:
        if self.first_annual_year == "year_initial_report_due":
            return self.initial_report_due(entry_into_force).year
        return entry_into_force.year + 1

    def report_overdue_since(self, due: date) -> date:
        """First "as at" day on which a report due on `due` and not received is overdue."""
        return due if self.overdue_from == "on_due_date" else add_days(due, 1)

    # -- Arts. 3 and 4: deadlines -------------------------------------------------
    def stockpile_deadline(self, entry_into_force: date) -> date:
        return add_years(entry_into_force, self.stockpile_destruction_years)

    def clearance_deadline(self, obligation_starts_on: date) -> date:
        return add_years(obligation_starts_on, self.clearance_years)

    def deadline_overdue_since(self, deadline: date) -> date:
        return deadline if self.deadline_overdue_from == "on_deadline" else add_days(deadline, 1)

    # -- Art. 20: withdrawal ------------------------------------------------------
    def withdrawal_effective(self, notified_on: date) -> date:
        return add_months(notified_on, self.withdrawal_months)


@cache
def load_convention(convention_id: str) -> Convention:
    """Read `<id>.toml` from this package; unknown ids raise `UnknownConventionError`."""
    name = f"{convention_id.lower()}.toml"
    try:
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UnknownConventionError(convention_id, known_conventions()) from None
    raw = tomllib.loads(text)
    eif, rep, obl, wd = (
        raw["entry_into_force"],
        raw["reports"],
        raw["obligations"],
        raw["withdrawal"],
    )
    return Convention(
        id=raw["id"],
        name=raw["name"],
        convention_in_force_on=eif["convention_on"],
        threshold_instrument_on=eif["threshold_instrument_on"],
        later_state_months=eif["later_state_months_after_deposit_month"],
        initial_report_days=rep["initial_due_days_after_entry_into_force"],
        annual_due_month=rep["annual_due_month"],
        annual_due_day=rep["annual_due_day"],
        first_annual_year=rep["first_annual_year"],
        overdue_from=rep["overdue_from"],
        stockpile_destruction_years=obl["stockpile_destruction_years"],
        clearance_years=obl["clearance_years"],
        deadline_overdue_from=obl["deadline_overdue_from"],
        withdrawal_months=wd["effect_months_after_notification"],
    )


def known_conventions() -> list[str]:
    return sorted(
        p.name.removesuffix(".toml").upper()
        for p in resources.files(__package__).iterdir()
        if p.name.endswith(".toml")
    )


class UnknownConventionError(LookupError):
    def __init__(self, convention_id: str, known: list[str]) -> None:
        super().__init__(
            f"convention: {convention_id!r} is not defined; known conventions: {', '.join(known)}"
        )
