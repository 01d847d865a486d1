"""The one place that says what a fund event does to the fund's cash (pure; used by several models).

A reversal spells out its own effect (`balance_change_fen`), so no model ever needs the original to
know what a reversal did to the balance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fundledger.domain.fund import Fund


# Not frozen, for the same reason as `Fact`: one is made per money event.
@dataclass(slots=True)
class Movement:
    """A line of a fund's special ledger."""

    fund_id: str
    kind: str
    cash_fen: int  # signed change of the fund's cash
    amount_fen: int  # the amount shown (never negative)
    direction: str  # in | out | none
    counterparty: str
    in_kind_fen: int = 0  # signed change of the value of goods held
    category: str | None = None
    voucher: dict[str, str] | None = None
    reverses: str | None = None


def _donation(e: Fund.DonationReceived, fund: str) -> Movement:
    return Movement(fund, "donation", e.amount_fen, e.amount_fen, "in", e.donor_id)


def _in_kind(e: Fund.InKindDonationReceived, fund: str) -> Movement:
    return Movement(fund, "in_kind_donation", 0, e.value_fen, "none", e.donor_id, e.value_fen)


def _sent(e: Fund.AllocationSent, fund: str) -> Movement:
    return Movement(fund, "allocation_out", -e.amount_fen, e.amount_fen, "out", e.to_fund_id)


def _received(e: Fund.AllocationReceived, fund: str) -> Movement:
    return Movement(fund, "allocation_in", e.amount_fen, e.amount_fen, "in", e.from_fund_id)


def _matching(e: Fund.MatchingFundsReleased, fund: str) -> Movement:
    return Movement(fund, "matching_release", e.amount_fen, e.amount_fen, "in", e.grantor_id)


def _loan(e: Fund.LoanDisbursed, fund: str) -> Movement:
    return Movement(fund, "loan", -e.principal_fen, e.principal_fen, "out", e.borrower_id)


def _repayment(e: Fund.RepaymentReceived, fund: str) -> Movement:
    return Movement(fund, "repayment", e.amount_fen, e.amount_fen, "in", e.borrower_id)


def _rollover(e: Fund.CohortRolledOver, fund: str) -> Movement:
    return Movement(fund, "cohort_rollover", e.repaid_fen, e.repaid_fen, "in", f"cohort {e.cohort}")


def _expenditure(e: Fund.ExpenditurePaid, fund: str) -> Movement:
    return Movement(
        fund,
        "expenditure",
        -e.amount_fen,
        e.amount_fen,
        "out",
        e.payee_id,
        category=e.category,
        voucher={key: str(value) for key, value in e.voucher.items()},
    )


def _shares(e: Fund.SharesSubscribed, fund: str) -> Movement:
    return Movement(fund, "shares", e.amount_fen, e.amount_fen, "in", e.member_id)


def _statement(e: Fund.BankStatementRecorded, fund: str) -> Movement:
    return Movement(fund, "bank_statement", 0, e.balance_fen, "none", "bank")


def _reversal(e: Fund.EventReversed, fund: str) -> Movement:
    change_fen = e.balance_change_fen
    direction = "in" if change_fen > 0 else "out" if change_fen < 0 else "none"
    amount_fen = abs(change_fen) or abs(e.in_kind_change_fen)
    return Movement(
        fund,
        "reversal",
        change_fen,
        amount_fen,
        direction,
        "",
        in_kind_fen=e.in_kind_change_fen,
        reverses=e.original_event_id,
    )


MOVEMENTS: dict[type[Any], Callable[[Any, str], Movement]] = {
    Fund.DonationReceived: _donation,
    Fund.InKindDonationReceived: _in_kind,
    Fund.AllocationSent: _sent,
    Fund.AllocationReceived: _received,
    Fund.MatchingFundsReleased: _matching,
    Fund.LoanDisbursed: _loan,
    Fund.RepaymentReceived: _repayment,
    Fund.CohortRolledOver: _rollover,
    Fund.ExpenditurePaid: _expenditure,
    Fund.SharesSubscribed: _shares,
    Fund.BankStatementRecorded: _statement,
    Fund.EventReversed: _reversal,
}


def movement_of(event: object, fund_id: str) -> Movement | None:
    """The ledger line of a fund event, or None for events that are not money (opening, custody)."""
    describe = MOVEMENTS.get(type(event))
    return describe(event, fund_id) if describe is not None else None
