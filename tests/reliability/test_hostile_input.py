"""Hostile input on every command: injection and traversal strings are stored verbatim or refused,
never executed; out-of-range amounts and dates, overlong text and broken bodies on every command
(tests/api/test_bad_input.py covers donations) are clear 4xx that record nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import InProcessApi, ServerFactory, seed_funds
from tests.reliability.figures import FIGURES
from tests.reliability.harness import create_key

pytestmark = pytest.mark.postgres

HOSTILE_TEXTS = [
    "'; DROP TABLE fundledger_events; --",
    "' OR '1'='1",
    '"; DELETE FROM idempotency_keys; --',
    "1); TRUNCATE event_chain CASCADE; --",
    "Robert'); DROP TABLE rm_funds;--",
    "../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "file:///etc/shadow",
    "{{7*7}}${7*7}<%= 7*7 %>",
    "<script>alert(1)</script>",
    "$(touch /tmp/fundledger-pwned)`id`",
]
CLEAR_REFUSALS = {404, 409, 422}
Template = Callable[[InProcessApi], tuple[str, dict[str, Any]]]


def _voucher() -> dict[str, Any]:
    return {"number": "V-1", "date": "2016-05-10", "description": "calf"}


def _loan(api: InProcessApi) -> dict[str, Any]:
    return {
        "borrower": api.seeded.party_id,
        "principal": "10",
        "cohort": "2016",
        "occurred_on": "2016-04-01",
        "due_on": "2016-12-31",
    }


def _fund(api: InProcessApi) -> dict[str, Any]:
    return {
        "name": "Road fund",
        "purpose": "road",
        "bank_account": "6222-9",
        "custodian": api.seeded.party_id,
        "allowed_categories": ["gravel"],
        "revolving": False,
    }


COMMANDS: dict[str, Template] = {
    "party": lambda api: ("/v1/parties", {"name": "Household", "kind": "household"}),
    "fund": lambda api: ("/v1/funds", _fund(api)),
    "donation": lambda api: (
        f"/v1/funds/{api.seeded.fund_ids[0]}/donations",
        {"donor": api.seeded.party_id, "amount": "1", "occurred_on": "2016-03-01"},
    ),
    "in-kind": lambda api: (
        f"/v1/funds/{api.seeded.fund_ids[0]}/donations",
        {
            "donor": api.seeded.party_id,
            "amount": "1",
            "occurred_on": "2016-03-01",
            "in_kind": {"description": "cattle", "quantity": "2 head", "valuation_basis": "market"},
        },
    ),
    "allocation": lambda api: (
        "/v1/allocations",
        {
            "from_fund": api.seeded.fund_ids[0],
            "to_fund": api.seeded.fund_ids[1],
            "amount": "1",
            "occurred_on": "2016-06-01",
            "purpose": "road",
        },
    ),
    "loan": lambda api: (f"/v1/funds/{api.seeded.fund_ids[0]}/loans", _loan(api)),
    "expenditure": lambda api: (
        f"/v1/funds/{api.seeded.fund_ids[0]}/expenditures",
        {
            "payee": api.seeded.party_id,
            "amount": "1",
            "category": "cattle",
            "occurred_on": "2016-05-10",
            "voucher": _voucher(),
        },
    ),
    "matching-grant": lambda api: (
        f"/v1/funds/{api.seeded.fund_ids[0]}/matching-grants",
        {"grantor": api.seeded.party_id, "ratio": "0.5", "cap": "10", "occurred_on": "2016-02-01"},
    ),
    "bank-statement": lambda api: (
        f"/v1/funds/{api.seeded.fund_ids[0]}/bank-statements",
        {"balance": "1000", "occurred_on": "2016-02-01"},
    ),
    "custodian": lambda api: (
        f"/v1/funds/{api.seeded.fund_ids[0]}/custodian",
        {"custodian": api.seeded.party_id, "occurred_on": "2016-02-01"},
    ),
}
# Where each command carries free text (a path into its body).
TEXT_FIELDS: dict[str, list[tuple[str, ...]]] = {
    "party": [("name",), ("note",)],
    "fund": [("name",), ("purpose",), ("bank_account",), ("allowed_categories", "0"), ("note",)],
    "donation": [("note",), ("donor",)],
    "in-kind": [
        ("in_kind", "description"),
        ("in_kind", "quantity"),
        ("in_kind", "valuation_basis"),
    ],
    "allocation": [("purpose",), ("note",), ("to_fund",)],
    "loan": [("cohort",), ("note",), ("borrower",)],
    "expenditure": [
        ("category",),
        ("voucher", "number"),
        ("voucher", "description"),
        ("note",),
        ("payee",),
    ],
    "matching-grant": [("note",), ("grantor",)],
    "bank-statement": [("note",)],
    "custodian": [("note",), ("custodian",)],
}
AMOUNT_FIELDS: dict[str, tuple[str, ...]] = {
    "donation": ("amount",),
    "allocation": ("amount",),
    "loan": ("principal",),
    "expenditure": ("amount",),
    "matching-grant": ("cap",),
    "bank-statement": ("balance",),
}
DATE_FIELDS: dict[str, list[tuple[str, ...]]] = {
    "donation": [("occurred_on",)],
    "allocation": [("occurred_on",)],
    "loan": [("occurred_on",), ("due_on",)],
    "expenditure": [("occurred_on",), ("voucher", "date")],
    "matching-grant": [("occurred_on",)],
    "bank-statement": [("occurred_on",)],
    "custodian": [("occurred_on",)],
}
BEYOND_ANY_BUDGET = ["1000000000000.01", "9999999999999.99", "99999999999999", "1e13"]
FAR_DATES = ["0001-01-01", "1800-01-01", "2999-12-31", "9999-12-31", "+10000-01-01"]
OVERLONG = "长" * 100_000  # 300 KB of UTF-8: past the body limit, refused unread


def _set(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of `body` with the field at `path` replaced."""
    copy: Any = {
        key: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
        for key, v in body.items()
    }
    target = copy
    for step in path[:-1]:
        target = target[int(step)] if isinstance(target, list) else target[step]
    last = path[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return dict(copy)


def _read(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body
    for step in path:
        value = value[int(step)] if isinstance(value, list) else value[step]
    return value


def _event_count(api: InProcessApi) -> int:
    return len(list(api.ledger.recorder.select_notifications(1, 1_000_000)))


def test_injection_and_traversal_strings_are_stored_verbatim_or_refused(
    api_on_postgres: InProcessApi,
) -> None:
    """Every hostile string in every text field: a 201 that echoes it exactly, or a clear 4xx;
    the store's tables survive and hold exactly the events acknowledged."""
    api = api_on_postgres
    before = _event_count(api)
    acknowledged_events = 0
    sent = 0
    for command, fields in TEXT_FIELDS.items():
        for field in fields:
            for text in HOSTILE_TEXTS:
                path, body = COMMANDS[command](api)
                answer = api.post(path, _set(body, field, text))
                sent += 1
                if answer.status_code == 201:
                    assert _read(answer.json(), field) == text, (command, field)
                    acknowledged_events += len(answer.json()["event_ids"])
                else:
                    assert answer.status_code in CLEAR_REFUSALS, (command, field, answer.text)
                    assert answer.headers["content-type"] == "application/problem+json"
    FIGURES.add("bad inputs", sent)
    assert _event_count(api) == before + acknowledged_events
    verified = api.get("/v1/audit/verify", role="auditor").json()
    assert verified["ok"] is True
    assert verified["events_checked"] == before + acknowledged_events


def test_hostile_names_read_back_exactly(api_on_postgres: InProcessApi) -> None:
    """A party and a fund named with injection strings read back byte for byte from the views."""
    api = api_on_postgres
    for text in HOSTILE_TEXTS:
        party = api.post("/v1/parties", {"name": text, "kind": "household"})
        assert party.status_code == 201, party.text
        fund = api.post("/v1/funds", {**_fund(api), "name": text, "purpose": text})
        assert fund.status_code == 201, fund.text
        read = api.get(f"/v1/funds/{fund.json()['id']}", min_position=fund.json()["position"])
        assert (read.json()["name"], read.json()["purpose"]) == (text, text)
        flows = api.get(f"/v1/parties/{party.json()['id']}/flows")
        assert flows.status_code == 200, flows.text
    names = {item["name"] for item in api.get("/v1/parties", limit=500).json()["items"]}
    assert set(HOSTILE_TEXTS) <= names


def test_hostile_path_and_query_values_are_refused_or_match_nothing(
    api_on_postgres: InProcessApi,
) -> None:
    """Injection and traversal strings as ids, cohorts, filters and cursors: 4xx, or an empty
    answer; never another fund's lines, never a 500."""
    api = api_on_postgres
    fund_id = api.seeded.fund_ids[0]
    before = _event_count(api)
    for text in HOSTILE_TEXTS:
        quoted = httpx.URL("/").copy_with(path="/" + text).raw_path.decode()[1:]
        for path in (
            f"/v1/funds/{quoted}",
            f"/v1/funds/{quoted}/ledger",
            f"/v1/parties/{quoted}/flows",
        ):
            assert api.get(path).status_code in {404, 422}, path
        rollover = {"ratio": "0.5", "occurred_on": "2016-12-31", "remainder": "grant"}
        answer = api.post(f"/v1/funds/{fund_id}/cohorts/{quoted}/rollover", rollover)
        assert answer.status_code in CLEAR_REFUSALS, answer.text
        reversal = api.post(f"/v1/events/{quoted}/reversal", {"reason": "x"})
        assert reversal.status_code in CLEAR_REFUSALS, reversal.text
        for name in ("category", "counterparty"):
            lines = api.get(f"/v1/funds/{fund_id}/ledger", **{name: text})
            assert lines.status_code == 200, lines.text
            assert lines.json()["items"] == []
        for listing in ("/v1/funds", "/v1/parties", f"/v1/funds/{fund_id}/ledger"):
            assert api.get(listing, cursor=text).status_code == 422, listing
        FIGURES.add("bad inputs", 10)
    assert _event_count(api) == before


def test_amounts_beyond_any_budget_are_422_on_every_command(api_on_postgres: InProcessApi) -> None:
    """An amount past 10^12 yuan is a 422 on every command that takes one; nothing recorded."""
    api = api_on_postgres
    head = api.head()
    for command, field in AMOUNT_FIELDS.items():
        for amount in BEYOND_ANY_BUDGET:
            path, body = COMMANDS[command](api)
            answer = api.post(path, _set(body, field, amount))
            assert answer.status_code == 422, (command, amount, answer.text)
            FIGURES.add("bad inputs")
    assert api.head() == head


def test_far_dates_are_422_on_every_command(api_on_postgres: InProcessApi) -> None:
    """Far-past and far-future business dates are 422 in every date field; nothing recorded."""
    api = api_on_postgres
    head = api.head()
    for command, fields in DATE_FIELDS.items():
        for field in fields:
            for day in FAR_DATES:
                path, body = COMMANDS[command](api)
                answer = api.post(path, _set(body, field, day))
                assert answer.status_code == 422, (command, field, day, answer.text)
                FIGURES.add("bad inputs")
    assert api.head() == head


def test_overlong_text_and_broken_bodies_are_4xx_on_every_command(
    api_on_postgres: InProcessApi,
) -> None:
    """300 KB of text is a 413, deep nesting and invalid UTF-8 are 400, a 2,001-character note
    is 422 — on every command; nothing recorded."""
    api = api_on_postgres
    head = api.head()
    for command, template in COMMANDS.items():
        path, body = template(api)
        assert api.post(path, {**body, "note": OVERLONG}).status_code == 413, command
        assert api.post(path, {**body, "note": "x" * 2001}).status_code == 422, command
        for content in (b"[" * 50_000, b'{"note": "\xff\xfe"}', b"\xc0\xaf" * 10):
            answer = api.client.post(
                path, content=content, headers=api.headers(**{"Content-Type": "application/json"})
            )
            assert answer.status_code in {400, 413, 422}, (command, content[:10], answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        FIGURES.add("bad inputs", 5)
    assert api.head() == head


def test_huge_and_endless_bodies_over_a_real_socket_are_413(
    store: Any, postgres_url: str, serve: ServerFactory
) -> None:
    """Over real HTTP: a body declared larger than the limit and one streamed without end are
    refused with 413, and the server keeps serving."""
    seeded = seed_funds(store, (0,))
    key = create_key(postgres_url, "clerk", "flooding-clerk")
    server = serve(postgres_url, "flooded")
    path = f"/v1/funds/{seeded.fund_ids[0]}/donations"

    def endless() -> Any:
        yield b'{"note": "'
        for _ in range(4096):  # 16 MiB if it were all read; the server stops long before
            yield b"x" * 4096

    with server.client(key) as http:
        declared = http.post(path, content=b"x" * (2 * 1024 * 1024))
        assert declared.status_code == 413
        try:
            streamed = http.post(path, content=endless())
        except httpx.TransportError:
            streamed = None  # the server may close the connection once it has said no
        assert streamed is None or streamed.status_code == 413
        assert http.get("/health").status_code == 200
    FIGURES.add("bad inputs", 2)
    assert store.fund(seeded.fund_ids[0]).balance_fen == 0
