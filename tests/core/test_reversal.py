"""Reversal: a new event points at the original, which stays; each undoes all it recorded."""

from __future__ import annotations

import pytest

from fundledger.domain.errors import AlreadyReversed, InsufficientFunds, NotReversible
from fundledger.domain.fund import Fund
from tests.core.books import Books


def test_a_reversal_is_a_new_event_and_the_original_stays(books: Books) -> None:
    """The donation is still in the log after its reversal, which names it."""
    fund = books.fund()
    donation_id = books.donate(fund, "100").event_ids[0]
    recorded = books.reverse(donation_id)
    reversal = books.ledger.event(recorded.resource_id)
    assert isinstance(reversal, Fund.EventReversed)
    assert reversal.original_event_id == donation_id
    assert isinstance(books.ledger.event(donation_id), Fund.DonationReceived)
    assert books.balance_fen(fund) == 0


def test_an_event_cannot_be_reversed_twice(books: Books) -> None:
    """The second reversal of the same event is AlreadyReversed and records nothing."""
    fund = books.fund()
    donation_id = books.donate(fund, "100").event_ids[0]
    books.donate(fund, "100")
    books.reverse(donation_id)
    position = books.position()
    with pytest.raises(AlreadyReversed):
        books.reverse(donation_id)
    assert books.position() == position
    assert books.balance_fen(fund) == 10_000


def test_a_reversal_itself_cannot_be_reversed(books: Books) -> None:
    """Reversing a reversal is NotReversible (record the fact again instead)."""
    fund = books.fund()
    reversal_id = books.reverse(books.donate(fund, "100").event_ids[0]).resource_id
    with pytest.raises(NotReversible):
        books.reverse(reversal_id)


def test_events_that_move_no_money_cannot_be_reversed(books: Books) -> None:
    """Opening a fund or pledging matching moves no money: NotReversible."""
    fund = books.fund()
    pledge_id = books.pledge(fund, "1", "100").event_ids[0]
    for event_id in (f"{fund}.1", pledge_id):
        with pytest.raises(NotReversible):
            books.reverse(event_id)


@pytest.mark.parametrize("side", [0, 1])
def test_reversing_an_allocation_undoes_both_sides(books: Books, side: int) -> None:
    """From either side's event id, both funds go back and both events are marked reversed."""
    source, target = books.fund(), books.fund()
    books.donate(source, "100")
    recorded = books.allocate(source, target, "60")
    reversal = books.reverse(recorded.event_ids[side])
    assert len(reversal.event_ids) == 2
    assert (books.balance_fen(source), books.balance_fen(target)) == (10_000, 0)
    for event_id in recorded.event_ids:
        with pytest.raises(AlreadyReversed):
            books.reverse(event_id)


def test_an_allocation_already_spent_by_the_target_cannot_be_reversed(books: Books) -> None:
    """Undoing it would take the target below zero: refused, both funds unchanged."""
    source, target = books.fund(), books.fund()
    books.donate(source, "100")
    recorded = books.allocate(source, target, "100")
    books.spend(target, "50")
    position = books.position()
    with pytest.raises(InsufficientFunds):
        books.reverse(recorded.event_ids[0])
    assert books.position() == position
    assert (books.balance_fen(source), books.balance_fen(target)) == (0, 5_000)


def test_a_donations_matching_releases_go_with_it(books: Books) -> None:
    """Reversing a matched donation also reverses its release and reopens the cap."""
    fund = books.fund()
    books.pledge(fund, "1", "30")
    donation = books.donate(fund, "20")
    books.reverse(donation.event_ids[0])
    assert books.balance_fen(fund) == 0
    grant = next(iter(books.ledger.fund(fund).matching_grants.values()))
    assert grant["released_fen"] == 0
    books.donate(fund, "50")
    assert books.balance_fen(fund) == 5_000 + 3_000


def test_a_release_reversed_alone_is_not_reversed_again_with_its_donation(books: Books) -> None:
    """A release reversed on its own is skipped when its donation is reversed later."""
    fund = books.fund()
    books.pledge(fund, "0.5", "100")
    donation = books.donate(fund, "20")
    books.reverse(donation.event_ids[1])
    assert books.balance_fen(fund) == 2_000
    books.reverse(donation.event_ids[0])
    assert books.balance_fen(fund) == 0


def test_reversing_an_in_kind_gift_takes_back_its_value(books: Books) -> None:
    """The in-kind value falls; the cash balance is untouched."""
    fund = books.fund()
    books.donate(fund, "10")
    gift = books.give_in_kind(fund, "4000")
    books.reverse(gift.event_ids[0])
    assert books.ledger.fund(fund).in_kind_value_fen == 0
    assert books.balance_fen(fund) == 1_000


def test_reversing_an_expenditure_puts_the_money_back(books: Books) -> None:
    """An expenditure entered in error is undone."""
    fund = books.fund()
    books.donate(fund, "10")
    spent = books.spend(fund, "4")
    books.reverse(spent.event_ids[0])
    assert books.balance_fen(fund) == 1_000


@pytest.mark.parametrize("from_loan_stream", [False, True])
def test_reversing_a_disbursement_voids_the_loan(books: Books, from_loan_stream: bool) -> None:
    """The principal returns, the loan owes nothing and leaves its cohort."""
    fund = books.fund(revolving=True)
    books.donate(fund, "1100")
    loan = books.lend(fund, "1100")
    disbursed_id = next(
        f"{e.originator_id}.{e.originator_version}"
        for e in books.stored_events()
        if isinstance(e, Fund.LoanDisbursed) and e.loan_id == loan
    )
    event_id = f"{loan}.1" if from_loan_stream else disbursed_id
    books.reverse(event_id)
    assert books.balance_fen(fund) == 110_000
    assert books.ledger.loan(loan).cancelled
    assert books.owed_fen(loan) == 0
    assert books.ledger.fund(fund).cohorts["1"] == []


def test_a_loan_with_repayments_cannot_be_voided(books: Books) -> None:
    """Reverse the repayments first; until then voiding is NotReversible."""
    fund = books.fund(revolving=True)
    books.donate(fund, "1100")
    loan = books.lend(fund, "1100")
    repayment = books.repay(loan, "100")
    with pytest.raises(NotReversible):
        books.reverse(f"{loan}.1")
    books.reverse(f"{loan}.2")  # the loan's Repaid event names the fund event it mirrors
    assert books.owed_fen(loan) == 110_000
    with pytest.raises(AlreadyReversed):
        books.reverse(repayment.event_ids[0])
    books.reverse(f"{loan}.1")
    assert books.balance_fen(fund) == 110_000


def test_reversing_a_rollover_restores_each_loan(books: Books) -> None:
    """Each loan owes again what it owed before; the repaid money leaves the fund again."""
    fund = books.fund(revolving=True)
    books.donate(fund, "2200")
    loans = [books.lend(fund, "1100") for _ in range(2)]
    books.repay(loans[0], "100")
    before = {loan: books.owed_fen(loan) for loan in loans}
    balance_before = books.balance_fen(fund)
    rollover = books.roll_over(fund, "0.5")
    books.reverse(rollover.event_ids[0])
    assert {loan: books.owed_fen(loan) for loan in loans} == before
    assert books.balance_fen(fund) == balance_before
    with pytest.raises(AlreadyReversed):
        books.reverse(rollover.event_ids[0])
    books.roll_over(fund, "0.5")
    assert books.balance_fen(fund) == balance_before + 55_000 + 55_000
