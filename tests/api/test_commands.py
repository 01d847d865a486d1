"""Every command endpoint through HTTP: 201 with the resource, event ids and position."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api


def _donation(api: Api, amount: str = "100") -> dict[str, Any]:
    return {"donor": api.party_id, "amount": amount, "occurred_on": "2016-03-01"}


def _loan(api: Api, principal: str = "1100", cohort: str = "1") -> dict[str, Any]:
    return {
        "borrower": api.party_id,
        "principal": principal,
        "cohort": cohort,
        "occurred_on": "2016-04-01",
        "due_on": "2016-12-31",
    }


def test_register_party_answers_the_party_with_its_event(api: Api) -> None:
    """POST /v1/parties records one event and answers its id, the event id and a position."""
    response = api.post("/v1/parties", {"name": "Cadres of the bureau", "kind": "donor"})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Cadres of the bureau"
    assert body["kind"] == "donor"
    assert body["event_ids"] == [f"{body['id']}.1"]
    assert body["position"] == api.ledger.recorder.max_notification_id()
    assert api.ledger.party(body["id"]).name == "Cadres of the bureau"


def test_open_fund_with_a_share_plan(api: Api) -> None:
    """POST /v1/funds opens a fund with its custodian, categories and share plan."""
    body = {
        "name": "Greenhouse cooperative",
        "purpose": "Solar greenhouses",
        "bank_account": "6222 1",
        "custodian": api.party_id,
        "allowed_categories": ["greenhouses"],
        "revolving": False,
        "share_plan": {"share_price": "1000", "shares_min": 1, "shares_max": 20},
    }
    response = api.post("/v1/funds", body)
    assert response.status_code == 201, response.text
    answer = response.json()
    fund = api.ledger.fund(answer["id"])
    assert fund.custodian_id == api.party_id
    assert fund.share_plan == {"share_price_fen": 100_000, "shares_min": 1, "shares_max": 20}
    assert answer["share_plan"]["share_price"] == "1000.00"
    shares = api.post(
        f"/v1/funds/{answer['id']}/shares",
        {"member": api.party_id, "shares": 5, "occurred_on": "2016-04-01"},
    )
    assert shares.status_code == 201, shares.text
    assert api.balance_fen(answer["id"]) == 500_000


def test_donation_amounts_are_normalised_to_two_decimals(api: Api) -> None:
    """Amounts "1100" and "1100.5" come back as "1100.00" and "1100.50"; the fund grows by them."""
    before = api.balance_fen()
    whole = api.post(f"/v1/funds/{api.fund_id}/donations", _donation(api, "1100"))
    half = api.post(f"/v1/funds/{api.fund_id}/donations", _donation(api, "1100.5"))
    assert (whole.status_code, half.status_code) == (201, 201)
    assert whole.json()["amount"] == "1100.00"
    assert half.json()["amount"] == "1100.50"
    assert half.json()["fund_id"] == api.fund_id
    assert api.balance_fen() == before + 110_000 + 110_050


def test_in_kind_donation_adds_no_cash(api: Api) -> None:
    """An in-kind donation is recorded with its valuation but leaves the cash balance alone."""
    before = api.balance_fen()
    body = {
        **_donation(api, "4000"),
        "in_kind": {"description": "20 quilts", "quantity": "20", "valuation_basis": "invoice"},
    }
    response = api.post(f"/v1/funds/{api.fund_id}/donations", body)
    assert response.status_code == 201, response.text
    assert api.balance_fen() == before
    assert api.ledger.fund(api.fund_id).in_kind_value_fen == 400_000


def test_matching_grant_releases_with_each_donation(api: Api) -> None:
    """A pledged matching grant adds ratio x each later cash donation as its own event."""
    pledge = {
        "grantor": api.party_id,
        "ratio": "0.5",
        "cap": "19000",
        "occurred_on": "2016-02-01",
    }
    pledged = api.post(f"/v1/funds/{api.fund_id}/matching-grants", pledge)
    assert pledged.status_code == 201, pledged.text
    assert pledged.json()["fund_id"] == api.fund_id
    before = api.balance_fen()
    donation = api.post(f"/v1/funds/{api.fund_id}/donations", _donation(api, "100"))
    assert len(donation.json()["event_ids"]) == 2
    assert api.balance_fen() == before + 15_000


def test_allocation_moves_money_between_two_funds(api: Api) -> None:
    """POST /v1/allocations debits one fund and credits the other in one step."""
    body = {
        "from_fund": api.fund_id,
        "to_fund": api.other_fund_id,
        "amount": "250.25",
        "occurred_on": "2016-05-01",
        "purpose": "road",
    }
    response = api.post("/v1/allocations", body)
    assert response.status_code == 201, response.text
    assert len(response.json()["event_ids"]) == 2
    assert api.balance_fen() == 100_000 - 25_025
    assert api.balance_fen(api.other_fund_id) == 25_025


def test_loan_repayment_and_rollover(api: Api) -> None:
    """A loan, a repayment and a cohort rollover with remainder granted leave nothing owed."""
    loan = api.post(f"/v1/funds/{api.fund_id}/loans", _loan(api, "500"))
    assert loan.status_code == 201, loan.text
    loan_id = loan.json()["id"]
    assert loan.json()["fund_id"] == api.fund_id
    repaid = api.post(
        f"/v1/loans/{loan_id}/repayments", {"amount": "100", "occurred_on": "2016-06-01"}
    )
    assert repaid.status_code == 201, repaid.text
    assert repaid.json()["loan_id"] == loan_id
    rollover = api.post(
        f"/v1/funds/{api.fund_id}/cohorts/1/rollover",
        {"ratio": "0.5", "occurred_on": "2016-12-31", "remainder": "grant"},
    )
    assert rollover.status_code == 201, rollover.text
    assert rollover.json()["cohort"] == "1"
    loan_now = api.ledger.loan(loan_id)
    assert (loan_now.repaid_fen, loan_now.granted_fen, loan_now.owed_fen) == (35_000, 15_000, 0)
    assert api.balance_fen() == 100_000 - 50_000 + 10_000 + 25_000


def test_expenditure_custodian_statement_and_reversal(api: Api) -> None:
    """Expenditure, custodian handover, bank statement and a reversal are each recorded."""
    spent = api.post(
        f"/v1/funds/{api.fund_id}/expenditures",
        {
            "payee": api.party_id,
            "amount": "200",
            "category": "newspapers",
            "occurred_on": "2016-05-10",
            "voucher": {"number": "V-1", "date": "2016-05-10", "description": "newspapers"},
        },
    )
    assert spent.status_code == 201, spent.text
    assert api.balance_fen() == 80_000
    new_custodian = api.post("/v1/parties", {"name": "Li Wei", "kind": "individual"}).json()["id"]
    handed = api.post(
        f"/v1/funds/{api.fund_id}/custodian",
        {"custodian": new_custodian, "occurred_on": "2016-06-30"},
    )
    assert handed.status_code == 201, handed.text
    assert api.ledger.fund(api.fund_id).custodian_id == new_custodian
    statement = api.post(
        f"/v1/funds/{api.fund_id}/bank-statements",
        {"balance": "800", "occurred_on": "2016-06-30"},
    )
    assert statement.status_code == 201, statement.text
    assert statement.json()["balance"] == "800.00"
    spent_event = spent.json()["event_ids"][0]
    reversal = api.post(f"/v1/events/{spent_event}/reversal", {"reason": "booked twice"})
    assert reversal.status_code == 201, reversal.text
    assert reversal.json()["reverses"] == spent_event
    assert api.balance_fen() == 100_000


def test_actor_is_the_key_name(api: Api) -> None:
    """The event records the key's name as its actor."""
    response = api.post("/v1/parties", {"name": "Donor", "kind": "donor"})
    event = api.ledger.event(response.json()["event_ids"][0])
    assert event.actor == "clerk-key"


def test_idempotent_retry_replays_the_first_answer(api: Api) -> None:
    """The same Idempotency-Key and body replays the first 201 verbatim and records nothing."""
    path = f"/v1/funds/{api.fund_id}/donations"
    first = api.post(path, _donation(api, "10"), **{"Idempotency-Key": "retry-1"})
    head = api.ledger.recorder.max_notification_id()
    again = api.post(path, _donation(api, "10.00"), **{"Idempotency-Key": "retry-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.ledger.recorder.max_notification_id() == head
    assert api.balance_fen() == 101_000


def test_idempotency_key_with_another_body_is_409(api: Api) -> None:
    """The same Idempotency-Key with a different body is a 409 naming the rule; nothing recorded."""
    path = f"/v1/funds/{api.fund_id}/donations"
    api.post(path, _donation(api, "10"), **{"Idempotency-Key": "retry-2"})
    other = api.post(path, _donation(api, "11"), **{"Idempotency-Key": "retry-2"})
    assert other.status_code == 409
    assert other.json()["rule"] == "idempotency-key-reused"
    assert api.balance_fen() == 101_000


def test_idempotency_keys_are_per_api_key(api: Api) -> None:
    """Two callers using the same Idempotency-Key do not collide."""
    path = f"/v1/funds/{api.fund_id}/donations"
    by_clerk = api.post(path, _donation(api, "10"), **{"Idempotency-Key": "shared"})
    by_admin = api.post(path, _donation(api, "10"), role="admin", **{"Idempotency-Key": "shared"})
    assert (by_clerk.status_code, by_admin.status_code) == (201, 201)
    assert by_clerk.json()["event_ids"] != by_admin.json()["event_ids"]
    assert api.balance_fen() == 102_000


def test_idempotency_survives_a_restart(api: Api) -> None:
    """A retry answered by a new process (a new ledger and app) still replays the first answer."""
    from fastapi.testclient import TestClient  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415
    from tests.api.conftest import make_app_settings  # noqa: PLC0415

    path = f"/v1/funds/{api.fund_id}/donations"
    first = api.post(path, _donation(api, "10"), **{"Idempotency-Key": "restart"})
    app = create_app(make_app_settings(api.database_url), configure_logs=False)
    with TestClient(app) as restarted:
        again = restarted.post(
            path, json=_donation(api, "10"), headers=api.headers(**{"Idempotency-Key": "restart"})
        )
    assert again.status_code == 201
    assert again.content == first.content
    assert api.balance_fen() == 101_000
