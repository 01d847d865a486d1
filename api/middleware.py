"""The outermost layer: request ids, one log line per request, and the body size limit.

A pure ASGI middleware (not BaseHTTPMiddleware) so streaming bodies are counted as they arrive
and nothing is buffered twice.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem

log = structlog.get_logger("fundledger.api")

REQUEST_ID_HEADER = "x-request-id"
# A client's request id is echoed only when it is short and plain (it lands in our logs).
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Where the auth dependency leaves the caller's name for the request's log line.
CONTEXT_SCOPE_KEY = "fundledger.context"


class BodyTooLarge(HTTPException):
    def __init__(self, body_bytes_max: int) -> None:
        super().__init__(413, f"the request body is larger than {body_bytes_max} bytes")


def request_context(scope: Scope) -> dict[str, Any]:
    """The per-request notes shared between this middleware and the dependencies."""
    context: dict[str, Any] = scope.setdefault(CONTEXT_SCOPE_KEY, {})
    return context


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            text = bytes(value).decode("latin-1")
            if _REQUEST_ID_PATTERN.match(text):
                return text
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, body_bytes_max: int) -> None:
        self.app = app
        self.body_bytes_max = body_bytes_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        context = request_context(scope)
        context["request_id"] = request_id
        started_s = time.perf_counter()
        status_code = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.body_bytes_max:
                response = problem(
                    413,
                    "body-too-large",
                    f"the request body is larger than {self.body_bytes_max} bytes",
                    request_id=request_id,
                )
                await response(scope, receive, send_with_id)
                return
            await self.app(scope, self._counting(receive), send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status_code,
                duration_ms=round((time.perf_counter() - started_s) * 1000, 2),
                request_id=request_id,
                actor=context.get("actor"),
            )

    def _counting(self, receive: Receive) -> Receive:
        """Refuse a body that grows past the limit while it streams in (no Content-Length)."""
        received_bytes = 0

        async def counted() -> Message:
            nonlocal received_bytes
            message = await receive()
            if message["type"] == "http.request":
                received_bytes += len(message.get("body", b""))
                if received_bytes > self.body_bytes_max:
                    raise BodyTooLarge(self.body_bytes_max)
            return message

        return counted
