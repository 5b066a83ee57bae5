"""The status index must give exactly the answer of a naive filter-and-fold, for any
as-of date and known-at time, with facts learned late and facts retracted."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.conventions import load_convention
from domain.facts import Fact
from domain.standing import Standing
from projections import status_index
from projections.state_status import status_of
from projections.status_index import StatusIndex

CCM = load_convention("CCM")
T0 = datetime(2020, 1, 1, tzinfo=UTC)


def _fact(dossier: str, version: int, kind: str, on: date, recorded: datetime, **data) -> Fact:
    return Fact(dossier_id=dossier, version=version, kind=kind, occurred_on=on, occurred_from=on,
                recorded_at=recorded, recorded_by="t", source="s", note="", import_key=None, data=data)


def _random_history(rng: random.Random, dossier: str, n: int) -> list[Fact]:
    iso3 = dossier[-3:]
    facts = [
        _fact(dossier, 1, "StateRegistered", date(2009, 1, 1), T0, convention="CCM", iso3=iso3, name=iso3),
        _fact(dossier, 2, "Signed", date(2009, 1, 1), T0),
        _fact(dossier, 3, "InstrumentDeposited", date(2010, 1, 1) + timedelta(days=rng.randrange(800)),
              T0 + timedelta(hours=1), instrument="ratification"),
        _fact(dossier, 4, "StockpileDeclared", date(2011, 1, 1), T0 + timedelta(hours=2), detail=""),
    ]
    clock = T0 + timedelta(days=1)
    for version in range(5, n + 5):
        clock += timedelta(hours=rng.randrange(1, 48))
        roll = rng.random()
        # mostly in valid-time order, sometimes learned late (a date years back)
        on = date(2012, 1, 1) + timedelta(days=(version * 3 if roll > 0.15 else rng.randrange(version * 3 + 1)))
        if roll < 0.08 and version > 6:
            target = rng.choice([f for f in facts if f.kind not in ("StateRegistered", "EventRetracted")])
            facts.append(_fact(dossier, version, "EventRetracted", clock.date(), clock,
                               retracted_event_id=target.event_id, reason="test", superseded_by=None))
        elif roll < 0.5:
            year = on.year - 1
            facts.append(_fact(dossier, version, "ReportSubmitted", on, clock, report="annual", reporting_year=year))
        elif roll < 0.55:
            facts.append(_fact(dossier, version, "StockpileDestructionCompleted", on, clock, detail=""))
        else:
            facts.append(_fact(dossier, version, "RetainedStockReported", on, clock, detail=""))
    return facts


def _naive(facts: list[Fact], as_of: date, known_at: datetime) -> dict[str, Standing]:
    retracted = {f.data["retracted_event_id"] for f in facts
                 if f.kind == "EventRetracted" and f.recorded_at <= known_at}
    by_dossier: dict[str, list[Fact]] = {}
    for f in facts:
        if (f.kind != "EventRetracted" and f.occurred_on <= as_of and f.recorded_at <= known_at
                and f.event_id not in retracted):
            by_dossier.setdefault(f.dossier_id, []).append(f)
    return {d: Standing.of(fs) for d, fs in by_dossier.items() if any(f.kind == "StateRegistered" for f in fs)}


@pytest.mark.parametrize("seed", range(8))
def test_the_index_answers_exactly_as_a_naive_refold(monkeypatch, seed):
    monkeypatch.setattr(status_index, "CHECKPOINT_EVERY", 4)
    rng = random.Random(seed)
    facts = [f for d in ("CCM/AAA", "CCM/BBB", "CCM/CCC") for f in _random_history(rng, d, 80)]
    facts.sort(key=lambda f: f.recorded_at)  # the order the store commits them
    index = StatusIndex("CCM")
    added: list[Fact] = []
    latest = facts[-1].recorded_at
    for step, fact in enumerate(facts):
        index.add(fact)
        added.append(fact)
        if step % 17 == 0 or step == len(facts) - 1:
            for _ in range(12):
                as_of = date(2009, 6, 1) + timedelta(days=rng.randrange(3000))
                known_at = rng.choice([latest + timedelta(days=1), T0 + timedelta(days=rng.randrange(400))])
                expected = {d: status_of(s, CCM, as_of) for d, s in _naive(added, as_of, known_at).items()}
                got = {d: status_of(s, CCM, as_of) for d, s in index.standings(as_of, known_at).items()}
                assert got == expected, (step, as_of, known_at)
