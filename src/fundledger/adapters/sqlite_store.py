"""The SQLite event store (the embedded default), with the audit chain and idempotency record.

Writes go straight to one writer connection of the recorder's own (see `_Writer`), reads
through the library's pool as before.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from typing import Any
from uuid import UUID

from eventsourcing import persistence
from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteApplicationRecorder,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType

from fundledger.adapters.records import IdempotencyClaim, StoredResponse, extend_chain
from fundledger.audit.chain import GENESIS_HASH

CHAIN_TABLE = "event_chain"
IDEMPOTENCY_TABLE = "idempotency_keys"
_SELECT_HEAD = f"SELECT hash FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1"
_INSERT_LINK = f"INSERT INTO {CHAIN_TABLE} VALUES (?,?,?,?,?)"
_INSERT_RESPONSE = (
    f"INSERT INTO {IDEMPOTENCY_TABLE} (scope, key, fingerprint, status_code, body) "
    "VALUES (?,?,?,?,?)"
)
# The library's exception for each sqlite3 one, most specific first (as its transactions map them).
_ERRORS: tuple[tuple[type[sqlite3.Error], type[persistence.PersistenceError]], ...] = (
    (sqlite3.IntegrityError, persistence.IntegrityError),
    (sqlite3.InterfaceError, persistence.InterfaceError),
    (sqlite3.DataError, persistence.DataError),
    (sqlite3.OperationalError, persistence.OperationalError),
    (sqlite3.InternalError, persistence.InternalError),
    (sqlite3.ProgrammingError, persistence.ProgrammingError),
    (sqlite3.NotSupportedError, persistence.NotSupportedError),
    (sqlite3.DatabaseError, persistence.DatabaseError),
    (sqlite3.Error, persistence.PersistenceError),
)


def library_error(error: sqlite3.Error) -> persistence.PersistenceError:
    """The library's exception for a sqlite3 one (a stale stream version is IntegrityError)."""
    for sqlite_error, library in _ERRORS:
        if isinstance(error, sqlite_error):
            return library(error)
    return persistence.PersistenceError(error)  # pragma: no cover - sqlite3.Error matches above


class _Writer:
    """One sqlite3 connection that every write of this recorder uses, one thread at a time.

    The library's write path (pool checkout with reader/writer interlocking, cursor and
    transaction wrappers, a statement cache of ONE statement, so every statement is prepared
    again) cost about as much per command as the commit's fsync. SQLite admits one writer at a
    time anyway; other connections (other processes, the library's own snapshot writes) wait
    on SQLite's lock with the same busy timeout. Same file, WAL, same `synchronous`.
    """

    def __init__(self, pool: SQLiteConnectionPool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE (the write lock up front, so the chain head cannot move), COMMIT."""
        with self._lock:
            connection = self._connection or self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                yield connection
                connection.execute("COMMIT")
            except BaseException as error:
                if connection.in_transaction:
                    connection.rollback()
                if isinstance(error, sqlite3.Error):
                    raise library_error(error) from error
                raise

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._pool.db_name,
            uri=True,
            check_same_thread=False,  # used under self._lock by whichever thread writes
            isolation_level=None,  # transactions are explicit
            timeout=self._pool.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
        )
        # Durability as the library's connections have it (the floor copies theirs too).
        with self._pool_connection() as pooled:
            synchronous = int(pooled.execute("PRAGMA synchronous").fetchone()[0])
        connection.execute(f"PRAGMA synchronous={synchronous}")
        self._connection = connection
        return connection

    @contextmanager
    def _pool_connection(self) -> Iterator[sqlite3.Cursor]:
        pooled = self._pool.get_connection(is_writer=False)
        try:
            with closing(pooled.cursor().sqlite_cursor) as cursor:
                yield cursor
        finally:
            self._pool.put_connection(pooled)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} ("
            "position INTEGER PRIMARY KEY, originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {IDEMPOTENCY_TABLE} ("
            "scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, "
            "status_code INTEGER NOT NULL, body TEXT NOT NULL, "
            "recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), "
            "PRIMARY KEY (scope, key))",
        ]

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        # An in-memory database keeps the library's path: a second connection would open
        # another, empty database.
        self._writer = None if datastore.pool.is_sqlite_memory_mode else _Writer(datastore.pool)

    def close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Events, their chain links and the idempotency record, in ONE transaction."""
        if self._writer is None:
            return super().insert_events(stored_events, **kwargs)
        with self._writer.transaction() as connection:
            return self._write(connection, stored_events, kwargs.get("idempotency"))

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The library's path, used only for an in-memory database.
        return self._write(c.sqlite_cursor, stored_events, kwargs.get("idempotency"))

    def _write(
        self,
        c: sqlite3.Connection | sqlite3.Cursor,
        stored_events: Sequence[StoredEvent],
        claim: IdempotencyClaim | None,
    ) -> list[int]:
        insert = self.insert_events_statement
        positions: list[int] = []
        for stored in stored_events:
            originator_id = stored.originator_id
            key = originator_id.hex if isinstance(originator_id, UUID) else originator_id
            row = c.execute(insert, (key, stored.originator_version, stored.topic, stored.state))
            position = row.lastrowid
            assert position is not None, "an inserted row has a rowid"
            positions.append(position)
        # The transaction holds SQLite's write lock, so the head cannot move under us.
        head = c.execute(_SELECT_HEAD).fetchone()
        head_hash = bytes(head[0]) if head is not None else GENESIS_HASH
        links = extend_chain(head_hash, positions, stored_events)
        c.executemany(_INSERT_LINK, links)
        if claim is not None:
            c.execute(
                _INSERT_RESPONSE,
                (
                    claim.scope,
                    claim.key,
                    claim.fingerprint,
                    claim.status_code,
                    claim.render(positions),
                ),
            )
        return positions

    def select_unsnapshotted_streams(
        self, originator_ids: Sequence[UUID], snapshots_table: str | None
    ) -> dict[UUID, list[StoredEvent]]:
        """Every event of each stream that has no snapshot, in two queries for all of them.

        A batch that misses the aggregate cache for hundreds of parties and loans would
        otherwise ask twice per aggregate (latest snapshot, then the events after it).
        Streams with a snapshot are left out: their loads read only the events after it.
        """
        if not originator_ids:
            return {}
        keys = [originator_id.hex for originator_id in originator_ids]
        marks = ",".join("?" * len(keys))
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.transaction(commit=False) as c:
            snapshotted: set[str] = set()
            if snapshots_table is not None:
                c.execute(
                    f"SELECT DISTINCT originator_id FROM {snapshots_table} "
                    f"WHERE originator_id IN ({marks})",
                    keys,
                )
                snapshotted = {row[0] for row in c.fetchall()}
            wanted = [key for key in keys if key not in snapshotted]
            if not wanted:
                return found
            c.execute(
                f"SELECT originator_id, originator_version, topic, state "
                f"FROM {self.events_table_name} WHERE originator_id IN "
                f"({','.join('?' * len(wanted))}) ORDER BY originator_id, originator_version",
                wanted,
            )
            for key, version, topic, state in c.fetchall():
                originator_id = UUID(key)
                found.setdefault(originator_id, []).append(
                    StoredEvent(originator_id, version, topic, state)
                )
        return found

    def stored_response(self, scope: str, key: str) -> StoredResponse | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT fingerprint, status_code, body FROM {IDEMPOTENCY_TABLE} "
                "WHERE scope=? AND key=?",
                (scope, key),
            )
            row = c.fetchone()
        if row is None:
            return None
        return StoredResponse(row[0], int(row[1]), str(row[2]))


class LedgerSQLiteFactory(SQLiteFactory):
    application_recorder_class = LedgerSQLiteRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        self._recorders: list[LedgerSQLiteRecorder] = []

    def application_recorder(self) -> ApplicationRecorder:
        recorder = super().application_recorder()
        if isinstance(recorder, LedgerSQLiteRecorder):
            self._recorders.append(recorder)  # its writer connection closes with the factory
        return recorder

    def close(self) -> None:
        for recorder in self._recorders:
            recorder.close_writer()
        super().close()
