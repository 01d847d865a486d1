"""The audit trail: every event with its chain link, the chain verified, published checkpoints."""

from __future__ import annotations

from fastapi import APIRouter

from api import examples as ex
from api.deps import AuditReader, Ledger, Reads
from api.routers.common import Cursor, Limit
from api.schemas import AuditEventOut, AuditEventPage, CheckpointList, CheckpointOut, VerifyOut
from fundledger.audit.checkpoints import latest_checkpoint, published_checkpoints
from fundledger.audit.verify import verify_log

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get(
    "/events",
    response_model=AuditEventPage,
    summary="Every event in store order, with actor, recorded time and its chain hash",
    responses={**ex.answered(ex.AUDIT_PAGE), **ex.problems(*ex.QUERY_PROBLEMS)},
)
def audit_events(
    *, caller: AuditReader, reads: Reads, limit: Limit = 100, cursor: Cursor = None
) -> AuditEventPage:
    page = reads.audit_events(limit=limit, cursor=cursor)
    items = [
        AuditEventOut(
            position=event.position,
            event_id=event.event_id,
            type=event.type,
            originator_id=event.originator_id,
            occurred_on=event.occurred_on,
            recorded_at=event.recorded_at,
            actor=event.actor,
            summary=event.summary,
            hash=event.hash,
            prev_hash=event.prev_hash,
        )
        for event in page.items
    ]
    return AuditEventPage(items=items, next_cursor=page.next_cursor)


@router.get(
    "/verify",
    response_model=VerifyOut,
    summary="Recompute the whole hash chain (and hold it against the latest checkpoint)",
    description="`ok` is false when any event was edited, removed, inserted or reordered, or when "
    "the log no longer holds what the latest published checkpoint covered; `position` is then "
    "the first broken position. The whole log is read: this can take a while on a large store.",
    responses={**ex.answered(ex.VERIFY_OK), **ex.problems(401, 403, 429, 503)},
)
def verify(caller: AuditReader, ledger: Ledger) -> VerifyOut:
    report = verify_log(ledger, latest_checkpoint(ledger))
    return VerifyOut(
        ok=report.ok,
        events_checked=report.events_checked,
        head_hash=report.head_hash,
        head_position=report.head_position,
        position=report.broken_position,
        problem=report.problem,
        detail=report.detail,
        checkpoint_position=report.checkpoint_position,
    )


@router.get(
    "/checkpoints",
    response_model=CheckpointList,
    summary="Signed statements of the log's head published so far (oldest first)",
    responses={**ex.answered(ex.CHECKPOINTS), **ex.problems(401, 403, 429, 503)},
)
def checkpoints(caller: AuditReader, ledger: Ledger) -> CheckpointList:
    return CheckpointList(
        items=[CheckpointOut.model_validate(c.to_dict()) for c in published_checkpoints(ledger)]
    )
