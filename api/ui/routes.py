"""The pages under /ui: sign in with an API key, then funds, a fund, a party, the audit trail.

Server-rendered (Jinja2), no JavaScript, printable. The same keys and the same rules as the API:
a supervisor sees only the funds on its key; parties and the audit trail are for the roles that
read everything. Pages read the read side (projections) and the audit library, and record nothing.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import Caller, FailedAuthenticationLimiter, get_ledger, get_read_models
from api.middleware import request_context
from api.ui import flows, sankey, session
from api.ui.i18n import LANGUAGES, pick_language, translate, yuan
from fundledger.application.ledger import FundLedger
from fundledger.audit.checkpoints import LogNotIntact, latest_checkpoint, published_checkpoints
from fundledger.audit.export import LANGUAGES as KIT_LANGUAGES
from fundledger.audit.export import NothingToExport, export_fund_audit
from fundledger.audit.verify import verify_log
from fundledger.domain.access import API_KEY_LENGTH_MAX, ApiKey, Role, api_key_id, hash_api_key
from projections.queries import FundDetail, ReadModels

HERE = Path(__file__).parent
PAGE_ROLES = frozenset({Role.ADMIN, Role.CLERK, Role.AUDITOR, Role.SUPERVISOR})
AUDIT_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})
LEDGER_PAGE_LIMIT = 25
AUDIT_PAGE_LIMIT = 30
FUNDS_LIMIT = 500

router = APIRouter(prefix="/ui", include_in_schema=False)
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["yuan"] = yuan

LedgerDep = Annotated[FundLedger, Depends(get_ledger)]
ReadsDep = Annotated[ReadModels, Depends(get_read_models)]
Text = Annotated[str | None, Query(max_length=200)]


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the pages, in which language, and the token their forms carry."""

    caller: Caller | None
    lang: str
    csrf_token: str

    def t(self, key: str) -> str:
        return translate(key, self.lang)


def _language(request: Request) -> str:
    return pick_language(request.cookies.get(session.LANGUAGE_COOKIE))


def _active_key(ledger: FundLedger, aggregate_id: UUID) -> ApiKey | None:
    try:
        found: object = ledger.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    if not isinstance(found, ApiKey) or not found.is_active:
        return None
    return found


def _viewer(request: Request, ledger: FundLedger) -> Viewer:
    lang = _language(request)
    current = session.read_session(request.cookies.get(session.SESSION_COOKIE))
    if current is None:
        return Viewer(None, lang, "")
    try:
        key = _active_key(ledger, UUID(current.key_id))
    except ValueError:
        key = None
    if key is None or Role(key.role) not in PAGE_ROLES:
        return Viewer(None, lang, "")
    caller = Caller(str(key.id), key.name, Role(key.role), frozenset(key.fund_ids))
    request_context(request.scope)["actor"] = key.name  # the request log names who looked
    return Viewer(caller, lang, session.session_csrf_token(current))


def _render(
    request: Request, viewer: Viewer, template: str, status_code: int = 200, **context: Any
) -> Response:
    return templates.TemplateResponse(
        request,
        template,
        {"viewer": viewer, "t": viewer.t, "lang": viewer.lang, "languages": LANGUAGES, **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _problem_page(request: Request, viewer: Viewer, status_code: int, message_key: str) -> Response:
    title_key = {403: "forbidden", 404: "not_found"}.get(status_code, "bad_request")
    return _render(
        request, viewer, "error.html", status_code, title_key=title_key, message_key=message_key
    )


def _to_login() -> Response:
    return RedirectResponse("/ui/login", status_code=303)


def _may_see_fund(caller: Caller, fund_id: str) -> bool:
    visible = caller.visible_funds
    return visible is None or fund_id in visible


# ---- signing in and out, language ------------------------------------------------------------


@router.get("", response_model=None)
@router.get("/", response_model=None)
def home() -> Response:
    return RedirectResponse("/ui/funds", status_code=303)


@router.get("/static/ui.css", response_model=None)
def stylesheet() -> Response:
    return FileResponse(HERE / "static" / "ui.css", media_type="text/css")


@router.get("/login", response_model=None)
def login_form(request: Request, error: Text = None) -> Response:
    viewer = Viewer(None, _language(request), session.new_login_csrf_token())
    known_error = (
        error if error in {"login_failed", "login_role_refused", "login_expired"} else None
    )
    response = _render(request, viewer, "login.html", error_key=known_error)
    response.set_cookie(
        session.LOGIN_CSRF_COOKIE,
        viewer.csrf_token,
        httponly=True,
        samesite="strict",
        path="/ui",
        max_age=3600,
    )
    return response


def _key_of(ledger: FundLedger, key_text: str) -> ApiKey | None:
    if not key_text or len(key_text) > API_KEY_LENGTH_MAX:
        return None
    key_hash = hash_api_key(key_text)
    key = _active_key(ledger, api_key_id(key_hash))
    if key is None or not key.matches(key_hash):
        return None
    return key


@router.post("/login", response_model=None)
def login(
    request: Request,
    ledger: LedgerDep,
    key: Annotated[str, Form(max_length=API_KEY_LENGTH_MAX)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    limiter: FailedAuthenticationLimiter = request.app.state.auth_limiter
    address = request.client.host if request.client else "unknown"
    if limiter.retry_after_s(address) is not None:
        viewer = Viewer(None, _language(request), "")
        return _problem_page(request, viewer, 429, "too_many_attempts")
    if not session.login_csrf_holds(request.cookies.get(session.LOGIN_CSRF_COOKIE), csrf):
        return RedirectResponse("/ui/login?error=login_expired", status_code=303)
    found = _key_of(ledger, key.strip())
    if found is None:
        limiter.record_failure(address)
        return RedirectResponse("/ui/login?error=login_failed", status_code=303)
    if Role(found.role) not in PAGE_ROLES:
        return RedirectResponse("/ui/login?error=login_role_refused", status_code=303)
    response = RedirectResponse("/ui/funds", status_code=303)
    response.set_cookie(
        session.SESSION_COOKIE,
        session.issue_session(str(found.id)),
        httponly=True,
        samesite="strict",
        path="/ui",
        max_age=session.SESSION_AGE_S,
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(session.LOGIN_CSRF_COOKIE, path="/ui")
    return response


@router.post("/logout", response_model=None)
def logout(
    request: Request,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    current = session.read_session(request.cookies.get(session.SESSION_COOKIE))
    if current is not None and not session.session_csrf_holds(current, csrf):
        return Response("CSRF token missing or wrong", status_code=403)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(session.SESSION_COOKIE, path="/ui")
    return response


@router.get("/lang/{code}", response_model=None)
def switch_language(
    code: str, next_path: Annotated[str, Query(alias="next")] = "/ui/funds"
) -> Response:
    """Remember the language and go back: only to a page of this site (no open redirect)."""
    target = next_path if next_path.startswith("/ui/") and "//" not in next_path else "/ui/funds"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        session.LANGUAGE_COOKIE,
        pick_language(code),
        samesite="strict",
        path="/ui",
        max_age=365 * 24 * 3600,
    )
    return response


# ---- funds ---------------------------------------------------------------------------------


@router.get("/funds", response_model=None)
def funds_page(request: Request, ledger: LedgerDep, reads: ReadsDep) -> Response:
    viewer = _viewer(request, ledger)
    if viewer.caller is None:
        return _to_login()
    page = reads.funds(visible=viewer.caller.visible_funds, limit=FUNDS_LIMIT, cursor=None)
    return _render(request, viewer, "funds.html", funds=page.items)


def _fund_for(
    request: Request, viewer: Viewer, reads: ReadModels, fund_id: str
) -> FundDetail | Response:
    assert viewer.caller is not None, "callers are checked before funds"
    if not _may_see_fund(viewer.caller, fund_id):
        return _problem_page(request, viewer, 403, "forbidden_fund")
    fund = reads.fund(fund_id)
    if fund is None:
        return _problem_page(request, viewer, 404, "not_found")
    return fund


@router.get("/funds/{fund_id}", response_model=None)
def fund_page(
    request: Request,
    fund_id: str,
    *,
    ledger: LedgerDep,
    reads: ReadsDep,
    as_of: Annotated[date | None, Query()] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    category: Text = None,
    counterparty: Text = None,
    cursor: Text = None,
) -> Response:
    viewer = _viewer(request, ledger)
    if viewer.caller is None:
        return _to_login()
    fund = _fund_for(request, viewer, reads, fund_id)
    if isinstance(fund, Response):
        return fund
    page = reads.ledger(
        fund.id,
        limit=LEDGER_PAGE_LIMIT,
        cursor=cursor or None,
        date_from=date_from,
        date_to=date_to,
        category=category or None,
        counterparty=counterparty or None,
    )
    found = flows.fund_lines(reads, fund.id)
    cohorts = reads.cohorts(fund.id) if fund.revolving else None
    nodes, links = flows.fund_flow(fund, found, cohorts, viewer.t)
    names = {**flows.party_names(reads), **found.names}
    filters = {
        "from": date_from.isoformat() if date_from else "",
        "to": date_to.isoformat() if date_to else "",
        "category": category or "",
        "counterparty": counterparty or "",
    }
    next_query = urlencode({**{k: v for k, v in filters.items() if v}, "cursor": page.next_cursor})
    return _render(
        request,
        viewer,
        "fund.html",
        fund=fund,
        as_of=as_of,
        balance_as_of=reads.balance(fund.id, as_of) if as_of else None,
        lines=page.items,
        next_query=next_query if page.next_cursor else None,
        filters=filters,
        counterparties=sorted(found.names.items(), key=lambda item: item[1]),
        compliance=reads.compliance(fund.id),
        cohorts=cohorts,
        sources=reads.sources(fund.id) or [],
        names=names,
        flow_svg=sankey.render_svg(nodes, links, title=fund.name, money=yuan),
        parties_visible=viewer.caller.visible_funds is None,
    )


def _fund_flow_svg(
    request: Request, viewer: Viewer, reads: ReadModels, fund_id: str
) -> str | Response:
    fund = _fund_for(request, viewer, reads, fund_id)
    if isinstance(fund, Response):
        return fund
    cohorts = reads.cohorts(fund.id) if fund.revolving else None
    nodes, links = flows.fund_flow(fund, flows.fund_lines(reads, fund.id), cohorts, viewer.t)
    return sankey.render_svg(
        nodes, links, title=f"{fund.name}: {viewer.t('flow_title')}", money=yuan
    )


def _download(content: bytes, media_type: str, filename: str) -> Response:
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


@router.get("/funds/{fund_id}/flow.{extension}", response_model=None)
def fund_flow_picture(
    request: Request, fund_id: str, extension: str, ledger: LedgerDep, reads: ReadsDep
) -> Response:
    viewer = _viewer(request, ledger)
    if viewer.caller is None:
        return _to_login()
    if extension not in ("svg", "png"):
        return _problem_page(request, viewer, 404, "not_found")
    svg = _fund_flow_svg(request, viewer, reads, fund_id)
    if isinstance(svg, Response):
        return svg
    return _picture(svg, extension, f"fund-flow-{fund_id}")


def _picture(svg: str, extension: str, stem: str) -> Response:
    if extension == "png":
        return _download(sankey.render_png(svg), "image/png", f"{stem}.png")
    return _download(svg.encode(), "image/svg+xml", f"{stem}.svg")


# ---- parties -------------------------------------------------------------------------------


def _party_flow(
    request: Request, viewer: Viewer, reads: ReadModels, party_id: str
) -> tuple[str, Any, str] | Response:
    assert viewer.caller is not None, "callers are checked before parties"
    if viewer.caller.visible_funds is not None:
        return _problem_page(request, viewer, 403, "forbidden_page")
    names = flows.party_names(reads)
    party_flows = reads.flows(party_id)
    if party_flows is None or party_id not in names:
        return _problem_page(request, viewer, 404, "not_found")
    fund_names = {
        f.id: f.name for f in reads.funds(visible=None, limit=FUNDS_LIMIT, cursor=None).items
    }
    nodes, links = flows.party_flow(party_id, names[party_id], party_flows, fund_names, viewer.t)
    svg = sankey.render_svg(
        nodes, links, title=f"{names[party_id]}: {viewer.t('where_now')}", money=yuan
    )
    return names[party_id], party_flows, svg


@router.get("/parties/{party_id}", response_model=None)
def party_page(request: Request, party_id: str, ledger: LedgerDep, reads: ReadsDep) -> Response:
    viewer = _viewer(request, ledger)
    if viewer.caller is None:
        return _to_login()
    found = _party_flow(request, viewer, reads, party_id)
    if isinstance(found, Response):
        return found
    name, party_flows, svg = found
    fund_names = {
        f.id: f.name for f in reads.funds(visible=None, limit=FUNDS_LIMIT, cursor=None).items
    }
    return _render(
        request,
        viewer,
        "party.html",
        party_id=party_id,
        party_name=name,
        flows=party_flows,
        fund_names=fund_names,
        flow_svg=svg,
    )


@router.get("/parties/{party_id}/flow.{extension}", response_model=None)
def party_flow_picture(
    request: Request, party_id: str, extension: str, ledger: LedgerDep, reads: ReadsDep
) -> Response:
    viewer = _viewer(request, ledger)
    if viewer.caller is None:
        return _to_login()
    if extension not in ("svg", "png"):
        return _problem_page(request, viewer, 404, "not_found")
    found = _party_flow(request, viewer, reads, party_id)
    if isinstance(found, Response):
        return found
    return _picture(found[2], extension, f"party-flow-{party_id}")


# ---- audit ---------------------------------------------------------------------------------


@router.get("/audit", response_model=None)
def audit_page(
    request: Request,
    ledger: LedgerDep,
    reads: ReadsDep,
    cursor: Text = None,
    kit_error: Text = None,
) -> Response:
    viewer = _viewer(request, ledger)
    if viewer.caller is None:
        return _to_login()
    if viewer.caller.role not in AUDIT_ROLES:
        return _problem_page(request, viewer, 403, "forbidden_page")
    events = reads.audit_events(limit=AUDIT_PAGE_LIMIT, cursor=cursor or None)
    return _render(
        request,
        viewer,
        "audit.html",
        report=verify_log(ledger, latest_checkpoint(ledger)),
        checkpoints=published_checkpoints(ledger),
        events=events.items,
        next_cursor=events.next_cursor,
        funds=reads.funds(visible=None, limit=FUNDS_LIMIT, cursor=None).items,
        kit_languages=KIT_LANGUAGES,
        kit_error=kit_error,
    )


@router.get("/audit/kit", response_model=None)
def offline_kit(
    request: Request,
    ledger: LedgerDep,
    fund: Annotated[str, Query(max_length=100)],
    kit_lang: Annotated[str, Query(alias="lang", max_length=5)] = "zh",
) -> Response:
    """One fund's offline kit (the audit library's export), zipped for the browser."""
    viewer = _viewer(request, ledger)
    if viewer.caller is None:
        return _to_login()
    if viewer.caller.role not in AUDIT_ROLES:
        return _problem_page(request, viewer, 403, "forbidden_page")
    with tempfile.TemporaryDirectory(prefix="fundledger-kit-") as directory:
        try:
            summary = export_fund_audit(ledger, fund, Path(directory) / "kit", pick_kit(kit_lang))
        except (NothingToExport, LogNotIntact) as refused:
            return RedirectResponse(f"/ui/audit?{urlencode({'kit_error': str(refused)})}", 303)
        content = _zip_directory(summary.directory)
    return _download(content, "application/zip", f"fundledger-audit-{summary.fund_id}.zip")


def pick_kit(lang: str) -> str:
    return lang if lang in KIT_LANGUAGES else KIT_LANGUAGES[0]


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()
