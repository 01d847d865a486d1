"""The seed scenario loads on a fresh store of each kind and ends where the report says."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger
from fundledger.cli.app import app
from fundledger.demo.loader import DemoLoad, command_count, load_demo
from fundledger.demo.scenario import CATTLE_FUND_KEY, PROGRAMMES
from fundledger.domain.base import LedgerEvent
from fundledger.domain.errors import IdempotencyKeyReused
from fundledger.domain.fund import Fund
from fundledger.domain.money import Money

# The README's garbled figures (seed/README.md): every event carrying one must say how it was read.
GARBLED_FIGURES_FEN = {
    Money.parse(text).amount_fen for text in ("10500", "100000", "19000", "11950", "88050")
}


@pytest.fixture
def demo_ledger(ledger: FundLedger) -> tuple[FundLedger, DemoLoad]:
    """A fresh store of each kind with the demo loaded."""
    return ledger, load_demo(ledger)


def _stored_events(ledger: FundLedger) -> list[LedgerEvent]:
    notifications = ledger.recorder.select_notifications(1, 100_000)
    events = [ledger.mapper.to_domain_event(n) for n in notifications]
    return [event for event in events if isinstance(event, LedgerEvent)]


def _figures_fen(event: LedgerEvent) -> set[int]:
    names = ("amount_fen", "value_fen", "cap_fen")
    return {getattr(event, name) for name in names if hasattr(event, name)}


def test_the_cattle_fund_ends_at_12000_with_cohorts_of_80_and_40(
    demo_ledger: tuple[FundLedger, DemoLoad],
) -> None:
    """The cattle fund ends at 12,000.00, lent to 80 households, then to 40 others."""
    ledger, loaded = demo_ledger
    cattle = ledger.fund(loaded.fund_ids[CATTLE_FUND_KEY])
    assert cattle.balance == Money.parse("12000.00")
    loans = {cohort: [ledger.loan(i) for i in ids] for cohort, ids in cattle.cohorts.items()}
    assert {cohort: len(cohort_loans) for cohort, cohort_loans in loans.items()} == {
        "1": 80,
        "2": 40,
    }
    borrowers = {loan.borrower_id for cohort_loans in loans.values() for loan in cohort_loans}
    assert len(borrowers) == 120
    assert all(loan.cohort == cohort for cohort, ls in loans.items() for loan in ls)


def test_cohort_one_repaid_half_and_was_granted_the_rest(
    demo_ledger: tuple[FundLedger, DemoLoad],
) -> None:
    """The rollover at 0.5 brought 550.00 back from each first-cohort loan, 44,000 in all."""
    ledger, loaded = demo_ledger
    cattle = ledger.fund(loaded.fund_ids[CATTLE_FUND_KEY])
    first = [ledger.loan(i) for i in cattle.cohorts["1"]]
    assert {(loan.repaid_fen, loan.granted_fen, loan.owed_fen) for loan in first} == {
        (55_000, 55_000, 0)
    }
    assert sum(loan.repaid_fen for loan in first) == Money.parse("44000").amount_fen
    second = [ledger.loan(i) for i in cattle.cohorts["2"]]
    assert {loan.owed_fen for loan in second} == {Money.parse("1100").amount_fen}


def test_programme_a_service_center_fund_is_spent_to_zero_against_vouchers(
    demo_ledger: tuple[FundLedger, DemoLoad],
) -> None:
    """All the service-center money (allocation, grants, matching) left against vouchers."""
    ledger, loaded = demo_ledger
    fund_id = loaded.fund_ids["a.service_center"]
    assert ledger.fund(fund_id).balance_fen == 0
    events = [e for e in _stored_events(ledger) if str(e.originator_id) == fund_id]
    spent = [e for e in events if isinstance(e, Fund.ExpenditurePaid)]
    released = [e for e in events if isinstance(e, Fund.MatchingFundsReleased)]
    assert spent
    assert all(e.voucher["number"] for e in spent)
    assert sum(e.amount_fen for e in released) == Money.parse("19000").amount_fen


def test_programme_b_members_hold_shares_within_the_plan(
    demo_ledger: tuple[FundLedger, DemoLoad],
) -> None:
    """The cooperative sells 1,000.00 shares, 1 to 20 a member, and its members keep to that."""
    ledger, loaded = demo_ledger
    coop = ledger.fund(loaded.fund_ids["b.coop_fund"])
    assert coop.share_plan == {"share_price_fen": 100_000, "shares_min": 1, "shares_max": 20}
    assert coop.shares_by_member
    assert all(1 <= shares <= 20 for shares in coop.shares_by_member.values())


def test_every_garbled_figure_carries_a_note_saying_how_it_was_read(
    demo_ledger: tuple[FundLedger, DemoLoad],
) -> None:
    """Each event whose amount is one of the report's garbled figures explains its reading."""
    ledger, _ = demo_ledger
    # A matching release is derived from its pledge, whose note explains the cap; skip it.
    carrying = [
        event
        for event in _stored_events(ledger)
        if _figures_fen(event) & GARBLED_FIGURES_FEN
        and not isinstance(event, Fund.MatchingFundsReleased)
    ]
    found = set().union(*(_figures_fen(event) for event in carrying))
    assert found >= GARBLED_FIGURES_FEN
    unexplained = [event for event in carrying if "read as" not in event.note]
    assert unexplained == []


def test_loading_the_demo_twice_records_nothing_new(
    demo_ledger: tuple[FundLedger, DemoLoad],
) -> None:
    """A second load replays every command: same ids, no new events."""
    ledger, first = demo_ledger
    position = ledger.recorder.max_notification_id()
    second = load_demo(ledger)
    assert second.already_loaded
    assert second.replayed == command_count() == first.recorded
    assert second.fund_ids == first.fund_ids
    assert ledger.recorder.max_notification_id() == position


def test_a_store_holding_another_version_of_the_demo_is_refused(
    demo_ledger: tuple[FundLedger, DemoLoad],
) -> None:
    """Loading a changed scenario over the stored demo records nothing and says so."""
    ledger, _ = demo_ledger
    position = ledger.recorder.max_notification_id()
    first = PROGRAMMES[0]
    renamed = replace(first, parties=(replace(first.parties[0], name="Another bureau"),))
    with pytest.raises(IdempotencyKeyReused):
        load_demo(ledger, (renamed,))
    assert ledger.recorder.max_notification_id() == position


def test_fundledger_demo_command_loads_then_reports_the_demo_already_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fundledger demo` prints the balances and next steps, and a second run changes nothing."""
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", url)
    runner = CliRunner()
    first = runner.invoke(app, ["demo"])
    assert first.exit_code == 0, first.output
    assert "12000.00" in first.output
    assert "fundledger serve" in first.output
    second = runner.invoke(app, ["demo"])
    assert second.exit_code == 0, second.output
    assert "already held the demo" in second.output
    ledger = open_ledger(url)
    try:
        assert ledger.recorder.max_notification_id() is not None
        assert load_demo(ledger).already_loaded
    finally:
        ledger.close()
