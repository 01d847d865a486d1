"""Fixtures for the attacks: a fresh PostgreSQL database, served processes, a seeded store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from fundledger.application.commands import (
    CommandContext,
    OpenFund,
    RecordDonation,
    RegisterParty,
)
from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger
from fundledger.domain.money import Money
from tests.api.conftest import issue_key, make_app_settings
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.reliability.figures import FIGURES
from tests.reliability.harness import Server

SETUP = CommandContext(actor="reliability-setup")


@pytest.fixture(scope="session", autouse=True)
def reliability_figures() -> Iterator[None]:
    """At the end of the run, write the figures (if FUNDLEDGER_RELIABILITY_FIGURES names a file)."""
    yield
    FIGURES.write()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new database on the shared PostgreSQL server (fails, not skips, under CI=true)."""
    url, name = create_postgres_database()
    yield url
    drop_postgres_database(name)


@pytest.fixture
def store(postgres_url: str) -> Iterator[FundLedger]:
    """The ledger on that database; opening it creates the tables before any server starts."""
    ledger = open_ledger(postgres_url)
    yield ledger
    ledger.close()


ServerFactory = Callable[..., Server]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start `fundledger serve` processes (one at a time); every one is killed at the end."""
    started: list[Server] = []

    def start(database_url: str, name: str = "", **settings: str) -> Server:
        log_path = tmp_path / f"serve-{name or len(started)}.log"
        server = Server(database_url, log_path, settings)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.kill()


@dataclass(frozen=True)
class Seeded:
    """A village (custodian and donor), and funds opened with a starting cash balance."""

    party_id: str
    fund_ids: tuple[str, ...]


def seed_funds(ledger: FundLedger, opening_fen: tuple[int, ...], revolving: bool = True) -> Seeded:
    """One party and a fund per opening balance, each funded by a donation from the party."""
    party = ledger.execute(
        RegisterParty(name="Siluogou village", kind="village", occurred_on=date(2016, 1, 1)), SETUP
    ).resource_id
    funds = []
    for number, fen in enumerate(opening_fen):
        fund = ledger.execute(
            OpenFund(
                name=f"Fund {number}",
                purpose="cattle",
                bank_account=f"6222-{number}",
                custodian=party,
                allowed_categories=["cattle"],
                revolving=revolving,
                occurred_on=date(2016, 1, 1),
            ),
            SETUP,
        ).resource_id
        if fen:
            donation = RecordDonation(
                fund=fund, donor=party, amount=Money(fen), occurred_on=date(2016, 1, 2)
            )
            ledger.execute(donation, SETUP)
        funds.append(fund)
    return Seeded(party, tuple(funds))


@dataclass
class InProcessApi:
    """The API in this process (TestClient) on the PostgreSQL store, with a key per role."""

    client: TestClient
    ledger: FundLedger
    database_url: str
    seeded: Seeded
    keys: dict[str, str]

    def headers(self, role: str = "clerk", **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}", **more}

    def post(self, path: str, body: Any, role: str = "clerk", **headers: str) -> httpx.Response:
        response: httpx.Response = self.client.post(
            path, json=body, headers=self.headers(role, **headers)
        )
        return response

    def get(self, path: str, role: str = "clerk", **params: Any) -> httpx.Response:
        response: httpx.Response = self.client.get(path, params=params, headers=self.headers(role))
        return response

    def head(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0


@pytest.fixture
def api_on_postgres(store: FundLedger, postgres_url: str) -> Iterator[InProcessApi]:
    """Two funds of 1,000.00 and 0.00 (the first on the supervisor's and client's keys)."""
    seeded = seed_funds(store, (100_000, 0))
    keys = {role: issue_key(store, role) for role in ("admin", "clerk", "auditor")}
    keys["supervisor"] = issue_key(store, "supervisor", seeded.fund_ids[:1])
    keys["client"] = issue_key(store, "client", seeded.fund_ids[:1])
    app = create_app(make_app_settings(postgres_url), ledger=store, configure_logs=False)
    with TestClient(app) as client:
        yield InProcessApi(client, store, postgres_url, seeded, keys)
