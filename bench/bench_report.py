"""Benchmark: the action plan's progress report.

1. The 8MSP report (2017-07-01 to 2018-06-30) from the ccm-2018 ledger: JSON and HTML,
   cold (a new process's first report, index built) and warm (median of 7).
2. A one-year report on the synthetic 1,000,000-event ledger built by bench_ledger.py
   (bench/out/synthetic_1000000.sqlite; run `make bench` first).

Usage: python bench/bench_report.py [--synthetic PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from notifications.render import render  # noqa: E402
from services.bootstrap import bootstrap  # noqa: E402
from services.loader import load_dataset  # noqa: E402
from services.settings import Settings  # noqa: E402


def timed(fn, repeats: int = 7) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(first call, median of the next `repeats`) in milliseconds."""
    t0 = time.perf_counter()
    fn()
    first = (time.perf_counter() - t0) * 1000
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return first, statistics.median(runs)


def report_for(system, start: date, end: date, html: bool):  # type: ignore[no-untyped-def]
    def run() -> None:
        data = system.reports.progress_report(start=start, end=end, known_at=datetime(2200, 1, 1, tzinfo=UTC))
        if html:
            render("reports/progress_report.html", {"report": data, "convention_name": "CCM"})
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--synthetic", type=Path, default=Path("bench/out/synthetic_1000000.sqlite"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(db_path=Path(tmp) / "ccm.sqlite"))
        load_dataset(system.ledger, system.commands, "ccm-2018", now=datetime.now(UTC))
        system.close()
        system = bootstrap(Settings(db_path=Path(tmp) / "ccm.sqlite"))  # a fresh process's view
        cold_json, warm_json = timed(report_for(system, date(2017, 7, 1), date(2018, 6, 30), html=False))
        _, warm_html = timed(report_for(system, date(2017, 7, 1), date(2018, 6, 30), html=True))
        events = system.ledger.count_events()
        system.close()
    print(f"ccm-2018 ({events} events): 8MSP report, first in a new process {cold_json:.0f} ms; "
          f"warm JSON {warm_json:.0f} ms; warm JSON+HTML {warm_html:.0f} ms  (target < 1000 ms: "
          f"{'MET' if max(cold_json, warm_html) < 1000 else 'NOT MET'})")
    if not args.synthetic.exists():
        print(f"{args.synthetic} not found: run `make bench` first for the 1,000,000-event figure")
        return
    system = bootstrap(Settings(db_path=args.synthetic))
    try:
        t0 = time.perf_counter()
        system.queries.index("CCM")
        load_s = time.perf_counter() - t0
        first, warm = timed(report_for(system, date(2035, 7, 1), date(2036, 6, 30), html=True), repeats=3)
        events = system.ledger.count_events()
    finally:
        system.close()
    print(f"synthetic ({events:,} events, 200 States): index load {load_s:.1f} s; one-year report "
          f"(JSON+HTML) first {first:.0f} ms, warm median {warm:.0f} ms")


if __name__ == "__main__":
    main()
