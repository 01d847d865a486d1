"""The rules a fund enforces when a command is given, each as a named domain error."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from fundledger.domain.errors import (
    AlreadyReversed,
    BalanceLimitExceeded,
    CategoryNotAllowed,
    CurrencyMismatch,
    FundNotRevolving,
    InsufficientFunds,
    InvalidInput,
    NoSharePlan,
    NotReversible,
    SharesOutOfLimits,
    UnknownCohort,
    VoucherRequired,
)
from fundledger.domain.fund import Fund, SharePlan, Voucher
from fundledger.domain.money import AMOUNT_FEN_MAX, Money, format_fen

ON = date(2015, 6, 1)
ACTOR = "clerk"
VOUCHER = Voucher(number="V-1", date="2015-06-01", description="cement")


def open_fund(
    *,
    revolving: bool = False,
    categories: tuple[str, ...] = ("construction",),
    currency: str = "CNY",
    share_plan: SharePlan | None = None,
) -> Fund:
    return Fund.open(
        name="Service center",
        purpose="build it",
        bank_account="6222-01",
        custodian_id=uuid4(),
        allowed_categories=list(categories),
        revolving=revolving,
        actor=ACTOR,
        occurred_on=ON,
        currency=currency,
        share_plan=share_plan,
    )


def donate(fund: Fund, amount: str, donor: UUID | None = None) -> str:
    return fund.receive_donation(
        donor_id=donor or uuid4(), amount=Money.parse(amount), actor=ACTOR, occurred_on=ON
    )


def spend(fund: Fund, amount: str, category: str = "construction") -> str:
    return fund.pay_expenditure(
        payee_id=uuid4(),
        amount=Money.parse(amount),
        category=category,
        voucher=VOUCHER,
        actor=ACTOR,
        occurred_on=ON,
    )


def share_fund() -> Fund:
    plan = SharePlan(share_price_fen=100_000, shares_min=1, shares_max=20)
    return open_fund(share_plan=plan)


def subscribe(fund: Fund, member: UUID, shares: int) -> str:
    return fund.subscribe_shares(member_id=member, shares=shares, actor=ACTOR, occurred_on=ON)


# ---- no fund below zero ----------------------------------------------------------------------


def test_spending_more_than_the_balance_is_insufficient_funds() -> None:
    """An expenditure above the balance is refused and records nothing."""
    fund = open_fund()
    donate(fund, "100.00")
    version = fund.version
    with pytest.raises(InsufficientFunds):
        spend(fund, "100.01")
    assert (fund.balance_fen, fund.version) == (10_000, version)


def test_spending_exactly_the_balance_leaves_zero() -> None:
    """A fund may be spent to exactly zero, never below."""
    fund = open_fund()
    donate(fund, "100.00")
    spend(fund, "100.00")
    assert fund.balance_fen == 0


def test_a_fund_never_holds_more_than_the_amount_limit() -> None:
    """Donations that together pass 10^12 yuan are refused at the one that would pass it."""
    fund = open_fund()
    donate(fund, format_fen(AMOUNT_FEN_MAX))
    version = fund.version
    with pytest.raises(BalanceLimitExceeded):
        donate(fund, "0.01")
    assert (fund.balance_fen, fund.version) == (AMOUNT_FEN_MAX, version)


def test_allocating_more_than_the_balance_is_insufficient_funds() -> None:
    """An allocation cannot take the sending fund below zero."""
    source, target = open_fund(), open_fund()
    donate(source, "10.00")
    with pytest.raises(InsufficientFunds):
        source.send_allocation(
            counterpart_event_id="x.1",
            allocation_id=uuid4(),
            to_fund=target,
            amount=Money.parse("10.01"),
            purpose="p",
            actor=ACTOR,
            occurred_on=ON,
        )


def test_lending_more_than_the_balance_is_insufficient_funds() -> None:
    """A loan cannot take a revolving fund below zero."""
    fund = open_fund(revolving=True)
    donate(fund, "1000.00")
    with pytest.raises(InsufficientFunds):
        fund.disburse_loan(
            loan_id=uuid4(),
            borrower_id=uuid4(),
            principal=Money.parse("1100.00"),
            cohort="1",
            due_on=date(2015, 12, 31),
            actor=ACTOR,
            occurred_on=ON,
        )


def test_amounts_must_be_positive() -> None:
    """A zero donation or expenditure is not a fact worth recording."""
    fund = open_fund()
    with pytest.raises(InvalidInput):
        donate(fund, "0")
    with pytest.raises(InvalidInput):
        spend(fund, "0.00")


# ---- closed operation: allowed categories and vouchers ----------------------------------------


def test_spending_outside_the_allowed_categories_is_refused() -> None:
    """Closed operation: money leaves only for the fund's declared categories."""
    fund = open_fund(categories=("construction",))
    donate(fund, "100")
    with pytest.raises(CategoryNotAllowed):
        spend(fund, "10", category="banquet")
    assert fund.balance_fen == 10_000


@pytest.mark.parametrize(
    "voucher",
    [
        None,
        Voucher(number="", date="2015-06-01", description="cement"),
        Voucher(number="  ", date="2015-06-01", description="cement"),
        Voucher(number="V-1", date="01/06/2015", description="cement"),
        Voucher(number="V-1", date="", description="cement"),
    ],
)
def test_spending_needs_a_numbered_dated_voucher(voucher: Voucher | None) -> None:
    """Reimbursement system: an expenditure without a proper voucher is VoucherRequired."""
    fund = open_fund()
    donate(fund, "100")
    with pytest.raises(VoucherRequired):
        fund.pay_expenditure(
            payee_id=uuid4(),
            amount=Money.parse("10"),
            category="construction",
            voucher=voucher,
            actor=ACTOR,
            occurred_on=ON,
        )
    assert fund.balance_fen == 10_000


def test_categories_are_checked_when_the_fund_opens() -> None:
    """A category listed twice, or blank, is refused when opening the fund."""
    with pytest.raises(InvalidInput):
        open_fund(categories=("roads", "roads"))
    with pytest.raises(InvalidInput):
        open_fund(categories=("roads", " "))


# ---- currencies --------------------------------------------------------------------------------


def test_a_fund_never_mixes_currencies() -> None:
    """Donations, spending and allocations in another currency are CurrencyMismatch."""
    fund = open_fund()
    donate(fund, "100")
    with pytest.raises(CurrencyMismatch):
        fund.receive_donation(
            donor_id=uuid4(), amount=Money(100, "USD"), actor=ACTOR, occurred_on=ON
        )
    with pytest.raises(CurrencyMismatch):
        fund.pay_expenditure(
            payee_id=uuid4(),
            amount=Money(100, "USD"),
            category="construction",
            voucher=VOUCHER,
            actor=ACTOR,
            occurred_on=ON,
        )
    dollars = open_fund(currency="USD")
    with pytest.raises(CurrencyMismatch):
        fund.send_allocation(
            counterpart_event_id="x.1",
            allocation_id=uuid4(),
            to_fund=dollars,
            amount=Money.parse("1"),
            purpose="p",
            actor=ACTOR,
            occurred_on=ON,
        )
    assert fund.balance_fen == 10_000


def test_an_unknown_currency_code_cannot_open_a_fund() -> None:
    """A fund's currency must be a three-letter code."""
    with pytest.raises(InvalidInput):
        open_fund(currency="yuan")


# ---- matching grants ---------------------------------------------------------------------------


def pledge(fund: Fund, ratio: str, cap: str) -> None:
    fund.pledge_matching(
        grantor_id=uuid4(), ratio=Decimal(ratio), cap=Money.parse(cap), actor=ACTOR, occurred_on=ON
    )


def donate_and_match(fund: Fund, amount: str) -> list[Fund.MatchingFundsReleased]:
    """The releases this one donation brought."""
    donation_id = donate(fund, amount)
    already = len(fund.pending_events)
    fund.release_matching(
        donation_event_id=donation_id,
        donation_fen=Money.parse(amount).amount_fen,
        actor=ACTOR,
        occurred_on=ON,
    )
    return [e for e in fund.pending_events[already:] if isinstance(e, Fund.MatchingFundsReleased)]


def test_matching_releases_ratio_times_each_later_donation() -> None:
    """Each cash donation after the pledge brings ratio x its amount, rounded half up."""
    fund = open_fund()
    pledge(fund, "0.5", "1000")
    releases = donate_and_match(fund, "100.01")
    assert [r.amount_fen for r in releases] == [5_001]
    assert fund.balance_fen == 10_001 + 5_001


def test_matching_stops_exactly_at_the_cap_to_the_fen() -> None:
    """The release that reaches the cap is cut to the fen; later donations release nothing."""
    fund = open_fund()
    pledge(fund, "1", "19000.00")
    donate_and_match(fund, "18999.99")
    releases = donate_and_match(fund, "50000.00")
    assert [r.amount_fen for r in releases] == [1]
    grant = next(iter(fund.matching_grants.values()))
    assert grant["released_fen"] == grant["cap_fen"] == 1_900_000
    assert donate_and_match(fund, "10") == []
    assert fund.balance_fen == 1_899_999 + 5_000_000 + 1_000 + 1_900_000


def test_donations_before_the_pledge_are_not_matched() -> None:
    """Matching applies to later donations only."""
    fund = open_fund()
    donate(fund, "100")
    pledge(fund, "1", "1000")
    assert fund.balance_fen == 10_000


def test_a_matching_pledge_needs_a_positive_ratio_and_cap() -> None:
    """Ratio must be above 0 and the cap positive."""
    fund = open_fund()
    with pytest.raises(InvalidInput):
        pledge(fund, "0", "100")
    with pytest.raises(InvalidInput):
        pledge(fund, "0.5", "0")


def test_in_kind_gifts_are_valued_but_add_no_cash() -> None:
    """An in-kind donation counts toward in-kind value only, never the cash balance."""
    fund = open_fund()
    fund.receive_in_kind(
        donor_id=uuid4(),
        value=Money.parse("4000"),
        description="quilts",
        quantity="20",
        valuation_basis="purchase price",
        actor=ACTOR,
        occurred_on=ON,
    )
    assert (fund.balance_fen, fund.in_kind_value_fen) == (0, 400_000)


# ---- shares ------------------------------------------------------------------------------------


def test_members_subscribe_within_1_to_20_shares_of_1000() -> None:
    """A member may hold 1..20 shares at 1,000.00 each; the fund receives price x shares."""
    fund, member = share_fund(), uuid4()
    subscribe(fund, member, 20)
    assert fund.shares_by_member[str(member)] == 20
    assert fund.balance_fen == 20 * 100_000


@pytest.mark.parametrize("shares", [0, -1, 21])
def test_a_subscription_outside_the_limits_is_refused(shares: int) -> None:
    """Zero, negative or more than 20 shares is SharesOutOfLimits."""
    fund = share_fund()
    with pytest.raises(SharesOutOfLimits):
        subscribe(fund, uuid4(), shares)
    assert fund.balance_fen == 0


def test_share_limits_are_cumulative_per_member() -> None:
    """15 shares then 6 more would be 21: refused; another member is counted apart."""
    fund, member = share_fund(), uuid4()
    subscribe(fund, member, 15)
    with pytest.raises(SharesOutOfLimits):
        subscribe(fund, member, 6)
    subscribe(fund, member, 5)
    subscribe(fund, uuid4(), 20)
    assert fund.shares_by_member[str(member)] == 20


def test_a_fund_without_a_share_plan_sells_no_shares() -> None:
    """Subscribing to a fund that has no share plan is NoSharePlan."""
    with pytest.raises(NoSharePlan):
        subscribe(open_fund(), uuid4(), 1)


def test_a_share_plan_must_be_sensible() -> None:
    """A plan needs a positive price and 1 <= min <= max."""
    for plan in (
        SharePlan(share_price_fen=0, shares_min=1, shares_max=20),
        SharePlan(share_price_fen=100, shares_min=0, shares_max=20),
        SharePlan(share_price_fen=100, shares_min=5, shares_max=4),
    ):
        with pytest.raises(InvalidInput):
            open_fund(share_plan=plan)


# ---- loans and cohorts -------------------------------------------------------------------------


def test_only_a_revolving_fund_lends() -> None:
    """A loan from a fund that is not revolving is FundNotRevolving."""
    fund = open_fund()
    donate(fund, "5000")
    with pytest.raises(FundNotRevolving):
        fund.disburse_loan(
            loan_id=uuid4(),
            borrower_id=uuid4(),
            principal=Money.parse("1100"),
            cohort="1",
            due_on=date(2015, 12, 31),
            actor=ACTOR,
            occurred_on=ON,
        )


def test_a_loan_cannot_fall_due_before_it_is_disbursed() -> None:
    """due_on before occurred_on is invalid."""
    fund = open_fund(revolving=True)
    donate(fund, "5000")
    with pytest.raises(InvalidInput):
        fund.disburse_loan(
            loan_id=uuid4(),
            borrower_id=uuid4(),
            principal=Money.parse("1100"),
            cohort="1",
            due_on=date(2015, 5, 31),
            actor=ACTOR,
            occurred_on=ON,
        )


def test_an_unknown_cohort_is_its_own_error() -> None:
    """Asking for the loans of a cohort the fund never lent to is UnknownCohort."""
    with pytest.raises(UnknownCohort):
        open_fund(revolving=True).loans_of_cohort("9")


# ---- reversal (domain side) --------------------------------------------------------------------


def test_a_reversal_undoes_the_effect_and_cannot_be_repeated() -> None:
    """Reversing a donation takes its amount back; reversing it again is AlreadyReversed."""
    fund = open_fund()
    donate(fund, "100")
    original = fund.pending_events[-1]
    fund.reverse(original=original, reason="typo", actor=ACTOR, occurred_on=ON)  # type: ignore[arg-type]
    assert fund.balance_fen == 0
    with pytest.raises(AlreadyReversed):
        fund.reverse(original=original, reason="typo", actor=ACTOR, occurred_on=ON)  # type: ignore[arg-type]


def test_events_that_move_no_money_cannot_be_reversed() -> None:
    """Opening a fund or handing over custody is NotReversible."""
    fund = open_fund()
    fund.hand_over_custody(custodian_id=uuid4(), actor=ACTOR, occurred_on=ON)
    for event in fund.pending_events:
        with pytest.raises(NotReversible):
            fund.reverse(original=event, reason="no", actor=ACTOR, occurred_on=ON)  # type: ignore[arg-type]


def test_a_reversal_that_would_overdraw_is_refused() -> None:
    """Reversing a donation that was already spent would go below zero: InsufficientFunds."""
    fund = open_fund()
    donate(fund, "100")
    original = fund.pending_events[-1]
    spend(fund, "60")
    with pytest.raises(InsufficientFunds):
        fund.reverse(original=original, reason="typo", actor=ACTOR, occurred_on=ON)  # type: ignore[arg-type]
    assert fund.balance_fen == 4_000


def test_reversing_a_subscription_gives_back_the_shares() -> None:
    """After a subscription is reversed the member may subscribe the full limit again."""
    fund, member = share_fund(), uuid4()
    subscribe(fund, member, 20)
    fund.reverse(original=fund.pending_events[-1], reason="x", actor=ACTOR, occurred_on=ON)  # type: ignore[arg-type]
    assert (fund.balance_fen, fund.shares_by_member[str(member)]) == (0, 0)
    subscribe(fund, member, 20)


def test_every_event_records_actor_and_business_date() -> None:
    """Each event carries who recorded it and the business date, apart from its timestamp."""
    fund = open_fund()
    donate(fund, "1")
    for event in fund.pending_events:
        assert (event.actor, event.occurred_on) == (ACTOR, ON)  # type: ignore[attr-defined]
        assert event.timestamp.date() != ON


def test_business_dates_outside_the_window_are_refused() -> None:
    """A business date in 1900 or 2200 is a typo."""
    fund = open_fund()
    for day in (date(1900, 1, 1), date(2200, 1, 1)):
        with pytest.raises(InvalidInput):
            fund.receive_donation(
                donor_id=uuid4(), amount=Money.parse("1"), actor=ACTOR, occurred_on=day
            )
