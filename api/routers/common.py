"""Small helpers the routers share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, TypeVar

from fastapi import Path, Query

from fundledger.domain.errors import NotFound

# Ids and filters end up in SQL parameters; PostgreSQL text cannot hold NUL, and no id or
# category holds a control character: refuse them as malformed (422) rather than fail (500).
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]+$"
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, pattern=PLAIN_TEXT, description="`next_cursor` of the previous page."),
]
FundId = Annotated[
    str, Path(max_length=100, pattern=PLAIN_TEXT, examples=["3f0c8a52-5b7e-4b8e-9f53-6a3d2c1b0e9f"])
]
PartyId = Annotated[
    str, Path(max_length=100, pattern=PLAIN_TEXT, examples=["0b5c7e4e-3a59-4c4e-9d43-3b0a1f8f2a10"])
]
EventId = Annotated[
    str,
    Path(max_length=200, pattern=PLAIN_TEXT, examples=["3f0c8a52-5b7e-4b8e-9f53-6a3d2c1b0e9f.2"]),
]
LoanId = Annotated[
    str, Path(max_length=100, pattern=PLAIN_TEXT, examples=["7d2e9b14-8c3f-4a61-b5d0-2e4f6a8c0b13"])
]


def today() -> date:
    return datetime.now(UTC).date()


T = TypeVar("T")


def found(value: T | None, error: NotFound) -> T:
    """The value, or the NotFound error (a 404) when the read side has no such thing."""
    if value is None:
        raise error
    return value
