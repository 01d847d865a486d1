"""Three specialized and closed (三专一封闭): evidence for each part, findings in plain words.

While projecting, this model records the evidence (custody handovers, bank statements, both
sides of every allocation, outflow and reversal counts) and the findings one event can show on
its own. Checks that compare models (does the last bank statement reconcile with the ledger? is
each allocation's other side there?) run when the compliance of a fund is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from fundledger.domain.fund import Fund
from fundledger.domain.money import format_fen
from projections.database import Cursor, Row
from projections.model import Context, Fact, ReadModel, Table

FUNDS = Table(
    "rm_compliance_funds",
    "fund_id TEXT PRIMARY KEY, bank_account TEXT NOT NULL, opened_on TEXT NOT NULL, "
    "custodian_id TEXT NOT NULL, allowed_categories TEXT NOT NULL, outflows INT NOT NULL, "
    "expenditures INT NOT NULL, expenditures_in_order INT NOT NULL, reversals INT NOT NULL, "
    "reversals_with_reason INT NOT NULL",
)
CUSTODY = Table(
    "rm_custody_handovers",
    "fund_id TEXT NOT NULL, position INT NOT NULL, occurred_on TEXT NOT NULL, "
    "previous_custodian_id TEXT NOT NULL, custodian_id TEXT NOT NULL, event_id TEXT NOT NULL, "
    "PRIMARY KEY (fund_id, position)",
)
STATEMENTS = Table(
    "rm_bank_statements",
    "fund_id TEXT NOT NULL, position INT NOT NULL, occurred_on TEXT NOT NULL, "
    "balance_fen INT NOT NULL, event_id TEXT NOT NULL, PRIMARY KEY (fund_id, position)",
)
ALLOCATIONS = Table(
    "rm_allocation_sides",
    "fund_id TEXT NOT NULL, position INT NOT NULL, allocation_id TEXT NOT NULL, "
    "side TEXT NOT NULL, event_id TEXT NOT NULL, other_fund_id TEXT NOT NULL, "
    "counterpart_event_id TEXT NOT NULL, amount_fen INT NOT NULL, PRIMARY KEY (fund_id, position)",
    ("(allocation_id)",),
)
FINDINGS = Table(
    "rm_compliance_findings",
    "fund_id TEXT NOT NULL, position INT NOT NULL, part TEXT NOT NULL, message TEXT NOT NULL, "
    "event_ids TEXT NOT NULL",
    ("(fund_id, position)",),
)
FUND_COLUMNS = (
    "fund_id",
    "bank_account",
    "opened_on",
    "custodian_id",
    "allowed_categories",
    "outflows",
    "expenditures",
    "expenditures_in_order",
    "reversals",
    "reversals_with_reason",
)


@dataclass
class FundRecord:
    """What the checks need to remember about one fund between events."""

    fund_id: str
    bank_account: str
    opened_on: str
    custodian_id: str
    allowed_categories: list[str]
    outflows: int = 0
    expenditures: int = 0
    expenditures_in_order: int = 0
    reversals: int = 0
    reversals_with_reason: int = 0

    def row(self) -> Row:
        return (
            self.fund_id,
            self.bank_account,
            self.opened_on,
            self.custodian_id,
            json.dumps(self.allowed_categories, ensure_ascii=False),
            self.outflows,
            self.expenditures,
            self.expenditures_in_order,
            self.reversals,
            self.reversals_with_reason,
        )


def fund_record(row: Row) -> FundRecord:
    fields = list(row)
    fields[4] = json.loads(fields[4])
    return FundRecord(*fields)


class Compliance(ReadModel):
    """Invariant: every outflow is an allowed category with a voucher, or an allocation or loan."""

    name = "compliance"
    tables: ClassVar[tuple[Table, ...]] = (FUNDS, CUSTODY, STATEMENTS, ALLOCATIONS, FINDINGS)
    event_types: ClassVar[tuple[type[Any], ...] | None] = (Fund.Event,)

    def __init__(self) -> None:
        self._funds: dict[str, FundRecord] = {}
        self._dirty: set[str] = set()
        self._rows: dict[str, list[Row]] = {t.name: [] for t in self.tables[1:]}

    def load(self, cursor: Cursor) -> None:
        self._funds = {}

    def _fund(self, fund_id: str, cursor: Cursor) -> FundRecord | None:
        record = self._funds.get(fund_id)
        if record is None:
            rows = cursor.execute(
                f"SELECT {','.join(FUND_COLUMNS)} FROM rm_compliance_funds WHERE fund_id = ?",
                (fund_id,),
            )
            if not rows:
                return None
            record = self._funds[fund_id] = fund_record(rows[0])
        return record

    def project(self, fact: Fact, context: Context) -> None:
        event: Any = fact.event
        if not fact.type.startswith("Fund."):
            return
        if isinstance(event, Fund.Opened):
            self._funds[fact.originator_id] = FundRecord(
                fact.originator_id,
                event.bank_account,
                event.occurred_on.isoformat(),
                event.custodian_id,
                list(event.allowed_categories),
            )
            self._dirty.add(fact.originator_id)
            return
        record = self._fund(fact.originator_id, context.cursor)
        if record is None:
            return
        self._dirty.add(record.fund_id)
        self._check_dated_after_opening(fact, record)
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, fact, record)

    def _finding(self, fact: Fact, part: str, message: str, *event_ids: str) -> None:
        ids = json.dumps([fact.event_id, *event_ids])
        self._rows[FINDINGS.name].append((fact.originator_id, fact.position, part, message, ids))

    def _check_dated_after_opening(self, fact: Fact, record: FundRecord) -> None:
        if fact.occurred_on is None or fact.occurred_on.isoformat() >= record.opened_on:
            return
        movement = fact.movement
        if movement is None and not isinstance(fact.event, Fund.CustodianHandedOver):
            return
        self._finding(
            fact,
            "special_personnel",
            f"{fact.type.removeprefix('Fund.')} {fact.event_id} is dated "
            f"{fact.occurred_on.isoformat()}, before the fund was opened with its custodian "
            f"on {record.opened_on}: no custodian answered for it on that date",
        )

    def _handover(self, fact: Fact, record: FundRecord) -> None:
        event: Fund.CustodianHandedOver = fact.event
        assert fact.occurred_on is not None, "a handover has a business date"
        self._rows[CUSTODY.name].append(
            (
                record.fund_id,
                fact.position,
                fact.occurred_on.isoformat(),
                event.previous_custodian_id,
                event.custodian_id,
                fact.event_id,
            )
        )
        if event.previous_custodian_id != record.custodian_id:
            self._finding(
                fact,
                "special_personnel",
                f"handover {fact.event_id} says custody passed from "
                f"{{{event.previous_custodian_id}}}, but the custodian on record was "
                f"{{{record.custodian_id}}}",
            )
        record.custodian_id = event.custodian_id

    def _statement(self, fact: Fact, record: FundRecord) -> None:
        event: Fund.BankStatementRecorded = fact.event
        assert fact.occurred_on is not None, "a statement has a business date"
        self._rows[STATEMENTS.name].append(
            (
                record.fund_id,
                fact.position,
                fact.occurred_on.isoformat(),
                event.balance_fen,
                fact.event_id,
            )
        )

    def _allocation(self, fact: Fact, record: FundRecord) -> None:
        event: Any = fact.event
        sent = isinstance(event, Fund.AllocationSent)
        if sent:
            record.outflows += 1
        self._rows[ALLOCATIONS.name].append(
            (
                record.fund_id,
                fact.position,
                event.allocation_id,
                "sent" if sent else "received",
                fact.event_id,
                event.to_fund_id if sent else event.from_fund_id,
                event.counterpart_event_id,
                event.amount_fen,
            )
        )

    def _loan(self, fact: Fact, record: FundRecord) -> None:
        record.outflows += 1

    def _expenditure(self, fact: Fact, record: FundRecord) -> None:
        event: Fund.ExpenditurePaid = fact.event
        record.outflows += 1
        record.expenditures += 1
        problems = []
        if event.category not in record.allowed_categories:
            problems.append(f"its category {event.category!r} is not one the fund declared")
        voucher = event.voucher or {}
        if not str(voucher.get("number", "")).strip():
            problems.append("it has no voucher number")
        if not problems:
            record.expenditures_in_order += 1
            return
        self._finding(
            fact,
            "closed_operation",
            f"expenditure {fact.event_id} of {format_fen(event.amount_fen)} yuan to "
            f"{{{event.payee_id}}}: " + "; ".join(problems),
        )

    def _reversal(self, fact: Fact, record: FundRecord) -> None:
        event: Fund.EventReversed = fact.event
        record.reversals += 1
        if event.reason.strip():
            record.reversals_with_reason += 1
            return
        self._finding(
            fact,
            "closed_operation",
            f"reversal {fact.event_id} undoes {event.original_event_id} without a reason",
            event.original_event_id,
        )

    def write(self, cursor: Cursor) -> None:
        for table, rows in self._rows.items():
            cursor.insert_rows(table, COLUMNS[table], rows)
        cursor.upsert_rows(
            FUNDS.name,
            FUND_COLUMNS,
            ("text",) * 5 + ("bigint",) * 5,
            "fund_id",
            ", ".join(f"{c} = excluded.{c}" for c in FUND_COLUMNS[1:]),
            [self._funds[fund_id].row() for fund_id in sorted(self._dirty)],
        )

    def discard(self) -> None:
        self._dirty = set()
        self._rows = {t.name: [] for t in self.tables[1:]}


COLUMNS: dict[str, tuple[str, ...]] = {
    CUSTODY.name: (
        "fund_id",
        "position",
        "occurred_on",
        "previous_custodian_id",
        "custodian_id",
        "event_id",
    ),
    STATEMENTS.name: ("fund_id", "position", "occurred_on", "balance_fen", "event_id"),
    ALLOCATIONS.name: (
        "fund_id",
        "position",
        "allocation_id",
        "side",
        "event_id",
        "other_fund_id",
        "counterpart_event_id",
        "amount_fen",
    ),
    FINDINGS.name: ("fund_id", "position", "part", "message", "event_ids"),
}


_HANDLERS: dict[type[Any], Any] = {
    Fund.CustodianHandedOver: Compliance._handover,
    Fund.BankStatementRecorded: Compliance._statement,
    Fund.AllocationSent: Compliance._allocation,
    Fund.AllocationReceived: Compliance._allocation,
    Fund.LoanDisbursed: Compliance._loan,
    Fund.ExpenditurePaid: Compliance._expenditure,
    Fund.EventReversed: Compliance._reversal,
}
