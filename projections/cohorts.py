"""Loans of revolving funds, by cohort: principal, repaid, granted, what is still owed and when due.

The loan streams are the authority on each loan (the fund stream holds the cash side), so this
model follows `Loan.*` events. Amounts are kept as deltas per batch and added in the database, so
the model holds no state between batches.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fundledger.domain.loan import Loan
from projections.database import Cursor
from projections.model import Context, Fact, ReadModel, Table

LOANS = Table(
    "rm_loans",
    "loan_id TEXT PRIMARY KEY, fund_id TEXT NOT NULL, cohort TEXT NOT NULL, "
    "borrower_id TEXT NOT NULL, principal_fen INT NOT NULL, repaid_fen INT NOT NULL, "
    "granted_fen INT NOT NULL, cancelled INT NOT NULL, disbursed_on TEXT NOT NULL, "
    "due_on TEXT NOT NULL, event_id TEXT NOT NULL, position INT NOT NULL",
    ("(fund_id, cohort)",),
)
COLUMNS = (
    "loan_id",
    "fund_id",
    "cohort",
    "borrower_id",
    "principal_fen",
    "repaid_fen",
    "granted_fen",
    "cancelled",
    "disbursed_on",
    "due_on",
    "event_id",
    "position",
)

TYPES = ("text",) * 4 + ("bigint",) * 4 + ("text",) * 3 + ("bigint",)


class Cohorts(ReadModel):
    """Invariant: per loan, 0 <= repaid + granted <= principal; a voided loan owes nothing."""

    name = "cohorts"
    tables: ClassVar[tuple[Table, ...]] = (LOANS,)
    event_types: ClassVar[tuple[type[Any], ...] | None] = (Loan.Event,)

    def __init__(self) -> None:
        self._issued: list[tuple[Any, ...]] = []
        self._changes: dict[str, list[int]] = {}  # loan_id -> [repaid, granted, cancelled]

    def project(self, fact: Fact, context: Context) -> None:
        event: Any = fact.event
        if isinstance(event, Loan.Issued):
            self._issued.append(
                (
                    fact.originator_id,
                    event.fund_id,
                    event.cohort,
                    event.borrower_id,
                    event.principal_fen,
                    0,
                    0,
                    0,
                    event.occurred_on.isoformat(),
                    event.due_on.isoformat(),
                    fact.event_id,
                    fact.position,
                )
            )
            return
        if isinstance(event, Loan.Repaid):
            self._change(fact.originator_id, event.amount_fen, 0, 0)
        elif isinstance(event, Loan.RolledOver):
            self._change(fact.originator_id, event.repaid_fen, event.granted_fen, 0)
        elif isinstance(event, Loan.Adjusted):
            self._change(
                fact.originator_id,
                event.repaid_change_fen,
                event.granted_change_fen,
                int(event.cancelled),
            )

    def _change(self, loan_id: str, repaid_fen: int, granted_fen: int, cancelled: int) -> None:
        change = self._changes.setdefault(loan_id, [0, 0, 0])
        change[0] += repaid_fen
        change[1] += granted_fen
        change[2] = max(change[2], cancelled)

    def write(self, cursor: Cursor) -> None:
        cursor.insert_rows(LOANS.name, COLUMNS, self._issued)
        # Every loan changed here exists (issued above or earlier): the INSERT half never
        # happens, so its other columns are placeholders.
        cursor.upsert_rows(
            LOANS.name,
            COLUMNS,
            TYPES,
            "loan_id",
            "repaid_fen = rm_loans.repaid_fen + excluded.repaid_fen, "
            "granted_fen = rm_loans.granted_fen + excluded.granted_fen, "
            "cancelled = CASE WHEN excluded.cancelled = 1 THEN 1 ELSE rm_loans.cancelled END",
            [
                (loan_id, "", "", "", 0, r, g, c, "", "", "", 0)
                for loan_id, (r, g, c) in self._changes.items()
            ],
        )
        if self._changes:
            _check_loans(cursor, list(self._changes))

    def discard(self) -> None:
        self._issued = []
        self._changes = {}


def _check_loans(cursor: Cursor, loan_ids: list[str]) -> None:
    """The loan aggregate refused over-repayment; the view checks it again (pair assertion)."""
    marks = ",".join("?" * len(loan_ids))
    rows = cursor.execute(
        f"SELECT loan_id FROM rm_loans WHERE loan_id IN ({marks}) AND (repaid_fen < 0 OR "
        "granted_fen < 0 OR repaid_fen + granted_fen > principal_fen)",
        loan_ids,
    )
    if rows:
        raise AssertionError(f"loan {rows[0][0]} projected past its principal")
