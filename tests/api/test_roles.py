"""Every role x every endpoint gives the status the contract implies; no key is always 401."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fundledger.application.commands import CommandContext, RecordDonation
from fundledger.domain.access import api_key_id, hash_api_key
from fundledger.domain.money import Money
from tests.api.conftest import ROLES, Api, issue_key

WRITERS = {"admin", "clerk"}
READERS = {"admin", "clerk", "auditor"}
FUND_READERS = READERS | {"supervisor"}
AUDITORS = {"admin", "auditor"}


@dataclass(frozen=True)
class Endpoint:
    name: str
    request: Callable[[Api], tuple[str, str, Any]]  # fresh (method, path, body) per call
    allowed: frozenset[str]
    success: int


def _fresh_donation_event(api: Api) -> str:
    command = RecordDonation(
        fund=api.fund_id, donor=api.party_id, amount=Money.parse("1"), occurred_on=date(2016, 1, 3)
    )
    return api.ledger.execute(command, CommandContext(actor="setup")).event_ids[0]


def _fresh_loan(api: Api) -> str:
    body = _loan_body(api)
    loan_id: str = api.post(f"/v1/funds/{api.fund_id}/loans", body, role="admin").json()["id"]
    return loan_id


def _loan_body(api: Api, cohort: str = "1") -> dict[str, Any]:
    return {
        "borrower": api.party_id,
        "principal": "1",
        "cohort": cohort,
        "occurred_on": "2016-04-01",
        "due_on": "2016-12-31",
    }


def _rollover(api: Api) -> tuple[str, str, Any]:
    cohort = f"c{api.ledger.recorder.max_notification_id()}"
    api.post(f"/v1/funds/{api.fund_id}/loans", _loan_body(api, cohort), role="admin")
    body = {"ratio": "0.5", "occurred_on": "2016-12-31", "remainder": "grant"}
    return "POST", f"/v1/funds/{api.fund_id}/cohorts/{cohort}/rollover", body


def _revocation(api: Api) -> tuple[str, str, Any]:
    key_id = api_key_id(hash_api_key(issue_key(api.ledger, "auditor")))
    return "POST", f"/v1/keys/{key_id}/revocation", {"reason": "matrix"}


def _command(name: str, request: Callable[[Api], tuple[str, str, Any]]) -> Endpoint:
    return Endpoint(name, request, frozenset(WRITERS), 201)


def _query(name: str, path: Callable[[Api], str], allowed: set[str]) -> Endpoint:
    return Endpoint(name, lambda api: ("GET", path(api), None), frozenset(allowed), 200)


ENDPOINTS = [
    _command("party", lambda api: ("POST", "/v1/parties", {"name": "P", "kind": "household"})),
    _command(
        "fund",
        lambda api: (
            "POST",
            "/v1/funds",
            {
                "name": "F",
                "purpose": "p",
                "bank_account": "b",
                "custodian": api.party_id,
                "allowed_categories": [],
                "revolving": False,
            },
        ),
    ),
    _command(
        "custodian",
        lambda api: (
            "POST",
            f"/v1/funds/{api.fund_id}/custodian",
            {"custodian": api.party_id, "occurred_on": "2016-02-01"},
        ),
    ),
    _command(
        "donation",
        lambda api: (
            "POST",
            f"/v1/funds/{api.fund_id}/donations",
            {"donor": api.party_id, "amount": "1", "occurred_on": "2016-02-01"},
        ),
    ),
    _command(
        "allocation",
        lambda api: (
            "POST",
            "/v1/allocations",
            {
                "from_fund": api.fund_id,
                "to_fund": api.other_fund_id,
                "amount": "1",
                "occurred_on": "2016-02-01",
                "purpose": "road",
            },
        ),
    ),
    _command(
        "matching-grant",
        lambda api: (
            "POST",
            f"/v1/funds/{api.fund_id}/matching-grants",
            {"grantor": api.party_id, "ratio": "0.1", "cap": "1", "occurred_on": "2016-02-01"},
        ),
    ),
    _command("loan", lambda api: ("POST", f"/v1/funds/{api.fund_id}/loans", _loan_body(api))),
    _command(
        "repayment",
        lambda api: (
            "POST",
            f"/v1/loans/{_fresh_loan(api)}/repayments",
            {"amount": "0.5", "occurred_on": "2016-06-01"},
        ),
    ),
    _command("rollover", _rollover),
    _command(
        "expenditure",
        lambda api: (
            "POST",
            f"/v1/funds/{api.fund_id}/expenditures",
            {
                "payee": api.party_id,
                "amount": "1",
                "category": "cattle",
                "occurred_on": "2016-02-01",
                "voucher": {"number": "V", "date": "2016-02-01", "description": "d"},
            },
        ),
    ),
    _command(
        "bank-statement",
        lambda api: (
            "POST",
            f"/v1/funds/{api.fund_id}/bank-statements",
            {"balance": "1", "occurred_on": "2016-02-01"},
        ),
    ),
    _command(
        "reversal",
        lambda api: ("POST", f"/v1/events/{_fresh_donation_event(api)}/reversal", {"reason": "x"}),
    ),
    Endpoint("key-revocation", _revocation, frozenset({"admin"}), 201),
    _query("funds", lambda api: "/v1/funds", FUND_READERS),
    _query("fund", lambda api: f"/v1/funds/{api.fund_id}", FUND_READERS),
    _query("other-fund", lambda api: f"/v1/funds/{api.other_fund_id}", READERS),
    _query("balance", lambda api: f"/v1/funds/{api.fund_id}/balance", set(ROLES)),
    _query("other-balance", lambda api: f"/v1/funds/{api.other_fund_id}/balance", READERS),
    _query("ledger", lambda api: f"/v1/funds/{api.fund_id}/ledger", FUND_READERS),
    _query("other-ledger", lambda api: f"/v1/funds/{api.other_fund_id}/ledger", READERS),
    _query("compliance", lambda api: f"/v1/funds/{api.fund_id}/compliance", FUND_READERS),
    _query("cohorts", lambda api: f"/v1/funds/{api.fund_id}/cohorts", FUND_READERS),
    _query("other-cohorts", lambda api: f"/v1/funds/{api.other_fund_id}/cohorts", READERS),
    _query("sources", lambda api: f"/v1/funds/{api.fund_id}/sources", FUND_READERS),
    _query("parties", lambda api: "/v1/parties", READERS),
    _query("flows", lambda api: f"/v1/parties/{api.party_id}/flows", READERS),
    _query("audit-events", lambda api: "/v1/audit/events", AUDITORS),
    _query("audit-verify", lambda api: "/v1/audit/verify", AUDITORS),
    _query("audit-checkpoints", lambda api: "/v1/audit/checkpoints", AUDITORS),
]


def _send(api: Api, role: str | None, method: str, path: str, body: Any) -> int:
    response = api.client.request(method, path, json=body, headers=api.headers(role))
    status: int = response.status_code
    return status


def test_every_role_on_every_endpoint(api: Api) -> None:
    """Each role gets the endpoint's success status where allowed and 403 elsewhere; no key 401."""
    outcomes: dict[tuple[str, str], int] = {}
    expected: dict[tuple[str, str], int] = {}
    for endpoint in ENDPOINTS:
        for role in (*ROLES, None):
            method, path, body = endpoint.request(api)
            outcomes[endpoint.name, str(role)] = _send(api, role, method, path, body)
            if role is None:
                expected[endpoint.name, "None"] = 401
            else:
                allowed = role in endpoint.allowed
                expected[endpoint.name, role] = endpoint.success if allowed else 403
    wrong = {key: (outcomes[key], want) for key, want in expected.items() if outcomes[key] != want}
    assert not wrong, wrong


def test_supervisor_lists_only_its_funds(api: Api) -> None:
    """A supervisor's fund list holds only the funds on its key (no other fund's name leaks)."""
    listed = api.get("/v1/funds", role="supervisor").json()
    assert [fund["id"] for fund in listed["items"]] == [api.fund_id]
    assert "Road fund" not in str(listed)
    everything = api.get("/v1/funds", role="auditor", limit=500).json()
    assert {api.fund_id, api.other_fund_id} <= {fund["id"] for fund in everything["items"]}
