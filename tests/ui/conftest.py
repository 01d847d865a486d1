"""The pages on the demo data: the seed scenario loaded, a key per role, a signed-in client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from fundledger.application.commands import CommandContext, IssueApiKey
from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger
from fundledger.demo.loader import DemoLoad, load_demo
from fundledger.demo.scenario import CATTLE_FUND_KEY
from fundledger.domain.access import hash_api_key, new_api_key
from tests.conftest import STORES, drop_postgres_database, new_database_url

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def issue_key(ledger: FundLedger, role: str, funds: tuple[str, ...] = ()) -> str:
    key = new_api_key()
    command = IssueApiKey(
        key_hash=hash_api_key(key),
        role=role,
        name=f"{role}-key",
        funds=list(funds),
        occurred_on=date(2026, 1, 1),
    )
    ledger.execute(command, CommandContext(actor="test-setup"))
    return key


@dataclass
class Site:
    """The app on a store holding the demo, with keys; `cattle` is the supervisor's one fund."""

    client: TestClient
    ledger: FundLedger
    demo: DemoLoad
    keys: dict[str, str]

    @property
    def cattle(self) -> str:
        return self.demo.fund_ids[CATTLE_FUND_KEY]

    @property
    def other_fund(self) -> str:
        return next(fund for fund in self.demo.fund_ids.values() if fund != self.cattle)

    def sign_in(self, role: str) -> None:
        """Sign in through the login form, as a browser does (its CSRF token included)."""
        form = self.client.get("/ui/login")
        token = CSRF_FIELD.search(form.text)
        assert token is not None, "the login form carries a CSRF token"
        answer = self.client.post(
            "/ui/login",
            data={"key": self.keys[role], "csrf": token.group(1)},
            follow_redirects=False,
        )
        assert (answer.status_code, answer.headers["location"]) == (303, "/ui/funds")


def demo_keys(ledger: FundLedger, demo: DemoLoad) -> dict[str, str]:
    cattle = demo.fund_ids[CATTLE_FUND_KEY]
    keys = {role: issue_key(ledger, role) for role in ("admin", "auditor")}
    keys["supervisor"] = issue_key(ledger, "supervisor", (cattle,))
    keys["client"] = issue_key(ledger, "client", (cattle,))
    return keys


def site_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, log_format="json", log_level="warning")


@pytest.fixture(scope="module", params=STORES)
def demo_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The pages on the demo data, once per store kind for a module (loading it takes seconds)."""
    database_url, pg_name = new_database_url(request.param, tmp_path_factory.mktemp("ui"))
    ledger = open_ledger(database_url)
    demo = load_demo(ledger)
    keys = demo_keys(ledger, demo)
    app = create_app(site_settings(database_url), ledger=ledger, configure_logs=False)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield Site(client, ledger, demo, keys)
    finally:
        ledger.close()
        if pg_name is not None:
            drop_postgres_database(pg_name)


@pytest.fixture
def site(demo_site: Site) -> Site:
    """The demo site with no one signed in and the default language (cookies cleared)."""
    demo_site.client.cookies.clear()
    return demo_site
