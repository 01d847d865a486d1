"""The physical floor: the very rows the application stored, written again with plain drivers.

Same bytes (read back from the application's own table), same table shape and indexes as the
library's events table, same durability (SQLite WAL with the application's `synchronous`;
PostgreSQL's defaults, as the application has them). Nothing else: no chain, no idempotency
record, no lock, no decision.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from uuid import UUID

import psycopg

from bench.stores import Store

SQLITE_FLOOR_TABLE = (
    "CREATE TABLE IF NOT EXISTS floor_events (originator_id TEXT, originator_version INTEGER, "
    "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
)
POSTGRES_FLOOR_TABLE = (
    "CREATE TABLE IF NOT EXISTS floor_events (originator_id uuid NOT NULL, "
    "originator_version bigint NOT NULL, topic text, state bytea, notification_id bigserial, "
    "PRIMARY KEY (originator_id, originator_version))"
)
POSTGRES_FLOOR_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS floor_events_position ON floor_events (notification_id)"
)


@dataclass(frozen=True)
class Row:
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


def stored_rows(store: Store, after_position: int) -> list[Row]:
    """The application's event rows after `after_position`, in store order."""
    if store.kind == "sqlite":
        with closing(sqlite3.connect(store.url.removeprefix("sqlite:///"))) as lite:
            found = lite.execute(
                "SELECT originator_id, originator_version, topic, state FROM stored_events "
                "WHERE rowid > ? ORDER BY rowid",
                (after_position,),
            ).fetchall()
        return [Row(str(r[0]), int(r[1]), str(r[2]), bytes(r[3])) for r in found]
    with psycopg.connect(store.url) as pg:
        rows = pg.execute(
            "SELECT originator_id, originator_version, topic, state FROM fundledger_events "
            "WHERE notification_id > %s ORDER BY notification_id",
            (after_position,),
        ).fetchall()
    return [Row(str(r[0]), int(r[1]), str(r[2]), bytes(r[3])) for r in rows]


def _sqlite_key(row: Row) -> str:
    # The library stores SQLite ids as 32 hex digits; keep the floor's rows the same size.
    return UUID(row.originator_id).hex


class Floor:
    """An open plain-driver connection to the floor's own database, with the events table."""

    def __init__(self, store: Store, sqlite_synchronous: int) -> None:
        self.kind = store.kind
        if store.kind == "sqlite":
            self._sqlite = store.floor_sqlite()
            self._sqlite.execute(f"PRAGMA synchronous={int(sqlite_synchronous)}")
            self._sqlite.execute(SQLITE_FLOOR_TABLE)
            return
        self._pg = store.floor_postgres()
        self._pg.execute(POSTGRES_FLOOR_TABLE)
        self._pg.execute(POSTGRES_FLOOR_INDEX)
        self._pg.commit()
        # Autocommit: a one-row command is one round trip, the least a driver can do.
        self._pg.autocommit = True

    def close(self) -> None:
        if self.kind == "sqlite":
            self._sqlite.close()
        else:
            self._pg.close()

    def per_command(self, rows: Sequence[Row], groups: Sequence[int]) -> float:
        """Seconds to insert `rows`, `groups[i]` rows in the i-th transaction (one per command)."""
        assert sum(groups) == len(rows), "every stored row belongs to one command"
        if self.kind == "sqlite":
            return self._sqlite_per_command(rows, groups)
        return self._pg_per_command(rows, groups)

    def _sqlite_per_command(self, rows: Sequence[Row], groups: Sequence[int]) -> float:
        conn = self._sqlite
        sql = "INSERT INTO floor_events VALUES (?,?,?,?)"
        started = time.perf_counter()
        index = 0
        for size in groups:
            conn.execute("BEGIN")
            for row in rows[index : index + size]:
                conn.execute(sql, (_sqlite_key(row), row.originator_version, row.topic, row.state))
            conn.execute("COMMIT")
            index += size
        return time.perf_counter() - started

    def _pg_per_command(self, rows: Sequence[Row], groups: Sequence[int]) -> float:
        conn = self._pg
        sql = (
            "INSERT INTO floor_events (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s)"
        )
        started = time.perf_counter()
        index = 0
        with conn.cursor() as cursor:
            for size in groups:
                group = rows[index : index + size]
                index += size
                if size == 1:
                    _insert_pg(cursor, sql, group[0])
                    continue
                with conn.transaction():
                    for row in group:
                        _insert_pg(cursor, sql, row)
        return time.perf_counter() - started

    def bulk(self, rows: Sequence[Row]) -> float:
        """Seconds to load `rows` in one transaction: executemany (SQLite), COPY (PostgreSQL)."""
        started = time.perf_counter()
        if self.kind == "sqlite":
            conn = self._sqlite
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO floor_events VALUES (?,?,?,?)",
                [(_sqlite_key(r), r.originator_version, r.topic, r.state) for r in rows],
            )
            conn.execute("COMMIT")
            return time.perf_counter() - started
        with (
            self._pg.transaction(),
            self._pg.cursor() as cursor,
            cursor.copy(
                "COPY floor_events (originator_id, originator_version, topic, state) FROM STDIN"
            ) as copy,
        ):
            for r in rows:
                copy.write_row((r.originator_id, r.originator_version, r.topic, r.state))
        return time.perf_counter() - started


def _insert_pg(cursor: psycopg.Cursor[tuple[object, ...]], sql: str, row: Row) -> None:
    values = (row.originator_id, row.originator_version, row.topic, row.state)
    cursor.execute(sql, values, prepare=True)


def read_every_row(store: Store) -> tuple[int, float]:
    """(rows, seconds) to read every event row once, in store order, with the plain driver."""
    started = time.perf_counter()
    count = 0
    if store.kind == "sqlite":
        with closing(sqlite3.connect(store.url.removeprefix("sqlite:///"))) as lite:
            for _row in lite.execute("SELECT rowid, * FROM stored_events ORDER BY rowid"):
                count += 1
        return count, time.perf_counter() - started
    with psycopg.connect(store.url) as pg, psycopg.ServerCursor(pg, "floor_read") as cursor:
        cursor.itersize = 5_000
        cursor.execute("SELECT * FROM fundledger_events ORDER BY notification_id")
        for _row in cursor:
            count += 1
    return count, time.perf_counter() - started
