"""The one composition root: builds the real adapters from settings. Nothing connects at import."""

from __future__ import annotations

from dataclasses import dataclass

from services.commands import Commands
from services.ledger import Ledger
from services.queries import Queries
from services.reports import Reports
from services.settings import Settings


@dataclass
class System:
    settings: Settings
    ledger: Ledger
    commands: Commands
    queries: Queries
    reports: Reports

    def close(self) -> None:
        self.ledger.close()


def bootstrap(settings: Settings | None = None) -> System:
    settings = settings or Settings()
    ledger = Ledger(settings)
    commands = Commands(ledger)
    queries = Queries(ledger, commands)
    return System(settings=settings, ledger=ledger, commands=commands, queries=queries, reports=Reports(queries))
