"""Sending letters: a port (`Mailer`) and its SMTP adapter. Rendering lives in render.py.

Every letter carries a stable Message-ID and a Bcc to the ISU's archive mailbox. After a
crash between handing a letter to the server and recording it, the delivery service asks
`already_delivered(message_id)` (the archive, searched over IMAP) before sending again, so
the letter is not sent twice. When no archive is configured, or it cannot be reached, the
answer is None ("cannot tell") and the letter waits for a person instead of going twice.
"""

from __future__ import annotations

import imaplib
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def already_delivered(self, message_id: str) -> bool | None: ...


class ImapArchive:
    """The ISU's archive mailbox, searched over IMAP for a Message-ID.

    `url`: imap://user:password@host:port/Mailbox (imaps:// for TLS; the mailbox defaults to
    INBOX). Answers True or False, or None when the archive cannot be reached."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise ValueError(f"mail_archive_imap: {url!r} is not valid; expected imap[s]://user:password@host[:port]"
                             "[/Mailbox]")
        self.tls = parts.scheme == "imaps"
        self.host, self.port = parts.hostname, parts.port or (993 if self.tls else 143)
        self.user, self.password = unquote(parts.username), unquote(parts.password or "")
        self.mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
        self.timeout = timeout

    def __call__(self, message_id: str) -> bool | None:
        try:
            client = (imaplib.IMAP4_SSL(self.host, self.port, ssl_context=ssl.create_default_context(),
                                        timeout=self.timeout) if self.tls
                      else imaplib.IMAP4(self.host, self.port, timeout=self.timeout))
        except OSError:
            return None
        try:
            client.login(self.user, self.password)
            status, _ = client.select(_quoted(self.mailbox), readonly=True)
            if status != "OK":
                return None
            status, data = client.search(None, "HEADER", "Message-ID", _quoted(message_id))
            return bool(data and data[0].split()) if status == "OK" else None
        except (imaplib.IMAP4.error, OSError):
            return None
        finally:
            try:
                client.logout()
            except (imaplib.IMAP4.error, OSError):
                pass


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SmtpMailer:
    """SMTP delivery. `archive_lookup` answers whether the archive mailbox holds a message
    with that Message-ID (`ImapArchive`), or None when it cannot tell."""

    def __init__(self, host: str, port: int, archive_lookup: Callable[[str], bool | None] | None = None,
                 timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.archive_lookup = archive_lookup

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)

    def already_delivered(self, message_id: str) -> bool | None:
        return self.archive_lookup(message_id) if self.archive_lookup is not None else None


def letter_message(*, message_id: str, sender: str, to: str, cc: str, archive: str, subject: str,
                   body: str, html: str = "") -> EmailMessage:
    """The letter as an e-mail: plain text, with the HTML letter as its alternative."""
    message = EmailMessage()
    message["Message-ID"] = message_id
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Bcc"] = archive
    message["Subject"] = subject
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    return message
