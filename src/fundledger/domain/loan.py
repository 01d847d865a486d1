"""An interest-free loan from a revolving fund to a household, in a cohort.

A loan is its own short stream, so a fund with thousands of loans does not replay them all on each
command. The cash side of every loan event is recorded in the fund's stream in the same save.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from fundledger.domain.base import LedgerCreated, LedgerEvent, require_business_date, require_note
from fundledger.domain.errors import CurrencyMismatch, NotReversible, RepaymentExceedsOwed
from fundledger.domain.money import Money, format_fen


class Loan(Aggregate):
    fund_id: str
    borrower_id: str
    principal_fen: int
    cohort: str
    due_on: date
    currency: str
    repaid_fen: int
    granted_fen: int
    cancelled: bool

    def __init__(self) -> None:
        # Declared so the library does not derive an __init__ from the annotations.
        self.repaid_fen = 0
        self.granted_fen = 0
        self.cancelled = False

    class Issued(LedgerCreated):
        fund_id: str
        borrower_id: str
        principal_fen: int
        cohort: str
        due_on: date
        currency: str
        fund_event_id: str

        def apply(self, loan: Loan) -> None:
            loan.fund_id = self.fund_id
            loan.borrower_id = self.borrower_id
            loan.principal_fen = self.principal_fen
            loan.cohort = self.cohort
            loan.due_on = self.due_on
            loan.currency = self.currency

    class Repaid(LedgerEvent):
        amount_fen: int
        fund_event_id: str

        def apply(self, loan: Loan) -> None:
            loan.repaid_fen += self.amount_fen
            assert loan.owed_fen >= 0, "a loan was repaid past its principal"

    class RolledOver(LedgerEvent):
        """At a cohort rollover: part repaid into the fund, the rest granted or still owed."""

        repaid_fen: int
        granted_fen: int
        fund_event_id: str

        def apply(self, loan: Loan) -> None:
            loan.repaid_fen += self.repaid_fen
            loan.granted_fen += self.granted_fen
            assert loan.owed_fen >= 0, "a rollover took more than was owed"

    class Adjusted(LedgerEvent):
        """A reversal in the fund changed this loan (repayment or rollover undone, loan voided)."""

        repaid_change_fen: int
        granted_change_fen: int
        cancelled: bool
        fund_event_id: str

        def apply(self, loan: Loan) -> None:
            loan.repaid_fen += self.repaid_change_fen
            loan.granted_fen += self.granted_change_fen
            loan.cancelled = loan.cancelled or self.cancelled
            assert loan.repaid_fen >= 0, "a loan adjustment took back more than was repaid"
            assert loan.granted_fen >= 0, "a loan adjustment took back more than was granted"

    @classmethod
    def issue(
        cls,
        *,
        loan_id: UUID,
        fund_id: str,
        borrower_id: str,
        principal: Money,
        cohort: str,
        due_on: date,
        fund_event_id: str,
        actor: str,
        occurred_on: date,
        note: str = "",
    ) -> Loan:
        return cls._create(
            cls.Issued,
            id=loan_id,
            fund_id=fund_id,
            borrower_id=borrower_id,
            principal_fen=principal.amount_fen,
            cohort=cohort,
            due_on=due_on,
            currency=principal.currency,
            fund_event_id=fund_event_id,
            actor=actor,
            occurred_on=require_business_date(occurred_on),
            note=require_note(note),
        )

    @property
    def owed_fen(self) -> int:
        if self.cancelled:
            return 0
        return self.principal_fen - self.repaid_fen - self.granted_fen

    def check_repayment(self, amount: Money) -> None:
        """Repayment is never above what is owed (and never in another currency)."""
        if amount.currency != self.currency:
            raise CurrencyMismatch(f"the loan is in {self.currency}, not {amount.currency}")
        if amount.amount_fen > self.owed_fen:
            raise RepaymentExceedsOwed(
                f"repayment of {format_fen(amount.amount_fen)} exceeds the "
                f"{format_fen(self.owed_fen)} still owed"
            )

    def repay(self, *, amount: Money, fund_event_id: str, actor: str, occurred_on: date) -> None:
        self.check_repayment(amount)
        self.trigger_event(
            self.Repaid,
            amount_fen=amount.amount_fen,
            fund_event_id=fund_event_id,
            actor=actor,
            occurred_on=occurred_on,
            note="",
        )

    def roll_over(
        self,
        *,
        repaid_fen: int,
        granted_fen: int,
        fund_event_id: str,
        actor: str,
        occurred_on: date,
    ) -> None:
        if repaid_fen + granted_fen > self.owed_fen:
            raise RepaymentExceedsOwed("a rollover cannot take more than is owed")
        self.trigger_event(
            self.RolledOver,
            repaid_fen=repaid_fen,
            granted_fen=granted_fen,
            fund_event_id=fund_event_id,
            actor=actor,
            occurred_on=occurred_on,
            note="",
        )

    def check_cancellable(self) -> None:
        if self.repaid_fen or self.granted_fen:
            raise NotReversible(
                "a loan with repayments or a rollover cannot be voided; reverse those first"
            )

    def adjust(
        self,
        *,
        repaid_change_fen: int,
        granted_change_fen: int,
        cancelled: bool,
        fund_event_id: str,
        actor: str,
        occurred_on: date,
    ) -> None:
        self.trigger_event(
            self.Adjusted,
            repaid_change_fen=repaid_change_fen,
            granted_change_fen=granted_change_fen,
            cancelled=cancelled,
            fund_event_id=fund_event_id,
            actor=actor,
            occurred_on=occurred_on,
            note="",
        )
