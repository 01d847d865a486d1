"""A PostgreSQL store that goes away: 503 with Retry-After meanwhile, recovery on its own, and
nothing acknowledged lost."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from fundledger.bootstrap import open_ledger
from tests.api.conftest import issue_key, make_app_settings
from tests.conftest import (
    _admin_conninfo,
    create_postgres_database,
    drop_postgres_database,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
RECOVERY_S_MAX = 60.0
PARTY = {"name": "Donor", "kind": "donor"}


def _set_reachable(database: str, reachable: bool) -> None:
    """Refuse (or allow again) new connections, and cut the open ones, as a crash would."""
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(reachable).lower()}')
        if not reachable:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


@pytest.fixture
def store() -> Iterator[tuple[str, str]]:
    url, name = create_postgres_database()
    yield url, name
    _set_reachable(name, True)
    drop_postgres_database(name)


def test_store_down_is_503_then_recovers(store: tuple[str, str]) -> None:
    """While the database refuses connections every request is a 503 with Retry-After (soon
    answered at once); afterwards the API recovers by itself and the earlier write is kept."""
    url, name = store
    setup = open_ledger(url)
    key = issue_key(setup, "clerk")
    setup.close()
    headers = {"Authorization": f"Bearer {key}"}
    # One second per connection try: the library's 10 tries make the first 503 take ~10 s.
    app = create_app(make_app_settings(url, store_connect_timeout_s=1), configure_logs=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        first = client.post("/v1/parties", json=PARTY, headers=headers)
        assert first.status_code == 201
        _set_reachable(name, False)
        down = client.post("/v1/parties", json=PARTY, headers=headers)
        started = time.monotonic()
        again = client.get("/health")
        fast_s = time.monotonic() - started
        _set_reachable(name, True)
        deadline = time.monotonic() + RECOVERY_S_MAX
        recovered = client.post("/v1/parties", json=PARTY, headers=headers)
        while recovered.status_code == 503 and time.monotonic() < deadline:
            time.sleep(float(recovered.headers["Retry-After"]) / 4)
            recovered = client.post("/v1/parties", json=PARTY, headers=headers)
        position = recovered.json()["position"]
        kept = client.get(f"/v1/parties?min_position={position}", headers=headers)
        while kept.status_code == 503 and time.monotonic() < deadline:
            kept = client.get(f"/v1/parties?min_position={position}", headers=headers)
    for response in (down, again):
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) >= 1
        assert response.headers["content-type"] == "application/problem+json"
    assert fast_s < 1.0, "while the circuit is open, a 503 must not wait on the store"
    assert recovered.status_code == 201, recovered.text
    assert first.json()["id"] in {party["id"] for party in kept.json()["items"]}
