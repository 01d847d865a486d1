"""PostgreSQL stopped under load (`pg_ctl stop -m immediate`) and started again.

The server killed is a throwaway one started by the test in a temporary directory, never the
shared one on 5432.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from fundledger.bootstrap import open_ledger
from tests.reliability.conftest import ServerFactory, seed_funds
from tests.reliability.figures import FIGURES
from tests.reliability.harness import POSTGRES_BIN, ThrowawayPostgres, create_key

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 3
DONATIONS_PER_CLIENT = 20
ACKNOWLEDGED_BEFORE_FAULT = 12
# The database is down at least this long, and longer until a client has had its 503: a request
# arriving during the outage first waits for a connection (the library retries a store call
# several times, each waiting up to the pool's connect timeout) before it answers 503.
OUTAGE_S_MIN = 3.0
OUTAGE_S_MAX = 60.0
RECOVERY_S_MAX = 60.0


def _retryable_conflict(answer: httpx.Response) -> bool:
    """A command that lost the optimistic-concurrency race every time it tried: it recorded
    nothing and says so with a 409 naming the rule; the client sends it again."""
    return answer.status_code == 409 and answer.json().get("rule") == "concurrent-update"


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of the test's own, removed at the end whatever happens."""
    if not (POSTGRES_BIN / "pg_ctl").exists() or shutil.which("runuser") is None:
        pytest.fail(f"PostgreSQL server binaries are needed in {POSTGRES_BIN}")
    server = ThrowawayPostgres().initialise()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def test_database_stopped_under_load_gives_503_then_recovers_losing_nothing(
    throwaway_postgres: ThrowawayPostgres, serve: ServerFactory
) -> None:
    """While the database is down every answer is 503 with Retry-After; afterwards the same
    server answers again by itself, and every keyed donation is recorded exactly once."""
    url = throwaway_postgres.url
    ledger = open_ledger(url)
    try:
        seeded = seed_funds(ledger, (0,))
    finally:
        ledger.close()
    fund_id = seeded.fund_ids[0]
    key = create_key(url, "clerk", "fault-clerk")
    auditor = create_key(url, "auditor", "fault-auditor")
    server = serve(url, "faulted", retry_after_s="1")
    FIGURES.at_least("concurrent clients", CLIENTS)
    statuses: Counter[int] = Counter()
    retry_after_missing = 0
    unexpected: list[str] = []
    lost_races = 0
    acknowledged: dict[int, list[str]] = {}
    lock = threading.Lock()
    fault_at = threading.Event()
    outage_seen = threading.Event()

    def donate_until_acknowledged(http: httpx.Client, number: int) -> None:
        nonlocal retry_after_missing, lost_races
        body = {"donor": seeded.party_id, "amount": "1.00", "occurred_on": "2016-03-01"}
        headers = {"Idempotency-Key": f"fault-{number}"}
        deadline = time.monotonic() + RECOVERY_S_MAX
        while time.monotonic() < deadline:
            answer = http.post(f"/v1/funds/{fund_id}/donations", json=body, headers=headers)
            with lock:
                statuses[answer.status_code] += 1
                if _retryable_conflict(answer):
                    lost_races += 1
                elif answer.status_code not in (201, 503):
                    unexpected.append(f"{answer.status_code} {answer.text}")
                if answer.status_code == 503 and "Retry-After" not in answer.headers:
                    retry_after_missing += 1
                if answer.status_code == 503:
                    outage_seen.set()
            if answer.status_code == 201:
                with lock:
                    acknowledged[number] = answer.json()["event_ids"]
                    if len(acknowledged) >= ACKNOWLEDGED_BEFORE_FAULT:
                        fault_at.set()
                return
            time.sleep(0.2)  # a client honours Retry-After; a short wait keeps the test quick

    def client(number: int) -> None:
        with server.client(key) as http:
            for turn in range(DONATIONS_PER_CLIENT):
                donate_until_acknowledged(http, number * DONATIONS_PER_CLIENT + turn)

    with ThreadPoolExecutor(CLIENTS) as pool:
        running = [pool.submit(client, number) for number in range(CLIENTS)]
        assert fault_at.wait(timeout=120), "the load never reached the fault point"
        throwaway_postgres.stop_immediately()
        stopped_at_s = time.monotonic()
        # The database stays down until the service has said so with a 503 (bounded).
        outage_seen.wait(timeout=OUTAGE_S_MAX)
        first_503_after_s = time.monotonic() - stopped_at_s
        time.sleep(max(0.0, OUTAGE_S_MIN - first_503_after_s))
        throwaway_postgres.start()
        FIGURES.at_least("seconds from database stop to the first 503", round(first_503_after_s))
        for future in running:
            future.result(timeout=300)

    total = CLIENTS * DONATIONS_PER_CLIENT
    assert not unexpected, unexpected
    assert statuses[503] > 0, "the outage was never seen by a client"
    assert retry_after_missing == 0
    assert len(acknowledged) == total
    acknowledged_ids = {event_id for ids in acknowledged.values() for event_id in ids}
    assert len(acknowledged_ids) == total
    ledger = open_ledger(url)
    try:
        assert ledger.fund(fund_id).balance_fen == 100 * total
        stored = {
            f"{n.originator_id}.{n.originator_version}"
            for n in ledger.recorder.select_notifications(1, 1_000_000)
        }
        head = ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()
    FIGURES.add("requests", sum(statuses.values()))
    FIGURES.add("database stops (immediate)")
    FIGURES.add("503 answers during database outage", statuses[503])
    FIGURES.add("409 concurrent-update answers, retried", lost_races)
    FIGURES.add("acknowledged writes checked after faults", total)
    FIGURES.add("events lost", len(acknowledged_ids - stored))
    assert acknowledged_ids <= stored
    with server.client(key) as http:
        balance = http.get(f"/v1/funds/{fund_id}/balance", params={"min_position": head})
        assert balance.status_code == 200, balance.text
        assert balance.json()["balance"] == f"{total}.00"
    with server.client(auditor) as http:
        assert http.get("/v1/audit/verify").json()["ok"] is True
