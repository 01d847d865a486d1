"""Dependencies: the ledger, the read side, and the caller behind the API key.

Authenticating is one `repository.get` of the key's aggregate (its id comes from the key's hash),
so a revocation recorded by any process is seen here on the next request.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from eventsourcing.application import AggregateNotFoundError
from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api.errors import ReadSideBehind, StoreCircuit, StoreUnavailable
from api.middleware import request_context
from api.settings import Settings
from fundledger.adapters.records import IDEMPOTENCY_KEY_LENGTH_MAX
from fundledger.application.ledger import FundLedger
from fundledger.domain.access import (
    API_KEY_LENGTH_MAX,
    FUND_LIMITED_ROLES,
    ApiKey,
    Role,
    api_key_id,
    hash_api_key,
)
from fundledger.domain.errors import InvalidInput
from projections.queries import ReadModels

_bearer = HTTPBearer(auto_error=False, description="An API key from `fundledger keys create`.")


@dataclass(frozen=True)
class Caller:
    """Who is asking: the key's id, name (the events' actor), role and funds."""

    key_id: str
    name: str
    role: Role
    fund_ids: frozenset[str]

    @property
    def visible_funds(self) -> frozenset[str] | None:
        """The funds this caller may see, or None for all of them."""
        return self.fund_ids if self.role in FUND_LIMITED_ROLES else None

    def check_fund(self, fund_id: str) -> None:
        visible = self.visible_funds
        if visible is not None and fund_id not in visible:
            raise HTTPException(403, f"this key may not see fund {fund_id!r}")


class FailedAuthenticationLimiter:
    """Counts failed authentications per client address in a sliding window (brute force)."""

    def __init__(self, failures_max: int, window_s: float) -> None:
        self.failures_max = failures_max
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now_s: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now_s - self.window_s:
            failures.popleft()
        return failures

    def retry_after_s(self, address: str) -> int | None:
        """Seconds to wait when the address is over the limit, else None."""
        now_s = time.monotonic()
        with self._lock:
            failures = self._recent(address, now_s)
            if len(failures) < self.failures_max:
                return None
            return max(1, int(failures[0] + self.window_s - now_s) + 1)

    def record_failure(self, address: str) -> None:
        now_s = time.monotonic()
        with self._lock:
            self._recent(address, now_s).append(now_s)
            if len(self._failures) > 100_000:  # bound the memory a scan of addresses can take
                self._failures.clear()


# The dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, a hop (and a GIL hand-over to and from a worker thread) that cost more than the
# whole balance query. Only the key lookup and the endpoint itself go to the pool.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_ledger(request: Request) -> FundLedger:
    circuit: StoreCircuit = request.app.state.store_circuit
    circuit.check()
    ledger: FundLedger = request.app.state.ledger
    return ledger


async def get_read_models(request: Request) -> ReadModels:
    circuit: StoreCircuit = request.app.state.store_circuit
    circuit.check()
    read_models: ReadModels | None = request.app.state.read_models
    if read_models is None:
        raise StoreUnavailable("the read side is not available in this process")
    return read_models


def _unauthenticated(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _find_key(ledger: FundLedger, key: str) -> ApiKey | None:
    if len(key) > API_KEY_LENGTH_MAX:
        return None
    key_hash = hash_api_key(key)
    try:
        found: object = ledger.repository.get(api_key_id(key_hash))
    except AggregateNotFoundError:
        return None
    if not isinstance(found, ApiKey) or not found.matches(key_hash) or not found.is_active:
        return None
    return found


def authenticate(
    request: Request,
    ledger: Annotated[FundLedger, Depends(get_ledger)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    limiter: FailedAuthenticationLimiter = request.app.state.auth_limiter
    address = request.client.host if request.client else "unknown"
    wait_s = limiter.retry_after_s(address)
    if wait_s is not None:
        raise HTTPException(
            429, "too many failed authentications from this address", {"Retry-After": str(wait_s)}
        )
    if credentials is None:
        limiter.record_failure(address)
        raise _unauthenticated("send an API key as 'Authorization: Bearer KEY'")
    key = _find_key(ledger, credentials.credentials)
    if key is None:
        limiter.record_failure(address)
        raise _unauthenticated("the API key is unknown or revoked")
    request_context(request.scope)["actor"] = key.name
    return Caller(str(key.id), key.name, Role(key.role), frozenset(key.fund_ids))


def require_roles(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    allowed = frozenset(roles)

    async def check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if caller.role not in allowed:
            raise HTTPException(403, f"a {caller.role.value} key may not do this")
        return caller

    return check


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=IDEMPOTENCY_KEY_LENGTH_MAX,
            pattern=r"^[\x21-\x7e]+$",
            description="Repeat a POST safely: the same key and body replay the first answer.",
        ),
    ] = None,
) -> str | None:
    return key


async def caught_up_read_models(
    read_models: Annotated[ReadModels, Depends(get_read_models)],
    ledger: Annotated[FundLedger, Depends(get_ledger)],
    settings: Annotated[Settings, Depends(get_settings)],
    min_position: Annotated[
        int | None,
        Query(ge=0, le=2**63 - 1, description="Wait (bounded) until the read side has this."),
    ] = None,
) -> ReadModels:
    """The read side, once it has processed `min_position` (read-your-writes, bounded wait).

    Without `min_position` nothing is asked; otherwise the check may query and wait, so it runs
    in the thread pool, off the event loop.
    """
    if not min_position:
        return read_models
    await run_in_threadpool(_wait_for_position, read_models, ledger, settings, min_position)
    return read_models


def _wait_for_position(
    read_models: ReadModels, ledger: FundLedger, settings: Settings, min_position: int
) -> None:
    """Return once the read side has `min_position`; 503 after the bounded wait.

    A position past the head of the log names no write at all: that is the client's mistake
    (422), not a read side that is behind (503).
    """
    if read_models.position() >= min_position:
        return
    head = ledger.recorder.max_notification_id() or 0
    if min_position > head:
        raise InvalidInput(f"min_position {min_position} is past the head of the log ({head})")
    if not read_models.wait_for(min_position, settings.read_wait_s_max):
        raise ReadSideBehind(
            f"the read side has not reached position {min_position} yet; retry shortly"
        )


Ledger = Annotated[FundLedger, Depends(get_ledger)]
Reads = Annotated[ReadModels, Depends(caught_up_read_models)]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
Recorder = Annotated[Caller, Depends(require_roles(Role.ADMIN, Role.CLERK))]
FundReader = Annotated[
    Caller, Depends(require_roles(Role.ADMIN, Role.CLERK, Role.AUDITOR, Role.SUPERVISOR))
]
BalanceReader = Annotated[Caller, Depends(require_roles(*Role))]
Reader = Annotated[Caller, Depends(require_roles(Role.ADMIN, Role.CLERK, Role.AUDITOR))]
AuditReader = Annotated[Caller, Depends(require_roles(Role.ADMIN, Role.AUDITOR))]
Admin = Annotated[Caller, Depends(require_roles(Role.ADMIN))]
