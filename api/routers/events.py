"""Reversals: a wrong entry is undone by a reversing event; the original stays in the log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from api import examples as ex
from api.commanding import record
from api.deps import IdempotencyKey, Ledger, Recorder
from api.routers.common import EventId, today
from api.schemas import ReversalIn, ReversalRecorded
from fundledger.application import commands as c

router = APIRouter(prefix="/v1/events", tags=["events"])

_EXAMPLE = {"reason": "Entered twice by mistake", "occurred_on": "2016-03-02"}


@router.post(
    "/{event_id}/reversal",
    status_code=201,
    response_model=ReversalRecorded,
    summary="Reverse an event (and what was recorded with it)",
    responses={
        **ex.recorded_example(
            _EXAMPLE,
            id=f"{ex.FUND_ID}.7",
            reverses=ex.EVENT_ID,
            event_ids=[f"{ex.FUND_ID}.7"],
            position=30,
        ),
        **ex.problems(
            *ex.COMMAND_PROBLEMS,
            conflict=ex.conflict("already-reversed", f"event {ex.EVENT_ID} was already reversed"),
        ),
    },
)
def reverse_event(
    *,
    request: Request,
    event_id: EventId,
    body: Annotated[ReversalIn, Body(examples=[_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    occurred_on = body.occurred_on or today()
    command = c.ReverseEvent(event_id=event_id, reason=body.reason, occurred_on=occurred_on)
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=ReversalRecorded,
        idempotency_key=idempotency_key,
        occurred_on=occurred_on,
        reverses=event_id,
    )
