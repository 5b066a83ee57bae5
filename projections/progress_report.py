"""Question: what does the action plan's progress report say for a period, as known at T?

Input: an action plan (plain data: areas, indicators, report lines, identities), the
measure context for the period and for the period before it. Output: a JSON-ready
document in which every figure is an indicator value and every indicator names its
States and the events behind them. Nothing here reads files or clocks.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

from domain.errors import LedgerError
from projections.indicators import Context, Justified, evaluate

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class ReportConsistencyError(LedgerError, AssertionError):
    """The generator's own figures contradict each other: nothing is rendered."""

    def __init__(self, broken: list[str]) -> None:
        self.field = "report"
        super().__init__("report: identities do not hold: " + "; ".join(broken))


# Facts that exist only because someone reported them for a period (declarations, retention
# updates, newly found contamination, outreach). If the ledger holds none of a family for a
# period, it has not been fed that period's reports: "no State reported X" cannot be claimed,
# so those measures answer "n/a" instead of 0.
_DECLARATIONS = ("DeclarationMade", "NewContaminationReported")
_RETENTION = ("RetainedStockReported", "RetentionDeclared", "RetainedStockDestroyed")
_OUTREACH = ("LetterReceived", "LetterAnswered", "MeetingHeld", "MeetingAttended", "DemarcheReceived",
             "PartnershipChanged")


def _family(spec: dict[str, Any]) -> tuple[str, ...] | None:
    """The kinds of reported facts an indicator depends on; None for status measures."""
    measure = spec["measure"]
    if measure in ("declared", "new_contamination"):
        return _DECLARATIONS
    if measure == "retention" and spec.get("params", {}).get("state") != "held":
        return _RETENTION
    if measure in ("outreach", "meetings_held"):
        return _OUTREACH
    return None


def covered(ctx: Context, kinds: tuple[str, ...]) -> bool:
    """Does the ledger hold any such report dated in this period?"""
    key = ("covered", kinds)
    if key not in ctx._cache:
        ctx._cache[key] = any(
            ctx.period.reported_in(f) or ctx.period.holds(f)
            for kind in kinds
            for facts in ctx.facts(kind, "reported_in_period").values()
            for f in facts
        )
    return bool(ctx._cache[key])


def compute_indicators(plan: dict[str, Any], ctx: Context) -> dict[str, Justified | None]:
    done: dict[str, Justified | None] = {}
    for indicator in plan["indicators"]:
        family = _family(indicator)
        if family is not None and not covered(ctx, family):
            done[indicator["id"]] = None
        elif indicator["measure"] in ("union", "intersect") and any(done[p] is None for p in indicator["of"]):
            done[indicator["id"]] = None
        else:
            done[indicator["id"]] = evaluate(indicator, ctx, done)
    return done


def _name(ctx: Context, dossier_id: str) -> tuple[str, str]:
    """(iso3, name): from the standing, or for a State the ledger registered only later (one
    met through outreach before it joined), from the names known at any date."""
    standing = ctx.standings.get(dossier_id)
    if standing is not None:
        return standing.iso3, standing.name
    if "/MTG/" in dossier_id:  # a meeting counted by a meeting measure: named by its reference
        reference = dossier_id.split("/MTG/", 1)[1]
        return "MTG", reference
    return ctx.names.get(dossier_id, (dossier_id.partition("/")[2], dossier_id))


def _value(result: Justified | None) -> int | None:
    return None if result is None else len(result)


def build_report(plan: dict[str, Any], ctx: Context, previous: Context) -> dict[str, Any]:
    now = compute_indicators(plan, ctx)
    before = compute_indicators(plan, previous)
    indicators = {}
    for spec in plan["indicators"]:
        result = now[spec["id"]]
        states = [] if result is None else sorted(
            ({"iso3": _name(ctx, d)[0], "name": _name(ctx, d)[1], "event_ids": ids} for d, ids in result.items()),
            key=lambda s: s["name"],
        )
        indicators[spec["id"]] = {
            "id": spec["id"],
            "label": spec["label"],
            "area": spec["area"],
            "action": spec.get("action"),
            "measure": spec["measure"],
            "value": _value(result),
            "previous": _previous_value(spec, before[spec["id"]]),
            "states": states,
            "not_in_ledger": (spec.get("why") or "The ledger holds no State's reports for this period.")
            if result is None else None,
        }
    identities = _check_identities(plan.get("identities", []), indicators)
    compare = plan.get("compare")
    comparison = None
    if compare and (compare["start"], compare["end"]) == (ctx.period.start, ctx.period.end):
        comparison = {"document": compare["document"]}
    values = {i: v["value"] for i, v in indicators.items()}
    previous_values = {i: v["previous"] for i, v in indicators.items()}
    areas = []
    for area in plan["areas"]:
        actions = {a["id"]: a["title"] for a in area["actions"]}
        areas.append({
            "id": area["id"],
            "number": area["number"],
            "title": area["title"],
            "goals": area["goals"],
            "actions": area["actions"],
            "summary": [_line(line, values, previous_values, comparison) for line in plan["summary"]
                        if line["area"] == area["id"]],
            "progress": [
                {**_line(line, values, previous_values, comparison), "action": line["action"],
                 "action_title": actions[line["action"]]}
                for line in plan["progress"] if line["area"] == area["id"]
            ],
            "indicators": [i for i in indicators.values() if i["area"] == area["id"]],
        })
    return {
        "plan": {"id": plan["id"], "name": plan["name"], "covers": plan["covers"]},
        "convention": plan["convention"],
        "period": {"start": ctx.period.start.isoformat(), "end": ctx.period.end.isoformat()},
        "previous_period": {"start": previous.period.start.isoformat(), "end": previous.period.end.isoformat()},
        "known_at": ctx.known_at.isoformat(),
        "areas": areas,
        "indicators": indicators,
        "identities": identities,
        "comparison": comparison,
    }


def _previous_value(spec: dict[str, Any], result: Justified | None) -> int | None:
    """The same indicator for the previous period, where the ledger has the data."""
    return None if result is None else len(result)


def _check_identities(identities: list[dict[str, Any]], indicators: dict[str, Any]) -> list[dict[str, Any]]:
    out, broken = [], []
    for identity in identities:
        left = sum(indicators[i]["value"] or 0 for i in identity["left"])
        right = sum(indicators[i]["value"] or 0 for i in identity["right"])
        holds = left == right
        out.append({"text": identity["text"], "left": left, "right": right, "holds": holds})
        if not holds:
            broken.append(f"{identity['text']} ({left} != {right})")
    if broken:
        raise ReportConsistencyError(broken)
    return out


# ---------------------------------------------------------------------------- lines
_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}


def evaluate_expression(expr: str, values: dict[str, int | None], previous: dict[str, int | None]) -> int | None:
    """A placeholder: an indicator id, `prev.<id>`, numbers, + - * / and round(). None when
    any indicator in it has no value (the ledger cannot compute it)."""

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "prev":
            return previous[node.attr]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            a, b = walk(node.left), walk(node.right)
            if a is None or b is None:
                return None
            if isinstance(node.op, ast.Div) and b == 0:
                return None
            return _OPS[type(node.op)](a, b)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "round":
            inner = walk(node.args[0])
            return None if inner is None else round(inner)
        raise ValueError(f"line placeholder {expr!r}: only indicator ids, prev.<id>, numbers, + - * / round()")

    result = walk(ast.parse(expr.strip(), mode="eval"))
    return None if result is None else int(result) if float(result).is_integer() else result


def _line(line: dict[str, Any], values: dict[str, int | None], previous: dict[str, int | None],
          comparison: dict[str, Any] | None) -> dict[str, Any]:
    figures = []

    def substitute(match: re.Match[str]) -> str:
        value = evaluate_expression(match.group(1), values, previous)
        figures.append({"expression": match.group(1).strip(), "value": value})
        return "n/a" if value is None else str(value)

    text = PLACEHOLDER.sub(substitute, line["text"])
    return {
        "key": line.get("key"),
        "text": text,
        "figures": figures,
        "complete": all(f["value"] is not None for f in figures),
        # the compared document's wording, only for a report of exactly its period
        "report_says": line.get("report_says") if comparison else None,
    }
