"""Allocations: money moved from one fund to another in one atomic step."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from api import examples as ex
from api.commanding import record
from api.deps import IdempotencyKey, Ledger, Recorder
from api.schemas import AllocationIn, AllocationRecorded
from fundledger.application import commands as c
from fundledger.domain.money import Money

router = APIRouter(prefix="/v1/allocations", tags=["allocations"])

_EXAMPLE = {
    "from_fund": ex.FUND_ID,
    "to_fund": "9a4b2c6d-1e3f-4a5b-8c7d-0e1f2a3b4c5d",
    "amount": "100000.00",
    "occurred_on": "2015-05-01",
    "purpose": "Village service center",
}


@router.post(
    "",
    status_code=201,
    response_model=AllocationRecorded,
    summary="Allocate money from one fund to another (both change in one atomic step)",
    responses={
        **ex.recorded_example(
            _EXAMPLE,
            id="c2d4...",
            note="",
            event_ids=[f"{ex.FUND_ID}.3", "9a4b2c6d-1e3f-4a5b-8c7d-0e1f2a3b4c5d.2"],
            position=9,
        ),
        **ex.problems(*ex.COMMAND_PROBLEMS),
    },
)
def allocate(
    *,
    request: Request,
    body: Annotated[AllocationIn, Body(examples=[_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = c.AllocateFunds(
        from_fund=body.from_fund,
        to_fund=body.to_fund,
        amount=Money.parse(body.amount),
        occurred_on=body.occurred_on,
        purpose=body.purpose,
        note=body.note,
    )
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=AllocationRecorded,
        idempotency_key=idempotency_key,
    )
