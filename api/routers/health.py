"""Health: answers without a key; 503 when the store cannot be reached."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api import examples as ex
from api.deps import Ledger
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    summary="Is the service up and its store reachable? (no key needed)",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"status": "ok", "store": "sqlite", "read_side_position": 42}
                }
            }
        },
        **ex.problems(503),
    },
)
def health(request: Request, ledger: Ledger) -> Health:
    ledger.recorder.max_notification_id()  # raises (-> 503) when the store is down
    read_models = request.app.state.read_models
    position = read_models.position() if read_models is not None else None
    return Health(status="ok", store=request.app.state.store_kind, read_side_position=position)
