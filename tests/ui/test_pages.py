"""The pages through a TestClient on both stores: sign-in, what each role may see, pictures."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.ui.session import LANGUAGE_COOKIE, SESSION_COOKIE
from fundledger.audit.checkpoints import sign_checkpoint
from tests.ui.conftest import CSRF_FIELD, Site

SVG = "{http://www.w3.org/2000/svg}"


def as_yuan(amount_fen: int) -> str:
    """The expected spelling, written out independently of the code under test."""
    sign = "-" if amount_fen < 0 else ""
    return f"{sign}¥{abs(amount_fen) // 100:,}.{abs(amount_fen) % 100:02d}"


def test_pages_need_a_session(site: Site) -> None:
    """Without signing in every page sends the browser to the login form."""
    for path in ("/ui/funds", f"/ui/funds/{site.cattle}", "/ui/audit"):
        answer = site.client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/ui/login")


def test_login_refuses_a_wrong_key_a_missing_token_and_a_client_key(site: Site) -> None:
    """A bad key, a form without its CSRF token, or a client key yields no session cookie."""
    token = CSRF_FIELD.search(site.client.get("/ui/login").text)
    assert token is not None
    attempts = {
        "login_failed": {"key": "not-a-key", "csrf": token.group(1)},
        "login_expired": {"key": site.keys["admin"], "csrf": "forged"},
        "login_role_refused": {"key": site.keys["client"], "csrf": token.group(1)},
    }
    for error, form in attempts.items():
        answer = site.client.post("/ui/login", data=form, follow_redirects=False)
        assert answer.headers["location"] == f"/ui/login?error={error}"
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


def test_the_session_cookie_is_httponly_strict_and_signed(site: Site) -> None:
    """The session cookie is HttpOnly and SameSite=Strict, and a tampered one is refused."""
    site.sign_in("supervisor")
    cookie = site.client.cookies[SESSION_COOKIE]
    key_id, issued, mac = cookie.split("|")
    site.client.cookies.clear()
    site.client.cookies.set(SESSION_COOKIE, f"{key_id}|{int(issued) + 1}|{mac}", path="/ui")
    assert site.client.get("/ui/funds", follow_redirects=False).status_code == 303
    form = site.client.get("/ui/login")
    token = CSRF_FIELD.search(form.text)
    assert token is not None
    answer = site.client.post(
        "/ui/login",
        data={"key": site.keys["supervisor"], "csrf": token.group(1)},
        follow_redirects=False,
    )
    set_cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=strict" in set_cookie


def test_a_supervisor_sees_only_the_cattle_fund(site: Site) -> None:
    """The funds list holds the cattle fund alone; another fund, parties and audit are refused."""
    site.sign_in("supervisor")
    funds = site.client.get("/ui/funds")
    assert funds.status_code == 200
    linked = set(re.findall(r'href="/ui/funds/([0-9a-f-]{36})"', funds.text))
    assert linked == {site.cattle}
    assert site.client.get(f"/ui/funds/{site.other_fund}").status_code == 403
    assert site.client.get(f"/ui/funds/{site.other_fund}/flow.svg").status_code == 403
    assert site.client.get("/ui/audit").status_code == 403
    party = str(site.ledger.fund(site.cattle).custodian_id)
    assert site.client.get(f"/ui/parties/{party}").status_code == 403


def test_the_cattle_fund_page_shows_balance_and_cohorts(site: Site) -> None:
    """The fund page shows the write side's balance in yuan and a row per cohort with its loans."""
    site.sign_in("supervisor")
    page = site.client.get(f"/ui/funds/{site.cattle}").text
    fund = site.ledger.fund(site.cattle)
    balance = re.search(r'id="balance-now">([^<]+)<', page)
    assert balance is not None
    assert balance.group(1) == as_yuan(fund.balance_fen)
    cohorts = re.search(r'<table class="grid" id="cohorts">(.*?)</table>', page, re.S)
    assert cohorts is not None
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td><td class=\"num\">(\d+)</td>", cohorts.group(1))
    assert rows == [(name, str(len(fund.loans_of_cohort(name)))) for name in ("1", "2")]


def test_balance_as_of_a_date_before_any_money_is_zero(site: Site) -> None:
    """The balance at a chosen date comes from the read side: before the first gift it is ¥0.00."""
    site.sign_in("supervisor")
    page = site.client.get(f"/ui/funds/{site.cattle}", params={"as_of": "2000-01-01"}).text
    shown = re.search(r'id="balance-as-of">[^<]*<strong>([^<]+)</strong>', page)
    assert shown is not None
    assert shown.group(1) == as_yuan(0)


def test_the_language_switch_changes_every_label(site: Site) -> None:
    """After switching to English the page has its English title; after Chinese, the Chinese one."""
    site.sign_in("supervisor")
    path = f"/ui/funds/{site.cattle}"
    answer = site.client.get(f"/ui/lang/en?next={path}", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, path)
    assert site.client.cookies[LANGUAGE_COOKIE] == "en"
    english = site.client.get(path).text
    assert "Three specialized and closed" in english
    assert "三专一封闭" not in english
    site.client.get(f"/ui/lang/zh?next={path}")
    assert "三专一封闭" in site.client.get(path).text


def test_the_language_switch_goes_nowhere_outside_the_pages(site: Site) -> None:
    """The switch's `next` cannot send the browser to another site."""
    for target in ("https://evil.example/", "//evil.example/ui/", "/ui//evil.example"):
        answer = site.client.get("/ui/lang/en", params={"next": target}, follow_redirects=False)
        assert answer.headers["location"] == "/ui/funds"


def _bands(svg_text: str) -> list[tuple[str, str, int, float]]:
    """(source, target, fen, thickness in px) of each band: the gap between its parallel edges."""
    tree = ElementTree.fromstring(svg_text)
    bands = []
    for path in tree.iter(f"{SVG}path"):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.attrib["d"])]
        thickness_px = numbers[-1] - numbers[1]  # the closing edge's y less the opening edge's
        source, target = path.attrib["data-source"], path.attrib["data-target"]
        bands.append((source, target, int(path.attrib["data-amount-fen"]), thickness_px))
    return bands


def test_the_fund_flow_picture_is_proportional_and_downloads(site: Site) -> None:
    """Bands are as thick as their yuan, what flows in equals what flows out, PNG is a PNG."""
    site.sign_in("supervisor")
    svg = site.client.get(f"/ui/funds/{site.cattle}/flow.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "attachment" in svg.headers["content-disposition"]
    bands = _bands(svg.text)
    into_fen = sum(fen for _, target, fen, _ in bands if target == site.cattle)
    out_fen = sum(fen for source, _, fen, _ in bands if source == site.cattle)
    assert into_fen == out_fen > 0
    still = [fen for _, target, fen, _ in bands if target == "fund-now"]
    assert still == [site.ledger.fund(site.cattle).balance_fen]
    px_per_fen = [thickness / fen for _, _, fen, thickness in bands]
    assert max(px_per_fen) - min(px_per_fen) < 0.2 / min(fen for _, _, fen, _ in bands)
    png = site.client.get(f"/ui/funds/{site.cattle}/flow.png")
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_an_auditor_sees_the_chain_the_party_page_and_downloads_the_kit(site: Site) -> None:
    """The audit page says the chain is intact; with a checkpoint the offline kit is a ZIP."""
    site.sign_in("auditor")
    site.client.get("/ui/lang/en?next=/ui/audit")
    audit = site.client.get("/ui/audit")
    assert audit.status_code == 200
    assert re.search(r'class="big okay">intact<', audit.text)
    sign_checkpoint(site.ledger, Ed25519PrivateKey.generate())
    kit = site.client.get("/ui/audit/kit", params={"fund": site.cattle, "lang": "en"})
    assert kit.headers["content-type"] == "application/zip"
    assert kit.content.startswith(b"PK")
    party = str(site.ledger.fund(site.cattle).custodian_id)
    page = site.client.get(f"/ui/parties/{party}")
    assert page.status_code == 200
    assert "Where its yuan are now" in page.text


def test_sign_out_needs_the_session_token(site: Site) -> None:
    """Signing out without the form's CSRF token is refused; with it, the session ends."""
    site.sign_in("supervisor")
    assert site.client.post("/ui/logout", data={"csrf": "forged"}).status_code == 403
    page = site.client.get("/ui/funds").text
    token = CSRF_FIELD.search(page)
    assert token is not None
    site.client.post("/ui/logout", data={"csrf": token.group(1)})
    assert site.client.get("/ui/funds", follow_redirects=False).status_code == 303
