"""Bad input gets a clear problem+json 4xx and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

PROBLEM = "application/problem+json"


def _donation(api: Api, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"donor": api.party_id, "amount": "100", "occurred_on": "2016-03-01"}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def _assert_refused(api: Api, response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == status
    assert api.balance_fen() == 100_000
    return problem


BAD_AMOUNTS: list[Any] = [
    100,  # a JSON number
    100.5,  # a float
    "100.505",  # three decimals
    "-100",  # negative
    "0",  # not positive
    "0.00",
    "1e3",
    "100,00",
    "",
    "１００",  # full-width digits
    "1000000000000.01",  # beyond the 10^12 yuan limit
    "99999999999999",
    True,
    None,  # missing
    {"yuan": 100},
]
BAD_FIELDS: list[dict[str, Any]] = [
    {"occurred_on": "2016-02-30"},
    {"occurred_on": "16-03-01"},
    {"occurred_on": 1456790400},
    {"occurred_on": "2999-01-01"},  # far future
    {"occurred_on": "1800-01-01"},  # far past
    {"donor": ""},
    {"donor": 7},
    {"note": "x" * 2001},
    {"note": "nul\u0000byte"},
    {"unexpected": "field"},
]


def test_bad_amounts_are_422(api: Api) -> None:
    """Every malformed or non-positive amount is a 422 and the balance is unchanged."""
    for amount in BAD_AMOUNTS:
        response = api.post(f"/v1/funds/{api.fund_id}/donations", _donation(api, amount=amount))
        _assert_refused(api, response, 422)


def test_bad_fields_are_422(api: Api) -> None:
    """Bad dates, ids, overlong or unsafe text and unknown fields are 422s that record nothing."""
    for changes in BAD_FIELDS:
        response = api.post(f"/v1/funds/{api.fund_id}/donations", _donation(api, **changes))
        _assert_refused(api, response, 422)


def test_bad_ratio_and_remainder_are_422(api: Api) -> None:
    """A float ratio, a ratio above 1 for a rollover and an unknown remainder are 422s."""
    path = f"/v1/funds/{api.fund_id}/cohorts/1/rollover"
    for body in (
        {"ratio": 0.5, "occurred_on": "2016-12-31", "remainder": "grant"},
        {"ratio": "0", "occurred_on": "2016-12-31", "remainder": "grant"},
        {"ratio": "0.5", "occurred_on": "2016-12-31", "remainder": "forgive"},
    ):
        _assert_refused(api, api.post(path, body), 422)
    loan = {
        "borrower": api.party_id,
        "principal": "100",
        "cohort": "1",
        "occurred_on": "2016-04-01",
        "due_on": "2016-12-31",
    }
    assert api.post(f"/v1/funds/{api.fund_id}/loans", loan).status_code == 201
    over = {"ratio": "1.5", "occurred_on": "2016-12-31", "remainder": "grant"}
    assert api.post(path, over).status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/v1/funds/{unknown}/donations",
        "/v1/funds/not-a-uuid/donations",
    ],
)
def test_unknown_fund_is_404(api: Api, path: str) -> None:
    """A command on a fund that does not exist is a 404 naming the rule."""
    unknown = "00000000-0000-4000-8000-000000000000"
    response = api.post(path.format(unknown=unknown), _donation(api))
    problem = _assert_refused(api, response, 404)
    assert problem["rule"] == "unknown-fund"


def test_unknown_party_loan_and_event_are_404(api: Api) -> None:
    """An unknown donor, loan or event is a 404."""
    unknown = "00000000-0000-4000-8000-000000000000"
    donor = api.post(f"/v1/funds/{api.fund_id}/donations", _donation(api, donor=unknown))
    assert _assert_refused(api, donor, 404)["rule"] == "unknown-party"
    repayment = api.post(
        f"/v1/loans/{unknown}/repayments", {"amount": "1", "occurred_on": "2016-01-01"}
    )
    assert _assert_refused(api, repayment, 404)["rule"] == "unknown-loan"
    reversal = api.post(f"/v1/events/{unknown}.1/reversal", {"reason": "x"})
    assert _assert_refused(api, reversal, 404)["rule"] == "unknown-event"


def test_overdraft_is_409_and_records_nothing(api: Api) -> None:
    """Spending more than the fund holds is a 409 naming insufficient-funds; balance unchanged."""
    head = api.ledger.recorder.max_notification_id()
    response = api.post(
        f"/v1/funds/{api.fund_id}/expenditures",
        {
            "payee": api.party_id,
            "amount": "1000.01",
            "category": "cattle",
            "occurred_on": "2016-05-10",
            "voucher": {"number": "V-1", "date": "2016-05-10", "description": "cattle"},
        },
    )
    problem = _assert_refused(api, response, 409)
    assert problem["rule"] == "insufficient-funds"
    assert api.ledger.recorder.max_notification_id() == head


def test_closed_operation_violation_is_409(api: Api) -> None:
    """Spending on a category the fund does not allow is a 409 naming category-not-allowed."""
    response = api.post(
        f"/v1/funds/{api.fund_id}/expenditures",
        {
            "payee": api.party_id,
            "amount": "10",
            "category": "banquet",
            "occurred_on": "2016-05-10",
            "voucher": {"number": "V-1", "date": "2016-05-10", "description": "dinner"},
        },
    )
    assert _assert_refused(api, response, 409)["rule"] == "category-not-allowed"


def test_repayment_over_owed_and_lending_from_non_revolving_are_409(api: Api) -> None:
    """Repaying more than owed, and lending from a fund that does not revolve, are 409s."""
    loan = {
        "borrower": api.party_id,
        "principal": "100",
        "cohort": "1",
        "occurred_on": "2016-04-01",
        "due_on": "2016-12-31",
    }
    loan_id = api.post(f"/v1/funds/{api.fund_id}/loans", loan).json()["id"]
    over = api.post(
        f"/v1/loans/{loan_id}/repayments", {"amount": "100.01", "occurred_on": "2016-06-01"}
    )
    assert over.status_code == 409
    assert over.json()["rule"] == "repayment-exceeds-owed"
    refused = api.post(f"/v1/funds/{api.other_fund_id}/loans", loan)
    assert refused.status_code == 409
    assert refused.json()["rule"] == "fund-not-revolving"


MALFORMED_BODIES: list[tuple[bytes, int]] = [
    (b'{"donor":', 422),  # truncated JSON
    (b"not json at all", 422),
    (b"[" * 20_000, 400),  # nested too deep to parse
    (b'{"donor": "\xff\xfe"}', 400),  # not UTF-8
    (b"[]", 422),
    (b"null", 422),
]


def test_malformed_bodies_are_clear_4xx(api: Api) -> None:
    """Malformed JSON, deep nesting and invalid UTF-8 are each a problem+json 4xx."""
    for content, status in MALFORMED_BODIES:
        response = api.client.post(
            f"/v1/funds/{api.fund_id}/donations",
            content=content,
            headers=api.headers(**{"Content-Type": "application/json"}),
        )
        _assert_refused(api, response, status)


def test_lone_surrogate_escape_is_422(api: Api) -> None:
    """Text carrying a lone UTF-16 surrogate (valid JSON, not valid Unicode) is a 422."""
    note = '"a \\ud800 b"'  # the JSON escape itself, so the client never encodes it
    content = (
        f'{{"donor": "{api.party_id}", "amount": "1", "occurred_on": "2016-03-01", "note": {note}}}'
    ).encode()
    response = api.client.post(
        f"/v1/funds/{api.fund_id}/donations",
        content=content,
        headers=api.headers(**{"Content-Type": "application/json"}),
    )
    _assert_refused(api, response, 422)


def test_oversized_body_is_413(api: Api) -> None:
    """A body over the limit is refused with 413 before it is read."""
    big = _donation(api, note="x" * 70_000)
    _assert_refused(api, api.post(f"/v1/funds/{api.fund_id}/donations", big), 413)


def test_oversized_streamed_body_is_413(api: Api) -> None:
    """A body without Content-Length is counted as it streams and refused past the limit."""

    def chunks() -> Any:
        yield b'{"note": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = api.client.post(
        f"/v1/funds/{api.fund_id}/donations",
        content=chunks(),
        headers=api.headers(**{"Content-Type": "application/json"}),
    )
    _assert_refused(api, response, 413)


def test_unknown_route_and_method_are_problems(api: Api) -> None:
    """An unknown route is a problem+json 404, a wrong method a 405."""
    missing = api.get("/v1/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    wrong = api.client.delete("/v1/parties", headers=api.headers())
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == PROBLEM
    assert wrong.headers["Allow"] == "GET, POST"


def test_overlong_idempotency_key_is_422(api: Api) -> None:
    """An Idempotency-Key longer than 200 characters is refused."""
    response = api.post(
        f"/v1/funds/{api.fund_id}/donations", _donation(api), **{"Idempotency-Key": "k" * 201}
    )
    _assert_refused(api, response, 422)


def test_control_characters_in_paths_and_filters_are_422(api: Api) -> None:
    """A NUL or other control character in an id, cursor or filter is a 422, never a 500."""
    for path in (
        "/v1/funds/%00",
        "/v1/funds/%00/balance",
        "/v1/parties/%00/flows",
        "/v1/parties?cursor=%00",
        f"/v1/funds/{api.fund_id}/ledger?category=%00",
        f"/v1/funds/{api.fund_id}/ledger?counterparty=a%0Ab",
    ):
        response = api.client.get(path, headers=api.headers())
        assert response.status_code == 422, path
        assert response.headers["content-type"] == PROBLEM
    rollover = {"ratio": "0.5", "occurred_on": "2016-12-31", "remainder": "grant"}
    refused = api.post(f"/v1/funds/{api.fund_id}/cohorts/%00/rollover", rollover)
    _assert_refused(api, refused, 422)


def test_cursors_beyond_any_position_are_422(api: Api) -> None:
    """A cursor past 64 bits, or negative, was never given out: 422 on both stores, never 500."""
    huge = "9" * 23
    for path in (
        f"/v1/funds?cursor={huge}",
        f"/v1/parties?cursor={huge}",
        "/v1/parties?cursor=-1",
        f"/v1/audit/events?cursor={huge}",
        f"/v1/funds/{api.fund_id}/ledger?cursor=2015-01-01|{huge}",
    ):
        response = api.client.get(path, headers=api.headers("admin"))
        assert response.status_code == 422, path
        assert response.headers["content-type"] == PROBLEM
