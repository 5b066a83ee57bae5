"""Event store adapters: eventsourcing's recorders plus the `ledger_facts` read model.

Each saved event's `Fact` row is written by the recorder *in the same transaction* as the
event itself (eventsourcing passes `save(**kwargs)` down to `_insert_events`), so the read
model can never lag or disagree with the log, and a failed save writes neither.
The unique index on `(convention, import_key)` makes re-imports add nothing.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from domain.dates import utc_text
from domain.facts import Fact

COLUMNS = (
    "dossier_id", "version", "event_id", "convention", "iso3", "kind", "occurred_on",
    "occurred_from", "recorded_at", "recorded_by", "source", "note", "import_key",
    "retracts", "data",
)

_TABLE = """CREATE TABLE IF NOT EXISTS ledger_facts (
    seq {seq},
    dossier_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    convention TEXT NOT NULL,
    iso3 TEXT NOT NULL,
    kind TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    occurred_from TEXT,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    source TEXT NOT NULL,
    note TEXT NOT NULL,
    import_key TEXT,
    retracts TEXT,
    data TEXT NOT NULL,
    UNIQUE (dossier_id, version))"""
_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS ledger_facts_import_key "
    "ON ledger_facts (convention, import_key) WHERE import_key IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS ledger_facts_retracts ON ledger_facts (retracts) "
    "WHERE retracts IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS ledger_facts_states ON ledger_facts (convention, iso3) "
    "WHERE kind = 'StateRegistered'",
)


def facts_ddl(dialect: str) -> tuple[str, ...]:
    """`seq` orders facts by commit, so a reader can catch up with `seq > last seen`:
    SQLite serialises writers; on PostgreSQL the facts are inserted while the recorder
    holds its exclusive lock on the events table (see PostgresLedgerRecorder)."""
    seq = "INTEGER PRIMARY KEY AUTOINCREMENT" if dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"
    return (_TABLE.format(seq=seq), *_INDEXES)


def fact_row(fact: Fact) -> tuple[Any, ...]:
    convention, _, iso3 = fact.dossier_id.partition("/")
    return (
        fact.dossier_id,
        fact.version,
        fact.event_id,
        convention,
        iso3,
        fact.kind,
        fact.occurred_on.isoformat(),
        fact.occurred_from.isoformat() if fact.occurred_from else None,
        utc_text(fact.recorded_at),
        fact.recorded_by,
        fact.source,
        fact.note,
        fact.import_key,
        fact.data.get("retracted_event_id"),
        orjson.dumps(fact.data).decode(),
    )


def row_fact(row: Sequence[Any]) -> Fact:
    """The inverse of `fact_row` for a row selected as `COLUMNS`."""
    from domain.dates import parse_timestamp

    return Fact(
        dossier_id=row[0],
        version=row[1],
        kind=row[5],
        occurred_on=date.fromisoformat(row[6]),
        occurred_from=date.fromisoformat(row[7]) if row[7] else None,
        recorded_at=parse_timestamp(row[8]),
        recorded_by=row[9],
        source=row[10],
        note=row[11],
        import_key=row[12],
        data=json.loads(row[14]),
    )


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    """SQLite recorder that also writes fact rows.

    Durability: SQLite's default `synchronous=FULL` applies (every commit is fsynced; a
    test checks the ledger's connections report it). It cannot be set inside the
    recorder's transaction, which is where this hook runs."""

    _insert_fact = f"INSERT INTO ledger_facts ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *facts_ddl("sqlite")]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        facts: Iterable[Fact] = kwargs.pop("facts", ())
        ids = super()._insert_events(c, stored_events, **kwargs)
        rows = [fact_row(f) for f in facts]
        if rows:
            c.executemany(self._insert_fact, rows)
        return ids


def ddl_lock_key(schema: str) -> int:
    """The PostgreSQL advisory lock that serialises creating this ledger's tables."""
    return zlib.crc32(f"treaty-ledger-ddl:{schema}".encode())


def qualified_facts_table(schema: str) -> str:
    """PostgreSQL keeps the facts beside the events, in the application's schema."""
    return f'"{schema}".ledger_facts' if schema else "ledger_facts"


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    """PostgreSQL recorder that also writes fact rows in the event transaction."""

    _insert_fact = f"INSERT INTO ledger_facts ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from psycopg.sql import SQL

        super().__init__(*args, **kwargs)
        table = qualified_facts_table(self.datastore.schema)
        self._insert_fact = self._insert_fact.replace("INTO ledger_facts", f"INTO {table}")
        for statement in facts_ddl("postgres"):
            statement = statement.replace("EXISTS ledger_facts (", f"EXISTS {table} (")
            statement = statement.replace("ON ledger_facts ", f"ON {table} ")
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # After the parent has locked the events table and inserted the events, so that
        # fact sequence numbers are assigned in commit order.
        super()._insert_stored_events(curs, stored_events, **kwargs)
        rows = [fact_row(f) for f in kwargs.get("facts", ())]
        if rows:
            # Own cursor: the parent reads the events' RETURNING ids from `curs` afterwards.
            with curs.connection.cursor() as facts_cursor:
                facts_cursor.executemany(self._insert_fact, rows)
