"""The PostgreSQL event store (production), with the audit chain and idempotency record.

One transaction per save: take the events table's EXCLUSIVE lock (so store order is commit order
and followers never skip a gap that fills later), read the chain head, insert the events, their
links and the idempotency record, commit. Any error rolls the whole save back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)
from psycopg import ClientCursor
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Composable, Identifier

from fundledger.adapters.records import ChainLink, IdempotencyClaim, StoredResponse, extend_chain
from fundledger.audit.chain import GENESIS_HASH

CHAIN_TABLE = "event_chain"
IDEMPOTENCY_TABLE = "idempotency_keys"


# From this many events a save (a batch) takes the bulk path: binary array insert, COPY links.
BULK_EVENTS_MIN = 64

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
        # Rendered once: composing SQL on every save cost more than sending it.
        self._sql_begin = _text(
            SQL(
                "BEGIN; SET LOCAL lock_timeout = '{timeout}s'; "
                "LOCK TABLE {events} IN EXCLUSIVE MODE; NOTIFY {channel}; "
                "SELECT hash FROM {schema}.{chain} ORDER BY position DESC LIMIT 1; "
                "INSERT INTO {events} (originator_id, originator_version, topic, state) VALUES "
            ).format(
                timeout=self.datastore.lock_timeout,
                events=events,
                channel=Identifier(self.channel_name),
                schema=schema,
                chain=Identifier(CHAIN_TABLE),
            )
        )
        self._sql_lock = [
            _text(SQL("SET LOCAL lock_timeout = '{}s'").format(self.datastore.lock_timeout)),
            _text(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(events)),
            _text(SQL("NOTIFY {}").format(Identifier(self.channel_name))),
        ]
        self._sql_head = _text(
            SQL("SELECT hash FROM {}.{} ORDER BY position DESC LIMIT 1").format(
                schema, Identifier(CHAIN_TABLE)
            )
        )
        self._sql_copy_links = _text(
            SQL(
                "COPY {}.{} (position, originator_id, originator_version, prev_hash, hash) "
                "FROM STDIN"
            ).format(schema, Identifier(CHAIN_TABLE))
        )
        self._sql_insert_links = _text(
            SQL("INSERT INTO {}.{} VALUES ").format(schema, Identifier(CHAIN_TABLE))
        )
        self._sql_insert_claim = _text(
            SQL(
                "INSERT INTO {}.{} (scope, key, fingerprint, status_code, body) "
                "VALUES (%s, %s, %s, %s, %s); "
            ).format(schema, Identifier(IDEMPOTENCY_TABLE))
        )
        self._sql_select_claim = _text(
            SQL(
                "SELECT fingerprint, status_code, body FROM {}.{} WHERE scope = %s AND key = %s"
            ).format(schema, Identifier(IDEMPOTENCY_TABLE))
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """One transaction in two round trips.

        (BEGIN; lock; notify; read the chain head; insert the events) and then (insert their
        links; the idempotency record; COMMIT), each sent as one multi-statement query with
        client-side bound (escaped) parameters. Any error rolls the whole transaction back.
        """
        if not stored_events:
            return []
        claim: IdempotencyClaim | None = kwargs.get("idempotency")
        if len(stored_events) >= BULK_EVENTS_MIN:
            return self._insert_bulk(stored_events, claim)
        with self.datastore.get_connection() as conn:
            cursor = ClientCursor(conn)
            try:
                head_hash, positions = self._begin_and_insert(cursor, stored_events)
                links = extend_chain(head_hash, positions, stored_events)
                self._link_and_commit(cursor, links, claim, positions)
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    with contextlib.suppress(psycopg.Error):
                        conn.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
        return positions

    def _insert_bulk(
        self, stored_events: Sequence[StoredEvent], claim: IdempotencyClaim | None
    ) -> list[int]:
        """A batch (an import): the events as one binary array parameter, the links by COPY.

        Quoting thousands of values into SQL text costs far more than the round trips saved."""
        pg_events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            for statement in self._sql_lock:
                curs.execute(statement)
            curs.execute(self._sql_head)
            row = curs.fetchone()
            head_hash = bytes(_column(row, "hash")) if row is not None else GENESIS_HASH
            curs.execute(self.insert_events_statement, (pg_events,), prepare=True)
            positions = [int(_column(r, "notification_id")) for r in curs.fetchall()]
            links = extend_chain(head_hash, positions, stored_events)
            with curs.copy(self._sql_copy_links) as copy:
                for link in links:
                    copy.write_row(
                        (
                            link.position,
                            link.originator_id,
                            link.originator_version,
                            link.prev_hash,
                            link.hash,
                        )
                    )
            if claim is not None:
                curs.execute(
                    self._sql_insert_claim.rstrip("; "),
                    (
                        claim.scope,
                        claim.key,
                        claim.fingerprint,
                        claim.status_code,
                        claim.render(positions),
                    ),
                )
        return positions

    def _begin_and_insert(
        self, cursor: ClientCursor[Any], stored_events: Sequence[StoredEvent]
    ) -> tuple[bytes, list[int]]:
        values = ", ".join(["(%s, %s, %s, %s)"] * len(stored_events))
        params: list[Any] = []
        for e in stored_events:
            params.extend((e.originator_id, e.originator_version, e.topic, e.state))
        cursor.execute(self._sql_begin + values + " RETURNING notification_id", params)
        answers: list[list[Any]] = []
        while True:
            if cursor.description is not None:
                answers.append(cursor.fetchall())
            if not cursor.nextset():
                break
        head_rows, inserted = answers
        head_hash = bytes(_column(head_rows[0], "hash")) if head_rows else GENESIS_HASH
        return head_hash, [int(_column(row, "notification_id")) for row in inserted]

    def _link_and_commit(
        self,
        cursor: ClientCursor[Any],
        links: Sequence[ChainLink],
        claim: IdempotencyClaim | None,
        positions: Sequence[int],
    ) -> None:
        statement = self._sql_insert_links + ", ".join(["(%s, %s, %s, %s, %s)"] * len(links)) + "; "
        params: list[Any] = []
        for link in links:
            params.extend(
                (
                    link.position,
                    link.originator_id,
                    link.originator_version,
                    link.prev_hash,
                    link.hash,
                )
            )
        if claim is not None:
            statement += self._sql_insert_claim
            params.extend(
                (
                    claim.scope,
                    claim.key,
                    claim.fingerprint,
                    claim.status_code,
                    claim.render(positions),
                )
            )
        cursor.execute(statement + "COMMIT", params)

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


def _text(statement: Composable) -> str:
    return statement.as_string(None)


def _column(row: Any, name: str) -> Any:
    """A column of a row from the pool's connections (dict rows)."""
    return row[name] if isinstance(row, Mapping) else row[0]
