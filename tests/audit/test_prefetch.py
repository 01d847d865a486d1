"""The read-ahead thread hands over every batch in order, passes errors on, and stops early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from fundledger.audit.storage import prefetched


def test_every_batch_arrives_in_order() -> None:
    """Reading ahead changes nothing about what is read."""
    assert list(prefetched(iter(range(100)), depth=2)) == list(range(100))


def test_an_error_while_reading_reaches_the_caller() -> None:
    """A database error in the reader thread is raised where the batches are consumed."""

    def failing() -> Iterator[int]:
        yield 1
        raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError, match="connection lost"):
        list(prefetched(failing()))


def test_stopping_early_ends_the_reader() -> None:
    """When verify stops at a fault, the reader thread stops too (it holds the cursor)."""
    read: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            read.append(n)
            yield n
            n += 1

    batches = prefetched(endless(), depth=2)
    assert next(batches) == 0
    batches.close()
    assert not any(t.name == "audit-log-reader" for t in threading.enumerate())
    assert len(read) <= 4
