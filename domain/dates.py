"""Calendar arithmetic and imprecise dates.

Treaty law speaks in calendar dates; sources often know a date only to the month, the
year, or as a bound ("received before 1 July 2017"). `When` records what is known
instead of inventing a day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache


def add_months(d: date, months: int) -> date:
    """Same day `months` later, clamped to the end of a shorter month."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    day = min(d.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def add_years(d: date, years: int) -> date:
    return add_months(d, 12 * years)


def add_days(d: date, days: int) -> date:
    return d + timedelta(days=days)


def first_of_month_after(d: date, months: int) -> date:
    """The first day of the month that is `months` months after the month of `d`."""
    first = date(d.year, d.month, 1)
    return add_months(first, months)


def end_of_month(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def parse_date(text: str, field: str = "date") -> date:
    """Parse an ISO calendar date, naming the field when it is not one."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise InvalidDateError(field, text) from None


def parse_timestamp(text: str, field: str = "timestamp") -> datetime:
    """Parse an ISO timestamp (a bare date means its end, 23:59:59.999999 UTC)."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
            return datetime(d.year, d.month, d.day, 23, 59, 59, 999999, tzinfo=UTC)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidDateError(field, text) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@lru_cache(maxsize=256)  # a bulk import writes many events with one record time
def utc_text(moment: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order in every store."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    # isoformat: zero-padded years, and several times faster than strftime on every write
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class InvalidDateError(ValueError):
    def __init__(self, field: str, value: object) -> None:
        self.field = field
        self.value = value
        super().__init__(
            f"{field}: {value!r} is not a calendar date; write it as YYYY-MM-DD (e.g. 2018-06-30)"
        )


@dataclass(frozen=True)
class When:
    """When something happened, as precisely as the sources know.

    `on` is the date by which it had certainly happened (the latest possible day);
    `earliest` the first possible day, equal to `on` for an exact date and None when
    the sources give only an upper bound.
    """

    on: date
    earliest: date | None

    @classmethod
    def exactly(cls, d: date) -> When:
        return cls(on=d, earliest=d)

    @classmethod
    def in_month(cls, year: int, month: int) -> When:
        first = date(year, month, 1)
        return cls(on=end_of_month(first), earliest=first)

    @classmethod
    def in_year(cls, year: int) -> When:
        return cls(on=date(year, 12, 31), earliest=date(year, 1, 1))

    @classmethod
    def by(cls, d: date) -> When:
        return cls(on=d, earliest=None)

    @property
    def is_exact(self) -> bool:
        return self.earliest == self.on

    @property
    def precision(self) -> str:
        e, on = self.earliest, self.on
        if e == on:
            return "day"
        if e is None:
            return "on_or_before"
        if e.day == 1 and e.year == on.year and e.month == on.month and on == end_of_month(e):
            return "month"
        if (e.month, e.day, on.month, on.day) == (1, 1, 12, 31) and e.year == on.year:
            return "year"
        return "between"

    def text(self) -> str:
        """Human text that never claims more than is known."""
        p = self.precision
        if p == "day":
            return self.on.isoformat()
        if p == "month":
            return self.on.strftime("%Y-%m") + " (day not known)"
        if p == "year":
            return f"{self.on.year} (month not known)"
        if p == "on_or_before":
            return f"on or before {self.on.isoformat()}"
        assert self.earliest is not None
        return f"between {self.earliest.isoformat()} and {self.on.isoformat()}"
