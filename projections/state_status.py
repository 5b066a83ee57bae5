"""Question: what was each State's standing under a convention on date D, as known at T?

Input: facts already filtered by the store (occurred on or before D, recorded at or
before T, not retracted as known at T), in valid-time order per dossier.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import groupby
from typing import Any

from domain.conventions import Convention
from domain.facts import Fact
from domain.standing import Standing

PARTY = ("party_not_in_force", "in_force", "withdrawal_pending")
IN_FORCE = ("in_force", "withdrawal_pending")


def fold_by_dossier(facts: Iterable[Fact]) -> dict[str, Standing]:
    standings: dict[str, Standing] = {}
    for dossier_id, group in groupby(facts, key=lambda f: f.dossier_id):
        standing = Standing()
        for fact in group:
            standing.add(fact)
        standings[dossier_id] = standing
    return standings


def ref(fact: Fact | None) -> dict[str, Any] | None:
    """How a status cites the event behind it."""
    return None if fact is None else fact.citation


def status_of(standing: Standing, convention: Convention, as_of: date) -> dict[str, Any]:
    s = standing
    participation = s.participation(as_of, convention)
    eif = s.entry_into_force(convention)
    withdrawal = None
    if s.withdrawal is not None:
        withdrawal = {
            "notified": ref(s.withdrawal),
            "effective_on": convention.withdrawal_effective(s.withdrawal.occurred_on).isoformat(),
        }
    status: dict[str, Any] = {
        "iso3": s.iso3,
        "name": s.name,
        "participation": participation,
        "signed": ref(s.signature),
        "deposit": ({**(ref(s.deposit) or {}), "instrument": s.deposit.data["instrument"]}
                    if s.deposit else None),
        "entry_into_force_on": eif.isoformat() if eif else None,
        "withdrawal": withdrawal,
        "initial_report": None,
        "annual_reports": [],
        "other_reports": {"count": 0, "latest": None},
        "obligations": [],
        "retention": None,
    }
    if s.deposit is None or eif is None:
        return status
    ends_on = None
    if s.withdrawal is not None:
        ends_on = convention.withdrawal_effective(s.withdrawal.occurred_on)
    status["initial_report"] = _report_status(
        convention, as_of, convention.initial_report_due(eif), s.initial_report,
        s.missing.get(("initial", None)),
    )
    first = convention.first_annual_reporting_year(eif)
    last = as_of.year - 1
    if ends_on is not None:
        last = min(last, ends_on.year - 1)
    years = set(range(first, last + 1)) | set(s.annual_reports)
    for year in sorted(years):
        entry = _report_status(
            convention, as_of, convention.annual_report_due(year), s.annual_reports.get(year),
            s.missing.get(("annual", year)),
        )
        status["annual_reports"].append({"reporting_year": year, **entry})
    status["other_reports"] = {"count": s.other_reports_count, "latest": ref(s.latest_other_report)}
    status["obligations"] = _obligations(s, convention, as_of, eif)
    if s.retention_declared or s.retained_stock_destroyed:
        status["retention"] = {
            "declared": ref(s.retention_declared),
            "last_reported": ref(s.retained_stock_reported),
            "destroyed": ref(s.retained_stock_destroyed),
            "holds_retained_stock": s.retained_stock_destroyed is None,
        }
    return status


def _report_status(
    convention: Convention, as_of: date, due: date, received: Fact | None, missing: Fact | None
) -> dict[str, Any]:
    overdue_from = convention.report_overdue_since(due)
    if received is not None:
        state = "received"
    elif overdue_from <= as_of:
        state = "overdue"
    else:
        state = "not_yet_due"
    return {
        "due_on": due.isoformat(),
        "state": state,
        "received": ref(received),
        "received_late": bool(received and received.occurred_from and received.occurred_from > due),
        "overdue_since": overdue_from.isoformat() if state == "overdue" else None,
        # "recorded_missing": a source says so; otherwise the ledger simply holds no report.
        "evidence": (
            "report recorded" if received else
            "recorded missing" if missing else
            "no report recorded" if state == "overdue" else None
        ),
        "recorded_missing": ref(missing),
    }


def _obligations(s: Standing, convention: Convention, as_of: date, eif: date) -> list[dict[str, Any]]:
    out = []
    for article in sorted(s.declared):
        declared = s.declared[article]
        completed = s.completed.get(article)
        entry: dict[str, Any] = {
            "article": article,
            "declared": ref(declared),
            "completed": ref(completed),
            "state": "completed" if completed else "open",
        }
        if article in (3, 4):
            if article == 3:
                original = convention.stockpile_deadline(eif)
            else:
                starts = declared.data.get("obligation_starts_on")
                start = date.fromisoformat(starts) if starts else eif
                original = convention.clearance_deadline(max(start, eif))
            granted = s.extensions_granted.get(article)
            deadline = date.fromisoformat(granted.data["new_deadline"]) if granted else original
            entry.update(
                original_deadline_on=original.isoformat(),
                deadline_on=deadline.isoformat(),
                extension_granted=ref(granted),
                extension_requested=ref(s.extension_requests.get(article)),
                extension_request_closed=ref(s.extension_closed.get(article)),
                overdue_since=None,
            )
            overdue_from = convention.deadline_overdue_since(deadline)
            if completed is None and overdue_from <= as_of:
                entry["state"] = "overdue"
                entry["overdue_since"] = overdue_from.isoformat()
            if article == 4:
                entry["new_contamination"] = {"count": s.new_contamination_count,
                                              "latest": ref(s.latest_new_contamination)}
        out.append(entry)
    return out


def summarize(statuses: list[dict[str, Any]]) -> dict[str, Any]:
    """The headline counts, each with the States behind it."""
    def names(pred: Any) -> list[str]:
        return sorted(st["name"] for st in statuses if pred(st))

    parties = names(lambda st: st["participation"] in PARTY)
    in_force = names(lambda st: st["participation"] in IN_FORCE)
    signatories = names(lambda st: st["participation"] == "signatory")
    not_in_force = names(lambda st: st["participation"] == "party_not_in_force")
    withdrawn = names(lambda st: st["participation"] == "withdrawn")
    return {
        "states_parties": {"count": len(parties), "states": parties},
        "in_force": {"count": len(in_force), "states": in_force},
        "party_not_yet_in_force": {"count": len(not_in_force), "states": not_in_force},
        "signatories": {"count": len(signatories), "states": signatories},
        "joined": {"count": len(parties) + len(signatories)},
        "withdrawn": {"count": len(withdrawn), "states": withdrawn},
    }
