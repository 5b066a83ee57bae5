"""The event-sourced application: event store, fact read model, and fact queries."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.dates import utc_text
from domain.dossier import Dossier, LedgerEvent
from domain.facts import Fact
from domain.meeting import Meeting
from domain.reminders import Reminder
from services.settings import Settings
from services.store import COLUMNS, ddl_lock_key, row_fact


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class FastJSONTranscoder(JSONTranscoder):
    """The library's JSON format, encoded by orjson (several times faster than `json`).

    Dates and datetimes are passed to the registered transcodings exactly as the library's
    own encoder does, so stored events decode with the standard decoder. orjson would write
    a UUID inside an event's state as a plain string; our events carry none (the mapper
    removes the originator id) and a test round-trips every event type."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=self._encode_obj, option=orjson.OPT_PASSTHROUGH_DATETIME)


def environment_for(settings: Settings) -> dict[str, str]:
    env = {
        "TRANSCODER_TOPIC": "services.ledger:FastJSONTranscoder",
        "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
        # Optimistic: trust the cached aggregate and let the store's version uniqueness
        # catch a writer elsewhere; on a conflict the command forgets it and reloads.
        "AGGREGATE_CACHE_FASTFORWARD": "n",
        "IS_SNAPSHOTTING_ENABLED": "n",
    }
    if settings.postgres_dsn:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(settings.postgres_dsn)
        env.update(
            {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "APPLICATION_RECORDER_TOPIC": "services.store:PostgresLedgerRecorder",
                "POSTGRES_DBNAME": str(parts.get("dbname", "test")),
                "POSTGRES_HOST": str(parts.get("host", "127.0.0.1")),
                "POSTGRES_PORT": str(parts.get("port", "5432")),
                "POSTGRES_USER": str(parts.get("user", "postgres")),
                "POSTGRES_PASSWORD": str(parts.get("password", "")),
                "POSTGRES_SCHEMA": settings.postgres_schema,
                "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
                "POSTGRES_POOL_SIZE": "5",
            }
        )
    else:
        settings.db_path.parent.mkdir(parents=True, exist_ok=True)
        env.update(
            {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "APPLICATION_RECORDER_TOPIC": "services.store:SQLiteLedgerRecorder",
                "SQLITE_DBNAME": str(settings.db_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        )
    return env


class Ledger(Application[str]):
    """Saves aggregates with their fact rows; reads facts for projections."""

    name = "TreatyLedger"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.is_postgres = bool(settings.postgres_dsn)
        with self._creating_tables():  # the recorder creates its tables (and SQLite's WAL mode) here
            super().__init__(env=environment_for(settings))

    @contextmanager
    def _creating_tables(self) -> Iterator[None]:
        """Processes starting together on a new store create its tables one at a time.
        PostgreSQL: a session advisory lock on a connection of its own, held while the
        recorder creates its types (each in its own transaction) and tables, and while
        `create_tables` runs; concurrent CREATE ... IF NOT EXISTS otherwise fails with
        "tuple concurrently updated" or a duplicate key in the catalogue. SQLite: switching a
        new file to WAL and a deferred transaction that reads the schema before writing it
        fail at once ("database is locked"), so a file lock beside the database."""
        if self.is_postgres:
            import psycopg

            assert self.settings.postgres_dsn is not None
            with psycopg.connect(self.settings.postgres_dsn, autocommit=True) as connection:
                connection.execute("SELECT pg_advisory_lock(%s)", [ddl_lock_key(self.settings.postgres_schema)])
                try:
                    yield
                finally:
                    connection.execute("SELECT pg_advisory_unlock(%s)",
                                       [ddl_lock_key(self.settings.postgres_schema)])
            return
        lock_path = Path(f"{self.settings.db_path}.ddl.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """`Application.save` for our aggregates, passing each event's fact row to the
        recorder (same transaction). It collects events directly instead of through the
        library's runtime-protocol `isinstance` checks, which Python 3.11 recomputes on
        every call (about a tenth of a command's time)."""
        processing = ProcessingEvent[UUID]()
        facts = []
        for dossier in objs:
            if not isinstance(dossier, Dossier | Meeting | Reminder):
                raise TypeError(f"the ledger saves its own aggregates, not {type(dossier).__name__}")
            events = dossier.collect_events()
            processing.events.extend(events)
            processing.aggregates[dossier.id] = dossier
            facts.extend(e.to_fact() for e in events)
        processing.saved_kwargs.update(kwargs, facts=facts)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    def forget(self, aggregate_id: Any) -> None:
        """After a version conflict the cached aggregate is stale: bring it up to date with
        the events saved since (cheap: only those), or drop it if that fails."""
        cache = self.repository.cache
        if cache is None:
            return
        try:
            cached = cache.get(aggregate_id, evict=True)
        except KeyError:
            return
        try:
            for event in self.events.get(originator_id=aggregate_id, gt=cached.version):
                event.mutate(cached)
        except Exception:  # noqa: BLE001 - a cache is an optimisation: on any doubt, reload next time
            return
        cache.put(aggregate_id, cached)

    # ------------------------------------------------------------------ raw SQL
    # Tables beside the events: the fact read model, accounts, idempotency records.
    _TABLES = ("ledger_facts", "ledger_accounts", "api_idempotency", "scheduler_runs")

    def _dialect(self, sql: str) -> str:
        """Queries are written for SQLite (`?`); on PostgreSQL, `%s` and schema-qualified tables."""
        if not self.is_postgres:
            return sql
        sql = sql.replace("?", "%s")
        schema = self.settings.postgres_schema
        for table in self._TABLES:
            for word in ("FROM", "INTO", "UPDATE", "EXISTS", "JOIN"):
                sql = sql.replace(f"{word} {table}", f'{word} "{schema}".{table}')
        return sql

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query written with `?` placeholders on either store."""
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as curs:
            curs.execute(self._dialect(sql), params)
            rows = curs.fetchall()
        return [tuple(r.values()) if self.is_postgres else tuple(r) for r in rows]

    def create_tables(self, ddl: Sequence[str]) -> None:
        """CREATE ... IF NOT EXISTS statements, in one transaction, one process at a time."""
        with self._creating_tables():
            self.execute([(statement, ()) for statement in ddl])

    def execute(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        """Run write statements in one transaction; returns the last statement's row count."""
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        count = 0
        with datastore.transaction(commit=True) as curs:
            for sql, params in statements:
                curs.execute(self._dialect(sql), params)
                # the library's SQLite cursor wraps sqlite3's; PostgreSQL's is psycopg's own
                raw = getattr(curs, "sqlite_cursor", curs)
                count = raw.rowcount
        return count

    # ------------------------------------------------------------------ fact reads
    def facts_known(
        self,
        *,
        convention: str,
        as_of: date,
        known_at: datetime,
        dossier_id: str | None = None,
    ) -> list[Fact]:
        """Facts that occurred on or before `as_of`, recorded at or before `known_at`,
        and not retracted by a correction recorded at or before `known_at`; in
        valid-time order per dossier."""
        known = utc_text(known_at)
        sql = (
            f"SELECT {', '.join('f.' + c for c in COLUMNS)} FROM ledger_facts f "
            "WHERE f.convention = ? AND f.occurred_on <= ? AND f.recorded_at <= ? "
            "AND f.kind <> 'EventRetracted' "
            + ("AND f.dossier_id = ? " if dossier_id else "")
            + "AND NOT EXISTS (SELECT 1 FROM ledger_facts r WHERE r.retracts = f.event_id "
            "AND r.recorded_at <= ?) ORDER BY f.dossier_id, f.occurred_on, f.version"
        )
        params: list[Any] = [convention, as_of.isoformat(), known]
        if dossier_id:
            params.append(dossier_id)
        params.append(known)
        return [row_fact(r) for r in self.query(sql, params)]

    def facts_since(self, convention: str, seq: int) -> list[tuple[int, Fact]]:
        """Facts committed after sequence number `seq`, in commit order (index catch-up)."""
        # Filter the convention here, not in SQL, so the store walks the primary key.
        rows = self.query(f"SELECT seq, {', '.join(COLUMNS)} FROM ledger_facts WHERE seq > ? ORDER BY seq", [seq])
        return [(r[0], row_fact(r[1:])) for r in rows if r[4] == convention]

    def is_empty(self) -> bool:
        return not self.query("SELECT 1 FROM ledger_facts LIMIT 1")

    def timeline(self, dossier_id: str) -> list[tuple[Fact, str | None]]:
        """Every fact of a dossier in valid-time order, with the id of the correction
        that retracted it, if any."""
        rows = self.query(
            f"SELECT {', '.join('f.' + c for c in COLUMNS)}, "
            "(SELECT r.event_id FROM ledger_facts r WHERE r.retracts = f.event_id) AS retracted_by "
            "FROM ledger_facts f WHERE f.dossier_id = ? ORDER BY f.occurred_on, f.version",
            [dossier_id],
        )
        return [(row_fact(r), r[len(COLUMNS)]) for r in rows]

    def registered_states(self, convention: str) -> list[tuple[str, str, str, list[str]]]:
        """(dossier_id, iso3, name, aliases) of every registered State."""
        import json

        rows = self.query(
            "SELECT dossier_id, iso3, data FROM ledger_facts "
            "WHERE convention = ? AND kind = 'StateRegistered' ORDER BY iso3",
            [convention],
        )
        out = []
        for dossier_id, iso3, data in rows:
            d = json.loads(data)
            out.append((dossier_id, iso3, d["name"], list(d.get("aliases", []))))
        return out

    def existing_import_keys(self, convention: str) -> set[str]:
        rows = self.query(
            "SELECT import_key FROM ledger_facts WHERE convention = ? AND import_key IS NOT NULL",
            [convention],
        )
        return {r[0] for r in rows}

    def all_facts(self) -> list[Fact]:
        rows = self.query(f"SELECT {', '.join(COLUMNS)} FROM ledger_facts ORDER BY dossier_id, version")
        return [row_fact(r) for r in rows]

    def facts_from_log(self, section_size: int = 500) -> list[Fact]:
        """Rebuild every fact from the event log itself (for audits and re-indexing)."""
        facts: list[Fact] = []
        start = 1
        while True:
            notifications = self.recorder.select_notifications(start=start, limit=section_size)
            if not notifications:
                break
            for n in notifications:
                event = self.mapper.to_domain_event(n)
                if isinstance(event, LedgerEvent):
                    facts.append(event.to_fact())
            start = notifications[-1].id + 1
        return sorted(facts, key=lambda f: (f.dossier_id, f.version))

    def count_events(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM ledger_facts")[0][0])
