"""The composition root for the write side: a ledger on the configured store."""

from __future__ import annotations

from fundledger.adapters.store import (
    configured_database_url,
    library_settings,
    parse_database_url,
)
from fundledger.application.ledger import FundLedger


def open_ledger(database_url: str | None = None, *, create_tables: bool = True) -> FundLedger:
    """A ledger on `database_url` (default: FUNDLEDGER_DATABASE_URL, else a local SQLite file)."""
    location = parse_database_url(database_url or configured_database_url())
    return FundLedger(env=library_settings(location, create_tables=create_tables))
