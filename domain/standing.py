"""`Standing`: what the known facts say about one State under one convention.

A pure fold over `Fact`s, used twice: by the `Dossier` aggregate to decide commands
(on everything known) and by projections to answer "as of D, as known at T" (on the
facts filtered by valid and record time). Retracted facts are removed *before* folding,
so the fold never has to undo anything.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date

from domain.conventions import Convention
from domain.facts import Fact

PARTICIPATION = (
    "not_joined",
    "signatory",
    "party_not_in_force",
    "in_force",
    "withdrawal_pending",
    "withdrawn",
)


@dataclass
class Standing:
    iso3: str = ""
    name: str = ""
    aliases: tuple[str, ...] = ()
    language: str = "en"
    registered: Fact | None = None
    signature: Fact | None = None
    deposit: Fact | None = None
    withdrawal: Fact | None = None
    initial_report: Fact | None = None
    annual_reports: dict[int, Fact] = field(default_factory=dict)
    # voluntary reports and annual updates without a stated year: how many, and the latest
    other_reports_count: int = 0
    latest_other_report: Fact | None = None
    # (report, reporting_year) -> the latest note that the report was missing
    missing: dict[tuple[str, int | None], Fact] = field(default_factory=dict)
    # article -> facts
    declared: dict[int, Fact] = field(default_factory=dict)
    completed: dict[int, Fact] = field(default_factory=dict)
    # new contamination can be reported area by area: keep how many and the latest
    new_contamination_count: int = 0
    latest_new_contamination: Fact | None = None
    extension_requests: dict[int, Fact] = field(default_factory=dict)
    extensions_granted: dict[int, Fact] = field(default_factory=dict)
    extension_closed: dict[int, Fact] = field(default_factory=dict)
    retention_declared: Fact | None = None
    retained_stock_reported: Fact | None = None
    retained_stock_destroyed: Fact | None = None

    def copy(self) -> Standing:
        """An independent copy to fold further (facts are immutable and shared)."""
        clone = copy.copy(self)
        for name in ("annual_reports", "missing", "declared", "completed", "extension_requests",
                     "extensions_granted", "extension_closed"):
            setattr(clone, name, dict(getattr(self, name)))
        return clone

    # -- folding ------------------------------------------------------------------
    def add(self, fact: Fact) -> None:
        """Fold one fact in. Facts arrive in valid-time order; the first report wins."""
        handler = _HANDLERS.get(fact.kind)
        if handler is not None:
            handler(self, fact)

    @classmethod
    def of(cls, facts: list[Fact]) -> Standing:
        standing = cls()
        for fact in sorted(facts, key=lambda f: (f.occurred_on, f.version)):
            standing.add(fact)
        return standing

    # -- derived answers ----------------------------------------------------------
    def entry_into_force(self, convention: Convention) -> date | None:
        if self.deposit is None:
            return None
        return convention.entry_into_force_for(self.deposit.occurred_on)

    def withdrawal_effective(self, convention: Convention) -> date | None:
        if self.withdrawal is None:
            return None
        return convention.withdrawal_effective(self.withdrawal.occurred_on)

    def participation(self, as_of: date, convention: Convention) -> str:
        """Participation on `as_of`, from the facts folded so far."""
        if self.deposit is not None and self.deposit.occurred_on <= as_of:
            effective = self.withdrawal_effective(convention)
            if effective is not None and self.withdrawal is not None:
                if effective <= as_of:
                    return "withdrawn"
                if self.withdrawal.occurred_on <= as_of:
                    return "withdrawal_pending"
            eif = self.entry_into_force(convention)
            assert eif is not None  # a deposit always gives an entry-into-force date
            return "in_force" if eif <= as_of else "party_not_in_force"
        if self.signature is not None and self.signature.occurred_on <= as_of:
            return "signatory"
        return "not_joined"

    def is_party(self, as_of: date, convention: Convention) -> bool:
        return self.participation(as_of, convention) in (
            "party_not_in_force",
            "in_force",
            "withdrawal_pending",
        )

    def holds_obligation(self, article: int) -> bool:
        return article in self.declared


def _first(attr: str):  # type: ignore[no-untyped-def]
    def handler(s: Standing, f: Fact) -> None:
        if getattr(s, attr) is None:
            setattr(s, attr, f)

    return handler


def _latest(attr: str):  # type: ignore[no-untyped-def]
    def handler(s: Standing, f: Fact) -> None:
        setattr(s, attr, f)

    return handler


def _registered(s: Standing, f: Fact) -> None:
    s.registered = f
    s.iso3 = f.data["iso3"]
    s.name = f.data["name"]
    s.aliases = tuple(f.data.get("aliases", ()))
    s.language = f.data.get("language", "en")


def _deposit(s: Standing, f: Fact) -> None:
    # A new deposit after a withdrawal starts a new participation.
    s.deposit = f
    s.withdrawal = None


def _report(s: Standing, f: Fact) -> None:
    report, year = f.data["report"], f.data.get("reporting_year")
    if report == "initial":
        if s.initial_report is None:
            s.initial_report = f
    elif report == "annual" and year is not None:
        s.annual_reports.setdefault(int(year), f)
    else:  # voluntary reports, and annual updates whose year the sources do not give
        s.other_reports_count += 1
        s.latest_other_report = f


def _missing(s: Standing, f: Fact) -> None:
    s.missing[(f.data["report"], f.data.get("reporting_year"))] = f


def _new_contamination(s: Standing, f: Fact) -> None:
    s.new_contamination_count += 1
    s.latest_new_contamination = f


def _declared(article: int):  # type: ignore[no-untyped-def]
    def handler(s: Standing, f: Fact) -> None:
        s.declared.setdefault(article, f)

    return handler


def _completed(article: int):  # type: ignore[no-untyped-def]
    def handler(s: Standing, f: Fact) -> None:
        s.completed.setdefault(article, f)

    return handler


def _extension(table: str):  # type: ignore[no-untyped-def]
    def handler(s: Standing, f: Fact) -> None:
        getattr(s, table)[int(f.data["article"])] = f
        if table == "extension_requests":
            s.extension_closed.pop(int(f.data["article"]), None)

    return handler


_HANDLERS = {
    "StateRegistered": _registered,
    "Signed": _first("signature"),
    "InstrumentDeposited": _deposit,
    "WithdrawalNotified": _first("withdrawal"),
    "ReportSubmitted": _report,
    "ReportFoundMissing": _missing,
    "StockpileDeclared": _declared(3),
    "StockpileDestructionCompleted": _completed(3),
    "ContaminationDeclared": _declared(4),
    "ClearanceCompleted": _completed(4),
    "VictimsDeclared": _declared(5),
    "NewContaminationReported": _new_contamination,
    "ExtensionRequested": _extension("extension_requests"),
    "ExtensionGranted": _extension("extensions_granted"),
    "ExtensionRequestClosed": _extension("extension_closed"),
    "RetentionDeclared": _first("retention_declared"),
    "RetainedStockReported": _latest("retained_stock_reported"),
    "RetainedStockDestroyed": _latest("retained_stock_destroyed"),
}
