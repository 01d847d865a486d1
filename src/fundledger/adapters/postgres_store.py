"""The PostgreSQL event store (production), with the audit chain and idempotency record.

One transaction per save: take the events table's EXCLUSIVE lock (so store order is commit order
and followers never skip a gap that fills later), read the chain head, insert the events, their
links and the idempotency record, commit. Any error rolls the whole save back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)
from psycopg.sql import SQL, Composed, Identifier

from fundledger.adapters.records import IdempotencyClaim, StoredResponse, extend_chain
from fundledger.audit.chain import GENESIS_HASH

CHAIN_TABLE = "event_chain"
IDEMPOTENCY_TABLE = "idempotency_keys"


# Any constant: it names the lock that serialises creating tables across processes.
_CREATE_TABLES_LOCK_KEY = 0x46554E44


class _SerialisedCreateTable(PostgresAggregateRecorder):
    """Two processes creating the tables at once crash one of them; take turns instead."""

    def create_table(self) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_CREATE_TABLES_LOCK_KEY,))
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_CREATE_TABLES_LOCK_KEY,))


class LedgerSnapshotRecorder(_SerialisedCreateTable):
    pass


class LedgerPostgresRecorder(_SerialisedCreateTable, PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema = Identifier(self.datastore.schema)
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                    "position bigint PRIMARY KEY, originator_id uuid NOT NULL, "
                    "originator_version bigint NOT NULL, prev_hash bytea NOT NULL, "
                    "hash bytea NOT NULL)"
                ).format(schema=schema, table=Identifier(CHAIN_TABLE)),
                SQL(
                    "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                    "scope text NOT NULL, key text NOT NULL, fingerprint text NOT NULL, "
                    "status_code integer NOT NULL, body text NOT NULL, "
                    "recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (scope, key))"
                ).format(schema=schema, table=Identifier(IDEMPOTENCY_TABLE)),
            ]
        )
        events = SQL("{}.{}").format(schema, Identifier(self.events_table_name))
        self._sql_lock_and_head: Composed = SQL(
            "SET LOCAL lock_timeout = '{timeout}s'; "
            "LOCK TABLE {events} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "SELECT hash FROM {schema}.{chain} ORDER BY position DESC LIMIT 1"
        ).format(
            timeout=self.datastore.lock_timeout,
            events=events,
            channel=Identifier(self.channel_name),
            schema=schema,
            chain=Identifier(CHAIN_TABLE),
        )
        self._sql_insert_link = SQL("INSERT INTO {}.{} VALUES (%s, %s, %s, %s, %s)").format(
            schema, Identifier(CHAIN_TABLE)
        )
        self._sql_insert_claim = SQL(
            "INSERT INTO {}.{} (scope, key, fingerprint, status_code, body) "
            "VALUES (%s, %s, %s, %s, %s)"
        ).format(schema, Identifier(IDEMPOTENCY_TABLE))
        self._sql_select_claim = SQL(
            "SELECT fingerprint, status_code, body FROM {}.{} WHERE scope = %s AND key = %s"
        ).format(schema, Identifier(IDEMPOTENCY_TABLE))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        claim: IdempotencyClaim | None = kwargs.get("idempotency")
        pg_events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(self._sql_lock_and_head)
            while curs.nextset():  # the head is the last of the statements' results
                pass
            row = curs.fetchone()
            head_hash = bytes(row["hash"]) if row is not None else GENESIS_HASH
            curs.execute(self.insert_events_statement, (pg_events,), prepare=True)
            positions = [r["notification_id"] for r in curs.fetchall()]
            links = extend_chain(head_hash, positions, stored_events)
            curs.executemany(
                self._sql_insert_link,
                [
                    (
                        link.position,
                        link.originator_id,
                        link.originator_version,
                        link.prev_hash,
                        link.hash,
                    )
                    for link in links
                ],
            )
            if claim is not None:
                curs.execute(
                    self._sql_insert_claim,
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
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql_select_claim, (scope, key))
            row = curs.fetchone()
        if row is None:
            return None
        return StoredResponse(row["fingerprint"], int(row["status_code"]), str(row["body"]))


class LedgerPostgresFactory(PostgresFactory):
    application_recorder_class = LedgerPostgresRecorder
    aggregate_recorder_class = LedgerSnapshotRecorder
