"""Interest-free loans from revolving funds, their repayments, and cohorts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request, Response

from api import examples as ex
from api.commanding import record
from api.deps import FundReader, IdempotencyKey, Ledger, Reads, Recorder
from api.routers.common import PLAIN_TEXT, FundId, LoanId, found
from api.schemas import (
    CohortList,
    CohortOut,
    LoanIn,
    LoanRecorded,
    RepaymentIn,
    RepaymentRecorded,
    RolloverIn,
    RolloverRecorded,
)
from fundledger.application import commands as c
from fundledger.domain.errors import UnknownFund
from fundledger.domain.money import Money, format_fen, parse_ratio

router = APIRouter(tags=["loans and cohorts"])

_LOAN_EXAMPLE = {
    "borrower": ex.PARTY_ID,
    "principal": "1100.00",
    "cohort": "1",
    "occurred_on": "2016-04-01",
    "due_on": "2016-12-31",
}
_REPAYMENT_EXAMPLE = {"amount": "550.00", "occurred_on": "2016-12-20"}
_ROLLOVER_EXAMPLE = {"ratio": "0.5", "occurred_on": "2016-12-31", "remainder": "grant"}
Cohort = Annotated[str, Path(max_length=200, pattern=PLAIN_TEXT, examples=["1"])]


@router.post(
    "/v1/funds/{fund_id}/loans",
    status_code=201,
    response_model=LoanRecorded,
    summary="Disburse an interest-free loan to a household, in a cohort",
    responses={
        **ex.recorded_example(
            _LOAN_EXAMPLE,
            id=ex.LOAN_ID,
            fund_id=ex.FUND_ID,
            note="",
            event_ids=[f"{ex.FUND_ID}.5", f"{ex.LOAN_ID}.1"],
            position=57,
        ),
        **ex.problems(
            *ex.COMMAND_PROBLEMS,
            conflict=ex.conflict(
                "insufficient-funds", "cannot lend 1100.00 CNY: fund 'Cattle' holds 800.00"
            ),
        ),
    },
)
def disburse_loan(
    *,
    request: Request,
    fund_id: FundId,
    body: Annotated[LoanIn, Body(examples=[_LOAN_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = c.DisburseLoan(
        fund=fund_id,
        borrower=body.borrower,
        principal=Money.parse(body.principal),
        cohort=body.cohort,
        occurred_on=body.occurred_on,
        due_on=body.due_on,
        note=body.note,
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=LoanRecorded,
        idempotency_key=idempotency_key,
        fund_id=fund_id,
    )


@router.post(
    "/v1/loans/{loan_id}/repayments",
    status_code=201,
    response_model=RepaymentRecorded,
    summary="Record a repayment of a loan (never above what is owed)",
    responses={
        **ex.recorded_example(
            _REPAYMENT_EXAMPLE,
            loan_id=ex.LOAN_ID,
            note="",
            event_ids=[f"{ex.FUND_ID}.9", f"{ex.LOAN_ID}.2"],
            position=80,
        ),
        **ex.problems(
            *ex.COMMAND_PROBLEMS,
            conflict=ex.conflict(
                "repayment-exceeds-owed", "repayment of 2000.00 exceeds the 1100.00 still owed"
            ),
        ),
    },
)
def record_repayment(
    *,
    request: Request,
    loan_id: LoanId,
    body: Annotated[RepaymentIn, Body(examples=[_REPAYMENT_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = c.RecordRepayment(
        loan=loan_id, amount=Money.parse(body.amount), occurred_on=body.occurred_on, note=body.note
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=RepaymentRecorded,
        idempotency_key=idempotency_key,
        resource_field=None,
        loan_id=loan_id,
    )


@router.post(
    "/v1/funds/{fund_id}/cohorts/{cohort}/rollover",
    status_code=201,
    response_model=RolloverRecorded,
    summary="Year-end rollover: each loan repays ratio x principal; the rest granted or owed",
    responses={
        **ex.recorded_example(
            _ROLLOVER_EXAMPLE,
            fund_id=ex.FUND_ID,
            cohort="1",
            note="",
            event_ids=[f"{ex.FUND_ID}.90", f"{ex.LOAN_ID}.2"],
            position=170,
        ),
        **ex.problems(*ex.COMMAND_PROBLEMS),
    },
)
def roll_over_cohort(
    *,
    request: Request,
    fund_id: FundId,
    cohort: Cohort,
    body: Annotated[RolloverIn, Body(examples=[_ROLLOVER_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = c.RollOverCohort(
        fund=fund_id,
        cohort=cohort,
        ratio=parse_ratio(body.ratio),
        remainder=body.remainder,
        occurred_on=body.occurred_on,
        note=body.note,
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=RolloverRecorded,
        idempotency_key=idempotency_key,
        resource_field=None,
        fund_id=fund_id,
        cohort=cohort,
    )


@router.get(
    "/v1/funds/{fund_id}/cohorts",
    response_model=CohortList,
    summary="The fund's loan cohorts: principal, repaid, granted, outstanding",
    responses={**ex.answered(ex.COHORTS), **ex.problems(*ex.QUERY_PROBLEMS)},
)
def list_cohorts(fund_id: FundId, caller: FundReader, reads: Reads) -> CohortList:
    caller.check_fund(fund_id)
    cohorts = found(reads.cohorts(fund_id), UnknownFund(f"no fund has the id {fund_id!r}"))
    return CohortList(
        fund_id=fund_id,
        items=[
            CohortOut(
                cohort=cohort.cohort,
                loans=cohort.loans,
                principal=format_fen(cohort.principal_fen),
                repaid=format_fen(cohort.repaid_fen),
                granted=format_fen(cohort.granted_fen),
                outstanding=format_fen(cohort.outstanding_fen),
                overdue=format_fen(cohort.overdue_fen),
                repayment_rate=cohort.repayment_rate,
                funded_by=list(cohort.funded_by),
            )
            for cohort in cohorts
        ],
    )
