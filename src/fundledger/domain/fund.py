"""A fund is a special account, run "three specialized and closed" (三专一封闭).

Its own bank account (special account), its own stream of events (special ledger), a named
custodian at every date (special personnel), and money leaves only for declared categories against
a voucher (closed operation). Every change of the fund's cash is an event in this one stream, so
two writers racing on the same fund conflict on the stream version and only one wins.

State holds only str/int/bool/list/dict-with-str-keys so that snapshots round-trip exactly.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, TypedDict
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from fundledger.domain.base import (
    NAME_LENGTH_MAX,
    LedgerCreated,
    LedgerEvent,
    event_id_of,
    require_business_date,
    require_note,
    require_text,
)
from fundledger.domain.errors import (
    AlreadyReversed,
    BalanceLimitExceeded,
    CategoryNotAllowed,
    CurrencyMismatch,
    FundNotRevolving,
    InsufficientFunds,
    InvalidInput,
    MatchingCapExceeded,
    NoSharePlan,
    NotReversible,
    SharesOutOfLimits,
    UnknownCohort,
    VoucherRequired,
)
from fundledger.domain.money import AMOUNT_FEN_MAX, Money, format_fen, scale_fen

CATEGORIES_MAX = 50
SHARES_PER_MEMBER_MAX = 10_000
RATIO_MAX = Decimal(100)


class Voucher(TypedDict):
    """The reimbursement voucher an expenditure is paid against."""

    number: str
    date: str
    description: str


class SharePlan(TypedDict):
    """A cooperative's share terms: a price per share and limits per member."""

    share_price_fen: int
    shares_min: int
    shares_max: int


class MatchingGrant(TypedDict):
    grantor_id: str
    ratio: str
    cap_fen: int
    released_fen: int


class RolloverLine(TypedDict):
    """One loan's part in a cohort rollover."""

    loan_id: str
    repaid_fen: int
    granted_fen: int


class Fund(Aggregate):
    name: str
    purpose: str
    bank_account: str
    custodian_id: str
    allowed_categories: list[str]
    revolving: bool
    currency: str
    share_plan: SharePlan | None
    balance_fen: int
    in_kind_value_fen: int
    matching_grants: dict[str, MatchingGrant]
    cohorts: dict[str, list[str]]
    shares_by_member: dict[str, int]
    reversed_event_ids: dict[str, str]

    def __init__(self) -> None:
        # Declared here so the library does not derive an __init__ from the annotations;
        # the Opened event fills in the rest.
        self.share_plan = None
        self.balance_fen = 0
        self.in_kind_value_fen = 0
        self.matching_grants = {}
        self.cohorts = {}
        self.shares_by_member = {}
        self.reversed_event_ids = {}

    # ---- events -------------------------------------------------------------------------------

    class Opened(LedgerCreated):
        name: str
        purpose: str
        bank_account: str
        custodian_id: str
        allowed_categories: list[str]
        revolving: bool
        currency: str
        share_plan: SharePlan | None

        def apply(self, fund: Fund) -> None:
            fund.name = self.name
            fund.purpose = self.purpose
            fund.bank_account = self.bank_account
            fund.custodian_id = self.custodian_id
            fund.allowed_categories = list(self.allowed_categories)
            fund.revolving = self.revolving
            fund.currency = self.currency
            fund.share_plan = self.share_plan

    class CustodianHandedOver(LedgerEvent):
        custodian_id: str
        previous_custodian_id: str

        def apply(self, fund: Fund) -> None:
            fund.custodian_id = self.custodian_id

    class DonationReceived(LedgerEvent):
        donor_id: str
        amount_fen: int

        def apply(self, fund: Fund) -> None:
            fund.credit(self.amount_fen)

    class InKindDonationReceived(LedgerEvent):
        """Goods given: recorded and valued, tracked apart from cash; adds no cash."""

        donor_id: str
        description: str
        quantity: str
        valuation_basis: str
        value_fen: int

        def apply(self, fund: Fund) -> None:
            fund.in_kind_value_fen += self.value_fen

    class AllocationSent(LedgerEvent):
        allocation_id: str
        counterpart_event_id: str
        to_fund_id: str
        amount_fen: int
        purpose: str

        def apply(self, fund: Fund) -> None:
            fund.debit(self.amount_fen)

    class AllocationReceived(LedgerEvent):
        allocation_id: str
        counterpart_event_id: str
        from_fund_id: str
        amount_fen: int
        purpose: str

        def apply(self, fund: Fund) -> None:
            fund.credit(self.amount_fen)

    class MatchingGrantPledged(LedgerEvent):
        grant_id: str
        grantor_id: str
        ratio: str
        cap_fen: int

        def apply(self, fund: Fund) -> None:
            fund.matching_grants[self.grant_id] = MatchingGrant(
                grantor_id=self.grantor_id, ratio=self.ratio, cap_fen=self.cap_fen, released_fen=0
            )

    class MatchingFundsReleased(LedgerEvent):
        """The grantor's ratio × one cash donation, paid into the fund (never past the cap)."""

        grant_id: str
        grantor_id: str
        donation_event_id: str
        amount_fen: int

        def apply(self, fund: Fund) -> None:
            grant = fund.matching_grants[self.grant_id]
            released_fen = grant["released_fen"] + self.amount_fen
            assert released_fen <= grant["cap_fen"], "matching release past its cap"
            grant["released_fen"] = released_fen
            fund.credit(self.amount_fen)

    class LoanDisbursed(LedgerEvent):
        loan_id: str
        borrower_id: str
        principal_fen: int
        cohort: str
        due_on: date

        def apply(self, fund: Fund) -> None:
            fund.debit(self.principal_fen)
            fund.cohorts.setdefault(self.cohort, []).append(self.loan_id)

    class RepaymentReceived(LedgerEvent):
        loan_id: str
        borrower_id: str
        amount_fen: int

        def apply(self, fund: Fund) -> None:
            fund.credit(self.amount_fen)

    class CohortRolledOver(LedgerEvent):
        """Year end: each loan repays ratio × principal; the rest is granted or stays owed."""

        cohort: str
        ratio: str
        remainder: str
        repaid_fen: int
        granted_fen: int
        lines: list[RolloverLine]

        def apply(self, fund: Fund) -> None:
            fund.credit(self.repaid_fen)

    class ExpenditurePaid(LedgerEvent):
        payee_id: str
        amount_fen: int
        category: str
        voucher: Voucher

        def apply(self, fund: Fund) -> None:
            fund.debit(self.amount_fen)

    class SharesSubscribed(LedgerEvent):
        member_id: str
        shares: int
        amount_fen: int

        def apply(self, fund: Fund) -> None:
            held = fund.shares_by_member.get(self.member_id, 0)
            fund.shares_by_member[self.member_id] = held + self.shares
            fund.credit(self.amount_fen)

    class BankStatementRecorded(LedgerEvent):
        """What the bank says the special account held at the end of `occurred_on`."""

        balance_fen: int

    class EventReversed(LedgerEvent):
        """Undoes one money event of this fund; the original stays in the log.

        The effect is spelled out in the event (not recomputed) so replay never needs the original.
        """

        original_event_id: str
        original_type: str
        reason: str
        balance_change_fen: int
        in_kind_change_fen: int
        matching_grant_id: str
        matching_released_change_fen: int
        member_id: str
        shares_change: int
        loan_id: str

        def apply(self, fund: Fund) -> None:
            fund.reversed_event_ids[self.original_event_id] = event_id_of(
                self.originator_id, self.originator_version
            )
            fund.balance_fen += self.balance_change_fen
            assert fund.balance_fen >= 0, "a reversal left the fund below zero"
            fund.in_kind_value_fen += self.in_kind_change_fen
            if self.matching_grant_id:
                grant = fund.matching_grants[self.matching_grant_id]
                grant["released_fen"] += self.matching_released_change_fen
            if self.member_id:
                fund.shares_by_member[self.member_id] += self.shares_change
            if self.loan_id and self.original_type == "LoanDisbursed":
                for loan_ids in fund.cohorts.values():
                    if self.loan_id in loan_ids:
                        loan_ids.remove(self.loan_id)

    # ---- state changes shared by the events (invariants checked here, once) -------------------

    def credit(self, amount_fen: int) -> None:
        assert amount_fen > 0, "a credit must be positive"
        self.balance_fen += amount_fen

    def debit(self, amount_fen: int) -> None:
        assert 0 < amount_fen <= self.balance_fen, "a debit must be positive and covered"
        self.balance_fen -= amount_fen

    # ---- commands: check, then record exactly one fact ----------------------------------------

    @classmethod
    def open(
        cls,
        *,
        name: str,
        purpose: str,
        bank_account: str,
        custodian_id: UUID,
        allowed_categories: list[str],
        revolving: bool,
        actor: str,
        occurred_on: date,
        currency: str = "CNY",
        share_plan: SharePlan | None = None,
        note: str = "",
    ) -> Fund:
        Money.zero(currency)  # validates the currency code
        return cls._create(
            cls.Opened,
            name=require_text(name, "name", NAME_LENGTH_MAX),
            purpose=require_text(purpose, "purpose"),
            bank_account=require_text(bank_account, "bank_account", NAME_LENGTH_MAX),
            custodian_id=str(custodian_id),
            allowed_categories=_check_categories(allowed_categories),
            revolving=bool(revolving),
            currency=currency,
            share_plan=_check_share_plan(share_plan),
            actor=actor,
            occurred_on=require_business_date(occurred_on),
            note=require_note(note),
        )

    @property
    def balance(self) -> Money:
        return Money(self.balance_fen, self.currency)

    @property
    def last_event_id(self) -> str:
        return event_id_of(self.id, self.version)

    def hand_over_custody(
        self, *, custodian_id: UUID, actor: str, occurred_on: date, note: str = ""
    ) -> None:
        self.trigger_event(
            self.CustodianHandedOver,
            custodian_id=str(custodian_id),
            previous_custodian_id=self.custodian_id,
            **_facts(actor, occurred_on, note),
        )

    def receive_donation(
        self, *, donor_id: UUID, amount: Money, actor: str, occurred_on: date, note: str = ""
    ) -> str:
        self._check_positive(amount)
        self._check_room(amount.amount_fen)
        self.trigger_event(
            self.DonationReceived,
            donor_id=str(donor_id),
            amount_fen=amount.amount_fen,
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def receive_in_kind(
        self,
        *,
        donor_id: UUID,
        value: Money,
        description: str,
        quantity: str,
        valuation_basis: str,
        actor: str,
        occurred_on: date,
        note: str = "",
    ) -> str:
        self._check_positive(value)
        self.trigger_event(
            self.InKindDonationReceived,
            donor_id=str(donor_id),
            description=require_text(description, "in_kind.description"),
            quantity=require_text(quantity, "in_kind.quantity", NAME_LENGTH_MAX),
            valuation_basis=require_text(valuation_basis, "in_kind.valuation_basis"),
            value_fen=value.amount_fen,
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def send_allocation(
        self,
        *,
        counterpart_event_id: str,
        allocation_id: UUID,
        to_fund: Fund,
        amount: Money,
        purpose: str,
        actor: str,
        occurred_on: date,
        note: str = "",
    ) -> str:
        self._check_positive(amount)
        if to_fund.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot allocate {self.currency} from {self.name!r} "
                f"into {to_fund.name!r}, which holds {to_fund.currency}"
            )
        self._check_covered(amount.amount_fen, "allocate")
        self.trigger_event(
            self.AllocationSent,
            allocation_id=str(allocation_id),
            counterpart_event_id=counterpart_event_id,
            to_fund_id=str(to_fund.id),
            amount_fen=amount.amount_fen,
            purpose=require_text(purpose, "purpose"),
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def receive_allocation(
        self,
        *,
        counterpart_event_id: str,
        allocation_id: UUID,
        from_fund: Fund,
        amount: Money,
        purpose: str,
        actor: str,
        occurred_on: date,
        note: str = "",
    ) -> str:
        self._check_currency(amount)
        self._check_room(amount.amount_fen)
        self.trigger_event(
            self.AllocationReceived,
            allocation_id=str(allocation_id),
            counterpart_event_id=counterpart_event_id,
            from_fund_id=str(from_fund.id),
            amount_fen=amount.amount_fen,
            purpose=require_text(purpose, "purpose"),
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def pledge_matching(
        self,
        *,
        grantor_id: UUID,
        ratio: Decimal,
        cap: Money,
        actor: str,
        occurred_on: date,
        note: str = "",
    ) -> str:
        if not Decimal(0) < ratio <= RATIO_MAX:
            raise InvalidInput(f"a matching ratio must be above 0 and at most {RATIO_MAX}")
        self._check_positive(cap)
        self.trigger_event(
            self.MatchingGrantPledged,
            grant_id=str(uuid4()),
            grantor_id=str(grantor_id),
            ratio=str(ratio),
            cap_fen=cap.amount_fen,
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def release_matching(
        self, *, donation_event_id: str, donation_fen: int, actor: str, occurred_on: date
    ) -> list[str]:
        """Each open matching grant adds ratio × the donation, stopping exactly at its cap."""
        released: list[str] = []
        for grant_id, grant in sorted(self.matching_grants.items()):
            headroom_fen = grant["cap_fen"] - grant["released_fen"]
            amount_fen = min(scale_fen(donation_fen, Decimal(grant["ratio"])), headroom_fen)
            if amount_fen <= 0:
                continue
            if amount_fen > headroom_fen:  # pragma: no cover - min() above guarantees it
                raise MatchingCapExceeded(f"release of {format_fen(amount_fen)} passes the cap")
            self._check_room(amount_fen)
            self.trigger_event(
                self.MatchingFundsReleased,
                grant_id=grant_id,
                grantor_id=grant["grantor_id"],
                donation_event_id=donation_event_id,
                amount_fen=amount_fen,
                **_facts(actor, occurred_on, "matching release"),
            )
            released.append(self.last_event_id)
        return released

    def disburse_loan(
        self,
        *,
        loan_id: UUID,
        borrower_id: UUID,
        principal: Money,
        cohort: str,
        due_on: date,
        actor: str,
        occurred_on: date,
        note: str = "",
    ) -> str:
        self._check_positive(principal)
        if not self.revolving:
            raise FundNotRevolving(f"fund {self.name!r} does not lend: it is not revolving")
        require_business_date(due_on, "due_on")
        if due_on < occurred_on:
            raise InvalidInput("due_on must not be before the loan is disbursed")
        self._check_covered(principal.amount_fen, "lend")
        self.trigger_event(
            self.LoanDisbursed,
            loan_id=str(loan_id),
            borrower_id=str(borrower_id),
            principal_fen=principal.amount_fen,
            cohort=require_text(cohort, "cohort", NAME_LENGTH_MAX),
            due_on=due_on,
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def receive_repayment(
        self,
        *,
        loan_id: UUID,
        borrower_id: UUID,
        amount: Money,
        actor: str,
        occurred_on: date,
        note: str = "",
    ) -> str:
        self._check_positive(amount)
        self._check_room(amount.amount_fen)
        self.trigger_event(
            self.RepaymentReceived,
            loan_id=str(loan_id),
            borrower_id=str(borrower_id),
            amount_fen=amount.amount_fen,
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def loans_of_cohort(self, cohort: str) -> list[str]:
        if cohort not in self.cohorts:
            raise UnknownCohort(f"fund {self.name!r} has no cohort {cohort!r}")
        return list(self.cohorts[cohort])

    def roll_over_cohort(
        self,
        *,
        cohort: str,
        ratio: Decimal,
        remainder: str,
        lines: list[RolloverLine],
        actor: str,
        occurred_on: date,
        note: str = "",
    ) -> str:
        if not self.revolving:
            raise FundNotRevolving(f"fund {self.name!r} has no cohorts: it is not revolving")
        repaid_fen = sum(line["repaid_fen"] for line in lines)
        if repaid_fen <= 0:
            raise InvalidInput(f"cohort {cohort!r} has nothing left to roll over")
        self._check_room(repaid_fen)
        self.trigger_event(
            self.CohortRolledOver,
            cohort=cohort,
            ratio=str(ratio),
            remainder=remainder,
            repaid_fen=repaid_fen,
            granted_fen=sum(line["granted_fen"] for line in lines),
            lines=lines,
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def pay_expenditure(
        self,
        *,
        payee_id: UUID,
        amount: Money,
        category: str,
        voucher: Voucher | None,
        actor: str,
        occurred_on: date,
        note: str = "",
    ) -> str:
        self._check_positive(amount)
        if category not in self.allowed_categories:
            allowed = ", ".join(self.allowed_categories) or "none"
            raise CategoryNotAllowed(
                f"fund {self.name!r} may not spend on {category!r} (allowed: {allowed})"
            )
        checked_voucher = _check_voucher(voucher)
        self._check_covered(amount.amount_fen, "spend")
        self.trigger_event(
            self.ExpenditurePaid,
            payee_id=str(payee_id),
            amount_fen=amount.amount_fen,
            category=category,
            voucher=checked_voucher,
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def subscribe_shares(
        self, *, member_id: UUID, shares: int, actor: str, occurred_on: date, note: str = ""
    ) -> str:
        plan = self.share_plan
        if plan is None:
            raise NoSharePlan(f"fund {self.name!r} sells no shares")
        held = self.shares_by_member.get(str(member_id), 0)
        total = held + shares
        if shares < 1 or not plan["shares_min"] <= total <= plan["shares_max"]:
            raise SharesOutOfLimits(
                f"a member holds {plan['shares_min']}..{plan['shares_max']} shares; "
                f"this member holds {held} and asked for {shares}"
            )
        amount_fen = Money(plan["share_price_fen"] * shares, self.currency).amount_fen
        self._check_room(amount_fen)
        self.trigger_event(
            self.SharesSubscribed,
            member_id=str(member_id),
            shares=shares,
            amount_fen=amount_fen,
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def record_bank_statement(
        self, *, balance: Money, actor: str, occurred_on: date, note: str = ""
    ) -> str:
        self._check_currency(balance)
        if balance.amount_fen < 0:
            raise InvalidInput("a special account's statement balance cannot be negative")
        self.trigger_event(
            self.BankStatementRecorded,
            balance_fen=balance.amount_fen,
            **_facts(actor, occurred_on, note),
        )
        return self.last_event_id

    def reverse(
        self,
        *,
        original: LedgerEvent,
        reason: str,
        actor: str,
        occurred_on: date,
        loan_change_allowed: bool = True,
    ) -> str:
        """Record the reversal of one of this fund's money events."""
        original_id = event_id_of(original.originator_id, original.originator_version)
        if original.originator_id != self.id:
            raise NotReversible(f"event {original_id} is not in fund {self.name!r}")
        if original_id in self.reversed_event_ids:
            reversal_id = self.reversed_event_ids[original_id]
            raise AlreadyReversed(f"event {original_id} was already reversed by {reversal_id}")
        effect = reversal_effect(original)
        if self.balance_fen + effect["balance_change_fen"] < 0:
            raise InsufficientFunds(
                f"reversing {original_id} needs {format_fen(-effect['balance_change_fen'])} "
                f"but fund {self.name!r} holds {format_fen(self.balance_fen)}"
            )
        self.trigger_event(
            self.EventReversed,
            original_event_id=original_id,
            original_type=type(original).__name__,
            reason=require_text(reason, "reason"),
            **effect,
            **_facts(actor, occurred_on, ""),
        )
        return self.last_event_id

    # ---- checks --------------------------------------------------------------------------------

    def _check_currency(self, amount: Money) -> None:
        if amount.currency != self.currency:
            raise CurrencyMismatch(
                f"fund {self.name!r} holds {self.currency}, not {amount.currency}"
            )

    def _check_positive(self, amount: Money) -> None:
        self._check_currency(amount)
        if amount.amount_fen <= 0:
            raise InvalidInput("the amount must be positive")

    def _check_room(self, amount_fen: int) -> None:
        if self.balance_fen + amount_fen > AMOUNT_FEN_MAX:
            raise BalanceLimitExceeded(
                f"fund {self.name!r} would hold more than {format_fen(AMOUNT_FEN_MAX)}"
            )

    def _check_covered(self, amount_fen: int, verb: str) -> None:
        if amount_fen > self.balance_fen:
            raise InsufficientFunds(
                f"cannot {verb} {format_fen(amount_fen)} {self.currency}: fund {self.name!r} "
                f"holds {format_fen(self.balance_fen)}"
            )


class ReversalEffect(TypedDict):
    balance_change_fen: int
    in_kind_change_fen: int
    matching_grant_id: str
    matching_released_change_fen: int
    member_id: str
    shares_change: int
    loan_id: str


def reversal_effect(original: LedgerEvent) -> ReversalEffect:
    """What undoing `original` does to its fund; refuses events that move no money."""
    effect = ReversalEffect(
        balance_change_fen=0,
        in_kind_change_fen=0,
        matching_grant_id="",
        matching_released_change_fen=0,
        member_id="",
        shares_change=0,
        loan_id="",
    )
    match original:
        case Fund.DonationReceived() | Fund.AllocationReceived() | Fund.RepaymentReceived():
            effect["balance_change_fen"] = -original.amount_fen
            if isinstance(original, Fund.RepaymentReceived):
                effect["loan_id"] = original.loan_id
        case Fund.AllocationSent() | Fund.ExpenditurePaid():
            effect["balance_change_fen"] = original.amount_fen
        case Fund.InKindDonationReceived():
            effect["in_kind_change_fen"] = -original.value_fen
        case Fund.MatchingFundsReleased():
            effect["balance_change_fen"] = -original.amount_fen
            effect["matching_grant_id"] = original.grant_id
            effect["matching_released_change_fen"] = -original.amount_fen
        case Fund.LoanDisbursed():
            effect["balance_change_fen"] = original.principal_fen
            effect["loan_id"] = original.loan_id
        case Fund.CohortRolledOver():
            effect["balance_change_fen"] = -original.repaid_fen
        case Fund.SharesSubscribed():
            effect["balance_change_fen"] = -original.amount_fen
            effect["member_id"] = original.member_id
            effect["shares_change"] = -original.shares
        case _:
            raise NotReversible(f"{type(original).__name__} moves no money and cannot be reversed")
    return effect


def _facts(actor: str, occurred_on: date, note: str) -> dict[str, Any]:
    """The fields every event carries, checked once."""
    return {
        "actor": require_text(actor, "actor", NAME_LENGTH_MAX),
        "occurred_on": require_business_date(occurred_on),
        "note": require_note(note),
    }


def _check_categories(categories: list[str]) -> list[str]:
    if len(categories) > CATEGORIES_MAX:
        raise InvalidInput(f"a fund declares at most {CATEGORIES_MAX} spending categories")
    checked = [require_text(category, "category", NAME_LENGTH_MAX) for category in categories]
    if len(set(checked)) != len(checked):
        raise InvalidInput("allowed_categories lists a category twice")
    return checked


def _check_share_plan(plan: SharePlan | None) -> SharePlan | None:
    if plan is None:
        return None
    price_fen, low, high = plan["share_price_fen"], plan["shares_min"], plan["shares_max"]
    if price_fen <= 0 or not 1 <= low <= high <= SHARES_PER_MEMBER_MAX:
        raise InvalidInput(
            f"a share plan needs a positive price and 1 <= shares_min <= shares_max "
            f"<= {SHARES_PER_MEMBER_MAX}"
        )
    Money(price_fen * high)  # the largest holding must itself be a valid amount
    return SharePlan(share_price_fen=price_fen, shares_min=low, shares_max=high)


def _check_voucher(voucher: Voucher | None) -> Voucher:
    if voucher is None:
        raise VoucherRequired("an expenditure must be paid against a voucher")
    number = voucher.get("number", "")
    if not isinstance(number, str) or not number.strip():
        raise VoucherRequired("an expenditure must be paid against a numbered voucher")
    try:
        voucher_date = date.fromisoformat(voucher.get("date") or "")
    except (TypeError, ValueError):
        raise VoucherRequired("a voucher must carry its date as YYYY-MM-DD") from None
    require_business_date(voucher_date, "voucher.date")
    return Voucher(
        number=require_text(number, "voucher.number", NAME_LENGTH_MAX),
        date=voucher_date.isoformat(),
        description=require_text(voucher.get("description", ""), "voucher.description"),
    )
