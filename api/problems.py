"""RFC 9457 problem details: every error the API answers, in one shape.

`type` is a URN naming the rule or the HTTP failure; `rule` repeats the rule's name for clients
that switch on it; `request_id` ties the answer to the log line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:fundledger:problem:"


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def problem_body(
    status: int, rule: str, detail: str, *, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": f"{PROBLEM_TYPE_PREFIX}{rule}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "rule": rule,
        **extra,
    }


def problem(
    status: int,
    rule: str,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    """A problem+json response."""
    body = problem_body(status, rule, detail, title=title, **extra)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))
