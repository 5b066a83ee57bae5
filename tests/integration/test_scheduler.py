"""The scheduler's beat with a controllable clock (the tests call tick(now) as APScheduler
would), and the single-instance guard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from services.bootstrap import System, bootstrap
from services.reminders import Reminders
from services.scheduler import AlreadyRunningError, Scheduler, guard_for, single_instance
from tests.conftest import utc


@pytest.fixture
def system(settings) -> Iterator[System]:  # type: ignore[no-untyped-def]
    """Benin as the ledger knew it in January 2018: in force since 1 January, initial report
    due 30 June 2018 (the clock of these tests runs in 2018)."""
    s = bootstrap(settings)
    known = utc(2018, 1, 2)
    s.commands.register_state(iso3="BEN", name="Benin", language="fr", occurred_on="2008-12-03", now=known,
                              actor="isu", source="UNTC")
    s.commands.record(state="BEN", fact="signed", occurred_on="2008-12-03", now=known, actor="isu", source="UNTC")
    s.commands.record(state="BEN", fact="instrument_deposited", instrument="ratification", occurred_on="2017-07-10",
                      now=known, actor="isu", source="UNTC")
    try:
        yield s
    finally:
        s.close()


def scheduler_for(system: System) -> Scheduler:
    return Scheduler(system.ledger, Reminders(system.ledger, system.queries), delivery=None)


def test_the_daily_job_runs_once_a_day_catches_up_after_downtime_and_survives_a_restart(system):
    clock = utc(2018, 7, 1, 6, 0)
    first = scheduler_for(system)
    day1 = first.tick(clock)
    assert day1["reminders"]["drafted"] == ["CCM/BEN/initial_report/-/overdue"]
    assert first.tick(clock + timedelta(minutes=1))["reminders"] is None  # same day: not again
    assert first.tick(clock + timedelta(hours=17))["reminders"] is None
    # down from 2 July to 4 October: the first beat after it runs the day and drafts the
    # stages the missed days reached (Benin's first follow-up fell on 28 September)
    back = clock + timedelta(days=95)
    caught_up = first.tick(back)["reminders"]
    assert "CCM/BEN/initial_report/-/follow_up_1" in caught_up["drafted"]
    # a restart (a new process) on the same day does not run it again
    restarted = bootstrap(system.settings)
    try:
        again = scheduler_for(restarted)
        assert again.tick(back + timedelta(minutes=5))["reminders"] is None
        assert [day for job, day, _ in again.runs()] == ["2018-07-01", "2018-10-04"]
    finally:
        restarted.close()


def test_a_second_scheduler_on_the_same_machine_is_refused(tmp_path):
    lock = tmp_path / "ledger.sqlite.scheduler.lock"
    held = single_instance(lock)
    try:
        with pytest.raises(AlreadyRunningError, match="exactly one may run"):
            single_instance(lock)
    finally:
        held.close()
    single_instance(lock).close()  # free again once the first stops


def test_on_postgresql_a_second_scheduler_is_refused_by_an_advisory_lock_across_connections():
    from tests.conftest import postgres_schema

    with postgres_schema() as settings:
        held = guard_for(settings)
        try:
            with pytest.raises(AlreadyRunningError, match="advisory lock"):
                guard_for(settings)
            other_schema = settings.model_copy(update={"postgres_schema": settings.postgres_schema + "_other"})
            guard_for(other_schema).close()  # another ledger (schema) has its own scheduler
        finally:
            held.close()
        guard_for(settings).close()  # free again once the first stops


class FailsOnce(Reminders):
    """Test double: a reminder run that fails the first time (the store went away mid-run)."""

    failed = False

    def run(self, **kwargs):  # type: ignore[no-untyped-def]
        if not self.failed:
            self.failed = True
            raise RuntimeError("the store went away")
        return super().run(**kwargs)


def test_a_failed_daily_run_gives_the_day_back_and_the_next_beat_runs_it(system):
    scheduler = Scheduler(system.ledger, FailsOnce(system.ledger, system.queries), delivery=None)
    clock = utc(2018, 7, 1, 6, 0)
    with pytest.raises(RuntimeError, match="went away"):
        scheduler.tick(clock)
    assert scheduler.runs() == []
    again = scheduler.tick(clock + timedelta(minutes=1))
    assert again["reminders"]["drafted"] == ["CCM/BEN/initial_report/-/overdue"]
    assert [day for _, day, _ in scheduler.runs()] == ["2018-07-01"]
