"""Fresh stores for one measurement: a SQLite file, or a PostgreSQL database (made, dropped)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BENCH_DATABASE_URL_VARIABLE = "FUNDLEDGER_BENCH_DATABASE_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STORE_KINDS = ("sqlite", "postgresql")


def admin_url() -> str:
    return os.environ.get(BENCH_DATABASE_URL_VARIABLE) or DEFAULT_ADMIN_URL


def _with_path(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql", path=f"/{dbname}"))


@dataclass(frozen=True)
class Store:
    """Where one measurement writes: the app's URL, and a connection string for its floor."""

    kind: str
    url: str
    floor_target: str  # a SQLite file path, or a PostgreSQL conninfo

    def floor_sqlite(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.floor_target, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def floor_postgres(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.floor_target)


@contextmanager
def fresh_store(kind: str, directory: Path) -> Iterator[Store]:
    """An empty store of `kind` (and an empty place for its floor), removed afterwards."""
    if kind == "sqlite":
        name = uuid.uuid4().hex[:8]
        app_path = directory / f"ledger-{name}.sqlite"
        floor_path = directory / f"floor-{name}.sqlite"
        try:
            yield Store(kind, f"sqlite:///{app_path}", str(floor_path))
        finally:
            for path in directory.glob(f"*-{name}.sqlite*"):
                path.unlink()
        return
    admin = admin_url()
    names = [
        f"fundledger_bench_{uuid.uuid4().hex[:12]}",
        f"fundledger_floor_{uuid.uuid4().hex[:12]}",
    ]
    with psycopg.connect(
        _with_path(admin, urlsplit(admin).path.lstrip("/")), autocommit=True
    ) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Store(kind, _with_path(admin, names[0]), _with_path(admin, names[1]))
    finally:
        with psycopg.connect(
            _with_path(admin, urlsplit(admin).path.lstrip("/")), autocommit=True
        ) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_reachable() -> str | None:
    """None when the bench's PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(admin_url(), connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]
