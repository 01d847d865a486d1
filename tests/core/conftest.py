"""Core rule tests run on a SQLite file (the storage tests cover both stores)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fundledger.bootstrap import open_ledger
from tests.core.books import Books


@pytest.fixture
def books(tmp_path: Path) -> Iterator[Books]:
    """A ledger on a fresh SQLite file, with helpers."""
    ledger = open_ledger(f"sqlite:///{tmp_path / 'core.sqlite'}")
    yield Books(ledger)
    ledger.close()
