"""A writer for the race tests: its own FundLedger on the shared store, in a thread or process.

Module-level so a spawned process can import it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fundledger.application import commands as c
from fundledger.bootstrap import open_ledger
from fundledger.domain.errors import InsufficientFunds
from fundledger.domain.fund import Voucher
from fundledger.domain.money import Money

ON = date(2015, 6, 1)
VOUCHER = Voucher(number="R-1", date="2015-06-01", description="race")
WON = "won"
REFUSED = "refused"


def spend_from_each(
    database_url: str, fund_ids: list[str], payee: str, amount: str, barrier: Any
) -> list[str]:
    """For each fund in turn: wait for the other writer, then try to spend `amount` from it.

    Every fund is read first, so this writer decides on a cached state that the other writer
    may make stale: the race the store's optimistic concurrency must win.
    """
    ledger = open_ledger(database_url, create_tables=False)
    outcomes: list[str] = []
    try:
        for fund_id in fund_ids:
            ledger.fund(fund_id)
        for fund_id in fund_ids:
            barrier.wait()
            command = c.PayExpenditure(
                fund_id, payee, Money.parse(amount), "construction", VOUCHER, ON
            )
            try:
                ledger.execute(command, c.CommandContext(actor="racer"))
            except InsufficientFunds:
                outcomes.append(REFUSED)
            else:
                outcomes.append(WON)
    finally:
        ledger.close()
    return outcomes


def spend_in_process(race: tuple[str, list[str], str, str], barrier: Any, results: Any) -> None:
    """Process entry point: (database_url, fund_ids, payee, amount); outcomes go on a queue."""
    results.put(spend_from_each(*race, barrier))
