"""A small helper over FundLedger so core tests read in the domain's words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.domain.base import LedgerEvent
from fundledger.domain.fund import SharePlan, Voucher
from fundledger.domain.money import Money

ON = date(2015, 6, 1)
DUE = date(2015, 12, 31)
VOUCHER = Voucher(number="V-1", date="2015-06-01", description="receipt")


@dataclass
class Books:
    ledger: FundLedger
    actor: str = "clerk"
    _parties: int = field(default=0)

    @property
    def context(self) -> c.CommandContext:
        return c.CommandContext(actor=self.actor)

    def run(self, command: c.Command) -> c.Recorded:
        return self.ledger.execute(command, self.context)

    def position(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def party(self, kind: str = "government") -> str:
        self._parties += 1
        return self.run(c.RegisterParty(f"Party {self._parties}", kind, ON)).resource_id

    def fund(
        self,
        *,
        revolving: bool = False,
        categories: tuple[str, ...] = ("construction",),
        currency: str = "CNY",
        share_plan: SharePlan | None = None,
    ) -> str:
        command = c.OpenFund(
            "Fund",
            "purpose",
            "6222-01",
            self.party("individual"),
            list(categories),
            revolving,
            ON,
            currency=currency,
            share_plan=share_plan,
        )
        return self.run(command).resource_id

    def donate(self, fund: str, amount: str, donor: str | None = None) -> c.Recorded:
        return self.run(
            c.RecordDonation(fund, donor or self.party("donor"), Money.parse(amount), ON)
        )

    def give_in_kind(self, fund: str, value: str) -> c.Recorded:
        in_kind = c.InKind("quilts", "20", "purchase price")
        return self.run(
            c.RecordDonation(fund, self.party("donor"), Money.parse(value), ON, in_kind=in_kind)
        )

    def spend(self, fund: str, amount: str, category: str = "construction") -> c.Recorded:
        payee = self.party("vendor")
        return self.run(c.PayExpenditure(fund, payee, Money.parse(amount), category, VOUCHER, ON))

    def allocate(self, source: str, target: str, amount: str) -> c.Recorded:
        return self.run(c.AllocateFunds(source, target, Money.parse(amount), ON, "project"))

    def pledge(self, fund: str, ratio: str, cap: str) -> c.Recorded:
        grantor = self.party()
        return self.run(c.PledgeMatchingGrant(fund, grantor, Decimal(ratio), Money.parse(cap), ON))

    def lend(self, fund: str, principal: str, cohort: str = "1") -> str:
        borrower = self.party("household")
        command = c.DisburseLoan(fund, borrower, Money.parse(principal), cohort, ON, DUE)
        return self.run(command).resource_id

    def repay(self, loan: str, amount: str) -> c.Recorded:
        return self.run(c.RecordRepayment(loan, Money.parse(amount), ON))

    def roll_over(
        self, fund: str, ratio: str, remainder: str = "grant", cohort: str = "1"
    ) -> c.Recorded:
        return self.run(c.RollOverCohort(fund, cohort, Decimal(ratio), remainder, DUE))

    def reverse(self, event_id: str) -> c.Recorded:
        return self.run(c.ReverseEvent(event_id, "entered in error", ON))

    def balance_fen(self, fund: str) -> int:
        return self.ledger.fund(fund).balance_fen

    def owed_fen(self, loan: str) -> int:
        return self.ledger.loan(loan).owed_fen

    def stored_events(self) -> list[LedgerEvent]:
        notifications = self.ledger.recorder.select_notifications(1, 1_000_000)
        events = [self.ledger.mapper.to_domain_event(n) for n in notifications]
        return [event for event in events if isinstance(event, LedgerEvent)]
