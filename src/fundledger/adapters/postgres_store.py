"""The PostgreSQL event store (production), with the audit chain and idempotency record.

One transaction per save: take the events table's EXCLUSIVE lock (so store order is commit order
and followers never skip a gap that fills later), read the chain head, insert the events, their
links and the idempotency record, commit. Any error rolls the whole save back.

A command's save is one round trip: the links are hashed by the server (sha256, built into
PostgreSQL 11+) in the statement that inserts the events, from a tail the client computes with
audit.chain, so they are byte for byte the links `extend_chain` makes. Pool checkouts ping only
connections the server has spoken on (see CheckoutCheck).
"""

from __future__ import annotations

import contextlib
import select
import weakref
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)
from psycopg import ClientCursor
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal
from psycopg_pool import ConnectionPool

from fundledger.adapters.records import IdempotencyClaim, StoredResponse, extend_chain
from fundledger.audit.chain import GENESIS_HASH, canonical_encoding

CHAIN_TABLE = "event_chain"
IDEMPOTENCY_TABLE = "idempotency_keys"


# From this many events a save (a batch) takes the bulk path: binary array insert, COPY links.
BULK_EVENTS_MIN = 64

# The per-connection prepared statement that appends events and their links (see _append_sql).
# A new name whenever its text changes: a pooled connection keeps the old one prepared.
_APPEND_STATEMENT = "fundledger_append_v1"
_APPEND_ONE_STATEMENT = "fundledger_append_one_v1"
# Bytes of a link's encoding before the previous link: u64(position), which SQL prepends.
_POSITION_BYTES = 8

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


class _ManyStreams(PostgresAggregateRecorder):
    """Reads of many streams in one query, for loading many aggregates the cache lacks."""

    def select_latest(self, originator_ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The highest-version record of each stream that has one (for snapshots: the latest
        snapshot), in one query instead of one per stream."""
        statement = SQL(
            "SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, state "
            "FROM {}.{} WHERE originator_id = ANY(%s) "
            "ORDER BY originator_id, originator_version DESC"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        rows = self._select_many(statement, (list(originator_ids),))
        return {_uuid(row.originator_id): row for row in rows}

    def select_after(self, versions: Mapping[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        """The records of each stream after the given version (0: all), in version order, in
        one query; a stream with none maps to an empty list."""
        statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS after(originator_id, version) "
            "JOIN {}.{} e ON e.originator_id = after.originator_id "
            "AND e.originator_version > after.version "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        streams: dict[UUID, list[StoredEvent]] = {originator_id: [] for originator_id in versions}
        rows = self._select_many(statement, (list(versions), list(versions.values())))
        for row in rows:
            streams[_uuid(row.originator_id)].append(row)
        return streams

    def select_unsnapshotted_streams(
        self, originator_ids: Sequence[UUID], snapshots_table: str | None
    ) -> dict[UUID, list[StoredEvent]]:
        """Every event of each stream that has no snapshot, in two queries for all of them
        (the batch prefetch; the SQLite recorder has the same method)."""
        if not originator_ids:
            return {}
        snapshotted: set[UUID] = set()
        if snapshots_table is not None:
            statement = SQL(
                "SELECT DISTINCT originator_id FROM {}.{} WHERE originator_id = ANY(%s)"
            ).format(Identifier(self.datastore.schema), Identifier(snapshots_table))
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(statement, (list(originator_ids),))
                snapshotted = {_uuid(row["originator_id"]) for row in curs.fetchall()}
        wanted = {key: 0 for key in originator_ids if key not in snapshotted}
        if not wanted:
            return {}
        return {key: events for key, events in self.select_after(wanted).items() if events}

    def _select_many(self, statement: Composed, params: tuple[Any, ...]) -> list[StoredEvent]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]


class LedgerSnapshotRecorder(_SerialisedCreateTable, _ManyStreams):
    pass


class LedgerPostgresRecorder(_SerialisedCreateTable, _ManyStreams, PostgresApplicationRecorder):
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
        chain = SQL("{}.{}").format(schema, Identifier(CHAIN_TABLE))
        # Rendered once: composing SQL on every save cost more than sending it.
        self._sql_lock_notify = _text(
            SQL(
                "SET LOCAL lock_timeout = '{timeout}s'; "
                "LOCK TABLE {events} IN EXCLUSIVE MODE; NOTIFY {channel}; "
            ).format(
                timeout=self.datastore.lock_timeout,
                events=events,
                channel=Identifier(self.channel_name),
            )
        )
        self._sql_prepare_append = (
            _text(_append_sql(events, chain)) + "; " + _text(_append_one_sql(events, chain))
        )
        # Connections of the pool that have the append statement prepared (a session's state).
        self._prepared: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()
        # Quoted topics: a few dozen event classes, each quoted once.
        self._topic_literals: dict[str, str] = {}
        self._sql_bulk_begin = self._sql_lock_notify + _text(
            SQL(
                "SELECT (SELECT hash FROM {chain} ORDER BY position DESC LIMIT 1) AS hash, "
                "(SELECT coalesce(max(notification_id), 0) FROM {events}) AS position"
            ).format(chain=chain, events=events)
        )
        self._sql_copy_events = _text(
            SQL(
                "COPY {} (originator_id, originator_version, topic, state) "
                "FROM STDIN (FORMAT BINARY)"
            ).format(events)
        )
        self._sql_select_placed = _text(
            SQL(
                "SELECT notification_id, originator_id, originator_version FROM {} "
                "WHERE notification_id > %s ORDER BY notification_id"
            ).format(events)
        )
        self._sql_copy_links = _text(
            SQL(
                "COPY {} (position, originator_id, originator_version, prev_hash, hash) "
                "FROM STDIN (FORMAT BINARY)"
            ).format(chain)
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
        """One transaction in one round trip (two with an idempotency record).

        (BEGIN; lock; notify; EXECUTE the prepared append, which inserts the events, reads the
        chain head and inserts the links hashed in SQL; COMMIT) sent as one multi-statement
        query. The record's body needs the positions, so with one the COMMIT follows the
        record's insert in a second round trip. Any error rolls the whole transaction back.
        """
        if not stored_events:
            return []
        claim: IdempotencyClaim | None = kwargs.get("idempotency")
        if len(stored_events) >= BULK_EVENTS_MIN:
            return self._insert_bulk(stored_events, claim)
        with self.datastore.get_connection() as conn:
            cursor = ClientCursor(conn)
            try:
                try:
                    positions = self._append(conn, cursor, stored_events, commit=claim is None)
                except psycopg.errors.InvalidSqlStatementName:
                    # The connection lost our prepared statements: psycopg sends DEALLOCATE ALL
                    # after a ROLLBACK on a connection where it prepared statements of its own.
                    # The EXECUTE failed, so nothing was written: prepare again and retry.
                    conn.execute("ROLLBACK")
                    self._prepared.discard(conn)
                    positions = self._append(conn, cursor, stored_events, commit=claim is None)
                if claim is not None:
                    cursor.execute(self._sql_insert_claim + "COMMIT", _claim_row(claim, positions))
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    with contextlib.suppress(psycopg.Error):
                        conn.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
        return positions

    def _append(
        self,
        conn: psycopg.Connection[Any],
        cursor: ClientCursor[Any],
        stored_events: Sequence[StoredEvent],
        *,
        commit: bool,
    ) -> list[int]:
        """Lock, insert and chain `stored_events`; the positions in the order of the events.

        With `commit`, the transaction is committed; without, it is left open for the caller.

        The parameters go as literals: with the simple query protocol the whole transaction is
        one message, and the statement that does the work is prepared once per connection, so
        the server parses a short EXECUTE instead of planning the append every time.
        """
        if conn not in self._prepared:
            # Its own round trip, once a connection: a PREPARE is not undone by a ROLLBACK, so
            # sent with a transaction that fails it would leave us unsure whether it exists.
            cursor.execute(self._sql_prepare_append)
            self._prepared.add(conn)
        # Without BEGIN, the statements of one query are one implicit transaction: committed
        # at its end, rolled back by the server on an error, with no ROLLBACK to send (after
        # which psycopg would DEALLOCATE ALL, our statements with its own).
        query = self._sql_lock_notify + self._execute_append(stored_events)
        cursor.execute(query if commit else "BEGIN; " + query)
        positions: list[int] = []
        while True:
            if cursor.description is not None:
                positions = [int(_column(row, "position")) for row in cursor.fetchall()]
            if not cursor.nextset():
                break
        assert len(positions) == len(stored_events), "every event needs its position"
        return positions

    def _execute_append(self, stored_events: Sequence[StoredEvent]) -> str:
        """`EXECUTE append(ids, versions, topics, states, tails)` with the values as literals.

        A tail is a link's encoding after its position (see audit.chain): the SQL hashes
        prev_hash || u64(position) || tail, so the links are the ones `extend_chain` makes.
        One event (most commands) takes a statement of plain values, which the server runs
        in two thirds of the time of the general one's unnest, join and recursion.
        """
        rows = [self._literals(e) for e in stored_events]
        if len(rows) == 1:
            return f"EXECUTE {_APPEND_ONE_STATEMENT}({', '.join(rows[0])})"
        columns = [",".join(column) for column in zip(*rows, strict=True)]
        return (
            f"EXECUTE {_APPEND_STATEMENT}(ARRAY[{columns[0]}]::uuid[], "
            f"ARRAY[{columns[1]}]::bigint[], ARRAY[{columns[2]}]::text[], "
            f"ARRAY[{columns[3]}]::bytea[], ARRAY[{columns[4]}]::bytea[])"
        )

    def _literals(self, stored: StoredEvent) -> tuple[str, str, str, str, str]:
        """An event's id, version, topic, state and link tail as SQL literals."""
        originator_id = stored.originator_id
        if not isinstance(originator_id, UUID):  # text must not reach the SQL unchecked
            originator_id = UUID(str(originator_id))
        encoding = canonical_encoding(
            position=0,
            topic=stored.topic,
            originator_id=originator_id,
            originator_version=stored.originator_version,
            state=stored.state,
        )
        return (
            f"'{originator_id}'",
            str(int(stored.originator_version)),
            self._topic_literal(stored.topic),
            _bytea_literal(stored.state),
            _bytea_literal(encoding[_POSITION_BYTES:]),
        )

    def _topic_literal(self, topic: str) -> str:
        literal = self._topic_literals.get(topic)
        if literal is None:
            literal = Literal(topic).as_string(None)
            self._topic_literals[topic] = literal
        return literal

    def _insert_bulk(
        self, stored_events: Sequence[StoredEvent], claim: IdempotencyClaim | None
    ) -> list[int]:
        """A batch (an import): the events and their links by binary COPY.

        COPY returns no positions, so they are read back: under the EXCLUSIVE lock no other
        transaction has uncommitted rows in the table (its ROW EXCLUSIVE lock would have made
        us wait), so the rows past the highest position before the COPY are exactly ours.
        They are matched to the events by (originator_id, version), which the table keeps
        unique. Quoting thousands of values into SQL text, or dumping them as array parameters,
        cost several times more than the few round trips saved.
        """
        ids = [_uuid(e.originator_id) for e in stored_events]
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(self._sql_bulk_begin)
            while curs.nextset():
                pass
            row = curs.fetchone()
            assert row is not None, "the head query answers one row"
            head = _column(row, "hash")
            head_hash = bytes(head) if head is not None else GENESIS_HASH
            with curs.copy(self._sql_copy_events) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea"])
                for originator_id, e in zip(ids, stored_events, strict=True):
                    copy.write_row((originator_id, e.originator_version, e.topic, e.state))
            curs.execute(self._sql_select_placed, (int(_column(row, "position")),))
            placed = {
                (r["originator_id"], r["originator_version"]): int(r["notification_id"])
                for r in curs.fetchall()
            }
            positions = [placed[key] for key in zip(ids, _versions(stored_events), strict=True)]
            assert len(placed) == len(positions), "only our rows follow the old head"
            links = extend_chain(head_hash, positions, stored_events)
            with curs.copy(self._sql_copy_links) as copy:
                copy.set_types(["int8", "uuid", "int8", "bytea", "bytea"])
                for originator_id, link in zip(ids, links, strict=True):
                    version, prev_hash, digest = link.originator_version, link.prev_hash, link.hash
                    copy.write_row((link.position, originator_id, version, prev_hash, digest))
            if claim is not None:
                curs.execute(self._sql_insert_claim.rstrip("; "), _claim_row(claim, positions))
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

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        pool = self.datastore.pool
        if self.datastore.pre_ping:
            # The library's pre-ping is a round trip on every checkout (~15 % of a command).
            # Its purpose, no failed request after the server restarted or cut the connection,
            # is kept by pinging only a connection the server has said something on.
            assert hasattr(pool, "_check"), "psycopg_pool keeps the checkout check in _check"
            pool._check = CheckoutCheck(pool)


class CheckoutCheck:
    """The pool's checkout check: raise if an idle connection is no longer usable.

    An idle autocommit connection that nobody LISTENs on receives nothing, unless the server
    ended it: a backend that is terminated, shut down or crashes sends its FATAL error (or the
    kernel the end of the stream) before it goes. So a readable socket is worth a real ping,
    which raises on a dead connection and lets the pool discard it and hand out another; a
    quiet socket is not, and that saves the round trip.

    One dead connection means a restart ended the others too. The pool waits (backing off,
    ~1 s) after each one its check rejects, which with several dead connections outlasted the
    checkout timeout and failed the first request after a restart; so the first dead one has
    the pool check all its idle connections at once, replacing the dead ones.
    """

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = weakref.ref(pool)  # the pool holds its check: no reference cycle

    def __call__(self, conn: psycopg.Connection[Any]) -> None:
        if not conn.closed and not _server_spoke(conn):
            return
        try:
            ConnectionPool.check_connection(conn)
        except psycopg.Error:
            pool = self._pool()
            if pool is not None:
                pool.check()
            raise


def _server_spoke(conn: psycopg.Connection[Any]) -> bool:
    """Whether the server sent something (or hung up) on an idle connection."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _text(statement: Composable) -> str:
    return statement.as_string(None)


def _column(row: Any, name: str) -> Any:
    """A column of a row from the pool's connections (dict rows)."""
    return row[name] if isinstance(row, Mapping) else row[0]


def _claim_row(claim: IdempotencyClaim, positions: Sequence[int]) -> tuple[str, str, str, int, str]:
    return (claim.scope, claim.key, claim.fingerprint, claim.status_code, claim.render(positions))


def _bytea_literal(data: bytes) -> str:
    # An escape-string literal reads the same whatever standard_conforming_strings says.
    return f"E'\\\\x{bytes(data).hex()}'"


def _append_sql(events: Composable, chain: Composable) -> Composable:
    """PREPARE the append: insert the events, then their links, chained in store order.

    All of it is one statement, so it sees one snapshot: the head read is the last link
    committed before the table lock was granted, and the new links follow it. A link is
    sha256(prev_hash || int8send(position) || tail); int8send is big-endian, as u64 in the
    chain's encoding. Events are matched to their positions by (originator_id, version), which
    the events table keeps unique, rather than by the order RETURNING happens to give.
    """
    return SQL(
        "PREPARE {name}(uuid[], bigint[], text[], bytea[], bytea[]) AS "
        "WITH RECURSIVE "
        "input AS (SELECT * FROM unnest($1, $2, $3, $4, $5) WITH ORDINALITY "
        "AS t(originator_id, originator_version, topic, state, tail, ord)), "
        "inserted AS (INSERT INTO {events} (originator_id, originator_version, topic, state) "
        "SELECT originator_id, originator_version, topic, state FROM input ORDER BY ord "
        "RETURNING notification_id, originator_id, originator_version), "
        "placed AS (SELECT i.notification_id AS position, i.originator_id, "
        "i.originator_version, input.tail, input.ord, "
        "row_number() OVER (ORDER BY i.notification_id) AS rank "
        "FROM inserted i JOIN input USING (originator_id, originator_version)), "
        "head AS (SELECT coalesce((SELECT hash FROM {chain} ORDER BY position DESC LIMIT 1), "
        "{genesis}) AS hash), "
        "links (rank, position, originator_id, originator_version, prev_hash, hash) AS ("
        "SELECT p.rank, p.position, p.originator_id, p.originator_version, head.hash, "
        "sha256(head.hash || int8send(p.position) || p.tail) FROM placed p, head WHERE p.rank = 1 "
        "UNION ALL "
        "SELECT p.rank, p.position, p.originator_id, p.originator_version, l.hash, "
        "sha256(l.hash || int8send(p.position) || p.tail) "
        "FROM links l JOIN placed p ON p.rank = l.rank + 1), "
        "linked AS (INSERT INTO {chain} (position, originator_id, originator_version, "
        "prev_hash, hash) SELECT position, originator_id, originator_version, prev_hash, hash "
        "FROM links) "
        "SELECT position FROM placed ORDER BY ord"
    ).format(
        name=Identifier(_APPEND_STATEMENT),
        events=events,
        chain=chain,
        genesis=SQL(_bytea_literal(GENESIS_HASH) + "::bytea"),
    )


def _append_one_sql(events: Composable, chain: Composable) -> Composable:
    """PREPARE the append of one event: `_append_sql` with plain values for a single row."""
    return SQL(
        "PREPARE {name}(uuid, bigint, text, bytea, bytea) AS "
        "WITH inserted AS (INSERT INTO {events} (originator_id, originator_version, topic, state) "
        "VALUES ($1, $2, $3, $4) RETURNING notification_id), "
        "head AS (SELECT coalesce((SELECT hash FROM {chain} ORDER BY position DESC LIMIT 1), "
        "{genesis}) AS hash), "
        "linked AS (INSERT INTO {chain} (position, originator_id, originator_version, "
        "prev_hash, hash) SELECT i.notification_id, $1, $2, head.hash, "
        "sha256(head.hash || int8send(i.notification_id) || $5) FROM inserted i, head) "
        "SELECT notification_id AS position FROM inserted"
    ).format(
        name=Identifier(_APPEND_ONE_STATEMENT),
        events=events,
        chain=chain,
        genesis=SQL(_bytea_literal(GENESIS_HASH) + "::bytea"),
    )


def _uuid(originator_id: UUID | str) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))


def _versions(stored_events: Sequence[StoredEvent]) -> list[int]:
    return [int(e.originator_version) for e in stored_events]
