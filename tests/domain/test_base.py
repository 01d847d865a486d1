"""Event ids and the fields every event carries."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from fundledger.domain.base import (
    event_id_of,
    parse_event_id,
    require_business_date,
    require_note,
    require_text,
)
from fundledger.domain.errors import InvalidInput, UnknownEvent


def test_an_event_id_is_its_stream_and_version() -> None:
    """ "<uuid>.<version>" parses back to the same stream and version."""
    stream = uuid4()
    assert parse_event_id(event_id_of(stream, 7)) == (stream, 7)


def test_only_the_canonical_spelling_names_an_event() -> None:
    """Upper case, braces, padding, signs, zero and other scripts' digits are unknown events."""
    stream = str(uuid4())
    for event_id in (
        f"{stream.upper()}.1",
        f"{{{stream}}}.1",
        f"{stream.replace('-', '')}.1",
        f"{stream}. 1",
        f"{stream}.01",
        f"{stream}.+1",
        f"{stream}.١",
        f"{stream}.0",
        f"{stream}.-1",
        f"{stream}",
        "garbage",
    ):
        with pytest.raises(UnknownEvent):
            parse_event_id(event_id)


def test_text_fields_are_trimmed_bounded_and_never_empty() -> None:
    """Names and descriptions are stripped; blank or too long is invalid input."""
    assert require_text("  Cattle fund ", "name") == "Cattle fund"
    with pytest.raises(InvalidInput):
        require_text("   ", "name")
    with pytest.raises(InvalidInput):
        require_text("x" * 201, "name", 200)
    with pytest.raises(InvalidInput):
        require_note("x" * 2_001)


def test_business_dates_stay_within_the_window() -> None:
    """occurred_on runs from 1949-10-01 to 2199-12-31."""
    assert require_business_date(date(1949, 10, 1)) == date(1949, 10, 1)
    for day in (date(1949, 9, 30), date(2200, 1, 1)):
        with pytest.raises(InvalidInput):
            require_business_date(day)
