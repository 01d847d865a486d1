"""Commands through the application: unknown ids, allocation, matching, repayment, rollover."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from fundledger.application import commands as c
from fundledger.domain.errors import (
    FundNotRevolving,
    InsufficientFunds,
    InvalidInput,
    RepaymentExceedsOwed,
    UnknownCohort,
    UnknownEvent,
    UnknownFund,
    UnknownLoan,
    UnknownParty,
)
from fundledger.domain.fund import Fund
from fundledger.domain.money import Money
from tests.core.books import DUE, ON, Books

# ---- unknown ids -------------------------------------------------------------------------------


def test_an_unknown_fund_is_its_own_error_and_records_nothing(books: Books) -> None:
    """A donation to a fund that does not exist is UnknownFund; the store does not move."""
    donor = books.party()
    position = books.position()
    for fund_id in (str(uuid4()), "not-a-uuid", donor):
        with pytest.raises(UnknownFund):
            books.run(c.RecordDonation(fund_id, donor, Money.parse("1"), ON))
    assert books.position() == position


def test_an_unknown_party_is_its_own_error(books: Books) -> None:
    """A donor, payee, custodian or borrower that does not exist is UnknownParty."""
    fund = books.fund(revolving=True)
    books.donate(fund, "100")
    position = books.position()
    with pytest.raises(UnknownParty):
        books.run(c.RecordDonation(fund, str(uuid4()), Money.parse("1"), ON))
    with pytest.raises(UnknownParty):
        books.run(c.HandOverCustody(fund, fund, ON))
    with pytest.raises(UnknownParty):
        books.run(c.DisburseLoan(fund, str(uuid4()), Money.parse("1"), "1", ON, DUE))
    with pytest.raises(UnknownParty):
        books.run(c.OpenFund("F", "p", "b", str(uuid4()), [], False, ON))
    assert books.position() == position


def test_an_unknown_loan_is_its_own_error(books: Books) -> None:
    """Repaying a loan that does not exist (or a fund id) is UnknownLoan."""
    fund = books.fund()
    for loan_id in (str(uuid4()), fund, "x"):
        with pytest.raises(UnknownLoan):
            books.repay(loan_id, "1")


def test_an_unknown_event_is_its_own_error(books: Books) -> None:
    """Reversing an event id that names no event is UnknownEvent."""
    fund = books.fund()
    for event_id in (f"{fund}.99", f"{uuid4()}.1", f"{fund}.0", "garbage", f"{fund}.x"):
        with pytest.raises(UnknownEvent):
            books.reverse(event_id)


def test_an_unknown_cohort_is_its_own_error(books: Books) -> None:
    """Rolling over a cohort the fund never lent to is UnknownCohort."""
    fund = books.fund(revolving=True)
    with pytest.raises(UnknownCohort):
        books.roll_over(fund, "0.5", cohort="7")


# ---- allocation --------------------------------------------------------------------------------


def test_an_allocation_changes_both_funds_in_one_save(books: Books) -> None:
    """Both sides are recorded together, each naming the other; both balances move."""
    source, target = books.fund(), books.fund()
    books.donate(source, "100000")
    recorded = books.allocate(source, target, "100000")
    assert len(recorded.event_ids) == 2
    sent, received = (books.ledger.event(event_id) for event_id in recorded.event_ids)
    assert isinstance(sent, Fund.AllocationSent)
    assert isinstance(received, Fund.AllocationReceived)
    assert sent.counterpart_event_id == recorded.event_ids[1]
    assert received.counterpart_event_id == recorded.event_ids[0]
    assert (books.balance_fen(source), books.balance_fen(target)) == (0, 10_000_000)


def test_a_refused_allocation_changes_neither_fund(books: Books) -> None:
    """Overdrawing, an unknown target or the same fund on both sides records nothing."""
    source, target = books.fund(), books.fund()
    books.donate(source, "10")
    position = books.position()
    with pytest.raises(InsufficientFunds):
        books.allocate(source, target, "10.01")
    with pytest.raises(UnknownFund):
        books.allocate(source, str(uuid4()), "1")
    with pytest.raises(InvalidInput):
        books.allocate(source, source, "1")
    assert books.position() == position
    assert (books.balance_fen(source), books.balance_fen(target)) == (1_000, 0)


# ---- matching ----------------------------------------------------------------------------------


def test_matching_releases_follow_each_later_cash_donation_up_to_the_cap(books: Books) -> None:
    """A 1:1 grant capped at 19,000 releases 19,000.00 exactly on a 50,000 donation."""
    fund = books.fund()
    books.pledge(fund, "1", "19000")
    recorded = books.donate(fund, "50000")
    assert len(recorded.event_ids) == 2
    release = books.ledger.event(recorded.event_ids[1])
    assert isinstance(release, Fund.MatchingFundsReleased)
    assert release.amount_fen == 1_900_000
    assert release.donation_event_id == recorded.event_ids[0]
    assert len(books.donate(fund, "1").event_ids) == 1
    assert books.balance_fen(fund) == 5_000_000 + 1_900_000 + 100


def test_in_kind_donations_are_not_matched(books: Books) -> None:
    """Goods are valued but bring no matching money and no cash."""
    fund = books.fund()
    books.pledge(fund, "1", "1000")
    recorded = books.give_in_kind(fund, "500")
    assert len(recorded.event_ids) == 1
    assert books.balance_fen(fund) == 0
    assert books.ledger.fund(fund).in_kind_value_fen == 50_000


def test_two_matching_grants_each_release_their_share(books: Books) -> None:
    """Two open grants both match the same donation, each up to its own cap."""
    fund = books.fund()
    books.pledge(fund, "0.5", "10")
    books.pledge(fund, "2", "1000")
    books.donate(fund, "100")
    assert books.balance_fen(fund) == 10_000 + 1_000 + 20_000


# ---- loans and repayment -----------------------------------------------------------------------


def test_repayment_is_never_above_what_is_owed(books: Books) -> None:
    """Repaying one fen above what is owed is refused and changes neither fund nor loan."""
    fund = books.fund(revolving=True)
    books.donate(fund, "2000")
    loan = books.lend(fund, "1100")
    books.repay(loan, "1000")
    position = books.position()
    with pytest.raises(RepaymentExceedsOwed):
        books.repay(loan, "100.01")
    assert books.position() == position
    assert (books.owed_fen(loan), books.balance_fen(fund)) == (10_000, 190_000)
    books.repay(loan, "100")
    assert books.owed_fen(loan) == 0


def test_a_fund_that_is_not_revolving_does_not_lend(books: Books) -> None:
    """Lending from a plain fund is FundNotRevolving."""
    fund = books.fund(revolving=False)
    books.donate(fund, "2000")
    with pytest.raises(FundNotRevolving):
        books.lend(fund, "1100")


# ---- rollover ----------------------------------------------------------------------------------


def test_rollover_repays_ratio_times_principal_and_grants_the_rest(books: Books) -> None:
    """At 0.5 each 1,100.00 loan repays 550.00 into the fund; 550.00 becomes a grant."""
    fund = books.fund(revolving=True)
    books.donate(fund, "2200")
    loans = [books.lend(fund, "1100") for _ in range(2)]
    books.roll_over(fund, "0.5", "grant")
    assert books.balance_fen(fund) == 110_000
    for loan_id in loans:
        loan = books.ledger.loan(loan_id)
        assert (loan.repaid_fen, loan.granted_fen, loan.owed_fen) == (55_000, 55_000, 0)


def test_rollover_with_remainder_outstanding_leaves_the_rest_owed(books: Books) -> None:
    """remainder=outstanding: ratio x principal comes back, the rest stays owed."""
    fund = books.fund(revolving=True)
    books.donate(fund, "1100")
    loan = books.lend(fund, "1100")
    books.roll_over(fund, "0.5", "outstanding")
    assert (books.owed_fen(loan), books.balance_fen(fund)) == (55_000, 55_000)
    books.roll_over(fund, "0.5", "outstanding")
    assert (books.owed_fen(loan), books.balance_fen(fund)) == (0, 110_000)


def test_rollover_rounds_half_up_to_the_fen(books: Books) -> None:
    """0.5 x 0.03 is 0.015: 0.02 comes back and 0.01 is granted."""
    fund = books.fund(revolving=True)
    books.donate(fund, "0.03")
    loan = books.lend(fund, "0.03")
    books.roll_over(fund, "0.5")
    assert (books.ledger.loan(loan).repaid_fen, books.ledger.loan(loan).granted_fen) == (2, 1)
    assert books.balance_fen(fund) == 2


def test_rollover_takes_no_more_than_is_still_owed(books: Books) -> None:
    """A loan already repaid 1,000 of 1,100 repays only the 100 still owed at the rollover."""
    fund = books.fund(revolving=True)
    books.donate(fund, "1100")
    loan = books.lend(fund, "1100")
    books.repay(loan, "1000")
    recorded = books.roll_over(fund, "0.5")
    event = books.ledger.event(recorded.event_ids[0])
    assert isinstance(event, Fund.CohortRolledOver)
    assert (event.repaid_fen, event.granted_fen) == (10_000, 0)
    assert books.owed_fen(loan) == 0


@pytest.mark.parametrize(("ratio", "remainder"), [("0", "grant"), ("1.01", "grant"), ("0.5", "x")])
def test_rollover_ratio_and_remainder_are_checked(books: Books, ratio: str, remainder: str) -> None:
    """0 < ratio <= 1, and the remainder is "grant" or "outstanding"."""
    fund = books.fund(revolving=True)
    books.donate(fund, "1100")
    books.lend(fund, "1100")
    position = books.position()
    with pytest.raises(InvalidInput):
        books.run(c.RollOverCohort(fund, "1", Decimal(ratio), remainder, DUE))
    assert books.position() == position


def test_a_cohort_with_nothing_owed_cannot_roll_over(books: Books) -> None:
    """Rolling over a fully repaid cohort is refused: nothing is left to roll over."""
    fund = books.fund(revolving=True)
    books.donate(fund, "1100")
    loan = books.lend(fund, "1100")
    books.repay(loan, "1100")
    with pytest.raises(InvalidInput):
        books.roll_over(fund, "0.5")
