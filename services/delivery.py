"""The outbox: approved letters are sent by SMTP, each exactly once.

Order of writes for one letter: `SendAttempted` is committed, then the letter goes to the
server, then `ReminderSent` is committed. A crash between the last two leaves the letter
"in doubt": the next drain asks the archive mailbox whether a message with its Message-ID
arrived, and records it as sent instead of sending again. The archive copy may lag behind the
relay, so "not in the archive" is trusted only `ARCHIVE_GRACE` after the attempt; and when
the archive cannot tell (none configured, unreachable) the letter waits for a person
(`treaty reminders resolve`): a letter in doubt is never sent again on a guess. A refused
or failed delivery is recorded with the time of the next try (exponential backoff); nothing
is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain.dossier import Provenance
from domain.errors import RuleViolationError
from domain.reminders import Reminder, reminder_storage_id
from notifications.mail import Mailer, letter_message
from services.ledger import Ledger
from services.reminders import Reminders, reminder_reference
from services.settings import Settings

BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=12)
ARCHIVE_GRACE = timedelta(minutes=15)
OUTCOMES = ("sent", "confirmed_from_archive", "failed", "waiting", "in_doubt", "taken_by_another_sender")


def backoff(attempt: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(0, attempt - 1)), BACKOFF_MAX)


class Delivery:
    def __init__(self, ledger: Ledger, reminders: Reminders, mailer: Mailer, settings: Settings) -> None:
        self.ledger, self.reminders, self.mailer, self.settings = ledger, reminders, mailer, settings

    def drain(self, *, now: datetime, actor: str = "outbox") -> dict[str, Any]:
        """Send every approved letter that is due a try. Each letter is handled on its own: a
        letter another sender is handling at the same moment (its event came first) is left
        to it, and the rest go on."""
        outcomes: dict[str, list[str]] = {k: [] for k in OUTCOMES}
        prov = Provenance(recorded_by=actor, source="outbox")
        for item in self.reminders.list("approved"):
            storage_id = reminder_storage_id(item["key"])
            try:
                outcome = self._deliver(item, self.ledger.repository.get(storage_id), now=now, prov=prov)
            except (IntegrityError, RuleViolationError):  # another sender recorded first: it has the letter
                self.ledger.forget(storage_id)
                outcome = "taken_by_another_sender"
            outcomes[outcome].append(item["key"])
        return outcomes

    def _deliver(self, item: dict[str, Any], letter: Reminder, *, now: datetime, prov: Provenance) -> str:
        to = self.address_of(item)
        if letter.in_doubt:
            archived = self.mailer.already_delivered(letter.message_id)
            if archived:
                letter.confirm_sent(to=to, confirmed_by="archive", prov=prov, now=now)
                self.ledger.save(letter)
                return "confirmed_from_archive"
            if archived is None:
                return "in_doubt"  # cannot tell: a person decides
            if letter.attempted_at is not None and now < letter.attempted_at + ARCHIVE_GRACE:
                return "waiting"  # the archive copy may still be on its way
        elif letter.retry_after is not None and letter.retry_after > now:
            return "waiting"
        letter.attempt_send(prov=prov, now=now)
        self.ledger.save(letter)  # committed before the letter leaves
        message = letter_message(
            message_id=letter.message_id, sender=self.settings.mail_from, to=to,
            cc=self.settings.coordinators_address.format(area=item["area"]), archive=self.settings.mail_archive,
            subject=f"{reminder_reference(item['key'])}: {item['state']}",
            body=self.reminders.render(item, today=now.date()),
            html=self.reminders.render(item, today=now.date(), fmt="html"),
        )
        try:
            self.mailer.send(message)
        except Exception as error:  # noqa: BLE001 - any refusal is recorded and retried
            letter.fail(error=f"{type(error).__name__}: {error}", retry_after=now + backoff(letter.attempts),
                        prov=prov, now=now)
            self.ledger.save(letter)
            return "failed"
        letter.confirm_sent(to=to, confirmed_by="smtp", prov=prov, now=now)
        self.ledger.save(letter)
        return "sent"

    def address_of(self, item: dict[str, Any]) -> str:
        return self.settings.mission_address.format(iso3=item["iso3"].lower())

    def resolve(self, *, key: str, delivered: bool, actor: str, now: datetime) -> dict[str, Any]:
        """A person's answer for a letter in doubt: it arrived (record it as sent) or it did
        not (the outbox sends it on its next drain)."""
        item = self.reminders.get(key)
        letter: Reminder = self.ledger.repository.get(reminder_storage_id(key))
        letter.resolve_in_doubt(delivered=delivered, to=self.address_of(item),
                                prov=Provenance(recorded_by=actor, source="delivery check by a person"), now=now)
        self.ledger.save(letter)
        return self.reminders.get(key)
