"""The scheduler: APScheduler 3.11 used only as a clock, in exactly one process.

Every minute it calls `Scheduler.tick(now)`, which (1) runs the reminders for today once a
day and (2) drains the outbox. "Once a day" is a row in `scheduler_runs` keyed by
(job, day): the store refuses a second one, so neither a repeated tick, a restart nor a
second scheduler started by mistake runs the day twice. Downtime is caught up: the first
tick after it runs today's reminders, which draft the latest stage of everything due,
including what the missed days would have drafted. A single-instance guard keeps a second
scheduler process from starting: a lock file beside the SQLite file (`<db>.scheduler.lock`),
or a PostgreSQL advisory lock held on a connection of its own, which works across machines.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from domain.dates import utc_text
from services.delivery import Delivery
from services.ledger import Ledger
from services.reminders import Reminders

_DDL = """CREATE TABLE IF NOT EXISTS scheduler_runs (
    job TEXT NOT NULL,
    day TEXT NOT NULL,
    started_at TEXT NOT NULL,
    PRIMARY KEY (job, day))"""


class AlreadyRunningError(RuntimeError):
    def __init__(self, lock: object) -> None:
        super().__init__(f"scheduler: another scheduler holds {lock}; exactly one may run")


class Guard(Protocol):
    def close(self) -> None: ...


class Scheduler:
    def __init__(self, ledger: Ledger, reminders: Reminders, delivery: Delivery | None, actor: str = "scheduler"):
        self.ledger, self.reminders, self.delivery, self.actor = ledger, reminders, delivery, actor
        ledger.create_tables([_DDL])

    def tick(self, now: datetime) -> dict[str, Any]:
        """One beat of the clock: today's reminders if not yet run, then the outbox."""
        out: dict[str, Any] = {"day": now.date().isoformat(), "reminders": None, "delivery": None}
        claimed = self.ledger.execute([(
            "INSERT INTO scheduler_runs (job, day, started_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            ["reminders", now.date().isoformat(), utc_text(now)])])
        if claimed:
            try:
                out["reminders"] = self.reminders.run(as_of=now.date(), now=now, actor=self.actor)
            except BaseException:
                # a run that failed has not run: give the day back so the next beat tries again
                # (what it drafted before failing stays; drafting is exactly once anyway)
                self.ledger.execute([("DELETE FROM scheduler_runs WHERE job = ? AND day = ?",
                                      ["reminders", now.date().isoformat()])])
                raise
        if self.delivery is not None:
            out["delivery"] = self.delivery.drain(now=now, actor=self.actor)
        return out

    def runs(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self.ledger.query(  # type: ignore[misc]
            "SELECT job, day, started_at FROM scheduler_runs ORDER BY day, job")]


def single_instance(lock_path: Path) -> Guard:
    """Hold an exclusive file lock for the life of the process, or raise AlreadyRunningError."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunningError(lock_path) from None
    return handle


def single_instance_postgres(dsn: str, schema: str) -> Guard:
    """Hold a PostgreSQL session advisory lock, keyed by the schema, on a connection kept open
    for the life of the process; the server releases it if the process dies."""
    import psycopg

    key = zlib.crc32(f"treaty-ledger-scheduler:{schema}".encode())
    connection = psycopg.connect(dsn, autocommit=True)
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
    if not row or not row[0]:
        connection.close()
        raise AlreadyRunningError(f"the PostgreSQL advisory lock {key} (schema {schema})")
    return connection


def guard_for(settings: Any) -> Guard:
    if settings.postgres_dsn:
        return single_instance_postgres(settings.postgres_dsn, settings.postgres_schema)
    return single_instance(Path(f"{settings.db_path}.scheduler.lock"))


def run_forever(scheduler: Scheduler, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                every_seconds: int = 60, report: Callable[[dict[str, Any]], None] = lambda _: None) -> None:
    """APScheduler as the clock: one job, an explicit id, no overlapping runs, the first beat
    at once (catching up), missed beats coalesced. `report` receives each beat's result."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    def beat() -> None:
        report(scheduler.tick(clock()))

    clock_scheduler = BlockingScheduler(timezone=UTC)
    clock_scheduler.add_job(beat, IntervalTrigger(seconds=every_seconds, timezone=UTC),
                            id="treaty-ledger-tick", replace_existing=True, coalesce=True, max_instances=1,
                            misfire_grace_time=every_seconds, next_run_time=clock())
    clock_scheduler.start()
