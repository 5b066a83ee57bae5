"""`treaty scheduler` as it runs in production: a real process, APScheduler as its clock (the
real one), a real SQLite file. The controllable-clock tests of the beat itself are in
tests/integration/test_scheduler.py; this shows the wiring: the first beat runs today's
reminders, later beats do not run the day again, a second scheduler is refused, and a
restart does not run the day twice."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TREATY = Path(sys.executable).parent / "treaty"


def env_for(db: Path) -> dict[str, str]:
    env = {**os.environ, "TREATY_DB_PATH": str(db), "COLUMNS": "200", "TREATY_SMTP_PORT": "1"}
    env.pop("TREATY_POSTGRES_DSN", None)
    return env


class Running:
    """A scheduler process whose output is read line by line as it comes."""

    def __init__(self, db: Path) -> None:
        self.process = subprocess.Popen([str(TREATY), "scheduler", "--every", "1"], env=env_for(db),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        self.selector.register(self.process.stdout, selectors.EVENT_READ)

    def next_line(self, containing: str, timeout: float = 60.0) -> str:
        """Block until the process prints a line with `containing` (not a sleep: a wait on its output)."""
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while (left := deadline - time.monotonic()) > 0:
            if not self.selector.select(left):
                break
            line = self.process.stdout.readline()
            if not line:
                break
            if containing in line:
                return line
        assert self.process.stderr is not None
        self.stop()
        pytest.fail(f"the scheduler printed no line with {containing!r}; stderr: {self.process.stderr.read()}")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=60)
        return out


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite"
    loaded = subprocess.run([str(TREATY), "load", "ccm-2018"], env=env_for(path), capture_output=True, text=True,
                            timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    return path


def test_the_scheduler_process_runs_the_day_once_refuses_a_twin_and_survives_a_restart(db):
    first = Running(db)
    try:
        first.next_line("scheduler running every 1 s")
        beat = first.next_line("beat for")
        assert "reminders drafted" in beat  # the first beat runs today's reminders
        drafted = int(beat.split("reminders drafted ")[1].split(",")[0])
        assert drafted > 0
        assert "reminders" not in first.next_line("beat for")  # the next beat, same day: not again
        twin = subprocess.run([str(TREATY), "scheduler", "--every", "1"], env=env_for(db), capture_output=True,
                              text=True, timeout=60)
        assert twin.returncode == 4 and "exactly one may run" in twin.stderr
    finally:
        assert "scheduler stopped" in first.stop()
    assert first.process.returncode == 0
    listed = subprocess.run([str(TREATY), "reminders", "list", "--status", "drafted"], env=env_for(db),
                            capture_output=True, text=True, timeout=60)
    assert listed.stdout.count("CCM/") == drafted
    restarted = Running(db)
    try:
        assert "reminders" not in restarted.next_line("beat for")  # a restart does not run the day again
    finally:
        restarted.stop()
