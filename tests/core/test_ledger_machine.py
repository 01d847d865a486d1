"""Random sequences of every command on a real store keep the ledger's money invariants.

Checked after every step: money is conserved (all that came in = balances + loans outstanding +
grants + spending; in-kind in = in-kind recorded), no fund is below zero, no matching grant is past
its cap, a fresh application replaying the store (cache off) rebuilds identical aggregates, and
every rejected command changed nothing (store position and aggregates as before).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fundledger.application import commands as c
from fundledger.bootstrap import open_ledger
from fundledger.domain.errors import DomainError
from fundledger.domain.fund import Fund, SharePlan, Voucher
from fundledger.domain.money import Money

ON = date(2015, 6, 1)
DUE = date(2015, 12, 31)
CATEGORIES = ["construction", "seeds"]
VOUCHER = Voucher(number="V-7", date="2015-06-01", description="invoice")
INFLOW_TYPES = {"DonationReceived", "MatchingFundsReleased", "SharesSubscribed"}
MONEY_COMMANDS = (
    c.RecordDonation,
    c.AllocateFunds,
    c.DisburseLoan,
    c.RecordRepayment,
    c.RollOverCohort,
    c.PayExpenditure,
    c.SubscribeShares,
    c.ReverseEvent,
)

amounts_fen = st.one_of(st.integers(1, 300_000), st.sampled_from([0, -100, 1, 110_000]))
currencies = st.sampled_from(["CNY"] * 9 + ["USD"])
# Mostly the first (revolving, well-funded) fund and first parties, so money really moves;
# -1 names something that does not exist.
picks = st.one_of(st.sampled_from([0, 0, 1]), st.integers(-1, 8))
ratios = st.sampled_from(["0.5", "1", "0.333", "2"])
rollover_ratios = st.sampled_from(["0.5", "0.5", "1", "0.3", "0.333", "0", "1.5"])
cohorts = st.sampled_from(["1", "2"])
lending_funds = st.one_of(st.just(0), picks)  # the first fund is the revolving one


def state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="fundledger-machine-"))
        self.url = f"sqlite:///{self.directory / 'ledger.sqlite'}"
        self.ledger = open_ledger(self.url)
        self.replayer = open_ledger(self.url, create_tables=False)
        self.replayer.repository.cache = None
        self.parties: list[str] = []
        self.funds: list[str] = []
        self.loans: list[str] = []
        self.event_ids: list[str] = []
        self.money_event_ids: list[str] = []
        self.rejected = 0

    def teardown(self) -> None:
        self.ledger.close()
        self.replayer.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # ---- running commands ---------------------------------------------------------------------

    def pick(self, items: list[str], index: int) -> str:
        if index < 0 or not items:
            return str(uuid4())
        return items[index % len(items)]

    def world(self) -> dict[str, dict[str, Any]]:
        ids = self.parties + self.funds + self.loans
        return {i: state(self.ledger.repository.get(UUID(i))) for i in ids}

    def attempt(self, command: c.Command) -> c.Recorded | None:
        """Execute; a rejected command must raise a DomainError and change nothing."""
        position, before = self.ledger.recorder.max_notification_id(), self.world()
        try:
            recorded = self.ledger.execute(command, c.CommandContext(actor="machine"))
        except DomainError:
            self.rejected += 1
            assert self.ledger.recorder.max_notification_id() == position
            assert self.world() == before
            return None
        self.event_ids.extend(recorded.event_ids)
        if isinstance(command, MONEY_COMMANDS):
            self.money_event_ids.extend(recorded.event_ids)
        return recorded

    # ---- rules: every command ------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        for kind in ("government", "donor", "household"):
            recorded = self.attempt(c.RegisterParty(f"{kind} party", kind, ON))
            assert recorded is not None
            self.parties.append(recorded.resource_id)
        self.open_fund(custodian=0, revolving=True, shares=True, currency="CNY")
        self.open_fund(custodian=1, revolving=False, shares=False, currency="CNY")
        for fund in self.funds:
            assert self.attempt(c.RecordDonation(fund, self.parties[0], Money(2_000_000), ON))

    @rule(kind=st.sampled_from(["government", "donor", "household", "vendor", "alien", ""]))
    def register_party(self, kind: str) -> None:
        recorded = self.attempt(c.RegisterParty("someone", kind, ON))
        if recorded is not None:
            self.parties.append(recorded.resource_id)

    @rule(custodian=picks, revolving=st.booleans(), shares=st.booleans(), currency=currencies)
    def open_fund(self, custodian: int, revolving: bool, shares: bool, currency: str) -> None:
        plan = SharePlan(share_price_fen=100_000, shares_min=1, shares_max=20) if shares else None
        command = c.OpenFund(
            "fund",
            "purpose",
            "6222",
            self.pick(self.parties, custodian),
            CATEGORIES,
            revolving,
            ON,
            currency=currency,
            share_plan=plan,
        )
        recorded = self.attempt(command)
        if recorded is not None:
            self.funds.append(recorded.resource_id)

    @rule(fund=picks, custodian=picks)
    def hand_over_custody(self, fund: int, custodian: int) -> None:
        command = c.HandOverCustody(
            self.pick(self.funds, fund), self.pick(self.parties, custodian), ON
        )
        self.attempt(command)

    @rule(fund=picks, donor=picks, amount=amounts_fen, currency=currencies, in_kind=st.booleans())
    def donate(self, fund: int, donor: int, amount: int, currency: str, in_kind: bool) -> None:
        gift = c.InKind("quilts", "20", "purchase price") if in_kind else None
        command = c.RecordDonation(
            self.pick(self.funds, fund),
            self.pick(self.parties, donor),
            Money(amount, currency),
            ON,
            in_kind=gift,
        )
        self.attempt(command)

    @rule(source=picks, destination=picks, amount=amounts_fen)
    def allocate(self, source: int, destination: int, amount: int) -> None:
        from_fund, to_fund = self.pick(self.funds, source), self.pick(self.funds, destination)
        command = c.AllocateFunds(from_fund, to_fund, Money(amount), ON, "p")
        self.attempt(command)

    @rule(fund=picks, grantor=picks, ratio=ratios, cap=amounts_fen)
    def pledge_matching(self, fund: int, grantor: int, ratio: str, cap: int) -> None:
        command = c.PledgeMatchingGrant(
            self.pick(self.funds, fund),
            self.pick(self.parties, grantor),
            Decimal(ratio),
            Money(cap),
            ON,
        )
        self.attempt(command)

    @rule(fund=lending_funds, borrower=picks, principal=amounts_fen, cohort=cohorts)
    def disburse_loan(self, fund: int, borrower: int, principal: int, cohort: str) -> None:
        command = c.DisburseLoan(
            self.pick(self.funds, fund),
            self.pick(self.parties, borrower),
            Money(principal),
            cohort,
            ON,
            DUE,
        )
        recorded = self.attempt(command)
        if recorded is not None:
            self.loans.append(recorded.resource_id)

    @rule(loan=picks, amount=amounts_fen, currency=currencies)
    def repay(self, loan: int, amount: int, currency: str) -> None:
        self.attempt(c.RecordRepayment(self.pick(self.loans, loan), Money(amount, currency), ON))

    @rule(
        fund=lending_funds,
        cohort=cohorts,
        ratio=rollover_ratios,
        remainder=st.sampled_from(["grant", "grant", "outstanding", "outstanding", "forgive"]),
    )
    def roll_over(self, fund: int, cohort: str, ratio: str, remainder: str) -> None:
        command = c.RollOverCohort(
            self.pick(self.funds, fund), cohort, Decimal(ratio), remainder, DUE
        )
        self.attempt(command)

    @rule(
        principals=st.lists(amounts_fen, min_size=1, max_size=3),
        repaid=amounts_fen,
        ratio=rollover_ratios,
        remainder=st.sampled_from(["grant", "outstanding"]),
    )
    def lend_a_cohort_and_roll_it_over(
        self, principals: list[int], repaid: int, ratio: str, remainder: str
    ) -> None:
        """A whole cohort's year (loans, a repayment, the rollover), so rollovers happen often."""
        cohort = f"year-{len(self.loans)}"
        for principal in principals:
            self.disburse_loan(0, 2, principal, cohort)
        if self.loans:
            self.repay(len(self.loans) - 1, repaid, "CNY")
        self.attempt(c.RollOverCohort(self.funds[0], cohort, Decimal(ratio), remainder, DUE))

    @rule(
        fund=picks,
        payee=picks,
        amount=amounts_fen,
        category=st.sampled_from([*CATEGORIES, "banquet"]),
        voucher=st.sampled_from([VOUCHER, VOUCHER, None]),
    )
    def pay_expenditure(
        self, fund: int, payee: int, amount: int, category: str, voucher: Voucher | None
    ) -> None:
        command = c.PayExpenditure(
            self.pick(self.funds, fund),
            self.pick(self.parties, payee),
            Money(amount),
            category,
            voucher,
            ON,
        )
        self.attempt(command)

    @rule(fund=picks, member=picks, shares=st.integers(-1, 22))
    def subscribe_shares(self, fund: int, member: int, shares: int) -> None:
        command = c.SubscribeShares(
            self.pick(self.funds, fund), self.pick(self.parties, member), shares, ON
        )
        self.attempt(command)

    @rule(fund=picks, balance=amounts_fen)
    def record_bank_statement(self, fund: int, balance: int) -> None:
        self.attempt(c.RecordBankStatement(self.pick(self.funds, fund), Money(balance), ON))

    @precondition(lambda self: bool(self.event_ids))
    @rule(event=st.integers(0, 10_000), money=st.booleans(), garbage=st.booleans())
    def reverse(self, event: int, money: bool, garbage: bool) -> None:
        choices = (self.money_event_ids if money else []) or self.event_ids
        event_id = f"{uuid4()}.1" if garbage else choices[event % len(choices)]
        self.attempt(c.ReverseEvent(event_id, "entered in error", ON))

    # ---- invariants -----------------------------------------------------------------------------

    def stored_events(self) -> list[Any]:
        notifications = self.ledger.recorder.select_notifications(1, 1_000_000)
        return [self.ledger.mapper.to_domain_event(n) for n in notifications]

    @invariant()
    def money_is_conserved(self) -> None:
        """All that came in = balances + loans outstanding + grants + spending; in kind apart."""
        inflow_fen = spent_fen = in_kind_fen = 0
        for event in self.stored_events():
            match event:
                case Fund.DonationReceived() | Fund.MatchingFundsReleased():
                    inflow_fen += event.amount_fen
                case Fund.SharesSubscribed():
                    inflow_fen += event.amount_fen
                case Fund.ExpenditurePaid():
                    spent_fen += event.amount_fen
                case Fund.InKindDonationReceived():
                    in_kind_fen += event.value_fen
                case Fund.EventReversed() if event.original_type in INFLOW_TYPES:
                    inflow_fen += event.balance_change_fen
                case Fund.EventReversed() if event.original_type == "ExpenditurePaid":
                    spent_fen -= event.balance_change_fen
                case Fund.EventReversed() if event.original_type == "InKindDonationReceived":
                    in_kind_fen += event.in_kind_change_fen
        funds = [self.ledger.fund(f) for f in self.funds]
        loans = [self.ledger.loan(loan) for loan in self.loans]
        balances_fen = sum(fund.balance_fen for fund in funds)
        outstanding_fen = sum(loan.owed_fen for loan in loans)
        granted_fen = sum(loan.granted_fen for loan in loans)
        assert inflow_fen == balances_fen + outstanding_fen + granted_fen + spent_fen
        assert in_kind_fen == sum(fund.in_kind_value_fen for fund in funds)

    @invariant()
    def no_fund_below_zero_and_no_grant_past_its_cap(self) -> None:
        """Balances are never negative; matching never passes its cap; shares stay in limits."""
        for fund_id in self.funds:
            fund = self.ledger.fund(fund_id)
            assert fund.balance_fen >= 0
            for grant in fund.matching_grants.values():
                assert 0 <= grant["released_fen"] <= grant["cap_fen"]
            for shares in fund.shares_by_member.values():
                assert 0 <= shares <= 20
        for loan_id in self.loans:
            loan = self.ledger.loan(loan_id)
            assert 0 <= loan.owed_fen <= loan.principal_fen

    @invariant()
    def replaying_the_store_rebuilds_identical_aggregates(self) -> None:
        """A fresh application with no cache reads the same aggregates the writer holds."""
        for aggregate_id in self.parties + self.funds + self.loans:
            live: Any = self.ledger.repository.get(UUID(aggregate_id))
            replayed: Any = self.replayer.repository.get(UUID(aggregate_id))
            assert state(replayed) == state(live)


LedgerMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase
