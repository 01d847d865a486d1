"""Read-side metrics: rebuild beside the floor of reading every row, point-in-time balances
(in-process, and beside beancount fed the equivalent ledger file), verify, peak RSS."""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.stores import Store
from fundledger.application.ledger import FundLedger
from projections.read_models import open_read_models
from projections.runner import decode

# Business dates of the workload run from 2025-01-01 into early 2026.
AS_OF_FIRST = date(2025, 1, 1)
AS_OF_DAYS = 420
PAGE_EVENTS = 5_000


@dataclass(frozen=True)
class ChildRun:
    answer: dict[str, Any]
    peak_rss_mb: float


def run_child(what: str, url: str) -> ChildRun:
    """`python -m bench.child WHAT URL` in its own process; its answer and its peak RSS."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.child", what, url],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    lines = done.stdout.strip().splitlines()
    if not lines:
        return ChildRun({"ok": False, "error": done.stderr[-500:]}, 0.0)
    answer: dict[str, Any] = json.loads(lines[-1])
    return ChildRun(answer, float(answer.get("peak_rss_mb", 0.0)))


def as_of_days(count: int, seed: int) -> list[date]:
    rnd = random.Random(seed)
    return [AS_OF_FIRST + timedelta(days=rnd.randrange(AS_OF_DAYS)) for _ in range(count)]


def fund_ids(results_ids: dict[str, str]) -> list[str]:
    return sorted(
        {v for label, v in results_ids.items() if label.startswith("fund:") and "." not in v}
    )


@dataclass(frozen=True)
class Latencies:
    seconds: list[float]

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)


def balances_in_process(
    store: Store, funds: list[str], queries: int, seed: int, ledger: FundLedger | None = None
) -> tuple[Latencies, dict[tuple[str, date], int]]:
    """Time `queries` point-in-time balances of random funds at random dates."""
    rnd = random.Random(seed)
    days = as_of_days(queries, seed)
    answers: dict[tuple[str, date], int] = {}
    seconds: list[float] = []
    unknown: set[str] = set()
    with open_read_models(store.url, follow=False) as read_models:
        for day in days:
            fund = rnd.choice(funds)
            started = time.perf_counter()
            balance = read_models.balance(fund, day)
            seconds.append(time.perf_counter() - started)
            if balance is None:
                unknown.add(fund)
                continue
            answers[(fund, day)] = balance.balance_fen
    if unknown:
        # A fund the ledger holds but the rebuilt read models do not: a read-side fault, shown.
        print(
            f"  the read models do not know {len(unknown)} of {len(funds)} funds,"
            f" e.g. {min(unknown)}"
        )
        if ledger is not None:
            with open_read_models(store.url, follow=False) as read_models:
                position = read_models.position()
            for fund in sorted(unknown)[:3]:
                print(f"    {fund}: {why_unknown(ledger, fund, position)}")
    return Latencies(seconds), answers


def why_unknown(ledger: FundLedger, fund_id: str, read_models_position: int) -> str:
    """Evidence for a fund the read models lack: does the store hold it, were they behind?"""
    head = int(ledger.recorder.max_notification_id() or 0)
    stored = ledger.recorder.select_events(UUID(fund_id), limit=1)
    first = stored[0].topic.rsplit(":", 1)[-1] if stored else "no event in the store"
    return f"first event {first}; read models at {read_models_position:,}, store head {head:,}"


# ---- beancount --------------------------------------------------------------------------------


def _account(fund_id: str) -> str:
    return "Assets:Fund:F" + fund_id.replace("-", "")


def _notifications(ledger: FundLedger) -> Iterator[Any]:
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start, PAGE_EVENTS)
        if not page:
            return
        yield from page
        start = int(page[-1].id) + 1


def write_beancount(ledger: FundLedger, path: Path) -> int:
    """The ledger's cash movements as a beancount file; returns how many transactions."""
    opened: set[str] = set()
    transactions = 0
    with path.open("w") as out:
        out.write('option "operating_currency" "CNY"\n2000-01-01 open Equity:Counterparty\n')
        for notification in _notifications(ledger):
            fact = decode(notification, ledger.mapper)
            movement = fact.movement
            if movement is None or movement.cash_fen == 0 or fact.occurred_on is None:
                continue
            account = _account(movement.fund_id)
            if account not in opened:
                opened.add(account)
                out.write(f"2000-01-01 open {account}\n")
            amount = Decimal(movement.cash_fen).scaleb(-2)
            out.write(
                f'{fact.occurred_on.isoformat()} * "{movement.kind}" "{fact.event_id}"\n'
                f"  {account}  {amount} CNY\n"
                f"  Equity:Counterparty  {-amount} CNY\n\n"
            )
            transactions += 1
    return transactions


@dataclass(frozen=True)
class BeancountAnswer:
    load_seconds: float
    query_seconds: float
    balances_fen: dict[tuple[str, date], int]


def beancount_balances(path: Path, questions: list[tuple[str, date]]) -> BeancountAnswer:
    """What a beancount user runs for each question: load the file, sum the account to a date."""
    from beancount import loader  # noqa: PLC0415 - optional: only this metric needs it
    from beancount.core.data import Transaction  # noqa: PLC0415

    started = time.perf_counter()
    entries, errors, _options = loader.load_file(str(path))
    load_seconds = time.perf_counter() - started
    assert not errors, f"beancount rejected the bench's file: {errors[:3]}"
    started = time.perf_counter()
    answers: dict[tuple[str, date], int] = {}
    for fund, day in questions:
        account = _account(fund)
        total = Decimal(0)
        for entry in entries:
            if isinstance(entry, Transaction) and entry.date <= day:
                for posting in entry.postings:
                    if posting.account == account and posting.units is not None:
                        total += posting.units.number or Decimal(0)
        answers[(fund, day)] = int(total.scaleb(2))
    query_seconds = (time.perf_counter() - started) / max(len(questions), 1)
    return BeancountAnswer(load_seconds, query_seconds, answers)
