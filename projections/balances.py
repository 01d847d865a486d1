"""Balance of every fund at the end of any business date, without replaying the log.

Movements are summed per (fund, day) and per (fund, month) as they arrive, whatever their
business date (a back-dated receipt only adds to its own day and month). The balance as of D is
the sum of the whole months before D's month plus the days of D's month up to D: at most a few
thousand index entries however many events the fund has.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, ClassVar

from fundledger.domain.fund import Fund
from projections.database import Cursor
from projections.model import Context, Fact, ReadModel, Table

DAILY = Table(
    "rm_balance_daily",
    "fund_id TEXT NOT NULL, day TEXT NOT NULL, net_fen INT NOT NULL, PRIMARY KEY (fund_id, day)",
    clustered=True,
)
MONTHLY = Table(
    "rm_balance_monthly",
    "fund_id TEXT NOT NULL, month TEXT NOT NULL, net_fen INT NOT NULL, "
    "PRIMARY KEY (fund_id, month)",
    clustered=True,
)


class Balances(ReadModel):
    """Invariant: balance as of D == sum of the cash movements with occurred_on <= D."""

    name = "balances"
    tables: ClassVar[tuple[Table, ...]] = (DAILY, MONTHLY)
    event_types: ClassVar[tuple[type[Any], ...] | None] = (Fund.Event,)  # movements: fund events

    def __init__(self) -> None:
        self._daily: defaultdict[tuple[str, str], int] = defaultdict(int)

    def project(self, fact: Fact, context: Context) -> None:
        movement = fact.movement
        if movement is None or movement.cash_fen == 0 or fact.occurred_on is None:
            return
        self._daily[(movement.fund_id, fact.occurred_on.isoformat())] += movement.cash_fen

    def write(self, cursor: Cursor) -> None:
        monthly: defaultdict[tuple[str, str], int] = defaultdict(int)
        for (fund_id, day), net_fen in self._daily.items():
            monthly[(fund_id, day[:7])] += net_fen
        cursor.upsert_rows(
            DAILY.name,
            ("fund_id", "day", "net_fen"),
            ("text", "text", "bigint"),
            "fund_id, day",
            "net_fen = rm_balance_daily.net_fen + excluded.net_fen",
            [(fund, day, net) for (fund, day), net in self._daily.items()],
        )
        cursor.upsert_rows(
            MONTHLY.name,
            ("fund_id", "month", "net_fen"),
            ("text", "text", "bigint"),
            "fund_id, month",
            "net_fen = rm_balance_monthly.net_fen + excluded.net_fen",
            [(fund, month, net) for (fund, month), net in monthly.items()],
        )

    def discard(self) -> None:
        self._daily = defaultdict(int)


# The cash of a fund at the end of a day: whole months before it, then its month's days up to it.
AS_OF_SQL = (
    "(SELECT COALESCE(SUM(net_fen), 0) FROM rm_balance_monthly WHERE fund_id = ? AND month < ?) + "
    "(SELECT COALESCE(SUM(net_fen), 0) FROM rm_balance_daily "
    " WHERE fund_id = ? AND day >= ? AND day <= ?)"
)


def as_of_params(fund_id: str, as_of: date) -> tuple[str, ...]:
    day = as_of.isoformat()
    return (fund_id, day[:7], fund_id, day[:7] + "-01", day)


def balance_as_of_fen(cursor: Cursor, fund_id: str, as_of: date) -> int:
    """Cash at the end of `as_of`: whole months before it, then its month's days up to it."""
    rows = cursor.execute(f"SELECT {AS_OF_SQL}", as_of_params(fund_id, as_of))
    return int(rows[0][0])
