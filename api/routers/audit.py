"""The audit trail: every event with its hash-chain link (verification and checkpoints follow)."""

from __future__ import annotations

from fastapi import APIRouter

from api import examples as ex
from api.deps import AuditReader, Reads
from api.routers.common import Cursor, Limit
from api.schemas import AuditEventOut, AuditEventPage

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
