"""Use cases for the action plan: indicators and the progress report for a period."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from domain.conventions import load_convention
from domain.errors import InvalidValueError
from projections.indicators import Context, Period
from projections.progress_report import build_report
from services.queries import Queries

PLANS_DIR = Path(__file__).resolve().parents[1] / "data" / "action-plans"
DEFAULT_PLAN = "dap-2015-2020"


@cache
def load_plan(plan_id: str, directory: Path = PLANS_DIR) -> dict[str, Any]:
    """An action plan: its structure, its indicator catalogue and its report lines
    (`<id>.toml`, `<id>.indicators.toml`, `<id>.report.toml` in data/action-plans)."""
    base = directory / f"{plan_id}.toml"
    if not base.exists():
        known = sorted(p.stem for p in directory.glob("*.toml") if p.stem.count(".") == 0)
        raise InvalidValueError("plan", plan_id, known)
    plan = tomllib.loads(base.read_text(encoding="utf-8"))
    for part in ("indicators", "report"):
        path = directory / f"{plan_id}.{part}.toml"
        if path.exists():
            extra = tomllib.loads(path.read_text(encoding="utf-8"))
            for key in ("indicators", "identities", "summary", "progress"):
                plan.setdefault(key, []).extend(extra.get(key, []))
            if "compare" in extra:
                plan["compare"] = extra["compare"]
    for key in ("indicators", "identities", "summary", "progress"):
        plan.setdefault(key, [])
    return plan


class Reports:
    def __init__(self, queries: Queries) -> None:
        self.queries = queries

    def context(self, plan: dict[str, Any], period: Period, known_at: datetime) -> Context:
        index = self.queries.index(plan["convention"])
        return Context(
            convention=load_convention(plan["convention"]),
            period=period,
            known_at=known_at,
            standings=index.standings(period.end, known_at),
            fact_source=lambda first, last, kinds: index.known_facts(first, last, known_at, kinds),
            names={d: (iso3, name) for d, iso3, name, _ in self.queries.ledger.registered_states(plan["convention"])},
        )

    def progress_report(
        self, *, start: date, end: date, known_at: datetime, plan_id: str = DEFAULT_PLAN,
        plans_dir: Path = PLANS_DIR,
    ) -> dict[str, Any]:
        if end < start:
            raise InvalidValueError("--to", end.isoformat(), f"a date on or after --from ({start.isoformat()})")
        plan = load_plan(plan_id, plans_dir)
        period = Period(start, end)
        return build_report(plan, self.context(plan, period, known_at), self.context(plan, period.previous(), known_at))

    def indicators(self, *, start: date, end: date, known_at: datetime, plan_id: str = DEFAULT_PLAN,
                   indicator_id: str | None = None) -> dict[str, Any]:
        report = self.progress_report(start=start, end=end, known_at=known_at, plan_id=plan_id)
        chosen = report["indicators"]
        if indicator_id is not None:
            if indicator_id not in chosen:
                import difflib

                close = difflib.get_close_matches(indicator_id, list(chosen), n=3)
                raise InvalidValueError("--id", indicator_id, close or sorted(chosen))
            chosen = {indicator_id: chosen[indicator_id]}
        return {k: report[k] for k in ("plan", "period", "previous_period", "known_at")} | {"indicators": chosen}
