"""API keys over HTTP: revoking one (creating keys is `fundledger keys create`, shown once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request, Response

from api import examples as ex
from api.commanding import record
from api.deps import Admin, IdempotencyKey, Ledger
from api.routers.common import PLAIN_TEXT, today
from api.schemas import KeyRevocationIn, KeyRevocationRecorded
from fundledger.application import commands as c

router = APIRouter(prefix="/v1/keys", tags=["keys"])

_KEY_ID = "6e0f4f5a-2b1c-5d3e-9f8a-7b6c5d4e3f2a"
_EXAMPLE = {"reason": "the clerk left the bureau"}


@router.post(
    "/{key_id}/revocation",
    status_code=201,
    response_model=KeyRevocationRecorded,
    summary="Revoke an API key: it stops working at once, in every process",
    responses={
        **ex.recorded_example(_EXAMPLE, id=_KEY_ID, event_ids=[f"{_KEY_ID}.2"], position=99),
        **ex.problems(*ex.COMMAND_PROBLEMS),
    },
)
def revoke_key(
    *,
    request: Request,
    key_id: Annotated[str, Path(max_length=100, pattern=PLAIN_TEXT, examples=[_KEY_ID])],
    body: Annotated[KeyRevocationIn, Body(examples=[_EXAMPLE])],
    caller: Admin,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = c.RevokeApiKey(key_id=key_id, reason=body.reason, occurred_on=today())
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=KeyRevocationRecorded,
        idempotency_key=idempotency_key,
    )
