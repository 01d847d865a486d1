"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL is found at FUNDLEDGER_TEST_DATABASE_URL (default: postgres on 127.0.0.1:5432).
Each test gets its own database, created and dropped here, so runs never collide. When the
server cannot be reached, PostgreSQL tests skip on a developer machine and FAIL under CI=true.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger

ADMIN_URL = os.environ.get(
    "FUNDLEDGER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _admin_conninfo() -> str:
    parts = urlsplit(ADMIN_URL)
    return urlunsplit(parts._replace(scheme="postgresql"))


def _postgres_unreachable() -> str | None:
    try:
        with psycopg.connect(_admin_conninfo(), connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]


def require_postgres() -> None:
    problem = _postgres_unreachable()
    if problem is None:
        return
    message = f"PostgreSQL at {ADMIN_URL} is unreachable: {problem}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def create_postgres_database() -> tuple[str, str]:
    """A new empty database; returns (its URL, its name)."""
    require_postgres()
    name = f"fundledger_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(ADMIN_URL)
    return urlunsplit(parts._replace(scheme="postgresql", path=f"/{name}")), name


def drop_postgres_database(name: str) -> None:
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_database_url(store: str, directory: Path) -> tuple[str, str | None]:
    """A fresh store of the given kind: (URL, PostgreSQL database name or None)."""
    if store == "sqlite":
        return f"sqlite:///{directory / 'ledger.sqlite'}", None
    return create_postgres_database()


@pytest.fixture(params=STORES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty store: a SQLite file, or a new PostgreSQL database."""
    url, pg_name = new_database_url(request.param, tmp_path)
    yield url
    if pg_name is not None:
        drop_postgres_database(pg_name)


@pytest.fixture
def ledger(database_url: str) -> Iterator[FundLedger]:
    """A ledger application on a fresh store of each kind."""
    app = open_ledger(database_url)
    yield app
    app.close()
