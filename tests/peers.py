"""Real protocol peers that tests start for themselves: an SMTP server on loopback (aiosmtpd)
and headless Chromium printing a page to PDF."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = "Debian's chromium is not installed (apt-get install chromium)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Accepted:
    """An SMTP server's handler that accepts everything and keeps who got what."""

    def __init__(self) -> None:
        self.recipients: list[list[str]] = []
        self.message_ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.recipients.append(list(envelope.rcpt_tos))
        self.message_ids.append(message_from_bytes(envelope.content)["Message-ID"])
        return "250 OK"


@contextmanager
def smtp_server(handler: Any) -> Iterator[int]:
    """A real SMTP server on a free loopback port, answering with `handler`; yields the port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def print_to_pdf(html: Path, workdir: Path) -> bytes:
    """The page printed by headless Chromium, as the README tells a user to do it."""
    pdf = workdir / f"{html.stem}.pdf"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={workdir / 'profile'}",
         f"--print-to-pdf={pdf}", "--no-pdf-header-footer", html.as_uri()],
        capture_output=True, timeout=120, check=True,
    )
    return pdf.read_bytes()
