"""Sending letters: a port (`Mailer`) and its SMTP adapter. Rendering lives in render.py.

Every letter carries a stable Message-ID and a Bcc to the ISU's archive mailbox. After a
crash between handing a letter to the server and recording it, the delivery service asks
`already_delivered(message_id)` (the archive) before sending again, so the letter is not
sent twice.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Protocol


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def already_delivered(self, message_id: str) -> bool: ...


class SmtpMailer:
    """SMTP delivery. `archive_lookup` answers whether the archive mailbox holds a message
    with that Message-ID (in production an IMAP search of the archive; tests use the SMTP
    server's own store)."""

    def __init__(self, host: str, port: int, archive_lookup: Callable[[str], bool] | None = None,
                 timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.archive_lookup = archive_lookup

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)

    def already_delivered(self, message_id: str) -> bool:
        return bool(self.archive_lookup and self.archive_lookup(message_id))


def letter_message(*, message_id: str, sender: str, to: str, cc: str, archive: str, subject: str,
                   body: str) -> EmailMessage:
    message = EmailMessage()
    message["Message-ID"] = message_id
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Bcc"] = archive
    message["Subject"] = subject
    message.set_content(body)
    return message
