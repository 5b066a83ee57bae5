"""Delivery through a real SMTP server on loopback (aiosmtpd, started by the test)."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import date, timedelta
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from notifications.mail import SmtpMailer
from services.bootstrap import System, bootstrap
from services.delivery import Delivery
from services.loader import load_dataset
from services.reminders import Reminders
from tests.conftest import utc

NOW = utc(2026, 2, 1)
KEY = "CCM/BEN/initial_report/-/overdue"


class Mailbox:
    """The SMTP server's handler: keeps what it accepts; can refuse the next N messages."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.Message]] = []
        self.refuse_next = 0

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Temporary failure, try again later"
        self.received.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=default)))
        return "250 OK"

    def copies(self, message_id: str, recipient: str) -> int:
        return sum(1 for rcpts, msg in self.received if msg["Message-ID"] == message_id and recipient in rcpts)

    def archive_holds(self, message_id: str) -> bool:
        """Test double of the IMAP search of the ISU archive mailbox (no IMAP server here):
        the archive copy is the Bcc this same SMTP server accepted."""
        return self.copies(message_id, "archive@treaty-ledger.invalid") > 0


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def approved(settings) -> Iterator[tuple[System, Reminders]]:  # type: ignore[no-untyped-def]
    system = bootstrap(settings)
    load_dataset(system.ledger, system.commands, "ccm-2018", now=utc(2026, 1, 15))
    reminders = Reminders(system.ledger, system.queries)
    reminders.run(as_of=date(2018, 7, 1), now=NOW, actor="scheduler")
    reminders.approve(key=KEY, role="isu", actor="isu", now=NOW)
    try:
        yield system, reminders
    finally:
        system.close()


def test_an_approved_letter_is_delivered_once_with_retries_after_refusals(approved, smtp):
    system, reminders = approved
    mailbox, port = smtp
    delivery = Delivery(system.ledger, reminders, SmtpMailer("127.0.0.1", port, mailbox.archive_holds),
                        system.settings)
    mailbox.refuse_next = 2
    first = delivery.drain(now=NOW)
    assert first["failed"] == [KEY]
    assert delivery.drain(now=NOW + timedelta(minutes=1))["waiting"] == [KEY]  # backing off
    second = delivery.drain(now=NOW + timedelta(minutes=6))
    assert second["failed"] == [KEY]  # refused again: the next wait is longer
    assert delivery.drain(now=NOW + timedelta(minutes=12))["waiting"] == [KEY]
    third = delivery.drain(now=NOW + timedelta(minutes=20))
    assert third["sent"] == [KEY]
    assert delivery.drain(now=NOW + timedelta(hours=1)) == {"sent": [], "confirmed_from_archive": [], "failed": [],
                                                            "waiting": []}
    letter = reminders.get(KEY)
    assert (letter["status"], letter["attempts"], letter["confirmed_by"]) == ("sent", 3, "smtp")
    assert mailbox.copies(letter["message_id"], "mission-ben@missions.invalid") == 1
    _, message = mailbox.received[0]
    assert "Excellence," in message.get_content() and message["Subject"].startswith("CCM/REM/BEN/")


class DiesAfterSending(SmtpMailer):
    """Hands the letter to the server, then the process stops before recording it."""

    def send(self, message):  # type: ignore[no-untyped-def]
        super().send(message)
        raise SystemExit("killed between send and record")


def test_a_sender_stopped_between_send_and_record_does_not_send_twice(approved, smtp):
    system, reminders = approved
    mailbox, port = smtp
    with pytest.raises(SystemExit):
        Delivery(system.ledger, reminders, DiesAfterSending("127.0.0.1", port, mailbox.archive_holds),
                 system.settings).drain(now=NOW)
    assert reminders.get(KEY)["status"] == "approved"  # sent, but not recorded: in doubt
    restarted = bootstrap(system.settings)  # a new process
    try:
        again = Delivery(restarted.ledger, Reminders(restarted.ledger, restarted.queries),
                         SmtpMailer("127.0.0.1", port, mailbox.archive_holds), restarted.settings)
        result = again.drain(now=NOW + timedelta(minutes=1))
    finally:
        restarted.close()
    assert result["confirmed_from_archive"] == [KEY] and result["sent"] == []
    letter = reminders.get(KEY)
    assert (letter["status"], letter["confirmed_by"]) == ("sent", "archive")
    assert mailbox.copies(letter["message_id"], "mission-ben@missions.invalid") == 1
