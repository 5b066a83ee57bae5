"""Delivery through a real SMTP server on loopback (aiosmtpd, started by the test)."""

from __future__ import annotations

import email
import imaplib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from email.policy import default
from pathlib import Path

import pytest

from domain.errors import InvalidValueError, RuleViolationError
from notifications.mail import ImapArchive, SmtpMailer
from services.bootstrap import System, bootstrap
from services.delivery import Delivery
from services.loader import load_dataset
from services.reminders import Reminders
from tests.conftest import race, utc
from tests.peers import free_port, smtp_server

NOW = utc(2026, 2, 1)
KEY = "CCM/BEN/initial_report/-/overdue"


ARCHIVE = "archive@treaty-ledger.invalid"


class Mailbox:
    """The SMTP server's handler: keeps what it accepts; can refuse the next N messages; when
    given an IMAP archive (`deliver_archive_to`), files the archive's copy there, as the
    ISU's mail server would."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.Message]] = []
        self.refuse_next = 0
        self.deliver_archive_to: tuple[int, str, str] | None = None  # IMAP port, user, password

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Temporary failure, try again later"
        self.received.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=default)))
        if self.deliver_archive_to and ARCHIVE in envelope.rcpt_tos:
            port, user, password = self.deliver_archive_to
            imap = imaplib.IMAP4("127.0.0.1", port)
            imap.login(user, password)
            status, detail = imap.append("INBOX", None, None, envelope.content)
            assert status == "OK", detail
            imap.logout()
        return "250 OK"

    def copies(self, message_id: str, recipient: str) -> int:
        return sum(1 for rcpts, msg in self.received if msg["Message-ID"] == message_id and recipient in rcpts)

    def archive_holds(self, message_id: str) -> bool:
        """Test double of the IMAP search of the ISU archive mailbox (no IMAP server here):
        the archive copy is the Bcc this same SMTP server accepted."""
        return self.copies(message_id, "archive@treaty-ledger.invalid") > 0


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        yield mailbox, port


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
    assert delivery.drain(now=NOW + timedelta(hours=1)) == {
        "sent": [], "confirmed_from_archive": [], "failed": [], "waiting": [], "in_doubt": [],
        "taken_by_another_sender": []}
    letter = reminders.get(KEY)
    assert (letter["status"], letter["attempts"], letter["confirmed_by"]) == ("sent", 3, "smtp")
    assert mailbox.copies(letter["message_id"], "mission-ben@missions.invalid") == 1
    _, message = mailbox.received[0]
    assert message["Subject"].startswith("CCM/REM/BEN/")
    text, html = (message.get_body(preferencelist=(kind,)) for kind in ("plain", "html"))
    assert "Excellence," in text.get_content() and '<html lang="fr">' in html.get_content()


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


def test_two_outboxes_draining_at_once_send_each_letter_once(approved, smtp):
    system, reminders = approved
    mailbox, port = smtp
    for r in reminders.list("drafted"):
        reminders.approve(key=r["key"], role="isu", actor="isu", now=NOW)
    approved_keys = {r["key"] for r in reminders.list("approved")}
    assert len(approved_keys) == 27
    others = [bootstrap(system.settings) for _ in range(2)]  # separate connections, as two processes have
    outboxes = [Delivery(o.ledger, Reminders(o.ledger, o.queries), SmtpMailer("127.0.0.1", port), o.settings)
                for o in others]
    try:
        results = race(*(lambda d=d: d.drain(now=NOW) for d in outboxes))
    finally:
        for o in others:
            o.close()
    sent = results[0]["sent"] + results[1]["sent"]
    assert sorted(sent) == sorted(approved_keys)  # every letter sent, by one outbox or the other
    for r in reminders.list():
        assert mailbox.copies(r["message_id"], f"mission-{r['iso3'].lower()}@missions.invalid") == 1, r["key"]


# ------------------------------------------------------------- a letter in doubt
def _crash_after_sending(system: System, reminders: Reminders, port: int) -> None:
    with pytest.raises(SystemExit):
        Delivery(system.ledger, reminders, DiesAfterSending("127.0.0.1", port), system.settings).drain(now=NOW)
    assert reminders.get(KEY)["status"] == "approved"


def test_without_an_archive_a_letter_in_doubt_waits_for_a_person_and_is_then_sent_once(approved, smtp):
    system, reminders = approved
    mailbox, port = smtp
    _crash_after_sending(system, reminders, port)
    delivery = Delivery(system.ledger, reminders, SmtpMailer("127.0.0.1", port), system.settings)
    later = delivery.drain(now=NOW + timedelta(hours=2))
    assert later["in_doubt"] == [KEY] and later["sent"] == []  # cannot tell: not sent on a guess
    message_id = reminders.get(KEY)["message_id"]
    assert mailbox.copies(message_id, "mission-ben@missions.invalid") == 1
    delivery.resolve(key=KEY, delivered=True, actor="isu-officer", now=NOW + timedelta(hours=3))
    letter = reminders.get(KEY)
    assert (letter["status"], letter["confirmed_by"]) == ("sent", "person:isu-officer")
    assert delivery.drain(now=NOW + timedelta(hours=4))["sent"] == []
    assert mailbox.copies(message_id, "mission-ben@missions.invalid") == 1


def test_a_letter_a_person_found_undelivered_is_sent_on_the_next_drain(approved, smtp):
    system, reminders = approved
    mailbox, port = smtp
    delivery = Delivery(system.ledger, reminders, SmtpMailer("127.0.0.1", port), system.settings)
    with pytest.raises(RuleViolationError, match="not in doubt"):
        delivery.resolve(key=KEY, delivered=True, actor="isu", now=NOW)
    with pytest.raises(SystemExit):
        Delivery(system.ledger, reminders, DiesBeforeSending("127.0.0.1", port), system.settings).drain(now=NOW)
    assert delivery.drain(now=NOW + timedelta(minutes=1))["in_doubt"] == [KEY]
    delivery.resolve(key=KEY, delivered=False, actor="isu", now=NOW + timedelta(minutes=2))
    assert delivery.drain(now=NOW + timedelta(minutes=3))["sent"] == [KEY]
    assert mailbox.copies(reminders.get(KEY)["message_id"], "mission-ben@missions.invalid") == 1


class DiesBeforeSending(SmtpMailer):
    """The process stops after recording the attempt, before the server has the letter."""

    def send(self, message):  # type: ignore[no-untyped-def]
        raise SystemExit("killed before the letter left")


@pytest.fixture
def dovecot() -> Iterator[tuple[int, str]]:
    """A real IMAP server (Dovecot) on loopback, holding the ISU's archive mailbox."""
    if shutil.which("dovecot") is None:
        pytest.skip("Debian's dovecot-imapd is not installed (apt-get install dovecot-imapd): the IMAP archive "
                    "check is then covered only by its test double above")
    tmp_path = Path(tempfile.mkdtemp(prefix="treaty-dovecot-"))  # its mail user must reach the folder
    tmp_path.chmod(0o755)
    port = free_port()
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail").chmod(0o777)
    config = tmp_path / "dovecot.conf"
    config.write_text(f"""base_dir = {tmp_path}/run
state_dir = {tmp_path}/state
log_path = {tmp_path}/dovecot.log
instance_name = treaty-ledger-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{tmp_path}/mail/%u
passdb {{
  driver = static
  args = password=archive-secret
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={tmp_path}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
    subprocess.run(["dovecot", "-c", str(config)], check=True)  # returns once it listens
    try:
        yield port, "archive-secret"
    finally:
        subprocess.run(["doveadm", "-c", str(config), "stop"], check=False)
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_after_a_crash_the_imap_archive_shows_the_letter_went_and_it_is_not_sent_again(approved, smtp, dovecot):
    system, reminders = approved
    mailbox, port = smtp
    imap_port, password = dovecot
    mailbox.deliver_archive_to = (imap_port, "archive", password)
    _crash_after_sending(system, reminders, port)
    archive = ImapArchive(f"imap://archive:{password}@127.0.0.1:{imap_port}/INBOX")
    message_id = reminders.get(KEY)["message_id"]
    assert archive(message_id) is True and archive("<someone-else@treaty-ledger.invalid>") is False
    restarted = bootstrap(system.settings.model_copy(update={
        "smtp_port": port, "mail_archive_imap": f"imap://archive:{password}@127.0.0.1:{imap_port}"}))
    try:
        result = restarted.delivery.drain(now=NOW + timedelta(minutes=1))
    finally:
        restarted.close()
    assert result["confirmed_from_archive"] == [KEY] and result["sent"] == []
    assert mailbox.copies(message_id, "mission-ben@missions.invalid") == 1


def test_the_archive_is_believed_absent_only_after_a_grace_period(approved, smtp, dovecot):
    system, reminders = approved
    mailbox, port = smtp
    imap_port, password = dovecot
    with pytest.raises(SystemExit):  # stopped before the server had it: the archive never will
        Delivery(system.ledger, reminders, DiesBeforeSending("127.0.0.1", port), system.settings).drain(now=NOW)
    mailer = SmtpMailer("127.0.0.1", port, ImapArchive(f"imap://archive:{password}@127.0.0.1:{imap_port}"))
    delivery = Delivery(system.ledger, reminders, mailer, system.settings)
    assert delivery.drain(now=NOW + timedelta(minutes=5))["waiting"] == [KEY]  # the copy may be on its way
    assert delivery.drain(now=NOW + timedelta(minutes=16))["sent"] == [KEY]
    assert mailbox.copies(reminders.get(KEY)["message_id"], "mission-ben@missions.invalid") == 1


def test_an_unreachable_archive_cannot_tell_and_the_letter_waits(approved, smtp):
    system, reminders = approved
    _, port = smtp
    _crash_after_sending(system, reminders, port)
    closed = free_port()
    archive = ImapArchive(f"imap://archive:x@127.0.0.1:{closed}", timeout=2)
    assert archive("<x@y>") is None
    delivery = Delivery(system.ledger, reminders, SmtpMailer("127.0.0.1", port, archive), system.settings)
    assert delivery.drain(now=NOW + timedelta(hours=1))["in_doubt"] == [KEY]


def test_a_bad_archive_address_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match="mail_archive_imap"):
        ImapArchive("https://archive.example")


# ------------------------------------------------------------------- replies
def test_a_reply_to_a_sent_letter_is_recorded_and_shown(approved, smtp):
    system, reminders = approved
    _, port = smtp
    Delivery(system.ledger, reminders, SmtpMailer("127.0.0.1", port), system.settings).drain(now=NOW)
    with pytest.raises(InvalidValueError, match="received_on"):
        reminders.reply(key=KEY, received_on=date(2026, 1, 20), summary="too early", reply_reference="",
                        actor="isu", now=NOW + timedelta(days=3))
    with pytest.raises(InvalidValueError, match="received_on"):
        reminders.reply(key=KEY, received_on=date(2026, 3, 1), summary="in the future", reply_reference="",
                        actor="isu", now=NOW + timedelta(days=3))
    reply = reminders.reply(key=KEY, received_on=date(2026, 2, 3), summary="The initial report is in preparation.",
                            reply_reference="NV/2026/014", actor="isu", now=NOW + timedelta(days=3))
    assert reply["status"] == "replied"
    assert reply["replies"] == [{"received_on": "2026-02-03", "summary": "The initial report is in preparation.",
                                 "reply_reference": "NV/2026/014", "recorded_by": "isu",
                                 "recorded_at": reply["replies"][0]["recorded_at"]}]
    kinds = [h["kind"] for h in reminders.audit(KEY)["history"]]
    assert kinds == ["ReminderDrafted", "ReminderApproved", "SendAttempted", "ReminderSent", "ReplyReceived"]


def test_an_unsent_letter_takes_no_reply(approved):
    _, reminders = approved
    with pytest.raises(RuleViolationError, match="only a sent letter"):
        reminders.reply(key=KEY, received_on=date(2026, 2, 1), summary="x", reply_reference="", actor="isu", now=NOW)
