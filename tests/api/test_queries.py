"""The read endpoints answer the contract's fields from the read side, with read-your-writes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest

from fundledger.domain.money import parse_amount_fen
from tests.api.conftest import Api


def _donate(api: Api, amount: str, occurred_on: str = "2016-03-01") -> dict[str, Any]:
    body = {"donor": api.party_id, "amount": amount, "occurred_on": occurred_on}
    response = api.post(f"/v1/funds/{api.fund_id}/donations", body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_read_your_writes_with_min_position(api: Api) -> None:
    """A GET with the write's position as min_position sees the write."""
    position = _donate(api, "0.01")["position"]
    balance = api.get(f"/v1/funds/{api.fund_id}/balance", min_position=position).json()
    assert balance == {
        "fund_id": api.fund_id,
        "as_of": None,
        "balance": "1000.01",
        "currency": "CNY",
    }


def test_a_position_past_the_head_is_422(api: Api) -> None:
    """A min_position beyond the last stored event names no write: a 422, not a wait."""
    head = api.ledger.recorder.max_notification_id() or 0
    response = api.get(f"/v1/funds/{api.fund_id}/balance", min_position=head + 1)
    assert response.status_code == 422
    assert response.json()["rule"] == "invalid-input"


def test_a_position_not_reached_in_time_is_503_with_retry_after(fresh_api: Api) -> None:
    """When the read side cannot reach a stored position in time the answer is 503, Retry-After."""
    api = fresh_api
    follower = api.client.app.state.read_models.follower  # type: ignore[attr-defined]
    follower.stop()  # the read side stops following: new writes stay unread
    position = _donate(api, "1")["position"]
    response = api.get(f"/v1/funds/{api.fund_id}/balance", min_position=position)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["rule"] == "read-side-behind"


def test_fund_list_and_detail(fresh_api: Api) -> None:
    """GET /v1/funds pages the funds; GET /v1/funds/{id} adds account, custodian, categories."""
    api = fresh_api
    position = _donate(api, "1")["position"]
    first = api.get("/v1/funds", limit=1, min_position=position).json()
    assert len(first["items"]) == 1
    assert first["next_cursor"] is not None
    second = api.get("/v1/funds", limit=1, cursor=first["next_cursor"]).json()
    ids = {first["items"][0]["id"], second["items"][0]["id"]}
    assert ids == {api.fund_id, api.other_fund_id}
    detail = api.get(f"/v1/funds/{api.fund_id}").json()
    assert detail["balance"] == "1001.00"
    assert detail["custodian"] == api.party_id
    assert detail["allowed_categories"] == ["cattle", "newspapers"]
    assert detail["bank_account"] == "Cattle fund account"
    assert detail["version"] == api.ledger.fund(api.fund_id).version
    assert set(detail) >= {"id", "name", "purpose", "revolving", "balance", "currency"}


def test_unknown_fund_and_party_reads_are_404(api: Api) -> None:
    """Reads of a fund or party that does not exist are 404 problems."""
    unknown = "00000000-0000-4000-8000-000000000000"
    for path in (
        f"/v1/funds/{unknown}",
        f"/v1/funds/{unknown}/balance",
        f"/v1/funds/{unknown}/ledger",
        f"/v1/funds/{unknown}/compliance",
        f"/v1/funds/{unknown}/cohorts",
        f"/v1/funds/{unknown}/sources",
        f"/v1/parties/{unknown}/flows",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


def test_balance_as_of_a_date(api: Api) -> None:
    """The balance as of a date counts only money that moved on or before it."""
    position = _donate(api, "500", occurred_on="2016-06-01")["position"]
    early = api.get(f"/v1/funds/{api.fund_id}/balance", as_of="2016-01-31", min_position=position)
    late = api.get(f"/v1/funds/{api.fund_id}/balance", as_of="2016-12-31")
    assert early.json()["balance"] == "1000.00"
    assert early.json()["as_of"] == "2016-01-31"
    assert late.json()["balance"] == "1500.00"
    assert api.get(f"/v1/funds/{api.fund_id}/balance", as_of="2016-13-01").status_code == 422


def test_ledger_lines_carry_running_balances(api: Api) -> None:
    """Each ledger line has its amount, direction and the running balance after it."""
    position = _donate(api, "20.50")["position"]
    items = api.get(f"/v1/funds/{api.fund_id}/ledger", min_position=position).json()["items"]
    assert [(line["amount"], line["direction"], line["running_balance"]) for line in items] == [
        ("1000.00", "in", "1000.00"),
        ("20.50", "in", "1020.50"),
    ]


def test_cohorts_and_flows_follow_the_money(api: Api) -> None:
    """Loans show in their cohort; a party's flows sum exactly to what it gave."""
    loan = {
        "borrower": api.party_id,
        "principal": "300",
        "cohort": "1",
        "occurred_on": "2016-04-01",
        "due_on": "2016-12-31",
    }
    position = api.post(f"/v1/funds/{api.fund_id}/loans", loan).json()["position"]
    cohorts = api.get(f"/v1/funds/{api.fund_id}/cohorts", min_position=position).json()
    assert [
        (c["cohort"], c["loans"], c["principal"], c["outstanding"]) for c in cohorts["items"]
    ] == [("1", 1, "300.00", "300.00")]
    flows = api.get(f"/v1/parties/{api.party_id}/flows").json()
    assert flows["given"] == "1000.00"
    given_fen = sum(parse_amount_fen(item["amount"]) for item in flows["items"])
    assert given_fen == 100_000
    sources = api.get(f"/v1/funds/{api.fund_id}/sources").json()
    assert sources["balance"] == "700.00"
    assert sources["items"] == [{"party_id": api.party_id, "amount": "700.00"}]


def test_compliance_names_the_four_parts(api: Api) -> None:
    """The compliance answer has the four parts, each with ok and details, and findings."""
    answer = api.get(f"/v1/funds/{api.fund_id}/compliance").json()
    for part in ("special_account", "special_ledger", "special_personnel", "closed_operation"):
        assert isinstance(answer[part]["ok"], bool)
        assert isinstance(answer[part]["details"], dict)
    assert isinstance(answer["findings"], list)


def test_audit_events_list_every_event_with_its_chain(fresh_api: Api) -> None:
    """Audit events come in store order, each linking to the previous one's hash."""
    api = fresh_api
    head = api.ledger.recorder.max_notification_id()
    page = api.get("/v1/audit/events", role="auditor", limit=500, min_position=head).json()
    items = page["items"]
    assert [item["position"] for item in items] == sorted(item["position"] for item in items)
    assert items[-1]["position"] == head
    for before, after in itertools.pairwise(items):
        assert after["prev_hash"] == before["hash"]
    assert {item["actor"] for item in items} == {"test-setup"}


def test_a_balance_goes_to_the_thread_pool_only_for_the_key_and_the_query(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A balance read hands work to the thread pool twice (key lookup, query), not once per
    dependency: each hop is a thread hand-over that cost more than the query itself."""
    calls: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(function, "__name__", repr(function)))
        return await run_sync(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    response = api.get(f"/v1/funds/{api.fund_id}/balance", as_of="2016-12-31")
    assert response.status_code == 200, response.text
    assert len(calls) == 2, calls
