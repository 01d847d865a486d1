"""A loan: repayment never above what is owed, and a voided loan owes nothing."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from fundledger.domain.errors import CurrencyMismatch, NotReversible, RepaymentExceedsOwed
from fundledger.domain.loan import Loan
from fundledger.domain.money import Money

ON = date(2015, 4, 20)


def issue(principal: str = "1100.00") -> Loan:
    return Loan.issue(
        loan_id=uuid4(),
        fund_id=str(uuid4()),
        borrower_id=str(uuid4()),
        principal=Money.parse(principal),
        cohort="1",
        due_on=date(2015, 12, 31),
        fund_event_id="f.2",
        actor="clerk",
        occurred_on=ON,
    )


def repay(loan: Loan, amount: str) -> None:
    loan.repay(amount=Money.parse(amount), fund_event_id="f.3", actor="clerk", occurred_on=ON)


def test_repayments_reduce_what_is_owed() -> None:
    """Owed is principal minus repaid minus granted."""
    loan = issue()
    repay(loan, "100.50")
    assert loan.owed_fen == 110_000 - 10_050


def test_repaying_more_than_is_owed_is_refused() -> None:
    """A repayment one fen above what is owed is RepaymentExceedsOwed and records nothing."""
    loan = issue()
    repay(loan, "1000.00")
    version = loan.version
    with pytest.raises(RepaymentExceedsOwed):
        repay(loan, "100.01")
    assert (loan.owed_fen, loan.version) == (10_000, version)
    repay(loan, "100.00")
    assert loan.owed_fen == 0


def test_a_repayment_in_another_currency_is_a_currency_mismatch() -> None:
    """Currencies are never mixed: a USD repayment of a CNY loan is CurrencyMismatch."""
    with pytest.raises(CurrencyMismatch):
        issue().check_repayment(Money(100, "USD"))


def test_a_rollover_cannot_take_more_than_is_owed() -> None:
    """Repaid plus granted at a rollover never exceeds what is owed."""
    loan = issue()
    repay(loan, "600")
    with pytest.raises(RepaymentExceedsOwed):
        loan.roll_over(
            repaid_fen=55_000, granted_fen=0, fund_event_id="f.4", actor="c", occurred_on=ON
        )
    loan.roll_over(repaid_fen=50_000, granted_fen=0, fund_event_id="f.4", actor="c", occurred_on=ON)
    assert loan.owed_fen == 0


def test_a_loan_with_repayments_cannot_be_voided() -> None:
    """Voiding a loan needs its repayments and rollovers reversed first."""
    loan = issue()
    loan.check_cancellable()
    repay(loan, "1")
    with pytest.raises(NotReversible):
        loan.check_cancellable()


def test_a_voided_loan_owes_nothing() -> None:
    """Once cancelled, nothing is owed and any repayment is refused."""
    loan = issue()
    loan.adjust(
        repaid_change_fen=0,
        granted_change_fen=0,
        cancelled=True,
        fund_event_id="f.5",
        actor="c",
        occurred_on=ON,
    )
    assert loan.owed_fen == 0
    with pytest.raises(RepaymentExceedsOwed):
        repay(loan, "0.01")
