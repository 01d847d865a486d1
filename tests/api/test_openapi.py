"""The OpenAPI document: written to api/openapi.json, never stale, every endpoint documented."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.openapi import OPENAPI_PATH, render
from api.problems import PROBLEM_MEDIA_TYPE

DOCUMENT: dict[str, Any] = json.loads(render())
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
]


def test_openapi_json_is_not_stale() -> None:
    """api/openapi.json is exactly what the app serves (run `python -m api.openapi` to refresh)."""
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render()


def test_the_contract_paths_are_all_served() -> None:
    """Every path of the v1 contract is in the document."""
    contract = {
        ("POST", "/v1/parties"),
        ("POST", "/v1/funds"),
        ("POST", "/v1/funds/{fund_id}/custodian"),
        ("POST", "/v1/funds/{fund_id}/donations"),
        ("POST", "/v1/allocations"),
        ("POST", "/v1/funds/{fund_id}/matching-grants"),
        ("POST", "/v1/funds/{fund_id}/loans"),
        ("POST", "/v1/loans/{loan_id}/repayments"),
        ("POST", "/v1/funds/{fund_id}/cohorts/{cohort}/rollover"),
        ("POST", "/v1/funds/{fund_id}/expenditures"),
        ("POST", "/v1/events/{event_id}/reversal"),
        ("GET", "/v1/funds"),
        ("GET", "/v1/funds/{fund_id}"),
        ("GET", "/v1/parties"),
        ("GET", "/v1/funds/{fund_id}/balance"),
        ("GET", "/v1/funds/{fund_id}/ledger"),
        ("GET", "/v1/funds/{fund_id}/compliance"),
        ("GET", "/v1/funds/{fund_id}/cohorts"),
        ("GET", "/v1/parties/{party_id}/flows"),
        ("GET", "/v1/audit/events"),
        ("GET", "/v1/audit/verify"),
        ("GET", "/health"),
    }
    served = {(method, path) for method, path, _ in OPERATIONS}
    assert contract <= served, contract - served


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_every_endpoint_has_summary_and_examples(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    """Each operation has a summary, a request example (POST) and examples of its answers."""
    assert operation.get("summary"), (method, path)
    if method == "POST":
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema.get("examples"), (method, path)
    answers = operation["responses"]
    success = next(status for status in answers if status.startswith("2"))
    assert answers[success]["content"]["application/json"].get("example"), (method, path)
    problems = [status for status in answers if int(status) >= 400]
    assert problems, (method, path)
    for status in problems:
        content = answers[status]["content"]
        assert list(content) == [PROBLEM_MEDIA_TYPE], (method, path, status)
        assert content[PROBLEM_MEDIA_TYPE]["example"]["status"] == int(status)
