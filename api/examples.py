"""Example requests and problem answers for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.problems import PROBLEM_MEDIA_TYPE, problem_body
from api.schemas import Problem

FUND_ID = "3f0c8a52-5b7e-4b8e-9f53-6a3d2c1b0e9f"
PARTY_ID = "0b5c7e4e-3a59-4c4e-9d43-3b0a1f8f2a10"
LOAN_ID = "7d2e9b14-8c3f-4a61-b5d0-2e4f6a8c0b13"
EVENT_ID = f"{FUND_ID}.2"

_PROBLEMS: dict[int, dict[str, Any]] = {
    401: problem_body(401, "unauthenticated", "send an API key as 'Authorization: Bearer KEY'"),
    403: problem_body(403, "forbidden", "a supervisor key may not do this"),
    404: problem_body(404, "unknown-fund", f"no fund has the id {FUND_ID!r}", title="Not found"),
    409: problem_body(
        409,
        "insufficient-funds",
        "cannot spend 500.00 CNY: fund 'Cattle fund' holds 120.00",
        title="Rule violated",
    ),
    413: problem_body(413, "body-too-large", "the request body is larger than 65536 bytes"),
    422: problem_body(
        422,
        "invalid-request",
        "body.amount: Input should be a valid string",
        title="Invalid request",
        errors=[{"loc": ["body", "amount"], "msg": "Input should be a valid string"}],
    ),
    429: problem_body(429, "too-many-failed-authentications", "too many failed authentications"),
    503: problem_body(503, "store-unavailable", "the store cannot be reached now; retry shortly"),
}
_DESCRIPTIONS = {
    401: "No key, or an unknown or revoked key.",
    403: "The key's role (or funds) does not allow this.",
    404: "A named fund, party, loan or event does not exist.",
    409: "A rule of the ledger refuses the command (the body names the rule); nothing recorded.",
    413: "The body is too large.",
    422: "The request is malformed (a JSON number for an amount, a missing field, bad JSON).",
    429: "Too many failed authentications from this address; see Retry-After.",
    503: "The store (or the read side) cannot answer now; see Retry-After.",
}
COMMAND_PROBLEMS = (401, 403, 404, 409, 413, 422, 429, 503)
QUERY_PROBLEMS = (401, 403, 404, 422, 429, 503)


def problems(*statuses: int, conflict: dict[str, Any] | None = None) -> dict[int | str, Any]:
    """The `responses` entry for the problem answers an endpoint can give, each with an example."""
    answers: dict[int | str, Any] = {}
    for status in statuses:
        example = conflict if status == 409 and conflict else _PROBLEMS[status]
        answers[status] = {
            "model": Problem,
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_MEDIA_TYPE: {"example": example}},
        }
    return answers


def conflict(rule: str, detail: str) -> dict[str, Any]:
    return problem_body(409, rule, detail, title="Rule violated")


def recorded_example(example: Mapping[str, Any], **fields: Any) -> dict[int | str, Any]:
    """The 201 entry with an example answer."""
    body = {**example, **fields}
    return {201: {"content": {"application/json": {"example": body}}}}
