"""Keys: no or unknown key is 401, revoked keys stop at once, failures are rate limited, keys
never reach the logs; every request logs one line with its request id."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from api.app import create_app
from fundledger.application.commands import CommandContext, RevokeApiKey
from fundledger.bootstrap import open_ledger
from fundledger.domain.access import api_key_id, hash_api_key
from tests.api.conftest import Api, issue_key, make_app_settings

PARTY = {"name": "Donor", "kind": "donor"}


def test_no_key_is_401_with_a_bearer_challenge(api: Api) -> None:
    """A request without a key is a 401 problem with WWW-Authenticate: Bearer."""
    response = api.post("/v1/parties", PARTY, role=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_or_malformed_key_is_401(api: Api) -> None:
    """An unknown key, a huge key and a non-Bearer scheme are all 401s."""
    for authorization in ("Bearer nope", "Bearer " + "k" * 5000, f"Basic {api.keys['clerk']}"):
        response = api.client.post(
            "/v1/parties", json=PARTY, headers={"Authorization": authorization}
        )
        assert response.status_code == 401, authorization


def test_revoked_key_stops_at_once_in_another_process(api: Api) -> None:
    """A key revoked through another ledger (another process) is refused on its next request."""
    key = issue_key(api.ledger, "clerk", name="leaving-clerk")
    headers = {"Authorization": f"Bearer {key}"}
    assert api.client.post("/v1/parties", json=PARTY, headers=headers).status_code == 201
    elsewhere = open_ledger(api.database_url)
    try:
        revoke = RevokeApiKey(
            key_id=str(api_key_id(hash_api_key(key))), reason="left", occurred_on=date(2026, 2, 1)
        )
        elsewhere.execute(revoke, CommandContext(actor="admin"))
    finally:
        elsewhere.close()
    assert api.client.post("/v1/parties", json=PARTY, headers=headers).status_code == 401


def test_admin_revokes_a_key_over_http(api: Api) -> None:
    """POST /v1/keys/{id}/revocation by an admin revokes the key; a second revocation is 409."""
    key = issue_key(api.ledger, "auditor", name="temp-auditor")
    key_id = str(api_key_id(hash_api_key(key)))
    assert (
        api.post(f"/v1/keys/{key_id}/revocation", {"reason": "done"}, role="clerk").status_code
        == 403
    )
    revoked = api.post(f"/v1/keys/{key_id}/revocation", {"reason": "done"}, role="admin")
    assert revoked.status_code == 201, revoked.text
    again = api.post(f"/v1/keys/{key_id}/revocation", {}, role="admin")
    assert again.status_code == 409
    assert again.json()["rule"] == "key-already-revoked"
    audit = api.client.get("/v1/audit/events", headers={"Authorization": f"Bearer {key}"})
    assert audit.status_code == 401


def test_failed_authentications_are_rate_limited_per_address(database_url: str) -> None:
    """Past the allowed 401s an address gets 429 with Retry-After, even with a good key."""
    ledger = open_ledger(database_url)
    key = issue_key(ledger, "admin")
    settings = make_app_settings(database_url, unauthorized_per_window_max=3)
    app = create_app(settings, ledger=ledger, configure_logs=False)
    try:
        with TestClient(app) as client:
            statuses = [
                client.post(
                    "/v1/parties", json=PARTY, headers={"Authorization": f"Bearer bad{n}"}
                ).status_code
                for n in range(4)
            ]
            good = client.post(
                "/v1/parties", json=PARTY, headers={"Authorization": f"Bearer {key}"}
            )
    finally:
        ledger.close()
    assert statuses == [401, 401, 401, 429]
    assert good.status_code == 429
    assert int(good.headers["Retry-After"]) >= 1


def test_one_log_line_per_request_without_the_key(api: Api) -> None:
    """Each request logs method, path, status, duration, request id and actor, never the key."""
    with capture_logs() as logs:
        response = api.client.post(
            "/v1/parties", json=PARTY, headers=api.headers(**{"X-Request-ID": "trace-42"})
        )
    assert response.headers["X-Request-ID"] == "trace-42"
    lines = [entry for entry in logs if entry["event"] == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "POST"
    assert line["path"] == "/v1/parties"
    assert line["status"] == 201
    assert line["request_id"] == "trace-42"
    assert line["actor"] == "clerk-key"
    assert line["duration_ms"] >= 0
    assert all(api.keys["clerk"] not in str(entry) for entry in logs)


def test_unsafe_request_id_is_replaced(api: Api) -> None:
    """A request id that is too long or odd is not echoed; a fresh one is issued."""
    response = api.client.get("/health", headers={"X-Request-ID": "bad id\twith tab"})
    assert response.headers["X-Request-ID"] != "bad id\twith tab"
    assert len(response.headers["X-Request-ID"]) == 32


def test_health_needs_no_key(api: Api) -> None:
    """GET /health answers 200 without a key and names the store."""
    response = api.client.get("/health")
    assert response.status_code == 200
    assert response.json()["store"] in ("sqlite", "postgresql")
