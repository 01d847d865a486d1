"""SIGKILL of an API process while clients write: nothing acknowledged is lost or half-written.

The projection worker killed mid-batch is tested in tests/projections/test_properties.py
(`test_a_worker_killed_mid_batch_recovers_to_a_clean_rebuild`, on both stores); not repeated here.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from fundledger.application.ledger import FundLedger
from tests.reliability.conftest import ServerFactory, seed_funds
from tests.reliability.figures import FIGURES
from tests.reliability.harness import Server, create_key

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 4
DONATIONS_PER_CLIENT = 30
ACKNOWLEDGED_BEFORE_KILL = 25


def _all_event_ids(ledger: FundLedger) -> list[str]:
    return [
        f"{n.originator_id}.{n.originator_version}"
        for n in ledger.recorder.select_notifications(1, 1_000_000)
    ]


def _ledger_event_ids(http: httpx.Client, fund_id: str, position: int) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, "min_position": position}
        if cursor:
            params["cursor"] = cursor
        page = http.get(f"/v1/funds/{fund_id}/ledger", params=params)
        assert page.status_code == 200, page.text
        found |= {item["event_id"] for item in page.json()["items"]}
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


def test_api_killed_while_clients_write_loses_and_half_writes_nothing(
    store: FundLedger, postgres_url: str, serve: ServerFactory
) -> None:
    """Kill one of two servers mid-load; clients retry their keyed donations on the other; after
    a restart every acknowledged donation is stored once, chained, and in the projections."""
    seeded = seed_funds(store, (0,))
    fund_id = seeded.fund_ids[0]
    key = create_key(postgres_url, "clerk", "crash-clerk")
    auditor = create_key(postgres_url, "auditor", "crash-auditor")
    doomed, survivor = serve(postgres_url, "doomed"), serve(postgres_url, "survivor")
    acknowledged: dict[str, list[str]] = {}
    lock = threading.Lock()
    killed = threading.Event()
    transport_errors = 0

    def donate(http: httpx.Client, server: Server, number: int) -> httpx.Response:
        body = {"donor": seeded.party_id, "amount": "1.00", "occurred_on": "2016-03-01"}
        headers = {"Idempotency-Key": f"crash-{number}"}
        return http.post(
            f"{server.base_url}/v1/funds/{fund_id}/donations", json=body, headers=headers
        )

    def client(number: int) -> None:
        nonlocal transport_errors
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60.0) as http:
            for turn in range(DONATIONS_PER_CLIENT):
                donation = number * DONATIONS_PER_CLIENT + turn
                target = doomed if number % 2 == 0 and not killed.is_set() else survivor
                try:
                    answer = donate(http, target, donation)
                except httpx.TransportError:
                    with lock:
                        transport_errors += 1
                    answer = donate(http, survivor, donation)  # the client's retry, same key
                assert answer.status_code == 201, answer.text
                with lock:
                    acknowledged[f"crash-{donation}"] = answer.json()["event_ids"]
                    if len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL and not killed.is_set():
                        killed.set()
                        doomed.kill()

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))

    assert killed.is_set()
    total = CLIENTS * DONATIONS_PER_CLIENT
    assert len(acknowledged) == total
    stored = _all_event_ids(store)
    acknowledged_ids = [event_id for ids in acknowledged.values() for event_id in ids]
    assert len(set(acknowledged_ids)) == total, "a retry recorded a second set of events"
    FIGURES.add("requests", total + transport_errors)
    FIGURES.add("API processes killed (SIGKILL)")
    FIGURES.add("requests cut off by a kill, retried", transport_errors)
    FIGURES.add("acknowledged writes checked after faults", total)
    FIGURES.add("events lost", len(set(acknowledged_ids) - set(stored)))
    assert set(acknowledged_ids) <= set(stored)
    assert store.fund(fund_id).balance_fen == 100 * total
    restarted = serve(postgres_url, "restarted")
    head = store.recorder.max_notification_id() or 0
    with restarted.client(key) as http:
        assert set(acknowledged_ids) <= _ledger_event_ids(http, fund_id, head)
        balance = http.get(f"/v1/funds/{fund_id}/balance", params={"min_position": head})
        assert balance.json()["balance"] == f"{total}.00"
    with restarted.client(auditor) as http:
        verified = http.get("/v1/audit/verify").json()
    assert verified["ok"] is True, verified
    assert verified["events_checked"] == len(stored)
