"""Exception handlers: every failure becomes problem+json, and a store that is down is a 503."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import psycopg
import psycopg_pool
import structlog
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from api.middleware import request_context
from api.problems import ProblemResponse, problem
from fundledger.domain.errors import DomainError, InvalidInput, NotFound, RuleViolation

log = structlog.get_logger("fundledger.api")

# Errors that mean "the store cannot be reached or is busy now", not "the request is wrong".
STORE_UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
    sqlite3.OperationalError,
)


class StoreUnavailable(Exception):
    """Raised by the API itself when the store or the read side cannot answer now."""


class ReadSideBehind(StoreUnavailable):
    """The read models did not reach the asked `min_position` in time."""


class StoreCircuit:
    """After the store failed, answer 503 at once for a while instead of queueing on it.

    Every store call is retried by the library for several seconds; without this, each request
    arriving while the database is down would hold a worker thread for that long.
    """

    def __init__(self, open_s: float) -> None:
        self.open_s = open_s
        self._closed_at_s = 0.0

    def trip(self) -> None:
        self._closed_at_s = time.monotonic() + self.open_s

    def check(self) -> None:
        if time.monotonic() < self._closed_at_s:
            raise StoreUnavailable("the store failed moments ago; retry shortly")


def _request_id(request: Request) -> str:
    return str(request_context(request.scope).get("request_id", ""))


def status_of(error: DomainError) -> tuple[int, str]:
    if isinstance(error, RuleViolation):
        return 409, "Rule violated"
    if isinstance(error, NotFound):
        return 404, "Not found"
    if isinstance(error, InvalidInput):
        return 422, "Invalid input"
    return 400, "Bad request"


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """Where and why, without echoing the input back (it may be huge or hostile)."""
    return [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", ""))}
        for item in error.errors()[:20]
    ]


def _allowed_methods(request: Request) -> list[str]:
    """Every method served at this path (Starlette names only the first matching route's)."""
    return [
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]


def install_error_handlers(app: FastAPI, *, retry_after_s: int, circuit: StoreCircuit) -> None:
    @app.exception_handler(DomainError)
    def on_domain_error(request: Request, error: DomainError) -> ProblemResponse:
        status, title = status_of(error)
        return problem(
            status, error.rule, error.detail, title=title, request_id=_request_id(request)
        )

    @app.exception_handler(RequestValidationError)
    def on_validation_error(request: Request, error: RequestValidationError) -> ProblemResponse:
        errors = _validation_errors(error)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}"
        return problem(
            422,
            "invalid-request",
            detail,
            title="Invalid request",
            errors=errors,
            request_id=_request_id(request),
        )

    @app.exception_handler(HTTPException)
    def on_http_error(request: Request, error: HTTPException) -> ProblemResponse:
        rule = {
            400: "malformed-request",
            401: "unauthenticated",
            403: "forbidden",
            404: "no-such-route",
            405: "method-not-allowed",
            413: "body-too-large",
            429: "too-many-failed-authentications",
        }.get(error.status_code, "http-error")
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem(
            error.status_code,
            rule,
            str(error.detail),
            headers=headers,
            request_id=_request_id(request),
        )

    def on_store_unavailable(request: Request, error: Exception) -> ProblemResponse:
        behind = isinstance(error, ReadSideBehind)
        if not isinstance(error, StoreUnavailable):  # a real store failure, not our own fast 503
            log.warning("store.unavailable", error=type(error).__name__, detail=str(error)[:200])
            circuit.trip()
        return problem(
            503,
            "read-side-behind" if behind else "store-unavailable",
            str(error) if behind else "the store cannot be reached now; retry shortly",
            headers={"Retry-After": str(retry_after_s)},
            request_id=_request_id(request),
        )

    for error_class in (*STORE_UNAVAILABLE_ERRORS, StoreUnavailable):
        app.add_exception_handler(error_class, on_store_unavailable)

    @app.exception_handler(Exception)
    def on_unexpected(request: Request, error: Exception) -> ProblemResponse:
        log.exception("request.failed")
        return problem(
            500,
            "internal-error",
            "the server failed; nothing half-written was kept",
            request_id=_request_id(request),
        )
