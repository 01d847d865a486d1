"""Concurrent writers, in threads and in processes, never fork the chain (both stores)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.audit.verify import verify_log
from fundledger.bootstrap import open_ledger
from fundledger.domain.money import Money
from tests.audit.scenario import CLERK, ON, RawStore

WRITERS = 3
COMMANDS_PER_WRITER = 6


def _open_fund(ledger: FundLedger) -> tuple[str, str]:
    donor = ledger.execute(c.RegisterParty("Cadres", "donor", ON), CLERK).resource_id
    fund = ledger.execute(
        c.OpenFund("Cattle fund", "beef cattle", "6222", donor, [], True, ON), CLERK
    ).resource_id
    return donor, fund


def write(database_url: str, fund: str, donor: str, writer: int) -> None:
    """One writer: donations to the shared fund (racing on its stream) and new parties."""
    ledger = open_ledger(database_url, create_tables=False)
    try:
        for n in range(COMMANDS_PER_WRITER):
            ledger.execute(
                c.RecordDonation(fund, donor, Money.parse(f"{writer + 1}.0{n}"), ON), CLERK
            )
            ledger.execute(c.RegisterParty(f"Household {writer}-{n}", "household", ON), CLERK)
    finally:
        ledger.close()


def assert_one_unforked_chain(ledger: FundLedger, database_url: str, events: int) -> None:
    report = verify_log(ledger)
    assert report.ok, report.detail
    assert report.events_checked == events
    counts = RawStore(database_url).sql(
        "SELECT count(*), count(DISTINCT prev_hash), count(DISTINCT hash) FROM event_chain"
    )
    assert counts == [(events, events, events)]


def test_threads_writing_at_once_keep_one_chain(ledger: FundLedger, database_url: str) -> None:
    """Writers in threads of one process each extend the chain from the head they see committed."""
    donor, fund = _open_fund(ledger)
    with ThreadPoolExecutor(WRITERS) as pool:
        for done in [pool.submit(write, database_url, fund, donor, w) for w in range(WRITERS)]:
            done.result()
    assert_one_unforked_chain(ledger, database_url, 2 + WRITERS * COMMANDS_PER_WRITER * 2)


def test_processes_writing_at_once_keep_one_chain(ledger: FundLedger, database_url: str) -> None:
    """Writers in separate processes never link two events to the same predecessor."""
    donor, fund = _open_fund(ledger)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=write, args=(database_url, fund, donor, w)) for w in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert_one_unforked_chain(ledger, database_url, 2 + WRITERS * COMMANDS_PER_WRITER * 2)
