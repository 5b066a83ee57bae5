"""Question: what are the action plan's indicators for a period, and which States and
events stand behind each figure?

An indicator is a *measure* (a small function below) with parameters, declared in the
action plan's data file. A measure returns, for each State it counts, the ids of the events
that justify counting it; the value is the number of States. Point-in-time measures look at
the period's end; "during the period" measures at the facts that certainly happened inside
it (a fact known only as "on or before the end" does not count as inside).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.conventions import Convention
from domain.dates import add_years
from domain.facts import Fact
from domain.standing import Standing

Justified = dict[str, list[str]]  # dossier id -> ids of the events that justify counting it


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def previous(self) -> Period:
        """The period of the same length just before (the report compares with it)."""
        return Period(add_years(self.start, -1), self.start - timedelta(days=1))

    def holds(self, fact: Fact) -> bool:
        """True when the fact certainly happened inside the period: its earliest possible
        day is on or after the start and its latest on or before the end. A fact known only
        as "on or before D" is never certainly inside."""
        return fact.occurred_from is not None and self.start <= fact.occurred_from and fact.occurred_on <= self.end

    def reported_in(self, fact: Fact) -> bool:
        """True when the fact became known inside the period: its latest possible day is in
        the period and it is not known to be earlier (a fact the sources give only as
        "on or before the end", as the progress report gives what States reported to it)."""
        return (self.start <= fact.occurred_on <= self.end
                and (fact.occurred_from is None or fact.occurred_from >= self.start))

    def has(self, fact: Fact, window: str) -> bool:
        """`window`: "period" (certainly inside), "reported_in_period", or "end" (by the end)."""
        if window == "end":
            return fact.occurred_on <= self.end
        if window == "reported_in_period":
            return self.reported_in(fact)
        if window == "period":
            return self.holds(fact)
        raise ValueError(f"window: {window!r} is not one of period, reported_in_period, end")


FactSource = Callable[[date, date, frozenset[str]], dict[str, list[Fact]]]


@dataclass
class Context:
    """Everything a measure may look at: standings at the period's end, and the known facts
    of given kinds in a window (from the status index, which bisects by valid time)."""

    convention: Convention
    period: Period
    known_at: datetime
    standings: dict[str, Standing]  # as of period end
    fact_source: FactSource
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # dossier id -> (iso3, name), any date
    _cache: dict[Any, Any] = field(default_factory=dict)

    def facts(self, kind: str, window: str) -> dict[str, list[Fact]]:
        """Facts of `kind` that may fall in the window (callers still apply `period.has`)."""
        key = (kind, window)
        if key not in self._cache:
            first = date.min if window == "end" else self.period.start
            self._cache[key] = self.fact_source(first, self.period.end, frozenset({kind}))
        return self._cache[key]

    def parties(self) -> dict[str, Standing]:
        return {d: s for d, s in self.standings.items() if s.is_party(self.period.end, self.convention)}


def _ids(*facts: Fact | None) -> list[str]:
    return [f.event_id for f in facts if f is not None]


# ---------------------------------------------------------------------------- measures
def states_parties(ctx: Context, p: dict[str, Any]) -> Justified:
    return {d: _ids(s.deposit) for d, s in ctx.parties().items()}


def in_force(ctx: Context, p: dict[str, Any]) -> Justified:
    end = ctx.period.end
    return {d: _ids(s.deposit) for d, s in ctx.standings.items()
            if s.participation(end, ctx.convention) in ("in_force", "withdrawal_pending")}


def party_not_in_force(ctx: Context, p: dict[str, Any]) -> Justified:
    end = ctx.period.end
    return {d: _ids(s.deposit) for d, s in ctx.standings.items()
            if s.participation(end, ctx.convention) == "party_not_in_force"}


def signatories(ctx: Context, p: dict[str, Any]) -> Justified:
    end = ctx.period.end
    return {d: _ids(s.signature) for d, s in ctx.standings.items()
            if s.participation(end, ctx.convention) == "signatory"}


def deposited(ctx: Context, p: dict[str, Any]) -> Justified:
    kinds = p.get("instrument")
    out = {}
    for d, s in ctx.standings.items():
        f = s.deposit
        if f is not None and ctx.period.start <= f.occurred_on <= ctx.period.end:
            if kinds is None or f.data["instrument"] in kinds:
                out[d] = _ids(f)
    return out


def _initial_due(ctx: Context, s: Standing) -> date | None:
    eif = s.entry_into_force(ctx.convention)
    if eif is None or not s.is_party(ctx.period.end, ctx.convention):
        return None
    return ctx.convention.initial_report_due(eif)


def initial_report_due(ctx: Context, p: dict[str, Any]) -> Justified:
    """States whose initial report was due by the end of the period."""
    out = {}
    for d, s in ctx.standings.items():
        due = _initial_due(ctx, s)
        if due is not None and ctx.convention.report_overdue_since(due) <= ctx.period.end:
            out[d] = _ids(s.deposit)
    return out


def initial_report_received(ctx: Context, p: dict[str, Any]) -> Justified:
    """Received (in the window) from a State whose initial report was due by the end: a
    State that has since withdrawn no longer owes one, so it is counted in neither."""
    window = p.get("window", "end")
    due = initial_report_due(ctx, {})
    return {d: _ids(s.initial_report) for d, s in ctx.standings.items()
            if d in due and s.initial_report is not None and ctx.period.has(s.initial_report, window)}


def initial_report_overdue(ctx: Context, p: dict[str, Any]) -> Justified:
    out = {}
    for d, s in ctx.standings.items():
        due = _initial_due(ctx, s)
        if due is not None and s.initial_report is None and ctx.convention.report_overdue_since(due) <= ctx.period.end:
            out[d] = _ids(s.deposit, s.missing.get(("initial", None)))
    return out


def initial_report_deadline_missed(ctx: Context, p: dict[str, Any]) -> Justified:
    """States whose initial report fell due during the period and was not received by then."""
    out = {}
    for d, s in ctx.standings.items():
        due = _initial_due(ctx, s)
        if due is None or not ctx.period.start <= due <= ctx.period.end:
            continue
        f = s.initial_report
        if f is None or f.occurred_on > due:
            out[d] = _ids(s.deposit, s.missing.get(("initial", None)))
    return out


def _year(ctx: Context, p: dict[str, Any]) -> int:
    """`year = "previous"` (the calendar year before the period's end) or a number."""
    year = p.get("year", "previous")
    return ctx.period.end.year - 1 if year == "previous" else int(year)


def annual_report_due(ctx: Context, p: dict[str, Any]) -> Justified:
    year = _year(ctx, p)
    out = {}
    for d, s in ctx.standings.items():
        eif = s.entry_into_force(ctx.convention)
        if eif is None or not s.is_party(ctx.period.end, ctx.convention):
            continue
        if ctx.convention.first_annual_reporting_year(eif) <= year and \
                ctx.convention.report_overdue_since(ctx.convention.annual_report_due(year)) <= ctx.period.end:
            out[d] = _ids(s.deposit)
    return out


def annual_report_received(ctx: Context, p: dict[str, Any]) -> Justified:
    year = _year(ctx, p)
    return {d: _ids(s.annual_reports[year]) for d, s in ctx.standings.items() if year in s.annual_reports}


def annual_report_recorded_missing(ctx: Context, p: dict[str, Any]) -> Justified:
    year = _year(ctx, p)
    return {d: _ids(s.missing[("annual", year)]) for d, s in ctx.standings.items()
            if ("annual", year) in s.missing and year not in s.annual_reports}


def obligation(ctx: Context, p: dict[str, Any]) -> Justified:
    """`state = "open"` (held and not completed at the end), "ever" (declared by the end),
    or "completed" (completed by the end; with `window = "period"`, during it)."""
    article, state = int(p["article"]), p.get("state", "open")
    out = {}
    for d, s in ctx.standings.items():
        declared = s.declared.get(article)
        if declared is None:
            continue
        done = s.completed.get(article)
        if state == "ever":
            out[d] = _ids(declared, done)
        elif state == "open" and done is None:
            out[d] = _ids(declared)
        elif state == "completed" and done is not None and ctx.period.has(done, p.get("window", "end")):
            if p.get("before_entry_into_force"):
                eif = s.entry_into_force(ctx.convention)
                if eif is None or done.occurred_on > eif:
                    continue
            out[d] = _ids(declared, done)
    return out


def obligation_deadline(ctx: Context, p: dict[str, Any]) -> Justified:
    """Open Article 3/4 obligations whose deadline (after extensions) falls in [from, to]."""
    article = int(p["article"])
    lo, hi = date.fromisoformat(p["from"]), date.fromisoformat(p["to"])
    out = {}
    for d, s in ctx.standings.items():
        declared = s.declared.get(article)
        eif = s.entry_into_force(ctx.convention)
        if declared is None or eif is None or article in s.completed:
            continue
        granted = s.extensions_granted.get(article)
        if granted is not None:
            deadline = date.fromisoformat(granted.data["new_deadline"])
        elif article == 3:
            deadline = ctx.convention.stockpile_deadline(eif)
        else:
            starts = declared.data.get("obligation_starts_on")
            deadline = ctx.convention.clearance_deadline(max(date.fromisoformat(starts), eif) if starts else eif)
        if lo <= deadline <= hi:
            out[d] = _ids(declared, s.deposit, granted)
    return out


def retention(ctx: Context, p: dict[str, Any]) -> Justified:
    """`state = "held"`: declared and not destroyed at the end; "declared", "destroyed" or
    "reported" (an update on retained munitions) in the `window`."""
    state, window = p.get("state", "held"), p.get("window", "end")
    out = {}
    for d, s in ctx.standings.items():
        declared, destroyed, reported = s.retention_declared, s.retained_stock_destroyed, s.retained_stock_reported
        if state == "held":
            if declared is not None and destroyed is None:
                out[d] = _ids(declared)
            continue
        fact = {"declared": declared, "destroyed": destroyed, "reported": reported}[state]
        if fact is not None and ctx.period.has(fact, window):
            out[d] = _ids(fact)
    return out


def new_contamination(ctx: Context, p: dict[str, Any]) -> Justified:
    window = p.get("window", "period")
    out = {}
    for d, facts in ctx.facts("NewContaminationReported", window).items():
        ids = [f.event_id for f in facts if ctx.period.has(f, window)]
        if ids:
            out[d] = ids
    return out


def declared(ctx: Context, p: dict[str, Any]) -> Justified:
    """States that declared `subject` (optionally in `area`, one of `areas`, or for
    `reporting_year`) in the `window` (default: reported in the period)."""
    subjects = p["subject"] if isinstance(p["subject"], list) else [p["subject"]]
    areas = p.get("areas") or ([p["area"]] if p.get("area") else None)
    contains = p.get("detail_contains", "").casefold()
    year = _year(ctx, {"year": p["reporting_year"]}) if "reporting_year" in p else None
    window = p.get("window", "reported_in_period")
    out: Justified = {}
    for d, facts in ctx.facts("DeclarationMade", window).items():
        for f in facts:
            if f.data["subject"] not in subjects:
                continue
            if contains and contains not in f.data.get("detail", "").casefold():
                continue
            if areas is not None and f.data.get("area") not in areas:
                continue
            if year is not None and f.data.get("reporting_year") != year:
                continue
            if ctx.period.has(f, window):
                out.setdefault(d, []).append(f.event_id)
    return out


def outreach(ctx: Context, p: dict[str, Any]) -> Justified:
    """States that received (or answered, or took part in) an outreach item in the window:
    `event` is LetterReceived, LetterAnswered, MeetingAttended, DemarcheReceived or
    PartnershipChanged; filters: `area`, `reference`, `meeting_kind`, `status`."""
    event, window = p["event"], p.get("window", "reported_in_period")
    out: Justified = {}
    letters_by_ref: dict[str, dict[str, str]] = {}
    if event == "LetterAnswered" and "area" in p:  # an answer's area is its letter's
        for d, facts in ctx.facts("LetterReceived", "end").items():
            letters_by_ref[d] = {f.data["reference"]: f.data["area"] for f in facts}
    for d, facts in ctx.facts(event, window).items():
        for f in facts:
            if not ctx.period.has(f, window):
                continue
            if "reference" in p and f.data.get("reference") != p["reference"]:
                continue
            area = letters_by_ref.get(d, {}).get(f.data["reference"]) if event == "LetterAnswered" \
                else f.data.get("area")
            if "area" in p and area != p["area"]:
                continue
            if any(key in p and f.data.get(key) != p[key] for key in ("meeting_kind", "status")):
                continue
            out.setdefault(d, []).append(f.event_id)
    return out


def meetings_held(ctx: Context, p: dict[str, Any]) -> Justified:
    """Meetings (not States) held in the window: keyed by the meeting's id; filters `area`,
    `meeting_kind`."""
    window = p.get("window", "reported_in_period")
    out: Justified = {}
    for d, facts in ctx.facts("MeetingHeld", window).items():
        for f in facts:
            if ctx.period.has(f, window) and all(f.data.get(k) == p[k] for k in ("area", "meeting_kind") if k in p):
                out[d] = [f.event_id]
    return out


MEASURES: dict[str, Callable[[Context, dict[str, Any]], Justified]] = {
    f.__name__: f
    for f in (
        states_parties, in_force, party_not_in_force, signatories, deposited, initial_report_due,
        initial_report_received, initial_report_overdue, initial_report_deadline_missed, annual_report_due,
        annual_report_received, annual_report_recorded_missing, obligation, obligation_deadline, retention,
        new_contamination, declared, outreach, meetings_held,
    )
}


# ---------------------------------------------------------------------------- evaluation
def _among(ctx: Context, among: str | None) -> set[str] | None:
    """Restrict a measure to States with an open obligation at the end of the period
    (`article3`, `article4`, `article5`), or to States Parties."""
    if among is None:
        return None
    if among == "states_parties":
        return set(ctx.parties())
    article = int(among.removeprefix("article"))
    key = f"among:{article}"
    if key not in ctx._cache:
        ctx._cache[key] = {d for d, s in ctx.standings.items() if article in s.declared and article not in s.completed}
    return ctx._cache[key]


def evaluate(indicator: dict[str, Any], ctx: Context, done: dict[str, Justified | None]) -> Justified | None:
    """Run one indicator; None when the ledger holds no data for it. `done` holds the
    indicators evaluated so far, for `union` and `intersect` (which must come later in the
    catalogue than the indicators they combine)."""
    measure = indicator.get("measure")
    if measure == "not_in_ledger":
        return None
    if measure == "union":
        result: Justified = {}
        for part in indicator["of"]:
            for d, ids in (done[part] or {}).items():
                result.setdefault(d, []).extend(i for i in ids if i not in result.get(d, []))
    elif measure == "intersect":
        parts = [done[part] or {} for part in indicator["of"]]
        common = set(parts[0]).intersection(*parts[1:])
        result = {d: [i for part in parts for i in part[d]] for d in common}
    else:
        result = MEASURES[measure](ctx, indicator.get("params", {}))
    among = _among(ctx, indicator.get("among"))
    if among is not None:
        result = {d: ids for d, ids in result.items() if d in among}
    return result
