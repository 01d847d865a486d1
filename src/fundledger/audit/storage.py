"""The audit's SQL on both stores: the log read in position order, and the checkpoints table.

The log is read in batches by keyset (`position > last ORDER BY position LIMIT n`) inside one
read-only transaction, so memory stays flat however long the log, and the events and their links
are read from the same snapshot (a writer committing meanwhile is simply not seen).
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from queue import Full, Queue
from typing import Any, NamedTuple, Protocol, TypeVar

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composable, Identifier

from fundledger.application.ledger import FundLedger

CHAIN_TABLE = "event_chain"
CHECKPOINTS_TABLE = "audit_checkpoints"
BATCH_SIZE = 5_000
BatchT = TypeVar("BatchT")
# Any constant: it names the lock that serialises creating the checkpoints table.
_CREATE_CHECKPOINTS_LOCK_KEY = 0x46554E45


# One event as the store holds it: (position, originator_id, originator_version, topic, state);
# originator_id as the store spells it (SQLite: 32 hex digits; PostgreSQL: canonical text).
EventRow = tuple[int, str, int, str, bytes]
# One row of the chain table: (position, originator_id, originator_version, prev_hash, hash).
LinkRow = tuple[int, str, int, bytes, bytes]
# What the store holds at one position: the event, its link, or (when tampered) one alone.
LogEntry = tuple[int, EventRow | None, LinkRow | None]


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    position: int
    document: str


class _Batches(Protocol):
    def __call__(self, after: int, limit: int) -> list[tuple[Any, ...]]: ...


class LogSource(Protocol):
    """Reads one snapshot of the log; see `open_log`."""

    def events(self, after: int, limit: int) -> list[tuple[Any, ...]]: ...

    def links(self, after: int, limit: int) -> list[tuple[Any, ...]]: ...

    def size(self) -> int: ...

    def first_position_of(self, originator_id: str) -> int | None: ...


@contextmanager
def open_log(ledger: FundLedger) -> Iterator[LogSource]:
    """A consistent read-only view of the events and the chain, for as long as the block runs."""
    datastore = getattr(ledger.recorder, "datastore", None)
    events_table = str(getattr(ledger.recorder, "events_table_name", ""))
    if isinstance(datastore, SQLiteDatastore):
        with datastore.transaction(commit=False) as cursor:
            yield _SQLiteLog(cursor, events_table)
    elif isinstance(datastore, PostgresDatastore):
        with datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with conn.cursor(row_factory=tuple_row, binary=True) as cursor:
                yield _PostgresLog(cursor, datastore.schema, events_table)
    else:
        raise TypeError(f"the audit trail cannot read a {type(datastore).__name__} store")


class AlignedRows(NamedTuple):
    """Event rows and link rows holding the same positions, in order: `events[i]` and
    `links[i]` are at one position (the intact case, handed over without a tuple per entry)."""

    events: list[tuple[Any, ...]]
    links: list[tuple[Any, ...]]


# A batch of consecutive positions: aligned rows, or entries once the two no longer align.
LogBatch = AlignedRows | list[LogEntry]


def log_batches(log: LogSource, batch_size: int = BATCH_SIZE) -> Generator[LogBatch, None, None]:
    """Every position of the log in order, a batch at a time, each with its event and its link.

    Plain tuples, not objects: this runs once per event and verify must reach 100,000 events/s.
    While a batch of events and a batch of links hold the same positions (an intact log), they
    are handed over side by side; from the first batch where they differ on, the two are
    merged row by row into entries.
    """
    after = 0
    while True:
        events = log.events(after, batch_size)
        links = log.links(after, batch_size)
        if [row[0] for row in events] != [row[0] for row in links]:
            yield from _chunks(
                _merge(
                    _keyset(log.events, batch_size, after), _keyset(log.links, batch_size, after)
                ),
                batch_size,
            )
            return
        yield AlignedRows(events, links)
        if len(events) < batch_size:
            return
        after = int(events[-1][0])


def batch_entries(batch: LogBatch) -> list[LogEntry]:
    """A batch as log entries: (position, event row or None, link row or None)."""
    if isinstance(batch, AlignedRows):
        return [(event[0], event, link) for event, link in zip(*batch, strict=True)]
    return batch


def log_entries(log: LogSource, batch_size: int = BATCH_SIZE) -> Generator[LogEntry, None, None]:
    """Every position of the log in order (see `log_batches`), one at a time."""
    for batch in log_batches(log, batch_size):
        yield from batch_entries(batch)


def prefetched(batches: Iterator[BatchT], depth: int = 2) -> Generator[BatchT, None, None]:
    """Iterate `batches` from a background thread that reads up to `depth` batches ahead.

    While the caller hashes one batch, the database produces the next (the drivers release
    the GIL while they wait or step): on PostgreSQL the server's work and ours overlap. The
    thread alone uses the log's cursor, and is joined before this generator finishes.
    """
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.05)
            except Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    return
            put(("end", None))
        except BaseException as error:  # handed to the caller's thread, raised there
            put(("error", error))

    reader = threading.Thread(target=produce, name="audit-log-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _chunks(entries: Iterator[LogEntry], size: int) -> Iterator[list[LogEntry]]:
    chunk: list[LogEntry] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _keyset(batches: _Batches, batch_size: int, after: int) -> Iterator[Any]:
    while True:
        rows = batches(after, batch_size)
        yield from rows
        if len(rows) < batch_size:
            return
        after = int(rows[-1][0])


def _merge(events: Iterator[EventRow], links: Iterator[LinkRow]) -> Iterator[LogEntry]:
    event = next(events, None)
    link = next(links, None)
    while event is not None and link is not None:
        if event[0] == link[0]:
            yield event[0], event, link
            event = next(events, None)
            link = next(links, None)
        elif event[0] < link[0]:
            yield event[0], event, None
            event = next(events, None)
        else:
            yield link[0], None, link
            link = next(links, None)
    while event is not None:
        yield event[0], event, None
        event = next(events, None)
    while link is not None:
        yield link[0], None, link
        link = next(links, None)


class _SQLiteLog:
    def __init__(self, cursor: Any, events_table: str) -> None:
        # The library's connections make `sqlite3.Row`s; plain tuples cost half as much to
        # build and to index, and verify builds two rows per event. The cursor is this log's own.
        self._cursor = cursor.sqlite_cursor
        self._cursor.row_factory = None
        self._events_sql = (
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {events_table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )
        self._links_sql = (
            "SELECT position, originator_id, originator_version, prev_hash, hash "
            f"FROM {CHAIN_TABLE} WHERE position > ? ORDER BY position LIMIT ?"
        )
        self._events_table = events_table

    def events(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._events_sql, (after, limit))
        return list(self._cursor.fetchall())

    def links(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._links_sql, (after, limit))
        return list(self._cursor.fetchall())

    def size(self) -> int:
        self._cursor.execute(f"SELECT count(*) FROM {CHAIN_TABLE}")
        return int(self._cursor.fetchone()[0])

    def first_position_of(self, originator_id: str) -> int | None:
        self._cursor.execute(
            f"SELECT min(rowid) FROM {self._events_table} WHERE originator_id = ?",
            (originator_id.replace("-", ""),),
        )
        row = self._cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])


class _PostgresLog:
    def __init__(self, cursor: Any, schema: str, events_table: str) -> None:
        self._cursor = cursor
        events = SQL("{}.{}").format(Identifier(schema), Identifier(events_table))
        chain = SQL("{}.{}").format(Identifier(schema), Identifier(CHAIN_TABLE))
        self._events_sql: Composable = SQL(
            "SELECT notification_id, originator_id::text, originator_version, topic, state "
            "FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(events)
        self._links_sql: Composable = SQL(
            "SELECT position, originator_id::text, originator_version, prev_hash, hash "
            "FROM {} WHERE position > %s ORDER BY position LIMIT %s"
        ).format(chain)
        self._size_sql: Composable = SQL("SELECT count(*) FROM {}").format(chain)
        self._first_sql: Composable = SQL(
            "SELECT min(notification_id) FROM {} WHERE originator_id = %s::uuid"
        ).format(events)

    def events(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._events_sql, (after, limit), prepare=True)
        return list(self._cursor.fetchall())

    def links(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._links_sql, (after, limit), prepare=True)
        return list(self._cursor.fetchall())

    def size(self) -> int:
        self._cursor.execute(self._size_sql)
        return int(self._cursor.fetchone()[0])

    def first_position_of(self, originator_id: str) -> int | None:
        self._cursor.execute(self._first_sql, (originator_id,))
        row = self._cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])


# ---- the checkpoints table ---------------------------------------------------------------------


def insert_checkpoint(ledger: FundLedger, position: int, document: str) -> None:
    """Record a signed checkpoint in the store (creating its table on first use)."""
    datastore = getattr(ledger.recorder, "datastore", None)
    if isinstance(datastore, SQLiteDatastore):
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS_TABLE} (id INTEGER PRIMARY KEY, "
                "position INTEGER NOT NULL, document TEXT NOT NULL)"
            )
            cursor.execute(
                f"INSERT INTO {CHECKPOINTS_TABLE} (position, document) VALUES (?, ?)",
                (position, document),
            )
    elif isinstance(datastore, PostgresDatastore):
        table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(CHECKPOINTS_TABLE))
        with datastore.get_connection() as conn, conn.transaction():
            # Two processes creating the table at once would crash one of them.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_CHECKPOINTS_LOCK_KEY,))
            conn.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, "
                    "position bigint NOT NULL, document text NOT NULL)"
                ).format(table)
            )
            conn.execute(
                SQL("INSERT INTO {} (position, document) VALUES (%s, %s)").format(table),
                (position, document),
            )
    else:
        raise TypeError(f"cannot record checkpoints in a {type(datastore).__name__} store")


def select_checkpoints(ledger: FundLedger) -> list[StoredCheckpoint]:
    """Every recorded checkpoint, oldest first; none when none was ever recorded."""
    datastore = getattr(ledger.recorder, "datastore", None)
    if isinstance(datastore, SQLiteDatastore):
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                (CHECKPOINTS_TABLE,),
            )
            if not cursor.fetchone()[0]:
                return []
            cursor.execute(f"SELECT id, position, document FROM {CHECKPOINTS_TABLE} ORDER BY id")
            return [StoredCheckpoint(int(r[0]), int(r[1]), str(r[2])) for r in cursor.fetchall()]
    if isinstance(datastore, PostgresDatastore):
        name = f"{datastore.schema}.{CHECKPOINTS_TABLE}"
        table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(CHECKPOINTS_TABLE))
        with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute("SELECT to_regclass(%s)", (name,))
            found = cursor.fetchone()
            if found is None or found[0] is None:
                return []
            cursor.execute(SQL("SELECT id, position, document FROM {} ORDER BY id").format(table))
            return [StoredCheckpoint(int(r[0]), int(r[1]), str(r[2])) for r in cursor.fetchall()]
    raise TypeError(f"cannot read checkpoints from a {type(datastore).__name__} store")
