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
    400: problem_body(400, "malformed-request", "There was an error parsing the body"),
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
    400: "The body cannot be parsed at all (not UTF-8, or JSON nested too deep).",
    401: "No key, or an unknown or revoked key.",
    403: "The key's role (or funds) does not allow this.",
    404: "A named fund, party, loan or event does not exist.",
    409: "A rule of the ledger refuses the command (the body names the rule); nothing recorded.",
    413: "The body is too large.",
    422: "The request is malformed (a JSON number for an amount, a missing field, bad JSON).",
    429: "Too many failed authentications from this address; see Retry-After.",
    503: "The store (or the read side) cannot answer now; see Retry-After.",
}
COMMAND_PROBLEMS = (400, 401, 403, 404, 409, 413, 422, 429, 503)
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


def answered(example: Any) -> dict[int | str, Any]:
    """The 200 entry with an example answer."""
    return {200: {"content": {"application/json": {"example": example}}}}


FUND_ITEM = {
    "id": FUND_ID,
    "name": "Siluogou cattle fund",
    "purpose": "Interest-free support for cattle-raising households, revolving by cohort",
    "revolving": True,
    "balance": "12000.00",
    "currency": "CNY",
}
FUND_PAGE = {"items": [FUND_ITEM], "next_cursor": None}
FUND_DETAIL = {
    **FUND_ITEM,
    "bank_account": "6222 0210 0101 2345 678",
    "custodian": PARTY_ID,
    "allowed_categories": ["cattle"],
    "version": 126,
    "in_kind_value": "0.00",
}
PARTY_PAGE = {
    "items": [{"id": PARTY_ID, "name": "Municipal Civil Affairs Bureau", "kind": "government"}],
    "next_cursor": None,
}
BALANCE = {"fund_id": FUND_ID, "as_of": "2016-12-31", "balance": "12000.00", "currency": "CNY"}
LEDGER_PAGE = {
    "items": [
        {
            "event_id": f"{FUND_ID}.2",
            "occurred_on": "2016-03-01",
            "kind": "donation",
            "amount": "11950.00",
            "direction": "in",
            "counterparty": PARTY_ID,
            "running_balance": "11950.00",
            "category": None,
            "voucher": None,
            "in_kind": False,
            "reverses": None,
            "reversed_by": None,
            "note": "",
        }
    ],
    "next_cursor": "2",
}
COMPLIANCE = {
    "fund_id": FUND_ID,
    "special_account": {"ok": True, "details": {"bank_account": "6222 0210 0101 2345 678"}},
    "special_ledger": {"ok": True, "details": {"events": 126}},
    "special_personnel": {"ok": True, "details": {"custodian": PARTY_ID}},
    "closed_operation": {"ok": True, "details": {"allowed_categories": ["cattle"]}},
    "findings": [],
}
COHORTS = {
    "fund_id": FUND_ID,
    "items": [
        {
            "cohort": "1",
            "loans": 80,
            "principal": "88000.00",
            "repaid": "44000.00",
            "granted": "44000.00",
            "outstanding": "0.00",
            "overdue": "0.00",
            "repayment_rate": "0.50",
            "funded_by": [],
        },
        {
            "cohort": "2",
            "loans": 40,
            "principal": "44000.00",
            "repaid": "0.00",
            "granted": "0.00",
            "outstanding": "44000.00",
            "overdue": "0.00",
            "repayment_rate": "0.00",
            "funded_by": ["1"],
        },
    ],
}
FLOWS = {
    "party_id": PARTY_ID,
    "given": "11950.00",
    "items": [
        {"destination_kind": "grant", "destination": LOAN_ID, "amount": "5258.00", "detail": ""},
        {"destination_kind": "loan", "destination": LOAN_ID, "amount": "5258.00", "detail": ""},
        {"destination_kind": "fund", "destination": FUND_ID, "amount": "1434.00", "detail": ""},
    ],
}
SOURCES = {
    "fund_id": FUND_ID,
    "balance": "12000.00",
    "items": [
        {"party_id": PARTY_ID, "amount": "1434.00"},
        {"party_id": "1c9d3e5f-7a2b-4c6d-8e0f-1a2b3c4d5e6f", "amount": "10566.00"},
    ],
}
AUDIT_PAGE = {
    "items": [
        {
            "position": 1,
            "event_id": f"{PARTY_ID}.1",
            "type": "Party.Registered",
            "originator_id": PARTY_ID,
            "occurred_on": "2016-03-01",
            "recorded_at": "2026-11-28T17:00:00.000000Z",
            "actor": "clerk-wang",
            "summary": "registered government Municipal Civil Affairs Bureau",
            "hash": "9f2c" + "0" * 60,
            "prev_hash": "0" * 64,
        }
    ],
    "next_cursor": "1",
}

VERIFY_OK = {
    "ok": True,
    "events_checked": 1342,
    "head_hash": "5be1" + "0" * 60,
    "head_position": 1342,
    "position": None,
    "problem": None,
    "detail": "",
    "checkpoint_position": 1200,
}
CHECKPOINTS = {
    "items": [
        {
            "format": "fundledger-checkpoint/1",
            "position": 1200,
            "head_hash": "77ac" + "0" * 60,
            "events": 1200,
            "signed_at": "2026-11-28T18:00:00Z",
            "key_id": "3b1f9c2e7d4a6b58",
            "public_key": "a1" * 32,
            "signature": "c3" * 64,
        }
    ]
}
