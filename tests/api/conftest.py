"""An API on a fresh store of each kind, with a key for every role and two funds to see."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from fundledger.application.commands import (
    CommandContext,
    IssueApiKey,
    OpenFund,
    RecordDonation,
    RegisterParty,
)
from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger
from fundledger.domain.access import hash_api_key, new_api_key
from fundledger.domain.money import Money
from tests.conftest import STORES, drop_postgres_database, new_database_url

SETUP_ACTOR = "test-setup"
ROLES = ("admin", "clerk", "auditor", "supervisor", "client")


def issue_key(ledger: FundLedger, role: str, funds: tuple[str, ...] = (), name: str = "") -> str:
    """A new key of `role` (limited to `funds`), recorded straight on the store."""
    key = new_api_key()
    command = IssueApiKey(
        key_hash=hash_api_key(key),
        role=role,
        name=name or f"{role}-key",
        funds=list(funds),
        occurred_on=date(2026, 1, 1),
    )
    ledger.execute(command, CommandContext(actor=SETUP_ACTOR))
    return key


@dataclass
class Api:
    """A TestClient with a key per role, a custodian and two funds of this test's own.

    `fund_id` (revolving, 1000.00 in it) is on the supervisor's and client's keys;
    `other_fund_id` (not revolving, empty) is on neither.
    """

    client: TestClient
    ledger: FundLedger
    database_url: str
    keys: dict[str, str]
    party_id: str
    fund_id: str
    other_fund_id: str
    extra_headers: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str | None = "clerk", **more: str) -> dict[str, str]:
        found = {"Authorization": f"Bearer {self.keys[role]}"} if role else {}
        return {**found, **more}

    def post(
        self, path: str, body: Any, role: str | None = "clerk", **headers: str
    ) -> httpx.Response:
        response: httpx.Response = self.client.post(
            path, json=body, headers=self.headers(role, **headers)
        )
        return response

    def get(self, path: str, role: str | None = "clerk", **params: Any) -> httpx.Response:
        response: httpx.Response = self.client.get(path, params=params, headers=self.headers(role))
        return response

    def balance_fen(self, fund_id: str | None = None) -> int:
        """The write side's balance: what a refused command must leave unchanged."""
        return self.ledger.fund(fund_id or self.fund_id).balance_fen


def _seed(ledger: FundLedger) -> tuple[str, str, str]:
    context = CommandContext(actor=SETUP_ACTOR)
    party = ledger.execute(
        RegisterParty(name="Siluogou village", kind="village", occurred_on=date(2016, 1, 1)),
        context,
    ).resource_id

    def open_fund(name: str, revolving: bool) -> str:
        command = OpenFund(
            name=name,
            purpose=f"{name} purpose",
            bank_account=f"{name} account",
            custodian=party,
            allowed_categories=["cattle", "newspapers"],
            revolving=revolving,
            occurred_on=date(2016, 1, 1),
        )
        return ledger.execute(command, context).resource_id

    fund, other = open_fund("Cattle fund", True), open_fund("Road fund", False)
    donation = RecordDonation(
        fund=fund, donor=party, amount=Money.parse("1000"), occurred_on=date(2016, 1, 2)
    )
    ledger.execute(donation, context)
    return party, fund, other


def make_app_settings(database_url: str, **overrides: Any) -> Settings:
    # A short read-your-writes bound keeps the "read side behind" test quick; the 401 limit is
    # lifted except where a test sets it (the role matrix sends many keyless requests).
    defaults: dict[str, Any] = {"read_wait_s_max": 1.0, "unauthorized_per_window_max": 10_000}
    return Settings(database_url=database_url, log_format="json", **{**defaults, **overrides})


def _world(client: TestClient, ledger: FundLedger, database_url: str) -> Api:
    """A custodian, two funds and a key per role, new in the store (other tests' data aside)."""
    party, fund, other = _seed(ledger)
    keys = {role: issue_key(ledger, role) for role in ("admin", "clerk", "auditor")}
    keys["supervisor"] = issue_key(ledger, "supervisor", (fund,))
    keys["client"] = issue_key(ledger, "client", (fund,))
    # Reads in the tests then see this world without each passing min_position.
    head = ledger.recorder.max_notification_id() or 0
    read_models = client.app.state.read_models  # type: ignore[attr-defined]
    assert read_models.wait_for(head, 30.0), "the read side did not catch up"
    return Api(client, ledger, database_url, keys, party, fund, other)


@pytest.fixture
def fresh_api(database_url: str) -> Iterator[Api]:
    """The API on a fresh, empty store of each kind, for tests that look at the whole store."""
    ledger = open_ledger(database_url)
    app = create_app(make_app_settings(database_url), ledger=ledger, configure_logs=False)
    with TestClient(app) as client:
        yield _world(client, ledger, database_url)
    ledger.close()


@pytest.fixture(scope="module", params=STORES)
def shared_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, FundLedger, str]]:
    """One store and app of each kind per test module: set-up is most of a test's time."""
    url, pg_name = new_database_url(request.param, tmp_path_factory.mktemp("store"))
    ledger = open_ledger(url)
    app = create_app(make_app_settings(url), ledger=ledger, configure_logs=False)
    with TestClient(app) as client:
        yield client, ledger, url
    ledger.close()
    if pg_name is not None:
        drop_postgres_database(pg_name)


@pytest.fixture
def api(shared_store: tuple[TestClient, FundLedger, str]) -> Api:
    """The API (SQLite and PostgreSQL) with this test's own funds and keys in a shared store."""
    client, ledger, url = shared_store
    return _world(client, ledger, url)
