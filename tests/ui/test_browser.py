"""The pages in a real headless browser: Playwright driving Debian's Chromium against uvicorn.

The app runs on 127.0.0.1 on the demo data (SQLite); screenshots go to docs/screenshots/. Never
`playwright install`: the browser is /usr/bin/chromium from Debian (.ci/run installs it).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.app import create_app
from fundledger.audit.checkpoints import sign_checkpoint
from fundledger.bootstrap import open_ledger
from fundledger.demo.loader import DemoLoad, load_demo
from fundledger.demo.scenario import CATTLE_FUND_KEY
from tests.ui.conftest import demo_keys, site_settings

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    base_url: str
    demo: DemoLoad
    keys: dict[str, str]
    cattle_balance_fen: int  # the write side's figure the page must show

    @property
    def cattle(self) -> str:
        return self.demo.fund_ids[CATTLE_FUND_KEY]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """uvicorn serving the app on the demo data, on a free port of 127.0.0.1, in a thread."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'demo.sqlite'}"
    ledger = open_ledger(database_url)
    demo = load_demo(ledger)
    keys = demo_keys(ledger, demo)
    sign_checkpoint(ledger, Ed25519PrivateKey.generate())  # the audit page then lists one
    app = create_app(site_settings(database_url), ledger=ledger, configure_logs=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline_s = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline_s:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start within a minute"
    try:
        balance_fen = ledger.fund(demo.fund_ids[CATTLE_FUND_KEY]).balance_fen
        yield Served(f"http://127.0.0.1:{port}", demo, keys, balance_fen)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        ledger.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with playwright_sync.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[playwright_sync.Page]:
    assert isinstance(browser, playwright_sync.Browser)
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    opened = context.new_page()
    yield opened
    context.close()


def _shot(page: playwright_sync.Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _sign_in(page: playwright_sync.Page, served: Served, role: str, shot: str = "") -> None:
    page.goto(f"{served.base_url}/ui/login")
    page.fill("#key", served.keys[role])
    if shot:
        _shot(page, shot)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/ui/funds$"))


def _as_yuan(amount_fen: int) -> str:
    return f"¥{amount_fen // 100:,}.{amount_fen % 100:02d}"


def test_a_supervisor_reads_the_cattle_fund_in_both_languages(
    page: playwright_sync.Page, served: Served
) -> None:
    """Signed in with a cattle-fund key: the balance and both cohorts show, in zh then en."""
    _sign_in(page, served, "supervisor", shot="login.png")
    funds = page.locator("#funds tbody tr")
    assert funds.count() == 1
    _shot(page, "funds-zh.png")
    page.click(f"a[href='/ui/funds/{served.cattle}']")
    page.wait_for_url(re.compile(f".*/ui/funds/{served.cattle}$"))
    assert page.inner_text("#balance-now") == _as_yuan(served.cattle_balance_fen)
    cohorts = page.locator("#cohorts tbody tr td:first-child").all_inner_texts()
    assert cohorts == ["1", "2"]
    assert page.locator("h2", has_text="三专一封闭").count() == 1
    _shot(page, "fund-cattle-zh.png")
    page.click("#lang-en")
    page.wait_for_url(re.compile(f".*/ui/funds/{served.cattle}$"))
    assert page.locator("h2", has_text="Three specialized and closed").count() == 1
    assert page.locator("#cohorts th").first.inner_text() == "Cohort"
    _shot(page, "fund-cattle-en.png")
    page.emulate_media(media="print")
    _shot(page, "fund-cattle-print.png")


def test_a_supervisor_cannot_reach_another_fund(page: playwright_sync.Page, served: Served) -> None:
    """Another fund's page answers 403 with a plain message, and its link is nowhere."""
    _sign_in(page, served, "supervisor")
    other = next(fund for fund in served.demo.fund_ids.values() if fund != served.cattle)
    assert page.locator(f"a[href='/ui/funds/{other}']").count() == 0
    answer = page.goto(f"{served.base_url}/ui/funds/{other}")
    assert answer is not None
    assert answer.status == 403
    assert page.locator("[role=alert]").count() == 1
    _shot(page, "fund-forbidden-zh.png")


def test_an_auditor_sees_the_audit_trail_and_a_party(
    page: playwright_sync.Page, served: Served
) -> None:
    """An auditor's audit page says the chain is intact; a donor's page shows where its yuan are."""
    _sign_in(page, served, "auditor")
    page.goto(f"{served.base_url}/ui/lang/en?next=/ui/audit")
    assert page.inner_text("#chain dd.big") == "intact"
    assert page.locator("#checkpoints tbody tr").count() == 1
    _shot(page, "audit-en.png")
    page.goto(f"{served.base_url}/ui/funds/{served.cattle}")
    page.locator("#sources a").first.click()
    page.wait_for_url(re.compile(r".*/ui/parties/[0-9a-f-]+$"))
    assert page.locator("figure svg path").count() > 0
    _shot(page, "party-en.png")
