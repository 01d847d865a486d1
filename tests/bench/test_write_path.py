"""The fast write paths keep every rule: batches are all-or-nothing and chained, a stale cache
never lets a rule slip, snapshots taken from memory load back the same state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.audit.verify import verify_log
from fundledger.bootstrap import open_ledger
from fundledger.domain.errors import InsufficientFunds
from fundledger.domain.money import Money

CLERK = c.CommandContext(actor="clerk")
DAY = date(2025, 3, 1)


def _fund_with_donor(ledger: FundLedger) -> tuple[str, str, str]:
    """(fund id, donor id, vendor id) of a fresh fund that spends on materials."""
    custodian = ledger.execute(c.RegisterParty("Accountant", "individual", DAY), CLERK)
    donor = ledger.execute(c.RegisterParty("Cadre", "donor", DAY), CLERK)
    vendor = ledger.execute(c.RegisterParty("Supplier", "vendor", DAY), CLERK)
    fund = ledger.execute(
        c.OpenFund(
            "Service centre", "build it", "6222", custodian.resource_id, ["materials"], False, DAY
        ),
        CLERK,
    )
    return fund.resource_id, donor.resource_id, vendor.resource_id


def _spend(fund: str, vendor: str, yuan: str, number: str) -> c.PayExpenditure:
    voucher = {"number": number, "date": DAY.isoformat(), "description": "bricks"}
    return c.PayExpenditure(fund, vendor, Money.parse(yuan), "materials", voucher, DAY)  # type: ignore[arg-type]


def _position(ledger: FundLedger) -> int:
    return int(ledger.recorder.max_notification_id() or 0)


@pytest.fixture
def second_ledger(ledger: FundLedger, database_url: str) -> Iterator[FundLedger]:
    """Another process's ledger on the same store (its own aggregate cache)."""
    other = open_ledger(database_url)
    yield other
    other.close()


def test_a_batch_stores_every_command_in_order_with_its_chain_link(ledger: FundLedger) -> None:
    """All of a batch's events are stored in command order and the audit chain verifies."""
    fund, donor, vendor = _fund_with_donor(ledger)
    before = _position(ledger)
    commands: list[c.Command] = [
        c.RecordDonation(fund, donor, Money.parse("500"), DAY),
        _spend(fund, vendor, "120.50", "V1"),
        c.RecordDonation(fund, donor, Money.parse("30"), DAY),
        _spend(fund, vendor, "409.50", "V2"),
    ]
    recorded = ledger.execute_batch(commands, CLERK)
    assert [len(r.event_ids) for r in recorded] == [1, 1, 1, 1]
    versions = [int(r.event_ids[0].rsplit(".", 1)[1]) for r in recorded]
    assert versions == sorted(versions)
    assert len(set(versions)) == 4
    assert [r.position for r in recorded] == sorted(r.position for r in recorded)
    assert recorded[-1].position == _position(ledger) > before
    assert ledger.fund(fund).balance_fen == 0
    assert verify_log(ledger).ok


def test_a_batch_with_one_broken_rule_records_nothing(ledger: FundLedger) -> None:
    """An overdraft in the third command rejects the whole batch, naming that command."""
    fund, donor, vendor = _fund_with_donor(ledger)
    before = _position(ledger)
    commands: list[c.Command] = [
        c.RecordDonation(fund, donor, Money.parse("100"), DAY),
        _spend(fund, vendor, "60", "V1"),
        _spend(fund, vendor, "60", "V2"),
    ]
    with pytest.raises(InsufficientFunds) as raised:
        ledger.execute_batch(commands, CLERK)
    assert any("command 2 of the batch" in note for note in raised.value.__notes__)
    assert _position(ledger) == before
    assert ledger.fund(fund).balance_fen == 0
    # The rejected batch left no trace in the cache either: the same commands, fixed, pass.
    ledger.execute_batch(commands[:2], CLERK)
    assert ledger.fund(fund).balance_fen == 4_000


def test_a_stale_cache_cannot_overdraw_a_fund(
    ledger: FundLedger, second_ledger: FundLedger
) -> None:
    """A spend decided on this process's stale copy is re-decided on the store's state."""
    fund, donor, vendor = _fund_with_donor(ledger)
    ledger.execute(c.RecordDonation(fund, donor, Money.parse("100"), DAY), CLERK)
    ledger.execute(_spend(fund, vendor, "10", "V0"), CLERK)  # caches the fund at 90 yuan
    second_ledger.execute(_spend(fund, vendor, "80", "V1"), CLERK)  # the store now holds 10
    with pytest.raises(InsufficientFunds):
        ledger.execute(_spend(fund, vendor, "50", "V2"), CLERK)
    assert second_ledger.fund(fund).balance_fen == 1_000
    assert verify_log(ledger).ok


def test_a_stale_cache_does_not_refuse_a_covered_spend(
    ledger: FundLedger, second_ledger: FundLedger
) -> None:
    """Money another process received counts, though this process's cached copy lacks it."""
    fund, donor, vendor = _fund_with_donor(ledger)
    ledger.execute(c.RecordDonation(fund, donor, Money.parse("10"), DAY), CLERK)  # cached: 10
    second_ledger.execute(c.RecordDonation(fund, donor, Money.parse("90"), DAY), CLERK)
    ledger.execute(_spend(fund, vendor, "100", "V1"), CLERK)
    assert second_ledger.fund(fund).balance_fen == 0


def test_snapshots_taken_from_memory_load_back_the_same_fund(
    ledger: FundLedger, database_url: str
) -> None:
    """A fund past its snapshot interval, one by one and in a batch, reloads equal elsewhere."""
    fund, donor, _vendor = _fund_with_donor(ledger)
    for n in range(120):
        ledger.execute(c.RecordDonation(fund, donor, Money.parse(f"{n + 1}"), DAY), CLERK)
    batch: list[c.Command] = [
        c.RecordDonation(fund, donor, Money.parse("7.01"), DAY) for _ in range(150)
    ]
    ledger.execute_batch(batch, CLERK)
    mine = ledger.fund(fund)
    snapshots = list(ledger.snapshots.get(mine.id)) if ledger.snapshots is not None else []
    assert len(snapshots) >= 2
    fresh = open_ledger(database_url)
    try:
        theirs = fresh.fund(fund)
    finally:
        fresh.close()
    assert theirs.version == mine.version == 271
    assert theirs.balance_fen == mine.balance_fen == sum(range(1, 121)) * 100 + 150 * 701
    assert vars(theirs) == vars(mine)
