"""Funds: open one, and everything recorded against or read from a single fund."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, cast

from fastapi import APIRouter, Body, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api import examples as ex
from api.commanding import record
from api.deps import BalanceReader, FundReader, IdempotencyKey, Ledger, Reads, Recorder
from api.routers.common import PLAIN_TEXT, Cursor, FundId, Limit, found, today
from api.schemas import (
    BalanceOut,
    BankStatementIn,
    BankStatementRecorded,
    ComplianceCheckOut,
    ComplianceOut,
    CustodianIn,
    CustodianRecorded,
    Direction,
    DonationIn,
    DonationRecorded,
    ExpenditureIn,
    ExpenditureRecorded,
    FindingOut,
    FundDetailOut,
    FundIn,
    FundItem,
    FundPage,
    FundRecorded,
    LedgerLineOut,
    LedgerPage,
    MatchingGrantIn,
    MatchingGrantRecorded,
    SharesIn,
    SharesRecorded,
    SourceOut,
    SourcesOut,
)
from fundledger.application import commands as c
from fundledger.domain.errors import UnknownFund
from fundledger.domain.fund import SharePlan, Voucher
from fundledger.domain.money import Money, format_fen, parse_amount_fen, parse_ratio
from projections.queries import ComplianceCheck, FundSummary

router = APIRouter(prefix="/v1/funds", tags=["funds"])

_FUND_EXAMPLE = {
    "name": "Siluogou cattle fund",
    "purpose": "Interest-free support for cattle-raising households, revolving by cohort",
    "bank_account": "6222 0210 0101 2345 678",
    "custodian": ex.PARTY_ID,
    "allowed_categories": ["cattle"],
    "revolving": True,
}
_DONATION_EXAMPLE = {"donor": ex.PARTY_ID, "amount": "11950.00", "occurred_on": "2016-03-01"}
_CUSTODIAN_EXAMPLE = {"custodian": ex.PARTY_ID, "occurred_on": "2016-06-30"}
_MATCHING_EXAMPLE = {
    "grantor": ex.PARTY_ID,
    "ratio": "0.5",
    "cap": "19000.00",
    "occurred_on": "2015-04-01",
}
_EXPENDITURE_EXAMPLE = {
    "payee": ex.PARTY_ID,
    "amount": "2000.00",
    "category": "newspapers",
    "occurred_on": "2016-05-10",
    "voucher": {"number": "V-2016-031", "date": "2016-05-10", "description": "Party newspapers"},
}
_SHARES_EXAMPLE = {"member": ex.PARTY_ID, "shares": 5, "occurred_on": "2016-04-01"}
_STATEMENT_EXAMPLE = {"balance": "12000.00", "occurred_on": "2016-12-31"}


def _not_found(fund_id: str) -> UnknownFund:
    return UnknownFund(f"no fund has the id {fund_id!r}")


def _recorded(example: Mapping[str, Any], **fields: Any) -> dict[int | str, Any]:
    return ex.recorded_example(example, **fields, event_ids=[f"{ex.FUND_ID}.2"], position=42)


# ---- commands ------------------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=FundRecorded,
    summary="Open a fund (a special account run three-specialized-and-closed)",
    responses={
        **_recorded(_FUND_EXAMPLE, id=ex.FUND_ID),
        **ex.problems(*ex.COMMAND_PROBLEMS),
    },
)
def open_fund(
    *,
    request: Request,
    body: Annotated[FundIn, Body(examples=[_FUND_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    occurred_on = body.occurred_on or today()
    plan = body.share_plan
    command = c.OpenFund(
        name=body.name,
        purpose=body.purpose,
        bank_account=body.bank_account,
        custodian=body.custodian,
        allowed_categories=list(body.allowed_categories),
        revolving=body.revolving,
        currency=body.currency,
        share_plan=SharePlan(
            share_price_fen=parse_amount_fen(plan.share_price),
            shares_min=plan.shares_min,
            shares_max=plan.shares_max,
        )
        if plan
        else None,
        occurred_on=occurred_on,
        note=body.note,
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=FundRecorded,
        idempotency_key=idempotency_key,
        occurred_on=occurred_on,
    )


@router.post(
    "/{fund_id}/custodian",
    status_code=201,
    response_model=CustodianRecorded,
    summary="Hand the fund over to a new custodian (special personnel)",
    responses={
        **_recorded(_CUSTODIAN_EXAMPLE, fund_id=ex.FUND_ID),
        **ex.problems(*ex.COMMAND_PROBLEMS),
    },
)
def hand_over_custody(
    *,
    request: Request,
    fund_id: FundId,
    body: Annotated[CustodianIn, Body(examples=[_CUSTODIAN_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = c.HandOverCustody(
        fund=fund_id, custodian=body.custodian, occurred_on=body.occurred_on, note=body.note
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=CustodianRecorded,
        idempotency_key=idempotency_key,
        resource_field=None,
        fund_id=fund_id,
    )


@router.post(
    "/{fund_id}/donations",
    status_code=201,
    response_model=DonationRecorded,
    summary="Record a donation (cash, or goods valued and tracked apart)",
    description="A cash donation also releases every open matching grant of the fund "
    "(each release is its own event, listed after the donation in `event_ids`).",
    responses={
        **_recorded(_DONATION_EXAMPLE, fund_id=ex.FUND_ID, in_kind=None, note=""),
        **ex.problems(*ex.COMMAND_PROBLEMS),
    },
)
def record_donation(
    *,
    request: Request,
    fund_id: FundId,
    body: Annotated[DonationIn, Body(examples=[_DONATION_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    in_kind = (
        c.InKind(
            description=body.in_kind.description,
            quantity=body.in_kind.quantity,
            valuation_basis=body.in_kind.valuation_basis,
        )
        if body.in_kind
        else None
    )
    command = c.RecordDonation(
        fund=fund_id,
        donor=body.donor,
        amount=Money.parse(body.amount),
        occurred_on=body.occurred_on,
        in_kind=in_kind,
        note=body.note,
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=DonationRecorded,
        idempotency_key=idempotency_key,
        resource_field=None,
        fund_id=fund_id,
    )


@router.post(
    "/{fund_id}/matching-grants",
    status_code=201,
    response_model=MatchingGrantRecorded,
    summary="Pledge a matching grant: ratio x each later cash donation, up to a cap",
    responses={
        **_recorded(_MATCHING_EXAMPLE, id="5c1e...", fund_id=ex.FUND_ID, note=""),
        **ex.problems(*ex.COMMAND_PROBLEMS),
    },
)
def pledge_matching_grant(
    *,
    request: Request,
    fund_id: FundId,
    body: Annotated[MatchingGrantIn, Body(examples=[_MATCHING_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = c.PledgeMatchingGrant(
        fund=fund_id,
        grantor=body.grantor,
        ratio=parse_ratio(body.ratio),
        cap=Money.parse(body.cap),
        occurred_on=body.occurred_on,
        note=body.note,
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=MatchingGrantRecorded,
        idempotency_key=idempotency_key,
        fund_id=fund_id,
    )


@router.post(
    "/{fund_id}/expenditures",
    status_code=201,
    response_model=ExpenditureRecorded,
    summary="Pay an expenditure against a voucher, in an allowed category (closed operation)",
    responses={
        **_recorded(_EXPENDITURE_EXAMPLE, fund_id=ex.FUND_ID, note=""),
        **ex.problems(
            *ex.COMMAND_PROBLEMS,
            conflict=ex.conflict(
                "category-not-allowed",
                "fund 'Siluogou cattle fund' may not spend on 'banquet' (allowed: cattle)",
            ),
        ),
    },
)
def pay_expenditure(
    *,
    request: Request,
    fund_id: FundId,
    body: Annotated[ExpenditureIn, Body(examples=[_EXPENDITURE_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    voucher = Voucher(
        number=body.voucher.number,
        date=body.voucher.date.isoformat(),
        description=body.voucher.description,
    )
    command = c.PayExpenditure(
        fund=fund_id,
        payee=body.payee,
        amount=Money.parse(body.amount),
        category=body.category,
        voucher=voucher,
        occurred_on=body.occurred_on,
        note=body.note,
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=ExpenditureRecorded,
        idempotency_key=idempotency_key,
        resource_field=None,
        fund_id=fund_id,
    )


@router.post(
    "/{fund_id}/shares",
    status_code=201,
    response_model=SharesRecorded,
    summary="Record a member's share subscription (a cooperative fund with a share plan)",
    responses={
        **_recorded(_SHARES_EXAMPLE, fund_id=ex.FUND_ID, note=""),
        **ex.problems(
            *ex.COMMAND_PROBLEMS,
            conflict=ex.conflict(
                "shares-out-of-limits",
                "a member holds 1..20 shares; this member holds 18 and asked for 5",
            ),
        ),
    },
)
def subscribe_shares(
    *,
    request: Request,
    fund_id: FundId,
    body: Annotated[SharesIn, Body(examples=[_SHARES_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = c.SubscribeShares(
        fund=fund_id,
        member=body.member,
        shares=body.shares,
        occurred_on=body.occurred_on,
        note=body.note,
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=SharesRecorded,
        idempotency_key=idempotency_key,
        resource_field=None,
        fund_id=fund_id,
    )


@router.post(
    "/{fund_id}/bank-statements",
    status_code=201,
    response_model=BankStatementRecorded,
    summary="Record what the bank says the special account held at the end of a day",
    responses={
        **_recorded(_STATEMENT_EXAMPLE, fund_id=ex.FUND_ID, note=""),
        **ex.problems(*ex.COMMAND_PROBLEMS),
    },
)
def record_bank_statement(
    *,
    request: Request,
    fund_id: FundId,
    body: Annotated[BankStatementIn, Body(examples=[_STATEMENT_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = c.RecordBankStatement(
        fund=fund_id,
        balance=Money.parse(body.balance),
        occurred_on=body.occurred_on,
        note=body.note,
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=BankStatementRecorded,
        idempotency_key=idempotency_key,
        resource_field=None,
        fund_id=fund_id,
    )


# ---- queries -------------------------------------------------------------------------------------


def _item(fund: FundSummary) -> dict[str, Any]:
    return {
        "id": fund.id,
        "name": fund.name,
        "purpose": fund.purpose,
        "revolving": fund.revolving,
        "balance": format_fen(fund.balance_fen),
        "currency": fund.currency,
    }


@router.get(
    "",
    response_model=FundPage,
    summary="List the funds this key may see",
    responses={**ex.answered(ex.FUND_PAGE), **ex.problems(*ex.QUERY_PROBLEMS)},
)
def list_funds(
    *, caller: FundReader, reads: Reads, limit: Limit = 100, cursor: Cursor = None
) -> FundPage:
    page = reads.funds(visible=caller.visible_funds, limit=limit, cursor=cursor)
    return FundPage(
        items=[FundItem.model_validate(_item(f)) for f in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/{fund_id}",
    response_model=FundDetailOut,
    summary="One fund: its account, custodian, allowed categories, balance and version",
    responses={**ex.answered(ex.FUND_DETAIL), **ex.problems(*ex.QUERY_PROBLEMS)},
)
def get_fund(fund_id: FundId, caller: FundReader, reads: Reads) -> FundDetailOut:
    caller.check_fund(fund_id)
    fund = found(reads.fund(fund_id), _not_found(fund_id))
    return FundDetailOut(
        **_item(fund),
        bank_account=fund.bank_account,
        custodian=fund.custodian,
        allowed_categories=list(fund.allowed_categories),
        version=fund.version,
        in_kind_value=format_fen(fund.in_kind_value_fen),
    )


@router.get(
    "/{fund_id}/balance",
    response_model=BalanceOut,
    summary="The fund's cash balance, now or at the end of a business date",
    responses={**ex.answered(ex.BALANCE), **ex.problems(*ex.QUERY_PROBLEMS)},
)
async def get_balance(
    *,
    fund_id: FundId,
    caller: BalanceReader,
    reads: Reads,
    as_of: Annotated[date | None, Query(description="YYYY-MM-DD; without it: now.")] = None,
) -> BalanceOut:
    # The most asked question: async, with only its query in the thread pool. A plain `def`
    # endpoint costs a second hop to the pool just to validate its answer.
    caller.check_fund(fund_id)
    balance = found(await run_in_threadpool(reads.balance, fund_id, as_of), _not_found(fund_id))
    return BalanceOut(
        fund_id=balance.fund_id,
        as_of=balance.as_of,
        balance=format_fen(balance.balance_fen),
        currency=balance.currency,
    )


@router.get(
    "/{fund_id}/ledger",
    response_model=LedgerPage,
    summary="The fund's special ledger: every movement with its running balance",
    responses={**ex.answered(ex.LEDGER_PAGE), **ex.problems(*ex.QUERY_PROBLEMS)},
)
def get_ledger(
    *,
    fund_id: FundId,
    caller: FundReader,
    reads: Reads,
    limit: Limit = 100,
    cursor: Cursor = None,
    date_from: date | None = None,
    date_to: date | None = None,
    category: Annotated[str | None, Query(max_length=200, pattern=PLAIN_TEXT)] = None,
    counterparty: Annotated[str | None, Query(max_length=100, pattern=PLAIN_TEXT)] = None,
) -> LedgerPage:
    caller.check_fund(fund_id)
    if reads.fund(fund_id) is None:
        raise _not_found(fund_id)
    page = reads.ledger(
        fund_id,
        limit=limit,
        cursor=cursor,
        date_from=date_from,
        date_to=date_to,
        category=category,
        counterparty=counterparty,
    )
    items = [
        LedgerLineOut(
            event_id=line.event_id,
            occurred_on=line.occurred_on,
            kind=line.kind,
            amount=format_fen(line.amount_fen),
            direction=cast(Direction, line.direction),
            counterparty=line.counterparty,
            running_balance=format_fen(line.running_balance_fen),
            category=line.category,
            voucher=line.voucher,
            in_kind=line.in_kind,
            reverses=line.reverses,
            reversed_by=line.reversed_by,
            note=line.note,
        )
        for line in page.items
    ]
    return LedgerPage(items=items, next_cursor=page.next_cursor)


def _check(check: ComplianceCheck) -> ComplianceCheckOut:
    return ComplianceCheckOut(ok=check.ok, details=dict(check.details))


@router.get(
    "/{fund_id}/compliance",
    response_model=ComplianceOut,
    summary="Three specialized and closed: account, ledger, personnel, closed operation",
    responses={**ex.answered(ex.COMPLIANCE), **ex.problems(*ex.QUERY_PROBLEMS)},
)
def get_compliance(fund_id: FundId, caller: FundReader, reads: Reads) -> ComplianceOut:
    caller.check_fund(fund_id)
    compliance = found(reads.compliance(fund_id), _not_found(fund_id))
    return ComplianceOut(
        fund_id=compliance.fund_id,
        special_account=_check(compliance.special_account),
        special_ledger=_check(compliance.special_ledger),
        special_personnel=_check(compliance.special_personnel),
        closed_operation=_check(compliance.closed_operation),
        findings=[
            FindingOut(part=f.part, message=f.message, event_ids=list(f.event_ids))
            for f in compliance.findings
        ],
    )


@router.get(
    "/{fund_id}/sources",
    response_model=SourcesOut,
    summary="Lineage: the mix of original sources in the fund's balance (sums to it)",
    responses={**ex.answered(ex.SOURCES), **ex.problems(*ex.QUERY_PROBLEMS)},
)
def get_sources(fund_id: FundId, caller: FundReader, reads: Reads) -> SourcesOut:
    caller.check_fund(fund_id)
    shares = found(reads.sources(fund_id), _not_found(fund_id))
    return SourcesOut(
        fund_id=fund_id,
        balance=format_fen(sum(share.amount_fen for share in shares)),
        items=[SourceOut(party_id=s.party_id, amount=format_fen(s.amount_fen)) for s in shares],
    )
