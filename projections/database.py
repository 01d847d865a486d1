"""The read models' connection to the events' database: SQLite (sqlite3) or PostgreSQL (psycopg).

Read-model tables live beside the events, so one URL (FUNDLEDGER_DATABASE_URL) names both. SQL is
written once with `?` placeholders; the PostgreSQL side rewrites them to `%s`. Dates are stored as
ISO text on both stores (they sort as dates), amounts as integers (fen).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

Row = tuple[Any, ...]
DEFAULT_DATABASE_URL = "sqlite:///fundledger.sqlite"
# Seconds a writer waits for SQLite's write lock held by the ledger before giving up.
SQLITE_BUSY_TIMEOUT_S = 30
SQLITE_WRITER_CACHE_KIB = 32 * 1024


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says why."""


class Conflict(Exception):
    """Another process advanced a read model's position first: this batch must not be written."""


class Cursor(Protocol):
    """What a read model writes and reads through, inside one transaction or one read."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Append many rows (COPY on PostgreSQL, executemany on SQLite)."""

    def upsert_rows(  # noqa: PLR0917 - one SQL statement's parts, in the order SQL has them
        self,
        table: str,
        columns: Sequence[str],
        types: Sequence[str],
        conflict: str,
        update: str,
        rows: Sequence[Row],
    ) -> None:
        """INSERT rows, or on a `conflict` key run `update` (e.g. "n = t.n + excluded.n").

        One statement for all rows on PostgreSQL (unnest of typed arrays, `types` such as
        "text", "bigint"); keys must not repeat within one call.
        """

    def delete_in(self, table: str, column: str, values: Sequence[str]) -> None:
        """DELETE the rows whose `column` is one of `values`."""

    def delete_zero(
        self, table: str, keys: Sequence[str], amount: str, rows: Sequence[tuple[str, ...]]
    ) -> None:
        """DELETE the rows with these (text) keys whose `amount` column is 0."""

    def rowcount(self) -> int:
        """Rows changed by the last `execute`."""


class Database(Protocol):
    dialect: str
    events_description: str

    def write(self) -> AbstractContextManager[Cursor]:
        """One transaction: everything written inside commits together or not at all."""

    def read(self, snapshot: bool = True) -> AbstractContextManager[Cursor]:
        """A consistent read (`snapshot=False`: for one statement, no transaction around it)."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class Location:
    kind: str  # sqlite | postgresql
    sqlite_path: str = ""
    conninfo: str = ""
    schema: str = ""


def parse_location(url: str) -> Location:
    """Read FUNDLEDGER_DATABASE_URL the way the write side does (sqlite:///PATH, postgresql://...)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path or path == ":memory:":
            raise DatabaseUrlError("read models need a SQLite file path, not an in-memory store")
        return Location("sqlite", sqlite_path=str(Path(path).expanduser().resolve()))
    if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        schema = parse_qs(parts.query).get("schema", [""])[0]
        conninfo = parts._replace(scheme="postgresql", query="").geturl()
        return Location("postgresql", conninfo=conninfo, schema=schema)
    raise DatabaseUrlError(f"database URL must start with sqlite:/// or postgresql://: {url!r}")


def open_database(url: str) -> Database:
    location = parse_location(url)
    if location.kind == "sqlite":
        return SQLiteDatabase(location.sqlite_path)
    return PostgresDatabase(location.conninfo, location.schema)


# ---- SQLite ------------------------------------------------------------------------------------


class _SQLiteCursor:
    dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._cursor = connection.cursor()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._cursor.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(sql, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        marks = ",".join("?" * len(columns))
        self.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)

    def upsert_rows(  # noqa: PLR0917 - one SQL statement's parts, in the order SQL has them
        self,
        table: str,
        columns: Sequence[str],
        types: Sequence[str],
        conflict: str,
        update: str,
        rows: Sequence[Row],
    ) -> None:
        marks = ",".join("?" * len(columns))
        self.executemany(
            f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {update}",
            rows,
        )

    def delete_in(self, table: str, column: str, values: Sequence[str]) -> None:
        self.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(v,) for v in values])

    def delete_zero(
        self, table: str, keys: Sequence[str], amount: str, rows: Sequence[tuple[str, ...]]
    ) -> None:
        where = " AND ".join(f"{key} = ?" for key in keys)
        self.executemany(f"DELETE FROM {table} WHERE {where} AND {amount} = 0", rows)

    def rowcount(self) -> int:
        return self._cursor.rowcount


class SQLiteDatabase:
    """The same file as the events (WAL): one connection per thread, writes take the write lock."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self.events_description = f"SQLite file {path}"
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path,
                timeout=SQLITE_BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,  # only so that close() may run on another thread
            )
            connection.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives a process crash; an OS crash can lose the last batches,
            # but rows and position roll back together, so nothing is ever counted twice.
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        connection = self._connection()
        if not getattr(self._local, "writes", False):
            # The writing thread inserts under random (uuid) keys into tables that outgrow
            # SQLite's default 2 MB page cache; readers keep the default.
            connection.execute(f"PRAGMA cache_size = -{SQLITE_WRITER_CACHE_KIB}")
            self._local.writes = True
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLiteCursor(connection)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextmanager
    def read(self, snapshot: bool = True) -> Iterator[Cursor]:
        connection = self._connection()
        if not snapshot:
            yield _SQLiteCursor(connection)
            return
        connection.execute("BEGIN")
        try:
            yield _SQLiteCursor(connection)
        finally:
            connection.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


# ---- PostgreSQL --------------------------------------------------------------------------------

_PG_SQL: dict[str, str] = {}


def _pg(sql: str) -> str:
    """`?` placeholders to psycopg's `%s` (our SQL never holds a literal ? or %)."""
    converted = _PG_SQL.get(sql)
    if converted is None:
        converted = sql.replace("?", "%s")
        _PG_SQL[sql] = converted
    return converted


class _PostgresCursor:
    dialect = "postgresql"

    def __init__(self, connection: psycopg.Connection[Row]) -> None:
        self._cursor = connection.cursor()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cursor.execute(_pg(sql), params, prepare=bool(params) or None)
        if self._cursor.description is None:
            return []
        return self._cursor.fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(_pg(sql), rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        with self._cursor.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def upsert_rows(  # noqa: PLR0917 - one SQL statement's parts, in the order SQL has them
        self,
        table: str,
        columns: Sequence[str],
        types: Sequence[str],
        conflict: str,
        update: str,
        rows: Sequence[Row],
    ) -> None:
        if not rows:
            return
        arrays = ", ".join(f"%s::{kind}[]" for kind in types)
        self._cursor.execute(
            f"INSERT INTO {table} ({','.join(columns)}) SELECT * FROM unnest({arrays}) "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {update}",
            [list(column) for column in zip(*rows, strict=True)],
        )

    def delete_in(self, table: str, column: str, values: Sequence[str]) -> None:
        if values:
            self._cursor.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", [list(values)])

    def delete_zero(
        self, table: str, keys: Sequence[str], amount: str, rows: Sequence[tuple[str, ...]]
    ) -> None:
        if not rows:
            return
        arrays = ", ".join("%s::text[]" for _ in keys)
        self._cursor.execute(
            f"DELETE FROM {table} WHERE ({','.join(keys)}) IN (SELECT * FROM unnest({arrays})) "
            f"AND {amount} = 0",
            [list(column) for column in zip(*rows, strict=True)],
        )

    def rowcount(self) -> int:
        return self._cursor.rowcount


class PostgresDatabase:
    """The events' PostgreSQL database, through a psycopg_pool pool."""

    dialect = "postgresql"

    def __init__(self, conninfo: str, schema: str = "", pool_size_max: int = 8) -> None:
        self.conninfo = conninfo
        self.schema = schema
        options = f"-c search_path={schema}" if schema else None
        kwargs: dict[str, Any] = {"autocommit": True, "row_factory": tuple_row}
        if options:
            kwargs["options"] = options
        self.events_description = f"PostgreSQL {psycopg.conninfo.conninfo_to_dict(conninfo)}"
        self._pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
            conninfo, min_size=1, max_size=pool_size_max, kwargs=kwargs, open=True
        )

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        with self._pool.connection() as connection, connection.transaction():
            yield _PostgresCursor(connection)

    @contextmanager
    def read(self, snapshot: bool = True) -> Iterator[Cursor]:
        if not snapshot:
            with self._pool.connection() as connection:
                yield _PostgresCursor(connection)
            return
        with self._pool.connection() as connection, connection.transaction():
            # One snapshot for the whole read: a page and its running balance agree.
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield _PostgresCursor(connection)

    def close(self) -> None:
        self._pool.close()
