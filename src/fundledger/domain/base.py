"""What every fundledger event carries, and how an event is named from outside."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from fundledger.domain.errors import InvalidInput, UnknownEvent

# Business dates outside this window are typos (a year 2105 grant) or attacks.
OCCURRED_ON_MIN = date(1949, 10, 1)
OCCURRED_ON_MAX = date(2199, 12, 31)
TEXT_LENGTH_MAX = 2_000
NAME_LENGTH_MAX = 200


class LedgerEvent(Aggregate.Event):
    """Base of every fundledger event: who recorded it and when it happened in business terms.

    `timestamp` (from the library) is when the event was recorded; `occurred_on` is the business
    date the money moved, which can be earlier (a clerk books last week's receipt today).
    """

    actor: str
    occurred_on: date
    note: str


class LedgerCreated(LedgerEvent, Aggregate.Created):
    """Base of the events that open an aggregate."""


def event_id_of(originator_id: UUID, originator_version: int) -> str:
    """The public id of an event: its stream and its place in it, e.g. "<uuid>.7"."""
    return f"{originator_id}.{originator_version}"


def parse_event_id(event_id: str) -> tuple[UUID, int]:
    """Inverse of `event_id_of`; an id that cannot be read is an unknown event."""
    stream, _, version_text = event_id.rpartition(".")
    try:
        originator_id = UUID(stream)
        version = int(version_text)
    except ValueError:
        raise UnknownEvent(f"no event has the id {event_id!r}") from None
    # Only the canonical spelling names an event: int() and UUID() also read " 1", "01", "١",
    # upper case and braces, which would let one event answer to many ids.
    if version < 1 or event_id_of(originator_id, version) != event_id:
        raise UnknownEvent(f"no event has the id {event_id!r}")
    return originator_id, version


def require_text(value: str, field: str, length_max: int = TEXT_LENGTH_MAX) -> str:
    """Text fields are trimmed, never empty, and bounded."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    text = value.strip()
    if not text:
        raise InvalidInput(f"{field} must not be empty")
    if len(text) > length_max:
        raise InvalidInput(f"{field} is longer than {length_max} characters")
    return text


def require_note(value: str) -> str:
    if len(value) > TEXT_LENGTH_MAX:
        raise InvalidInput(f"note is longer than {TEXT_LENGTH_MAX} characters")
    return value.strip()


def require_business_date(value: date, field: str = "occurred_on") -> date:
    if not OCCURRED_ON_MIN <= value <= OCCURRED_ON_MAX:
        raise InvalidInput(
            f"{field} {value.isoformat()} is outside {OCCURRED_ON_MIN} .. {OCCURRED_ON_MAX}"
        )
    return value
