"""Parties: register one, list them, follow a party's money (lineage)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from api import examples as ex
from api.commanding import record
from api.deps import IdempotencyKey, Ledger, Reader, Reads, Recorder
from api.routers.common import Cursor, Limit, PartyId, found, today
from api.schemas import FlowOut, FlowsOut, PartyIn, PartyItem, PartyPage, PartyRecorded
from fundledger.application.commands import RegisterParty
from fundledger.domain.errors import UnknownParty
from fundledger.domain.money import format_fen

router = APIRouter(prefix="/v1/parties", tags=["parties"])

_EXAMPLE = {"name": "Municipal Civil Affairs Bureau", "kind": "government"}


@router.post(
    "",
    status_code=201,
    response_model=PartyRecorded,
    summary="Register a party (a donor, household, vendor, ...)",
    responses={
        **ex.recorded_example(
            _EXAMPLE,
            id=ex.PARTY_ID,
            occurred_on=None,
            note="",
            event_ids=[f"{ex.PARTY_ID}.1"],
            position=1,
        ),
        **ex.problems(
            400,
            401,
            403,
            409,
            413,
            422,
            429,
            503,
            conflict=ex.conflict(
                "idempotency-key-reused",
                "Idempotency-Key 'party-1' was already used for a different request",
            ),
        ),
    },
)
def register_party(
    *,
    request: Request,
    body: Annotated[PartyIn, Body(examples=[_EXAMPLE])],
    caller: Recorder,
    ledger: Ledger,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    occurred_on = body.occurred_on or today()
    command = RegisterParty(name=body.name, kind=body.kind, occurred_on=occurred_on, note=body.note)
    return record(
        request,
        ledger,
        caller,
        command,
        body=body,
        answer=PartyRecorded,
        idempotency_key=idempotency_key,
        occurred_on=occurred_on,
    )


@router.get(
    "",
    response_model=PartyPage,
    summary="List parties",
    responses={**ex.answered(ex.PARTY_PAGE), **ex.problems(*ex.QUERY_PROBLEMS)},
)
def list_parties(
    *, caller: Reader, reads: Reads, limit: Limit = 100, cursor: Cursor = None
) -> PartyPage:
    page = reads.parties(limit=limit, cursor=cursor)
    items = [PartyItem(id=p.id, name=p.name, kind=p.kind) for p in page.items]
    return PartyPage(items=items, next_cursor=page.next_cursor)


@router.get(
    "/{party_id}/flows",
    response_model=FlowsOut,
    summary="Where a party's money went (lineage through funds, loans and cohorts)",
    responses={**ex.answered(ex.FLOWS), **ex.problems(*ex.QUERY_PROBLEMS)},
)
def party_flows(party_id: PartyId, caller: Reader, reads: Reads) -> FlowsOut:
    flows = found(reads.flows(party_id), UnknownParty(f"no party has the id {party_id!r}"))
    return FlowsOut(
        party_id=flows.party_id,
        given=format_fen(flows.given_fen),
        items=[
            FlowOut(
                destination_kind=flow.destination_kind,
                destination=flow.destination,
                amount=format_fen(flow.amount_fen),
                detail=flow.detail,
            )
            for flow in flows.items
        ],
    )
