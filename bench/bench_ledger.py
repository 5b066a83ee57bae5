"""Benchmark: a synthetic ledger of many States over many years, up to 1,000,000 events.

Measures, each against a baseline timed in the same run on the same machine (ratios hold
better than absolute figures on a noisy 2-core box):
  1. bulk import: events/s through the application (decide + save, many events per
     transaction) vs raw sqlite3 inserting the same rows in one transaction;
  2. one command's append (load, decide, save with its fact row, one transaction,
     synchronous=FULL) vs raw sqlite3 one-row transactions with synchronous=FULL;
  3. status of all States as of a mid-history date from the status index vs a naive full
     replay (decode every event from the log, filter, fold).

Usage: python bench/bench_ledger.py [--events N] [--states S] [--out DIR] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.conventions import load_convention  # noqa: E402
from domain.dates import When  # noqa: E402
from domain.dossier import Dossier, Provenance, dossier_id_for, storage_id  # noqa: E402
from domain.standing import Standing  # noqa: E402
from projections.state_status import status_of  # noqa: E402
from services.bootstrap import bootstrap  # noqa: E402
from services.settings import Settings  # noqa: E402

CCM = load_convention("CCM")
START = datetime(2061, 1, 2, tzinfo=UTC)  # synthetic record clock: time is an input
FIRST_YEAR, LAST_YEAR = 2011, 2060
MID = date(2035, 7, 1)
TARGETS = {"status_ms": 100.0, "status_vs_replay": 100.0, "append_ratio": 0.5, "bulk_ratio": 0.3}


def log(msg: str) -> None:
    print(msg, flush=True)


def iso3_of(i: int) -> str:
    a, b = divmod(i, 26 * 26)
    b, c = divmod(b, 26)
    return "X" + chr(65 + b) + chr(65 + c) if a == 0 else chr(65 + a) + chr(65 + b) + chr(65 + c)


# ---------------------------------------------------------------------- 1. bulk import
# Like a real import, each saved batch (up to 2,000 events, one transaction) carries one
# record time; batches, late facts and corrections still give many distinct record times.
def build(settings: Settings, n_events: int, n_states: int, seed: int = 7) -> tuple[float, int]:
    """Write the synthetic ledger through the application. Returns (seconds, events)."""
    rng = random.Random(seed)
    system = bootstrap(settings)
    per_state = n_events // n_states
    clock = START
    written = 0
    t0 = time.perf_counter()
    try:
        for s in range(n_states):
            iso3 = iso3_of(s)
            prov = Provenance(recorded_by="bench", source="synthetic")
            clock += timedelta(seconds=1)
            d = Dossier.register(convention=CCM, iso3=iso3, name=f"State {iso3}", aliases=[], language="en",
                                 when=When.exactly(date(2009, 1, 1)), prov=prov, now=clock)
            d.sign(convention=CCM, when=When.exactly(date(2009, 1, 1)), prov=prov, now=clock)
            deposit_on = date(2010, 3, 1) + timedelta(days=rng.randrange(700))
            d.deposit_instrument(convention=CCM, instrument="ratification", when=When.exactly(deposit_on),
                                 prov=prov, now=clock)
            for kind in ("StockpileDeclared", "ContaminationDeclared", "RetentionDeclared"):
                d.declare(kind=kind, detail="", when=When.exactly(deposit_on), prov=prov, now=clock)
            # the rest: per year an annual report, retained-stock updates, and many areas of
            # newly found contamination; now and then a fact learned late or retracted
            remaining = per_state - 6
            days = (date(LAST_YEAR, 12, 31) - deposit_on).days
            for k in range(remaining):
                on = deposit_on + timedelta(days=1 + k * days // remaining)
                roll = rng.random()
                if roll < 0.005 and d.version > 10:
                    target = rng.randrange(7, d.version)
                    if target in d.retracted or target in d.retractions:
                        target = d.version
                    d.retract(event_id=f"{d.dossier}/{target}", reason="synthetic correction", superseded_by=None,
                              when=When.exactly(clock.date()), prov=prov, now=clock)
                elif roll < 0.015:  # learned late
                    late = deposit_on + timedelta(days=rng.randrange(max(1, k * days // remaining)))
                    d.declare(kind="RetainedStockReported", detail="late", when=When.exactly(late), prov=prov,
                              now=clock)
                elif on.month == 4 and rng.random() < 0.2 and on.year - 1 not in d.standing.annual_reports:
                    d.submit_report(convention=CCM, report="annual", reporting_year=on.year - 1,
                                    when=When.exactly(on), prov=prov, now=clock)
                elif roll < 0.1:
                    d.declare(kind="RetainedStockReported", detail="", when=When.exactly(on), prov=prov,
                              now=clock)
                else:
                    d.declare(kind="NewContaminationReported", detail=f"area {k}", when=When.exactly(on),
                              prov=prov, now=clock)
                if len(d.pending_events) >= 2000:
                    written += len(d.pending_events)
                    system.ledger.save(d)
                    clock += timedelta(seconds=1)  # an import records a batch at one time
            written += len(d.pending_events)
            system.ledger.save(d)
            if (s + 1) % max(1, n_states // 10) == 0:
                rate = written / (time.perf_counter() - t0)
                log(f"  built {written:,} events ({s + 1}/{n_states} States, {rate:,.0f} events/s)")
    finally:
        system.close()
    return time.perf_counter() - t0, written


def _raw_db(db: Path) -> sqlite3.Connection:
    """A fresh SQLite file with the same durability as the ledger: WAL, synchronous=FULL, and
    the same events table shape as eventsourcing's (primary key on id and version)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
                "state BLOB, PRIMARY KEY (originator_id, originator_version))")
    return con


def raw_bulk_baseline(app_db: Path, work: Path, sample: int) -> dict[str, float]:
    """Insert `sample` of the application's own rows with raw sqlite3, one transaction."""
    src = sqlite3.connect(app_db)
    events = src.execute("SELECT originator_id, originator_version, topic, state FROM stored_events "
                         "ORDER BY rowid LIMIT ?", (sample,)).fetchall()
    cols = [r[1] for r in src.execute("PRAGMA table_info(ledger_facts)")][1:]
    facts = src.execute(f"SELECT {', '.join(cols)} FROM ledger_facts ORDER BY seq LIMIT ?", (sample,)).fetchall()
    src.close()
    out = {}
    for label, with_facts in (("events_only", False), ("events_and_facts", True)):
        con = _raw_db(work / f"raw_bulk_{label}.sqlite")
        con.execute(f"CREATE TABLE ledger_facts (seq INTEGER PRIMARY KEY AUTOINCREMENT, {', '.join(cols)})")
        t0 = time.perf_counter()
        con.execute("BEGIN")
        con.executemany("INSERT INTO stored_events VALUES (?,?,?,?)", events)
        if with_facts:
            con.executemany(f"INSERT INTO ledger_facts ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                            facts)
        con.execute("COMMIT")
        out[label] = len(events) / (time.perf_counter() - t0)
        con.close()
    return out


# ---------------------------------------------------------------------- 2. one command
def append_rounds(settings: Settings, work: Path, app_db: Path, n: int, n_states: int,
                  rounds: int = 5) -> dict[str, float]:
    """Single commands (load, decide, save with the fact row; one transaction each, on the big
    ledger, aggregates cached as in a running service) against raw sqlite3 one-row
    transactions of the same event rows, interleaved in `rounds` so both see the same
    machine weather. Returns the rates summed over all rounds and the median round ratio."""
    src = sqlite3.connect(app_db)
    rows = src.execute("SELECT originator_id, originator_version, topic, state FROM stored_events "
                       "ORDER BY rowid DESC LIMIT ?", (n,)).fetchall()
    src.close()
    con = _raw_db(work / "raw_one_row.sqlite")
    # Second baseline: the same rows at the same keys in a copy of the same 1M-event store,
    # so that raw SQLite pays the same B-tree positions and depth as the command does.
    same_db = work / "raw_same_store.sqlite"
    shutil.copy(app_db, same_db)
    same = sqlite3.connect(same_db, isolation_level=None)
    same.execute("PRAGMA journal_mode=WAL")
    same.execute("PRAGMA synchronous=FULL")
    system = bootstrap(settings)
    per_round = max(1, n // rounds)
    app_time = raw_time = same_time = 0.0
    ratios, same_ratios = [], []
    try:
        states = [iso3_of(i) for i in range(min(n_states, 20))]
        now = START + timedelta(days=3650)
        for iso3 in states:  # warm: a long-running service keeps these aggregates cached
            system.commands.record(state=iso3, fact="retained_stock_reported", occurred_on="2061-01-01",
                                   source="bench warm-up", actor="bench", now=now)
        sample = rows[0]
        next_version = {}
        for iso3 in states:
            sid = storage_id(dossier_id_for("CCM", iso3)).hex
            top = same.execute("SELECT MAX(originator_version) FROM stored_events WHERE originator_id = ?",
                               (sid,)).fetchone()[0]
            next_version[sid] = top + 1_000_000  # the same dossiers' key ranges, never clashing
        sids = list(next_version)
        for r in range(rounds):
            t0 = time.perf_counter()
            for i in range(per_round):
                sid = sids[i % len(sids)]
                next_version[sid] += 1
                same.execute("BEGIN")
                same.execute("INSERT INTO stored_events VALUES (?,?,?,?)",
                             (sid, next_version[sid], sample[2], sample[3]))
                same.execute("COMMIT")
            same_round = time.perf_counter() - t0
            t0 = time.perf_counter()
            for row in rows[r * per_round:(r + 1) * per_round]:
                con.execute("BEGIN")
                con.execute("INSERT INTO stored_events VALUES (?,?,?,?)", row)
                con.execute("COMMIT")
            raw = time.perf_counter() - t0
            t0 = time.perf_counter()
            for i in range(per_round):
                system.commands.record(state=states[i % len(states)], fact="retained_stock_reported",
                                       occurred_on="2061-01-02", source="bench", actor="bench", now=now)
            app = time.perf_counter() - t0
            raw_time += raw
            app_time += app
            same_time += same_round
            ratios.append(raw / app)
            same_ratios.append(same_round / app)
            log(f"   round {r + 1}: command {per_round / app:,.0f}/s, raw fresh {per_round / raw:,.0f}/s, "
                f"raw same store {per_round / same_round:,.0f}/s")
    finally:
        system.close()
        con.close()
        same.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(same_db) + suffix).unlink(missing_ok=True)
    done = per_round * rounds
    return {"app_per_s": done / app_time, "raw_per_s": done / raw_time, "ratio": statistics.median(ratios),
            "raw_same_store_per_s": done / same_time, "ratio_same_store": statistics.median(same_ratios)}


# ---------------------------------------------------------------------- 3. status
def status_times(settings: Settings, repeats: int) -> dict[str, Any]:
    system = bootstrap(settings)
    known_at = START + timedelta(days=36500)
    try:
        t0 = time.perf_counter()
        system.queries.standings("CCM", MID, known_at)
        first = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = system.queries.status(as_of=MID, known_at=known_at)
            times.append(time.perf_counter() - t0)
        other = []
        for k in range(repeats):  # other mid-history dates reuse the same checkpoints
            d = MID + timedelta(days=37 * (k + 1))
            t0 = time.perf_counter()
            system.queries.status(as_of=d, known_at=known_at)
            other.append(time.perf_counter() - t0)
        return {"cold_index_and_first_query_s": first, "warm_ms": statistics.median(times) * 1000,
                "warm_other_dates_ms": statistics.median(other) * 1000,
                "states": len(result["states"]), "parties": result["summary"]["states_parties"]["count"],
                "digest": _digest(result["states"])}
    finally:
        system.close()


def naive_replay(settings: Settings) -> tuple[float, str]:
    """Without a read model: decode every event from the log, filter, fold, derive."""
    system = bootstrap(settings)
    known_at = START + timedelta(days=36500)
    try:
        t0 = time.perf_counter()
        facts = system.ledger.facts_from_log(section_size=1000)
        retracted = {f.data["retracted_event_id"] for f in facts
                     if f.kind == "EventRetracted" and f.recorded_at <= known_at}
        per: dict[str, list] = {}
        for f in facts:
            if f.kind != "EventRetracted" and f.occurred_on <= MID and f.recorded_at <= known_at \
                    and f.event_id not in retracted:
                per.setdefault(f.dossier_id, []).append(f)
        statuses = sorted((status_of(Standing.of(fs), CCM, MID) for fs in per.values()), key=lambda s: s["name"])
        return time.perf_counter() - t0, _digest(statuses)
    finally:
        system.close()


def _digest(statuses: list[dict[str, Any]]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(statuses, sort_keys=True, default=str).encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--states", type=int, default=200)
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--reuse", action="store_true", help="reuse a ledger built by an earlier run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    db = args.out / f"synthetic_{args.events}.sqlite"
    settings = Settings(db_path=db, aggregate_cache_size=1000)
    started = time.perf_counter()
    results: dict[str, Any] = {"events": args.events, "states": args.states, "date": datetime.now(UTC).isoformat()}

    if not (args.reuse and db.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        log(f"1. bulk import of {args.events:,} events for {args.states} States ...")
        seconds, written = build(settings, args.events, args.states)
        results["bulk_app_events_per_s"] = written / seconds
        results["bulk_build_s"] = seconds
        raw = raw_bulk_baseline(db, args.out, min(written, 200_000))
        results["bulk_raw_events_per_s"] = raw["events_only"]
        results["bulk_raw_with_facts_per_s"] = raw["events_and_facts"]
    snapshot = args.out / "pristine.sqlite"
    shutil.copy(db, snapshot)

    log("2. status of all States as of a mid-history date ...")
    results.update({f"status_{k}": v for k, v in status_times(settings, 7).items()})
    log("   naive full replay ...")
    replay_s, replay_digest = naive_replay(settings)
    results["replay_s"] = replay_s
    results["replay_matches_index"] = replay_digest == results["status_digest"]

    log(f"3. {args.commands} single commands vs as many raw one-row transactions, interleaved ...")
    append = append_rounds(settings, args.out, db, args.commands, args.states)
    results["append_app_per_s"] = append["app_per_s"]
    results["append_raw_per_s"] = append["raw_per_s"]
    results["append_ratio_median_round"] = append["ratio"]
    results["append_raw_same_store_per_s"] = append["raw_same_store_per_s"]
    results["append_ratio_same_store"] = append["ratio_same_store"]
    shutil.move(snapshot, db)  # leave the ledger as built, for --reuse
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    results["total_s"] = time.perf_counter() - started
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    report(results)


def report(r: dict[str, Any]) -> None:
    def line(name: str, value: float, target: float, better: str, unit: str = "") -> None:
        ok = value >= target if better == "higher" else value <= target
        log(f"  {name:<75} {value:>10.2f}{unit:<3} target {'>=' if better == 'higher' else '<='} {target:g}"
            f"{unit}  {'MET' if ok else 'NOT MET'}")

    log(f"\nResults ({r['events']:,} events, {r['states']} States, total {r['total_s']:.0f} s):")
    if "bulk_app_events_per_s" in r:
        log(f"  bulk import through the application: {r['bulk_app_events_per_s']:,.0f} events/s; raw sqlite3 "
            f"one transaction: {r['bulk_raw_events_per_s']:,.0f} rows/s (events only), "
            f"{r['bulk_raw_with_facts_per_s']:,.0f} events/s (events and fact rows)")
        line("bulk import ratio (vs raw, events only)", r["bulk_app_events_per_s"] / r["bulk_raw_events_per_s"],
             TARGETS["bulk_ratio"], "higher")
        line("bulk import ratio (vs raw, events and fact rows)",
             r["bulk_app_events_per_s"] / r["bulk_raw_with_facts_per_s"], TARGETS["bulk_ratio"], "higher")
    log(f"  one command: {r['append_app_per_s']:,.0f} commands/s; raw one-row transactions: "
        f"{r['append_raw_per_s']:,.0f}/s")
    log(f"  raw one-row transactions into a copy of the same 1M-event store: {r['append_raw_same_store_per_s']:,.0f}/s")
    line("one command's append ratio vs raw one-row into a fresh table (median of 5 rounds)",
         r["append_ratio_median_round"], TARGETS["append_ratio"], "higher")
    line("one command's append ratio vs raw one-row into the same store (median of 5 rounds)",
         r["append_ratio_same_store"], TARGETS["append_ratio"], "higher")
    log(f"  status: cold index build + first query {r['status_cold_index_and_first_query_s']:.1f} s; "
        f"naive full replay {r['replay_s']:.1f} s; same answer: {r['replay_matches_index']}")
    line("status of all States as of mid-history (warm, median)", r["status_warm_ms"], TARGETS["status_ms"],
         "lower", " ms")
    line("status at other mid-history dates (warm, median)", r["status_warm_other_dates_ms"],
         TARGETS["status_ms"], "lower", " ms")
    line("status speed-up vs naive full replay", r["replay_s"] * 1000 / r["status_warm_ms"],
         TARGETS["status_vs_replay"], "higher", "x")


if __name__ == "__main__":
    main()
