"""One setting, FUNDLEDGER_DATABASE_URL, picks the store; this turns it into library settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

DATABASE_URL_VARIABLE = "FUNDLEDGER_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///fundledger.sqlite"
SQLITE_FACTORY_TOPIC = "fundledger.adapters.sqlite_store:LedgerSQLiteFactory"
POSTGRES_FACTORY_TOPIC = "fundledger.adapters.postgres_store:LedgerPostgresFactory"


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class StoreLocation:
    kind: str  # "sqlite" or "postgresql"
    sqlite_path: str = ""
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = ""

    def describe(self) -> str:
        """Where the events live, without the password."""
        if self.kind == "sqlite":
            return f"SQLite file {self.sqlite_path}"
        return f"PostgreSQL database {self.dbname!r} at {self.host}:{self.port} as {self.user}"


def configured_database_url() -> str:
    return os.environ.get(DATABASE_URL_VARIABLE) or DEFAULT_DATABASE_URL


def parse_database_url(url: str) -> StoreLocation:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute/path.db, as SQLAlchemy reads them.
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path:
            raise DatabaseUrlError(f"{DATABASE_URL_VARIABLE}: a SQLite URL needs a file path")
        if path != ":memory:" and not path.startswith("file:"):
            path = str(Path(path).expanduser().resolve())
        return StoreLocation(kind="sqlite", sqlite_path=path)
    if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname or not parts.hostname:
            raise DatabaseUrlError(f"{DATABASE_URL_VARIABLE}: use postgresql://USER@HOST:PORT/DB")
        query = parse_qs(parts.query)
        return StoreLocation(
            kind="postgresql",
            host=parts.hostname,
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=dbname,
            schema=query.get("schema", [""])[0],
        )
    raise DatabaseUrlError(
        f"{DATABASE_URL_VARIABLE} must start with sqlite:/// or postgresql://, got {parts.scheme!r}"
    )


def library_settings(location: StoreLocation, *, create_tables: bool = True) -> dict[str, str]:
    """The eventsourcing settings for a store location."""
    common = {"CREATE_TABLE": "y" if create_tables else "n"}
    if location.kind == "sqlite":
        return {
            **common,
            "PERSISTENCE_MODULE": SQLITE_FACTORY_TOPIC,
            "SQLITE_DBNAME": location.sqlite_path,
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    return {
        **common,
        "PERSISTENCE_MODULE": POSTGRES_FACTORY_TOPIC,
        "POSTGRES_DBNAME": location.dbname,
        "POSTGRES_HOST": location.host,
        "POSTGRES_PORT": str(location.port),
        "POSTGRES_USER": location.user,
        "POSTGRES_PASSWORD": location.password,
        "POSTGRES_SCHEMA": location.schema,
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "16",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_PRE_PING": "y",
        # Off on purpose: its insert skips the table lock and followers miss events.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }
