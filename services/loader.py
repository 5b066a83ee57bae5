"""Reference data loading: `treaty load ccm-2018` builds the real CCM ledger from data/.

Every event cites the row's source; every row has a deterministic import key, so a second
load adds nothing (the store's unique index on import keys is the final guard).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from domain.dossier import dossier_id_for
from domain.errors import InvalidValueError
from services.commands import Commands
from services.ledger import Ledger

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DATASETS = {"ccm-2018": ("CCM", "ccm-2018")}
LOADER_ACTOR = "reference-loader"

# Declarations before what depends on them; extensions last.
_FACT_ORDER = {
    "stockpile_declared": 0, "retention_declared": 0, "contamination_declared": 0,
    "victims_declared": 0, "report_submitted": 1, "report_missing": 1,
    "stockpile_destruction_completed": 2, "retained_stock_reported": 2,
    "retained_stock_destroyed": 2, "new_contamination_reported": 2, "clearance_completed": 2,
    "extension_requested": 3, "extension_granted": 4, "extension_request_closed": 5,
    "withdrawal_notified": 6,
}


@dataclass
class LoadResult:
    dataset: str
    states: int
    events_added: int
    events_skipped: int
    # rows the ledger cannot hold, with the reason: no date or bound (it cannot place them
    # in valid time), or no State named (outreach is recorded on the States it concerns)
    not_loaded: list[str]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _key(*parts: object) -> str:
    return "/".join(str(p) for p in parts)


def _digest(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


def _when_fields(on: str, precision: str, earliest: str = "") -> dict[str, Any]:
    """Map a source date and its precision to occurred_on/occurred_from."""
    from domain.dates import When, parse_date

    d = parse_date(on, "submitted_on")
    if precision == "day":
        w = When.exactly(d)
    elif precision == "month":
        w = When.in_month(d.year, d.month)
    elif precision == "year":
        w = When.in_year(d.year)
    elif precision == "before":
        w = When.by(d)
    elif precision == "between":
        w = When(on=d, earliest=parse_date(earliest, "earliest_on"))
    else:
        raise InvalidValueError("date_precision", precision, ("day", "month", "year", "before", "between"))
    return {"occurred_on": w.on, "occurred_from": w.earliest if w.earliest != w.on else None,
            "_exact": w.is_exact, "_unknown_start": w.earliest is None}


def _when_args(f: dict[str, Any]) -> dict[str, Any]:
    """commands.when_from arguments: exact dates have no occurred_from; bounds say 'unknown'."""
    if f["_exact"]:
        return {"occurred_on": f["occurred_on"]}
    if f["_unknown_start"]:
        return {"occurred_on": f["occurred_on"], "occurred_from": "unknown"}
    return {"occurred_on": f["occurred_on"], "occurred_from": f["occurred_from"]}


def build_plan(dataset_dir: Path, convention: str, not_loaded: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """dossier_id -> {"registration": {...}, "items": [...]} for the whole dataset.

    Rows the ledger cannot hold are appended to `not_loaded`, with the reason."""
    attributes = {}
    attr_path = dataset_dir / "state_attributes.csv"
    if attr_path.exists():
        attributes = {r["iso3"]: r for r in _read(attr_path)}
    plan: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for row in _read(dataset_dir / "states.csv"):
        iso3 = row["iso3"]
        dossier_id = dossier_id_for(convention, iso3)
        names[iso3] = row["name"]
        attrs = attributes.get(iso3, {})
        first_act = min(d for d in (row["signed_on"], row["deposit_on"]) if d)
        items: list[dict[str, Any]] = []
        if row["signed_on"]:
            items.append({"fact": "signed", "occurred_on": row["signed_on"], "source": row["source"],
                          "note": row["notes"], "import_key": _key("ccm-2018", iso3, "signed")})
        if row["deposit_on"]:
            items.append({"fact": "instrument_deposited", "occurred_on": row["deposit_on"],
                          "instrument": row["deposit_kind"], "source": row["source"], "note": row["notes"],
                          "import_key": _key("ccm-2018", iso3, "deposited", row["deposit_on"])})
        plan[dossier_id] = {
            "registration": {
                "iso3": iso3, "name": row["name"], "occurred_on": first_act, "source": row["source"],
                "aliases": [a for a in attrs.get("aliases", "").split(";") if a.strip()],
                "language": attrs.get("language") or "en",
                "note": "registered at the State's first treaty act (signature or deposit)",
                "import_key": _key("ccm-2018", iso3, "registered"),
            },
            "items": items,
        }

    # Article 7 reports from the dated reference file; 8MSP mentions add their citation.
    reports: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in _read(dataset_dir / "art7_reports.csv"):
        if not row["submitted_on"]:
            if not_loaded is not None:
                not_loaded.append(
                    f"{row['name']} {row['report']} report {row['reporting_year']}: the sources give no date")
            continue
        f = _when_fields(row["submitted_on"], row["date_precision"], row.get("earliest_on", ""))
        item = {"fact": "report_submitted", **_when_args(f), "report": row["report"],
                "reporting_year": row["reporting_year"] or None, "source": row["source"],
                "note": row["notes"],
                "import_key": _key("ccm-2018", row["iso3"], "art7", row["report"], row["reporting_year"],
                                   row["submitted_on"])}
        reports.setdefault((row["iso3"], row["report"], row["reporting_year"]), item)
        plan[dossier_id_for(convention, row["iso3"])]["items"].append(item)

    fact_rows = []
    for name in ("8msp_facts.csv", "other_facts.csv"):
        path = dataset_dir / name
        if path.exists():
            fact_rows += _read(path)
    fact_rows.sort(key=lambda r: _FACT_ORDER.get(r["fact"], 9))
    for row in fact_rows:
        iso3, fact = row["iso3"], row["fact"]
        if iso3 not in names:
            raise InvalidValueError("iso3", iso3, f"a State of {dataset_dir / 'states.csv'}")
        counterpart = reports.get((iso3, row["report"], row["reporting_year"]))
        if fact == "report_submitted" and counterpart is not None:
            counterpart["source"] += f" | also {row['source']}"
            continue
        note = " ".join(p for p in (f"\u201c{row['quote']}\u201d" if row.get("quote") else "", row["notes"]) if p)
        start, on = row["occurred_from"], row["occurred_on"]
        item: dict[str, Any] = {
            "fact": fact, "occurred_on": on,
            # same day: exact; another day: a range; empty: only the upper bound is known
            "occurred_from": None if start == on else (start or "unknown"),
            "source": row["source"], "note": note,
            "import_key": _key("ccm-2018", iso3, fact, row["report"], row["reporting_year"], row["occurred_on"],
                               _digest(row["source"], row["detail"], row["article"])),
        }
        if fact in ("report_submitted", "report_missing"):
            item.update(report=row["report"], reporting_year=row["reporting_year"] or None)
        elif fact == "extension_requested":
            item.update(article=row["article"], requested_deadline=row["detail"])
        elif fact == "extension_granted":
            item.update(article=row["article"], new_deadline=row["detail"])
        elif fact == "extension_request_closed":
            item.update(article=row["article"], outcome=row["detail"])
        elif fact == "contamination_declared" and _looks_like_date(row["detail"]):
            item.update(obligation_starts_on=row["detail"], detail="")
        elif fact != "withdrawal_notified":
            item.update(detail=row["detail"])
        plan[dossier_id_for(convention, iso3)]["items"].append(item)
    outreach_path = dataset_dir / "8msp_outreach.csv"
    if outreach_path.exists():
        # Meetings first, as meetings: one per reference, whether or not it names a State.
        meetings: dict[str, dict[str, Any]] = {}
        for row in _read(outreach_path):
            if row["kind"] == "meeting":
                entry = meetings.setdefault(row["reference"], {
                    "reference": row["reference"], "occurred_on": row["occurred_on"],
                    "occurred_from": (None if row["occurred_from"] == row["occurred_on"]
                                      else (row["occurred_from"] or "unknown")),
                    "source": row["source"], "note": row["notes"], "meeting_kind": row["meeting_kind"],
                    "area": row["area"], "place": row["place"], "margins_of": row["margins_of"],
                    "organisations": row["organisations"], "topics": row["topics"], "outcomes": row["outcomes"],
                    "unnamed_participants": "",
                })
                if not row["iso3"]:
                    entry["unnamed_participants"] = row["notes"] or "participants not named in the source"
        plan["__meetings__"] = {"registration": None, "items": list(meetings.values())}
        order = {"letter": 0, "meeting": 1, "demarche": 1, "partnership": 1, "mandate": 1, "reply": 2}
        for row in sorted(_read(outreach_path), key=lambda r: order.get(r["kind"], 3)):
            iso3 = row["iso3"]
            if not iso3:
                if row["kind"] != "meeting" and not_loaded is not None:  # a meeting is recorded as such
                    not_loaded.append(f"{row['kind']} {row['reference']}: no State named ({row['source']})")
                continue
            dossier_id = dossier_id_for(convention, iso3)
            if dossier_id not in plan:  # a State not party the coordinators reached out to
                names[iso3] = row["state"]
                plan[dossier_id] = {"registration": {
                    "iso3": iso3, "name": row["state"], "occurred_on": row["occurred_on"], "source": row["source"],
                    "aliases": [], "language": "en",
                    "note": "registered at its first recorded outreach; not a signatory or party",
                    "import_key": _key("ccm-2018", iso3, "registered")}, "items": []}
            start, on = row["occurred_from"], row["occurred_on"]
            note = " ".join(p for p in (f"\u201c{row['quote']}\u201d" if row.get("quote") else "", row["notes"]) if p)
            fields = {k: row[k] for k in ("area", "sender", "purpose", "article", "action_point", "place",
                                          "margins_of", "organisations", "topics", "outcomes") if row.get(k)}
            if row["kind"] == "meeting":
                fields["meeting_kind"] = row["meeting_kind"]
            elif row["kind"] == "partnership":
                fields.update(status=row["partnership_status"], role=row["partnership_role"])
            elif row["kind"] == "reply":
                fields = {"summary": row["reply_summary"]}
            elif row["kind"] == "mandate":
                fields.update(mandate="president" if row["area"] == "presidency" else "coordinator",
                              from_meeting=row.get("margins_of") or "", to_meeting="")
                fields = {k: v for k, v in fields.items() if k in ("area", "mandate", "from_meeting", "to_meeting")}
            plan[dossier_id]["items"].append({
                "fact": f"outreach:{row['kind']}", "reference": row["reference"], "occurred_on": on,
                "occurred_from": None if start == on else (start or "unknown"),
                "source": row["source"], "note": note, **fields,
                "import_key": _key("ccm-2018", iso3, "outreach", row["kind"], row["reference"]),
            })

    decl_path = dataset_dir / "8msp_declarations.csv"
    if decl_path.exists():
        for row in _read(decl_path):
            iso3 = row["iso3"]
            if iso3 not in names:
                raise InvalidValueError("iso3", iso3, f"a State of {dataset_dir / 'states.csv'}")
            start, on = row["occurred_from"], row["occurred_on"]
            note = " ".join(p for p in (f"\u201c{row['quote']}\u201d" if row.get("quote") else "", row["notes"]) if p)
            plan[dossier_id_for(convention, iso3)]["items"].append({
                "fact": "declaration", "occurred_on": on,
                "occurred_from": None if start == on else (start or "unknown"),
                "subject": row["subject"], "area": row["area"] or None,
                "reporting_year": row["reporting_year"] or None, "detail": row["detail"],
                "via": _via(row["via"]), "source": row["source"], "note": note,
                "import_key": _key("ccm-2018", iso3, "declared", row["subject"], row["area"], row["reporting_year"],
                                   _digest(row["source"], row["detail"], row["via"])),
            })
    return plan


def _via(text: str) -> str:
    """The data file's words for where a State said it, mapped to the ledger's vocabulary."""
    t = text.casefold()
    for needle, via in (("annual", "annual report"), ("initial", "initial report"),
                        ("article 7", "Article 7 report"), ("transparency", "Article 7 report"),
                        ("letter", "letter reply"), ("meeting", "informal meeting"), ("statement", "statement")):
        if needle in t:
            return via
    return "unspecified"


def _looks_like_date(text: str) -> bool:
    return len(text) == 10 and text[4] == "-" and text[7] == "-"


def load_dataset(
    ledger: Ledger, commands: Commands, dataset: str, *, now: datetime,
    progress: Callable[[int, int, str], None] | None = None,
) -> LoadResult:
    if dataset not in DATASETS:
        raise InvalidValueError("dataset", dataset, sorted(DATASETS))
    convention, folder = DATASETS[dataset]
    not_loaded: list[str] = []
    plan = build_plan(DATA_DIR / folder, convention, not_loaded)
    existing = ledger.existing_import_keys(convention)
    added = skipped = 0
    for meeting in plan.pop("__meetings__", {"items": []})["items"]:
        key = _key("ccm-2018", "meeting", meeting["reference"])
        if f"{key}/meeting" in existing:
            skipped += 1
            continue
        added += len(commands.outreach(kind="meeting", states=[], actor=LOADER_ACTOR, now=now, convention=convention,
                                       import_key=key, **meeting))
    total = len(plan)
    for index, (dossier_id, entry) in enumerate(sorted(plan.items()), start=1):
        items = [i for i in entry["items"] if i["import_key"] not in existing]
        skipped += len(entry["items"]) - len(items)
        registration = entry["registration"]
        needs_registration = registration["import_key"] not in existing
        if needs_registration or items:
            ids = commands.record_batch(
                dossier_id, items, actor=LOADER_ACTOR, now=now, convention=convention,
                registration=registration if needs_registration else None,
            )
            added += len(ids)
        else:
            skipped += 1
        if progress:
            progress(index, total, dossier_id)
    return LoadResult(dataset=dataset, states=total, events_added=added, events_skipped=skipped,
                      not_loaded=not_loaded)
