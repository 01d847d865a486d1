"""Access under attack, across real processes: revocation reaches every process at once, keys
never reach a log, keys are compared in constant time, and a fund-limited key sees no other
fund's name. The full role x endpoint matrix and the 429 on repeated 401s are tested in
tests/api/test_roles.py and tests/api/test_auth.py on both stores; not repeated here."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import pytest

from fundledger.application.ledger import FundLedger
from fundledger.domain import access
from tests.reliability.conftest import InProcessApi, ServerFactory, seed_funds
from tests.reliability.figures import FIGURES
from tests.reliability.harness import create_key

pytestmark = pytest.mark.postgres

PARTY = {"name": "Household", "kind": "household"}


@pytest.mark.slow
def test_a_key_revoked_through_one_server_stops_at_once_on_the_other(
    store: FundLedger, postgres_url: str, serve: ServerFactory
) -> None:
    """An admin revokes a clerk's key through server A; B refuses it on the very next request."""
    seed_funds(store, (0,))
    admin = create_key(postgres_url, "admin", "rel-admin")
    clerk = create_key(postgres_url, "clerk", "leaving-clerk")
    first, second = serve(postgres_url, "a"), serve(postgres_url, "b")
    with first.client(clerk) as on_a, second.client(clerk) as on_b:
        assert on_a.post("/v1/parties", json=PARTY).status_code == 201
        assert on_b.post("/v1/parties", json=PARTY).status_code == 201
        key_id = str(access.api_key_id(access.hash_api_key(clerk)))
        with first.client(admin) as as_admin:
            revoked = as_admin.post(f"/v1/keys/{key_id}/revocation", json={"reason": "left"})
        assert revoked.status_code == 201, revoked.text
        assert on_b.post("/v1/parties", json=PARTY).status_code == 401
        assert on_a.post("/v1/parties", json=PARTY).status_code == 401
        assert on_b.get("/v1/funds").status_code == 401
    FIGURES.add("requests", 6)


@pytest.mark.slow
def test_keys_never_reach_the_logs_of_any_process(
    store: FundLedger, postgres_url: str, serve: ServerFactory
) -> None:
    """Good, wrong, malformed and revoked keys, in headers where they belong and where they do
    not: neither a key nor its hash appears in any server's log."""
    seed_funds(store, (0,))
    good = create_key(postgres_url, "clerk", "logged-clerk")
    wrong = "fl_" + "x" * 40
    servers = [serve(postgres_url, "a"), serve(postgres_url, "b")]
    for server in servers:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            for authorization in (f"Bearer {good}", f"Bearer {wrong}", f"Basic {good}", good):
                http.post("/v1/parties", json=PARTY, headers={"Authorization": authorization})
                FIGURES.add("requests")
            http.get("/v1/funds", params={"key": good}, headers={"X-Api-Key": good})
            http.get("/v1/nowhere", headers={"Authorization": f"Bearer {good}"})
            FIGURES.add("requests", 2)
    for server in servers:
        server.stop()
        text = server.log_path.read_text()
        assert '"event": "request"' in text
        for secret in (good, wrong, access.hash_api_key(good), access.hash_api_key(wrong)):
            assert secret not in text, server.log_path


def test_a_presented_key_is_compared_in_constant_time(
    api_on_postgres: InProcessApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key's hash is checked with hmac.compare_digest, and only ever its hash is looked up."""
    compared: list[tuple[bytes, bytes]] = []
    compare_digest = hmac.compare_digest

    def recording_compare(left: Any, right: Any) -> bool:
        compared.append((left, right))
        return compare_digest(left, right)

    monkeypatch.setattr(hmac, "compare_digest", recording_compare)  # the module access uses
    api = api_on_postgres
    assert api.get("/v1/funds").status_code == 200
    key_hash = hashlib.sha256(api.keys["clerk"].encode()).hexdigest().encode()
    assert compared == [(key_hash, key_hash)]
    assert all(api.keys["clerk"].encode() not in pair for pair in compared)


def test_a_fund_limited_key_sees_no_other_funds_name(api_on_postgres: InProcessApi) -> None:
    """A supervisor of one fund, whose fund received money from a secret fund, finds the secret
    fund's name in no answer it may read; a client's key sees only its balance."""
    api = api_on_postgres
    own, secret = api.seeded.fund_ids
    renamed = api.post(
        "/v1/funds",
        {
            "name": "Secret reserve",
            "purpose": "reserve",
            "bank_account": "6222-secret",
            "custodian": api.seeded.party_id,
            "allowed_categories": [],
            "revolving": False,
        },
    )
    secret = renamed.json()["id"]
    donation = {"donor": api.seeded.party_id, "amount": "50", "occurred_on": "2016-02-01"}
    assert api.post(f"/v1/funds/{secret}/donations", donation).status_code == 201
    moved = api.post(
        "/v1/allocations",
        {
            "from_fund": secret,
            "to_fund": own,
            "amount": "20",
            "occurred_on": "2016-02-02",
            "purpose": "top-up",
        },
    )
    assert moved.status_code == 201, moved.text
    position = moved.json()["position"]
    readable = [
        "/v1/funds",
        f"/v1/funds/{own}",
        f"/v1/funds/{own}/balance",
        f"/v1/funds/{own}/ledger",
        f"/v1/funds/{own}/compliance",
        f"/v1/funds/{own}/cohorts",
        f"/v1/funds/{own}/sources",
    ]
    for path in readable:
        answer = api.get(path, role="supervisor", min_position=position)
        assert answer.status_code == 200, (path, answer.text)
        assert "Secret reserve" not in answer.text, path
    for path in readable[:1] + readable[3:]:
        assert api.get(path, role="client").status_code == 403, path
    for path in ("/v1/parties", "/v1/audit/events", f"/v1/funds/{secret}"):
        assert api.get(path, role="supervisor").status_code == 403, path
