"""The FastAPI application factory: settings, store, read side, middleware, errors, routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI

from api.deps import FailedAuthenticationLimiter
from api.errors import StoreCircuit, install_error_handlers
from api.log import configure_logging
from api.middleware import RequestContextMiddleware
from api.problems import PROBLEM_MEDIA_TYPE
from api.routers import allocations, audit, events, funds, health, keys, loans, parties
from api.settings import Settings
from api.ui import router as ui_router
from fundledger.adapters.store import library_settings, parse_database_url
from fundledger.application.ledger import FundLedger
from projections.queries import ReadModels
from projections.read_models import open_read_models

log = structlog.get_logger("fundledger.api")

API_VERSION = "1.0.0"
DESCRIPTION = """\
fundledger records village poverty-alleviation money as events — donations, allocations, matching
grants, interest-free loans in revolving cohorts, expenditures against vouchers — and answers from
read models built from those events.

* Authenticate with `Authorization: Bearer KEY` (keys come from `fundledger keys create`).
* Amounts are JSON strings in yuan ("1100", "1100.5", "1100.50" in; always "1100.50" out);
  a JSON number for an amount is a 422.
* Every POST that records events takes an `Idempotency-Key` header and answers 201 with the
  resource, its `event_ids` and the store `position`; pass `min_position=<position>` to a GET to
  read your own write.
* Errors are RFC 9457 `application/problem+json`; a broken rule is a 409 naming the rule.
"""

ReadSideOpener = Callable[[Settings, FundLedger], tuple[ReadModels | None, Callable[[], None]]]


def create_app(
    settings: Settings | None = None,
    *,
    ledger: FundLedger | None = None,
    read_models: ReadModels | None = None,
    open_read_side: ReadSideOpener | None = None,
    configure_logs: bool = True,
) -> FastAPI:
    """The API on `settings` (default: from the environment).

    Pass `ledger`/`read_models` to share ones the caller owns (tests); otherwise they are opened on
    start-up and closed on shutdown.
    """
    settings = settings or Settings()
    if configure_logs:
        configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_ledger = ledger is None
        app.state.ledger = ledger or open_api_ledger(settings)
        close_read_side: Callable[[], None] = lambda: None  # noqa: E731 - a no-op closer
        if read_models is None:
            opener = open_read_side or default_read_side
            app.state.read_models, close_read_side = opener(settings, app.state.ledger)
        try:
            yield
        finally:
            close_read_side()
            if own_ledger:
                app.state.ledger.close()

    app = FastAPI(
        title="fundledger",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.ledger = ledger
    app.state.read_models = read_models
    app.state.store_kind = parse_database_url(settings.database_url).kind
    app.state.auth_limiter = FailedAuthenticationLimiter(
        settings.unauthorized_per_window_max, settings.unauthorized_window_s
    )
    app.state.store_circuit = StoreCircuit(settings.retry_after_s)
    install_error_handlers(
        app, retry_after_s=settings.retry_after_s, circuit=app.state.store_circuit
    )
    _document_problems_as_problem_json(app)
    for module in (health, parties, funds, allocations, loans, events, audit, keys):
        app.include_router(module.router)
    app.include_router(ui_router)  # the pages under /ui (not in the OpenAPI document)
    app.add_middleware(RequestContextMiddleware, body_bytes_max=settings.body_bytes_max)
    return app


def open_api_ledger(settings: Settings) -> FundLedger:
    """The ledger on the configured store, waiting less per try for a PostgreSQL connection.

    The library retries each store call 10 times; with its 5 s wait per try, a request against a
    database that is down would hang for 50 s before its 503.
    """
    location = parse_database_url(settings.database_url)
    env = library_settings(location)
    if location.kind == "postgresql":
        env["POSTGRES_CONNECT_TIMEOUT"] = str(settings.store_connect_timeout_s)
    return FundLedger(env=env)


def _document_problems_as_problem_json(app: FastAPI) -> None:
    """Error answers are application/problem+json: say so in the document (FastAPI says JSON)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        for operations in document["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if int(status) < 400:
                        continue
                    content = response.setdefault("content", {})
                    plain = content.pop("application/json", None)
                    if plain is not None:
                        content.setdefault(PROBLEM_MEDIA_TYPE, {})["schema"] = plain["schema"]
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def default_read_side(
    settings: Settings, ledger: FundLedger
) -> tuple[ReadModels | None, Callable[[], None]]:
    """The read models on the same store, caught up on start and followed in this process.

    Start-up waits (bounded) for the read side to reach the head of the log, so the first GETs
    answer from current views; past the bound the API serves and the follower keeps catching up.
    """
    if not settings.follow_events:
        reads = open_read_models(settings.database_url, follow=False)
        return reads, reads.close
    reads = open_read_models(settings.database_url, source=ledger)
    head = ledger.recorder.max_notification_id() or 0
    if not reads.wait_for(head, settings.catch_up_s_max):
        log.warning("read_side.catching_up", position=reads.position(), head=head)
    return reads, reads.close


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, as written to api/openapi.json."""
    app = create_app(Settings(), configure_logs=False)
    return app.openapi()
