"""Schemathesis against the served OpenAPI document: generated requests, through real HTTP,
must never produce a server error nor a response that breaks the schema.

Runs the `schemathesis` command (its pytest plugin does not yet work with pytest 9)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.accounts import Accounts
from services.bootstrap import bootstrap
from services.http import create_app
from services.loader import load_dataset
from services.settings import Settings
from tests.e2e.test_http_api import LiveServer

T0 = datetime(2026, 1, 15, tzinfo=UTC)
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    system = bootstrap(Settings(db_path=tmp_path_factory.mktemp("schemathesis") / "ledger.sqlite",
                                aggregate_cache_size=1000))
    load_dataset(system.ledger, system.commands, "ccm-2018", now=T0)
    token = Accounts(system.ledger).add(username="fuzzer", role="isu", area=None, by="test", now=T0)
    with LiveServer(create_app(system, clock=lambda: datetime(2026, 2, 1, tzinfo=UTC))) as server:
        yield server.url, token
    system.close()


def test_generated_requests_cause_no_server_error_and_no_response_outside_the_schema(live, tmp_path):
    url, token = live
    result = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--header", f"Authorization: Bearer {token}",
         "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
         "--max-examples", "20", "--seed", "1", "--request-timeout", "30", "--continue-on-failure"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
