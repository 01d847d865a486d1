"""The ledger records and reloads on both stores (the quick check; tests/core has the rest)."""

from __future__ import annotations

from datetime import date

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger
from fundledger.domain.money import Money

ON = date(2015, 3, 1)
CLERK = c.CommandContext(actor="clerk")


def test_a_donation_is_recorded_and_reloaded(ledger: FundLedger, database_url: str) -> None:
    """A donation raises the fund's balance, and a new application on the same store sees it."""
    bureau = ledger.execute(c.RegisterParty("Bureau", "government", ON), CLERK).resource_id
    fund = ledger.execute(
        c.OpenFund("Cattle", "beef cattle", "6222", bureau, ["cattle"], True, ON), CLERK
    ).resource_id
    recorded = ledger.execute(c.RecordDonation(fund, bureau, Money.parse("11950"), ON), CLERK)
    assert recorded.position == ledger.recorder.max_notification_id()
    assert ledger.fund(fund).balance_fen == 1_195_000
    fresh = open_ledger(database_url, create_tables=False)
    try:
        assert fresh.fund(fund).balance == Money.parse("11950.00")
    finally:
        fresh.close()
