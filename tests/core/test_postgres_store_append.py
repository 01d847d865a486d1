"""The PostgreSQL store's one-round-trip append: links hashed in SQL, rollback, pool checkout."""

from __future__ import annotations

import json
import select
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg_pool import ConnectionPool

from fundledger.adapters.postgres_store import (
    BULK_EVENTS_MIN,
    CheckoutCheck,
    LedgerPostgresRecorder,
)
from fundledger.adapters.records import IdempotencyClaim, extend_chain
from fundledger.application.ledger import FundLedger
from fundledger.audit.chain import GENESIS_HASH
from fundledger.audit.verify import verify_log
from fundledger.bootstrap import open_ledger
from tests.conftest import _admin_conninfo, create_postgres_database, drop_postgres_database

pytestmark = pytest.mark.postgres

TOPIC = "fundledger.domain.events:DonationReceived"
# Topics and states that quoting must carry through unchanged.
AWKWARD_TOPIC = "tests.o'neil:Ev\\ent"
AWKWARD_STATE = '{"memo": "It\'s \'quoted\' \\\\ and 扶贫 \\u0000"}'.encode()


@pytest.fixture
def pg_ledger() -> Iterator[tuple[FundLedger, str]]:
    url, name = create_postgres_database()
    ledger = open_ledger(url)
    yield ledger, url
    ledger.close()
    drop_postgres_database(name)


def recorder(ledger: FundLedger) -> LedgerPostgresRecorder:
    store = ledger.recorder
    assert isinstance(store, LedgerPostgresRecorder)
    return store


def new_events(count: int, *, version: int = 1, topic: str = TOPIC) -> list[StoredEvent]:
    return [
        StoredEvent(uuid4(), version, topic, json.dumps({"n": n, "pad": "x" * n}).encode())
        for n in range(count)
    ]


def stored_links(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT position, originator_id, originator_version, prev_hash, hash "
            "FROM event_chain ORDER BY position"
        ).fetchall()


def expected_links(saves: Sequence[tuple[Sequence[StoredEvent], Sequence[int]]]) -> list[Any]:
    head = GENESIS_HASH
    rows: list[tuple[Any, ...]] = []
    for events, positions in saves:
        links = extend_chain(head, positions, events)
        head = links[-1].hash
        rows.extend(
            (
                link.position,
                UUID(link.originator_id),
                link.originator_version,
                link.prev_hash,
                link.hash,
            )
            for link in links
        )
    return rows


def test_links_hashed_in_sql_equal_extend_chain(pg_ledger: tuple[FundLedger, str]) -> None:
    """Saves of one, several and a bulk of events, awkward text included, store exactly the
    links `extend_chain` computes, and the whole log verifies."""
    ledger, url = pg_ledger
    store = recorder(ledger)
    saves = []
    for count in (1, 2, 1, 5, BULK_EVENTS_MIN, 1, 3):
        events = new_events(count)
        positions = store.insert_events(events)
        assert positions is not None
        saves.append((events, list(positions)))
    awkward = [StoredEvent(uuid4(), 1, AWKWARD_TOPIC, AWKWARD_STATE) for _ in range(2)]
    for events in (awkward[:1], awkward[1:] + new_events(1)):
        positions = store.insert_events(events)
        assert positions is not None
        saves.append((events, list(positions)))
    assert stored_links(url) == expected_links(saves)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT topic, state FROM fundledger_events WHERE originator_id = %s",
            (awkward[0].originator_id,),
        ).fetchall()
    assert rows == [(AWKWARD_TOPIC, AWKWARD_STATE)]
    report = verify_log(ledger)
    assert report.ok, report
    assert report.events_checked == sum(len(events) for events, _ in saves)


@pytest.mark.parametrize("count", [4, BULK_EVENTS_MIN])
def test_positions_come_back_in_the_order_of_the_events(
    pg_ledger: tuple[FundLedger, str], count: int
) -> None:
    """The returned positions belong to the events in the order they were given."""
    ledger, url = pg_ledger
    events = new_events(count)
    positions = recorder(ledger).insert_events(events)
    assert positions is not None
    with psycopg.connect(url) as conn:
        stored: dict[int, UUID] = dict(
            conn.execute("SELECT notification_id, originator_id FROM fundledger_events").fetchall()
        )
    assert [stored[p] for p in positions] == [e.originator_id for e in events]


@pytest.mark.parametrize("count", [1, 3, BULK_EVENTS_MIN])
def test_a_stale_version_stores_nothing(pg_ledger: tuple[FundLedger, str], count: int) -> None:
    """A save with a version already stored raises IntegrityError and leaves no event, link or
    idempotency record behind; the next save on the same pool succeeds and chains on."""
    ledger, url = pg_ledger
    store = recorder(ledger)
    first = new_events(1)
    store.insert_events(first)
    clash = [*new_events(count - 1), first[0]]
    claim = IdempotencyClaim("scope", "key", "fingerprint", 201, lambda p: str(list(p)))
    for kwargs in ({}, {"idempotency": claim}):
        with pytest.raises(IntegrityError):
            store.insert_events(clash, **kwargs)
    assert len(stored_links(url)) == 1
    assert store.stored_response("scope", "key") is None
    after = new_events(count)
    positions = store.insert_events(after)
    assert positions is not None
    assert len(stored_links(url)) == 1 + count
    assert verify_log(ledger).ok


def test_a_connection_that_lost_the_prepared_append_prepares_it_again(
    pg_ledger: tuple[FundLedger, str],
) -> None:
    """psycopg deallocates every prepared statement after some ROLLBACKs; the next save on
    such a connection prepares the append again and succeeds, once."""
    ledger, url = pg_ledger
    store = recorder(ledger)
    pool = store.datastore.pool
    for _ in range(3):
        store.insert_events(new_events(1))
        store.insert_events(new_events(2))
    idle = [pool.getconn() for _ in range(pool.get_stats()["pool_available"])]
    for conn in idle:
        conn.execute("DEALLOCATE ALL")
        pool.putconn(conn)
    for count in (1, 2):
        store.insert_events(new_events(count))
    assert len(stored_links(url)) == 12
    assert verify_log(ledger).ok


def test_an_idempotency_record_commits_with_its_events(pg_ledger: tuple[FundLedger, str]) -> None:
    """The record's body is rendered from the new positions and stored with the events."""
    ledger, _ = pg_ledger
    store = recorder(ledger)
    for count in (1, 2, BULK_EVENTS_MIN):
        claim = IdempotencyClaim("s", f"k{count}", "f", 201, lambda p: json.dumps(list(p)))
        positions = store.insert_events(new_events(count), idempotency=claim)
        assert positions is not None
        response = store.stored_response("s", f"k{count}")
        assert response is not None
        assert json.loads(response.body) == list(positions)
    assert verify_log(ledger).ok


def test_terminated_connections_cost_no_failed_save(pg_ledger: tuple[FundLedger, str]) -> None:
    """After the server ended every pooled connection (as a restart does), the next saves
    succeed: checkout notices the dead connections and the new ones get the append prepared.

    The backends are waited for (the timeout argument): a save racing a backend that has been
    signalled but not yet gone fails, with or without a pre-ping."""
    ledger, url = pg_ledger
    store = recorder(ledger)
    for _ in range(3):
        store.insert_events(new_events(1))
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()
    assert ended is not None
    assert ended[0] >= 1
    for count in (1, 2, 1):
        store.insert_events(new_events(count))
    assert verify_log(ledger).ok


def test_a_quiet_connection_is_not_pinged(
    pg_ledger: tuple[FundLedger, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checkout sends nothing on a connection the server has said nothing on, and pings (and
    so rejects) one the server has ended."""
    ledger, url = pg_ledger
    check = CheckoutCheck(recorder(ledger).datastore.pool)
    pings: list[object] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT 1")
        with monkeypatch.context() as patched:
            patched.setattr(ConnectionPool, "check_connection", staticmethod(pings.append))
            check(conn)
        assert pings == []
        with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        assert poller.poll(10_000), "the server said nothing on the connection it ended"
        with pytest.raises(psycopg.OperationalError):
            check(conn)


def test_many_streams_read_in_one_query_equal_one_by_one(
    pg_ledger: tuple[FundLedger, str],
) -> None:
    """`select_after` and `select_latest` answer for many streams what `select_events` does
    for each: the records after a version in order, and the highest-version record."""
    ledger, _ = pg_ledger
    store = recorder(ledger)
    streams = [uuid4() for _ in range(3)]
    for version in range(1, 5):
        store.insert_events(
            [StoredEvent(s, version, TOPIC, b'{"v": %d}' % version) for s in streams[:2]]
        )
    after = {streams[0]: 0, streams[1]: 2, streams[2]: 0}
    many = store.select_after(after)
    assert many == {s: list(store.select_events(s, gt=v)) for s, v in after.items()}
    assert [e.originator_version for e in many[streams[1]]] == [3, 4]
    assert many[streams[2]] == []
    latest = store.select_latest(streams)
    assert set(latest) == set(streams[:2])
    assert latest[streams[0]] == store.select_events(streams[0], desc=True, limit=1)[0]
