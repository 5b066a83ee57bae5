"""The one settings class. Read from the environment (prefix TREATY_) or passed in tests."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TREATY_", extra="ignore")

    # SQLite file used unless a PostgreSQL DSN is given.
    db_path: Path = Field(default=Path("var/ledger.sqlite"))
    # e.g. "postgresql://postgres@127.0.0.1:5432/test"; when set, the ledger uses PostgreSQL.
    postgres_dsn: str | None = None
    postgres_schema: str = "public"
    # The actor recorded on events written from this process when no user is given.
    actor: str = "treaty-cli"
    # How many aggregates a long-running process keeps in memory (0 disables the cache).
    aggregate_cache_size: int = 1000
    # Letters: the SMTP relay, the sender, the ISU's archive mailbox (Bcc of every letter),
    # and where a State's mission is written to ({iso3} is replaced). The defaults are
    # placeholders on the reserved .invalid domain: configure them before sending.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    mail_from: str = "isu@treaty-ledger.invalid"
    mail_archive: str = "archive@treaty-ledger.invalid"
    # The same archive mailbox over IMAP, searched for a letter's Message-ID after a crash
    # between sending and recording: imap[s]://user:password@host[:port][/Mailbox]. Unset, a
    # letter in doubt waits for a person (`treaty reminders resolve`), never goes twice.
    mail_archive_imap: str = ""
    mission_address: str = "mission-{iso3}@missions.invalid"
    coordinators_address: str = "coordinators-{area}@treaty-ledger.invalid"

    @property
    def location(self) -> str:
        if self.postgres_dsn:
            return f"PostgreSQL {self.postgres_dsn} (schema {self.postgres_schema})"
        return f"SQLite file {self.db_path}"
