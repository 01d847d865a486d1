"""The SQLite event store (the embedded default), with the audit chain and idempotency record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteFactory

from fundledger.adapters.records import ChainLink, IdempotencyClaim, StoredResponse, extend_chain
from fundledger.audit.chain import GENESIS_HASH

CHAIN_TABLE = "event_chain"
IDEMPOTENCY_TABLE = "idempotency_keys"


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

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        assert positions is not None, "the application recorder returns positions"
        # The INSERT above holds SQLite's write lock, so the head cannot move under us.
        c.execute(f"SELECT hash FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        head_hash = bytes(row[0]) if row is not None else GENESIS_HASH
        links = extend_chain(head_hash, positions, stored_events)
        c.executemany(
            f"INSERT INTO {CHAIN_TABLE} VALUES (?,?,?,?,?)", [_link_row(link) for link in links]
        )
        claim: IdempotencyClaim | None = kwargs.get("idempotency")
        if claim is not None:
            c.execute(
                f"INSERT INTO {IDEMPOTENCY_TABLE} (scope, key, fingerprint, status_code, body) "
                "VALUES (?,?,?,?,?)",
                (
                    claim.scope,
                    claim.key,
                    claim.fingerprint,
                    claim.status_code,
                    claim.render(positions),
                ),
            )
        return positions

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


def _link_row(link: ChainLink) -> tuple[int, str, int, bytes, bytes]:
    return (
        link.position,
        link.originator_id,
        link.originator_version,
        link.prev_hash,
        link.hash,
    )


class LedgerSQLiteFactory(SQLiteFactory):
    application_recorder_class = LedgerSQLiteRecorder
