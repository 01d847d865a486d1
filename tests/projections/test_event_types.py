"""A model's `event_types` (what the runner decodes for it) covers every event it acts on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fundledger.application.ledger import FundLedger
from projections.decoding import decode_with_mapper
from projections.model import Fact
from projections.read_models import all_read_models
from tests.projections.helpers import cattle_fund


class _NoLookups:
    """A context that fails any lookup: an ignored event must not need one."""

    @property
    def cursor(self) -> Any:
        raise AssertionError("an ignored event looked something up")

    def event(self, event_id: str) -> Any:
        raise AssertionError("an ignored event read the log")


class _Recording:
    """A cursor that records every row a model writes."""

    dialect = "sqlite"

    def __init__(self) -> None:
        self.rows: list[Any] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.rows.append((sql, params))
        return []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.rows.extend(rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Any]) -> None:
        self.rows.extend(rows)

    def upsert_rows(self, table: str, *parts: Any) -> None:
        self.rows.extend(parts[-1])

    def delete_in(self, table: str, column: str, values: Sequence[str]) -> None:
        self.rows.extend(values)

    def delete_zero(self, table: str, keys: Sequence[str], amount: str, rows: Any) -> None:
        self.rows.extend(rows)


def test_every_model_leaves_alone_the_events_outside_its_event_types(ledger: FundLedger) -> None:
    """Events a model declares it does not act on add no row and need no lookup."""
    cattle_fund(ledger)
    facts: list[Fact] = [
        decode_with_mapper(n, ledger.mapper) for n in ledger.recorder.select_notifications(1, 5000)
    ]
    kinds = {type(fact.event) for fact in facts}
    for model in all_read_models():
        if model.event_types is None:
            continue
        ignored = [f for f in facts if not isinstance(f.event, model.event_types)]
        assert ignored, f"{model.name}: the story has events it ignores"
        acted_on = kinds - {type(f.event) for f in ignored}
        assert acted_on, f"{model.name}: the story has events it acts on"
        for fact in ignored:
            model.project(fact, _NoLookups())
        written = _Recording()
        model.write(written)
        assert written.rows == [], f"{model.name} wrote rows for events outside its event_types"
