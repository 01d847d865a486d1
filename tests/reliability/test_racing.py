"""Racing writers through two `fundledger serve` processes on one PostgreSQL database."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from fundledger.application.ledger import FundLedger
from tests.reliability.conftest import ServerFactory, seed_funds
from tests.reliability.figures import FIGURES
from tests.reliability.harness import create_key, problem_rule

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 8
# A refusal names the rule: no money left, or (rarely, many writers on one fund) a command that
# lost the optimistic-concurrency race every time it tried; both record nothing.
CLEAN_CONFLICTS = {"insufficient-funds", "concurrent-update"}


def _expenditure(party_id: str, number: int) -> dict[str, Any]:
    return {
        "payee": party_id,
        "amount": "1.00",
        "category": "cattle",
        "occurred_on": "2016-05-10",
        "voucher": {"number": f"V-{number}", "date": "2016-05-10", "description": "calf"},
    }


def _race(
    base_urls: list[str],
    key: str,
    requests_per_client: int,
    request: Callable[[int], tuple[str, Any]],
) -> list[httpx.Response]:
    """CLIENTS threads released together, each sending its requests to the servers in turn."""
    start = threading.Barrier(CLIENTS)

    def client(number: int) -> list[httpx.Response]:
        answers = []
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(headers=headers, timeout=60.0) as http:
            start.wait(timeout=60)
            for turn in range(requests_per_client):
                path, body = request(number * requests_per_client + turn)
                base_url = base_urls[(number + turn) % len(base_urls)]
                answers.append(http.post(f"{base_url}{path}", json=body))
        return answers

    FIGURES.at_least("concurrent clients", CLIENTS)
    FIGURES.at_least("concurrent API processes", len(base_urls))
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [answer for answers in pool.map(client, range(CLIENTS)) for answer in answers]
    FIGURES.add("requests", len(answers))
    FIGURES.add("racing requests refused with 409", sum(a.status_code == 409 for a in answers))
    return answers


def _running_balances_fen(http: httpx.Client, fund_id: str, position: int) -> list[int]:
    """Every running balance of the fund's ledger, read from the projections."""
    balances: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, "min_position": position}
        if cursor:
            params["cursor"] = cursor
        page = http.get(f"/v1/funds/{fund_id}/ledger", params=params)
        assert page.status_code == 200, page.text
        balances += [round(float(item["running_balance"]) * 100) for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return balances


def test_spenders_racing_through_two_servers_take_exactly_what_the_fund_holds(
    store: FundLedger, postgres_url: str, serve: ServerFactory
) -> None:
    """160 spends of 1.00 from a fund holding 100.00: exactly 100 are 201, the rest 409."""
    seeded = seed_funds(store, (10_000,))
    fund_id = seeded.fund_ids[0]
    key = create_key(postgres_url, "clerk", "racing-clerk")
    servers = [serve(postgres_url, "a"), serve(postgres_url, "b")]
    answers = _race(
        [server.base_url for server in servers],
        key,
        20,
        lambda n: (f"/v1/funds/{fund_id}/expenditures", _expenditure(seeded.party_id, n)),
    )
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: 100, 409: 60}, statuses
    assert {problem_rule(a) for a in answers if a.status_code == 409} <= CLEAN_CONFLICTS
    assert store.fund(fund_id).balance_fen == 0
    head = max(answer.json()["position"] for answer in answers if answer.status_code == 201)
    with servers[1].client(key) as http:
        running = _running_balances_fen(http, fund_id, head)
    assert min(running) == 0
    assert len(running) == 1 + 100  # the opening donation and every accepted spend


def test_allocations_racing_in_opposite_directions_neither_deadlock_nor_leak(
    store: FundLedger, postgres_url: str, serve: ServerFactory
) -> None:
    """Allocations A->B and B->A at once: all answered, no 5xx, the total stays, none below zero."""
    seeded = seed_funds(store, (2_000, 2_000))
    fund_a, fund_b = seeded.fund_ids
    key = create_key(postgres_url, "clerk", "allocating-clerk")
    servers = [serve(postgres_url, "a"), serve(postgres_url, "b")]

    def allocation(number: int) -> tuple[str, Any]:
        source, target = (fund_a, fund_b) if number % 2 == 0 else (fund_b, fund_a)
        body = {
            "from_fund": source,
            "to_fund": target,
            "amount": "3.00",
            "occurred_on": "2016-06-01",
            "purpose": "road",
        }
        return "/v1/allocations", body

    answers = _race([server.base_url for server in servers], key, 16, allocation)
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert {problem_rule(a) for a in answers if a.status_code == 409} <= CLEAN_CONFLICTS
    moved_fen = Counter[str]()
    for answer in answers:
        if answer.status_code == 201:
            moved_fen[answer.json()["to_fund"]] += 300
            moved_fen[answer.json()["from_fund"]] -= 300
    balance_a, balance_b = store.fund(fund_a).balance_fen, store.fund(fund_b).balance_fen
    assert (balance_a, balance_b) == (2_000 + moved_fen[fund_a], 2_000 + moved_fen[fund_b])
    head = store.recorder.max_notification_id() or 0
    with servers[0].client(key) as http:
        for fund_id in (fund_a, fund_b):
            assert min(_running_balances_fen(http, fund_id, head)) >= 0


def test_one_idempotency_key_sent_at_once_through_two_servers_records_once(
    store: FundLedger, postgres_url: str, serve: ServerFactory
) -> None:
    """The same keyed donation sent by 8 clients at once: one set of events, identical answers."""
    seeded = seed_funds(store, (0,))
    fund_id = seeded.fund_ids[0]
    key = create_key(postgres_url, "clerk", "retrying-clerk")
    servers = [serve(postgres_url, "a"), serve(postgres_url, "b")]
    head_before = store.recorder.max_notification_id() or 0
    body = {"donor": seeded.party_id, "amount": "250.00", "occurred_on": "2016-03-01"}
    path = f"/v1/funds/{fund_id}/donations"
    start = threading.Barrier(CLIENTS)

    def send(number: int) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "donation-2016-03-01"}
        with httpx.Client(headers=headers, timeout=60.0) as http:
            start.wait(timeout=60)
            return http.post(f"{servers[number % 2].base_url}{path}", json=body)

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(send, range(CLIENTS)))
    FIGURES.add("requests", len(answers))
    created = [answer for answer in answers if answer.status_code == 201]
    refused = [answer for answer in answers if answer.status_code != 201]
    assert created, [answer.text for answer in answers]
    assert all(answer.status_code == 409 for answer in refused), [a.text for a in refused]
    assert len({answer.content for answer in created}) == 1
    event_ids = created[0].json()["event_ids"]
    new_events = list(store.recorder.select_notifications(head_before + 1, 1000))
    assert [f"{n.originator_id}.{n.originator_version}" for n in new_events] == event_ids
    assert store.fund(fund_id).balance_fen == 25_000
