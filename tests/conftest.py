"""Shared fixtures: a real SQLite file and a real PostgreSQL schema per test.

PostgreSQL is named by TREATY_TEST_POSTGRES_DSN (the Makefile defaults it to the local
server). In CI (CI=true) an unreachable server fails the run; elsewhere the PostgreSQL
half of each contract test is skipped with the reason shown.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from services.bootstrap import System, bootstrap
from services.settings import Settings

T = TypeVar("T")
BACKENDS = ["sqlite", "postgres"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _postgres_dsn() -> str:
    dsn = os.environ.get("TREATY_TEST_POSTGRES_DSN", "")
    problem = None
    if not dsn:
        problem = "TREATY_TEST_POSTGRES_DSN is not set"
    else:
        import psycopg

        try:
            with psycopg.connect(dsn, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
        except Exception as e:  # noqa: BLE001 - any failure means "no server here"
            problem = f"PostgreSQL at {dsn} is unreachable: {e}"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI requires PostgreSQL: {problem}")
        pytest.skip(problem)
    return dsn


@contextmanager
def postgres_schema() -> Iterator[Settings]:
    """A fresh schema on the test server, dropped afterwards."""
    import psycopg

    dsn = _postgres_dsn()
    schema = f"tl_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield Settings(postgres_dsn=dsn, postgres_schema=schema, aggregate_cache_size=0)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_settings() -> Iterator[Settings]:
    with postgres_schema() as settings:
        yield settings


@pytest.fixture
def sqlite_settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(db_path=tmp_path / "ledger.sqlite", aggregate_cache_size=0)


@pytest.fixture(params=BACKENDS)
def settings(request) -> Settings:  # type: ignore[no-untyped-def]
    return request.getfixturevalue(f"{request.param}_settings")


@pytest.fixture
def system(settings: Settings) -> Iterator[System]:
    s = bootstrap(settings)
    try:
        yield s
    finally:
        s.close()


def race(*calls: Callable[[], T]) -> list[T]:
    """Run the calls in threads released together by a barrier; their results in order, or
    the first error raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = call()
        except BaseException as e:  # noqa: BLE001 - raised in the caller
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
