"""The one composition root: builds the real adapters from settings. Nothing connects at import."""

from __future__ import annotations

from dataclasses import dataclass

from notifications.mail import ImapArchive, SmtpMailer
from services.commands import Commands
from services.delivery import Delivery
from services.ledger import Ledger
from services.queries import Queries
from services.reminders import Reminders
from services.reports import Reports
from services.settings import Settings


@dataclass
class System:
    settings: Settings
    ledger: Ledger
    commands: Commands
    queries: Queries
    reports: Reports
    reminders: Reminders
    delivery: Delivery

    def close(self) -> None:
        self.ledger.close()


def bootstrap(settings: Settings | None = None) -> System:
    settings = settings or Settings()
    ledger = Ledger(settings)
    commands = Commands(ledger)
    queries = Queries(ledger, commands)
    reminders = Reminders(ledger, queries)
    archive = ImapArchive(settings.mail_archive_imap) if settings.mail_archive_imap else None
    delivery = Delivery(ledger, reminders, SmtpMailer(settings.smtp_host, settings.smtp_port, archive), settings)
    return System(settings=settings, ledger=ledger, commands=commands, queries=queries, reports=Reports(queries),
                  reminders=reminders, delivery=delivery)
