"""Running one command for a request: idempotency, the actor, and the 201 answer.

The answer is rendered inside the store transaction (so an Idempotency-Key replays exactly what
the first caller saw) from the request, the new resource id, the event ids and the position.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from api.deps import Caller
from api.schemas import RecordedFields
from fundledger.application.commands import (
    Command,
    CommandContext,
    IdempotencyRequest,
    Recorded,
)
from fundledger.application.ledger import FundLedger

JSON_MEDIA_TYPE = "application/json"
REPLAY_HEADER = "Idempotent-Replayed"


def fingerprint(method: str, path: str, body: BaseModel) -> str:
    """What makes two requests "the same" for an Idempotency-Key: method, path, canonical body."""
    canonical = json.dumps(
        body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def record(
    request: Request,
    ledger: FundLedger,
    caller: Caller,
    command: Command,
    *,
    body: BaseModel,
    answer: type[RecordedFields],
    idempotency_key: str | None,
    resource_field: str | None = "id",
    **fields: Any,
) -> Response:
    """Execute `command` as `caller` and answer 201 with `answer` (the request echoed, the new
    resource's id in `resource_field`, `fields`, event ids and position), or replay the first
    answer given for the same Idempotency-Key."""

    def render(recorded: Recorded) -> str:
        resource = {resource_field: recorded.resource_id} if resource_field else {}
        echoed = {**body.model_dump(), **fields, **resource}
        return answer(
            **echoed, event_ids=list(recorded.event_ids), position=recorded.position
        ).model_dump_json()

    idempotency = None
    if idempotency_key is not None:
        idempotency = IdempotencyRequest(
            scope=caller.key_id,
            key=idempotency_key,
            fingerprint=fingerprint(request.method, request.url.path, body),
            status_code=201,
            render=render,
        )
    recorded = ledger.execute(command, CommandContext(caller.name, idempotency))
    if recorded.replay_body is not None:
        return Response(
            recorded.replay_body,
            status_code=recorded.replay_status_code or 201,
            media_type=JSON_MEDIA_TYPE,
            headers={REPLAY_HEADER: "true"},
        )
    _poke_read_side(request)
    return Response(render(recorded), status_code=201, media_type=JSON_MEDIA_TYPE)


def _poke_read_side(request: Request) -> None:
    """Wake the in-process follower now, rather than at its next poll."""
    poke = getattr(request.app.state.read_models, "poke", None)
    if poke is not None:
        poke()
