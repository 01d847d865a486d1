"""Each fund's special ledger: every movement, in business-date order, with its counterparty.

Rows are kept in (fund, occurred_on, position) order. The running balance is not stored (a
back-dated receipt would rewrite every later row); a page computes it from the balances model
(the fund's cash at the end of the day before) plus the same day's earlier rows.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from fundledger.domain.fund import Fund
from projections.database import Cursor, Row
from projections.model import Context, Fact, ReadModel, Table
from projections.movements import movement_of

LEDGER_LINES = Table(
    "rm_ledger_lines",
    "fund_id TEXT NOT NULL, occurred_on TEXT NOT NULL, position INT NOT NULL, "
    "cash_fen INT NOT NULL, event_id TEXT NOT NULL, kind TEXT NOT NULL, amount_fen INT NOT NULL, "
    "direction TEXT NOT NULL, counterparty TEXT NOT NULL, category TEXT, voucher TEXT, "
    "in_kind INT NOT NULL, reverses TEXT, note TEXT NOT NULL, "
    "PRIMARY KEY (fund_id, occurred_on, position)",
    ("(reverses) WHERE reverses IS NOT NULL",),
    clustered=True,
)
COLUMNS = (
    "fund_id",
    "occurred_on",
    "position",
    "cash_fen",
    "event_id",
    "kind",
    "amount_fen",
    "direction",
    "counterparty",
    "category",
    "voucher",
    "in_kind",
    "reverses",
    "note",
)


class SpecialLedger(ReadModel):
    """Invariant: the lines' cash sums to the fund's balance; every reversal names its original."""

    name = "special_ledger"
    tables: ClassVar[tuple[Table, ...]] = (LEDGER_LINES,)
    event_types: ClassVar[tuple[type[Any], ...] | None] = (Fund.Event,)  # movements: fund events

    def __init__(self) -> None:
        self._rows: list[Row] = []

    def project(self, fact: Fact, context: Context) -> None:
        movement = fact.movement
        if movement is None or fact.occurred_on is None:
            return
        counterparty = movement.counterparty
        if movement.reverses is not None:
            counterparty = _counterparty_of(movement.reverses, context)
        self._rows.append(
            (
                movement.fund_id,
                fact.occurred_on.isoformat(),
                fact.position,
                movement.cash_fen,
                fact.event_id,
                movement.kind,
                movement.amount_fen,
                movement.direction,
                counterparty,
                movement.category,
                json.dumps(movement.voucher, ensure_ascii=False) if movement.voucher else None,
                int(movement.in_kind_fen != 0 and movement.cash_fen == 0),
                movement.reverses,
                getattr(fact.event, "note", ""),
            )
        )

    def write(self, cursor: Cursor) -> None:
        cursor.insert_rows(LEDGER_LINES.name, COLUMNS, self._rows)

    def discard(self) -> None:
        self._rows = []


def _counterparty_of(event_id: str, context: Context) -> str:
    """A reversal's counterparty is its original's (reversals are rare: read it from the store)."""
    original = context.event(event_id)
    movement = movement_of(original, event_id.rpartition(".")[0])
    return movement.counterparty if movement is not None else ""
