"""Threads of one process racing on one fund take turns instead of starving each other."""

from __future__ import annotations

import threading

import pytest

from fundledger.application import ledger as ledger_module
from fundledger.application.ledger import FundLedger
from fundledger.domain.errors import ConcurrentUpdate
from tests.core.books import Books

THREADS = 8
SPENDS_PER_THREAD = 10


def test_racing_threads_on_one_fund_never_give_up_while_money_remains(
    ledger: FundLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only 2 tries allowed, 8 threads spending from one fund all succeed: they queue."""
    books = Books(ledger)
    fund = books.fund()
    books.donate(fund, "1000.00")
    monkeypatch.setattr(ledger_module, "ATTEMPTS_MAX", 2)
    barrier = threading.Barrier(THREADS)
    gave_up: list[ConcurrentUpdate] = []

    def spender() -> None:
        barrier.wait()
        for _ in range(SPENDS_PER_THREAD):
            try:
                books.spend(fund, "1.00")
            except ConcurrentUpdate as error:
                gave_up.append(error)

    threads = [threading.Thread(target=spender) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert gave_up == []
    assert books.balance_fen(fund) == 100_000 - THREADS * SPENDS_PER_THREAD * 100


def test_an_allocation_and_a_spend_on_the_same_funds_do_not_deadlock(ledger: FundLedger) -> None:
    """Allocations racing in opposite directions take their stream locks in one order."""
    books = Books(ledger)
    first, second = books.fund(), books.fund()
    books.donate(first, "500.00")
    books.donate(second, "500.00")
    barrier = threading.Barrier(2)

    def shuttle(source: str, target: str) -> None:
        barrier.wait()
        for _ in range(20):
            books.allocate(source, target, "1.00")

    threads = [
        threading.Thread(target=shuttle, args=(first, second)),
        threading.Thread(target=shuttle, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert books.balance_fen(first) + books.balance_fen(second) == 100_000
    assert books.balance_fen(first) == 50_000
