"""Parties and funds as they stand now (names, kinds, fund details, cash balance, version)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from fundledger.domain.fund import Fund
from fundledger.domain.party import Party
from projections.database import Cursor, Row
from projections.model import Context, Fact, ReadModel, Table

PARTIES = Table(
    "rm_parties",
    "party_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, position INT NOT NULL",
    ("(position)",),
)
FUNDS = Table(
    "rm_funds",
    "fund_id TEXT PRIMARY KEY, name TEXT NOT NULL, purpose TEXT NOT NULL, "
    "bank_account TEXT NOT NULL, custodian_id TEXT NOT NULL, allowed_categories TEXT NOT NULL, "
    "revolving INT NOT NULL, currency TEXT NOT NULL, balance_fen INT NOT NULL, "
    "in_kind_value_fen INT NOT NULL, version INT NOT NULL, opened_on TEXT NOT NULL, "
    "position INT NOT NULL",
    ("(position)",),
)
PARTY_COLUMNS = ("party_id", "name", "kind", "position")
FUND_COLUMNS = (
    "fund_id",
    "name",
    "purpose",
    "bank_account",
    "custodian_id",
    "allowed_categories",
    "revolving",
    "currency",
    "balance_fen",
    "in_kind_value_fen",
    "version",
    "opened_on",
    "position",
)

FUND_TYPES = (
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "bigint",
    "text",
    "bigint",
    "bigint",
    "bigint",
    "text",
    "bigint",
)


class Catalog(ReadModel):
    """Invariant: a fund's balance is the sum of its cash movements and never below zero."""

    name = "catalog"
    tables: ClassVar[tuple[Table, ...]] = (PARTIES, FUNDS)
    event_types: ClassVar[tuple[type[Any], ...] | None] = (Party.Registered, Fund.Event)

    def __init__(self) -> None:
        self._parties: list[Row] = []
        self._funds: list[Row] = []
        # fund_id -> [cash change, in-kind change, latest version]
        self._changes: dict[str, list[int]] = {}
        self._custodians: dict[str, str] = {}

    def project(self, fact: Fact, context: Context) -> None:
        event: Any = fact.event
        if isinstance(event, Party.Registered):
            self._parties.append((fact.originator_id, event.name, event.kind, fact.position))
            return
        if not isinstance(event, Fund.Event):
            return
        if isinstance(event, Fund.Opened):
            self._funds.append(_fund_row(fact, event))
            return
        change = self._changes.setdefault(fact.originator_id, [0, 0, 0])
        change[2] = fact.originator_version
        if isinstance(event, Fund.CustodianHandedOver):
            self._custodians[fact.originator_id] = event.custodian_id
        movement = fact.movement
        if movement is not None:
            change[0] += movement.cash_fen
            change[1] += movement.in_kind_fen

    def write(self, cursor: Cursor) -> None:
        cursor.insert_rows(PARTIES.name, PARTY_COLUMNS, self._parties)
        cursor.insert_rows(FUNDS.name, FUND_COLUMNS, self._funds)
        # Every fund changed here exists (its Opened row is inserted above or earlier): the
        # INSERT half never happens, so its other columns are placeholders.
        cursor.upsert_rows(
            FUNDS.name,
            FUND_COLUMNS,
            FUND_TYPES,
            "fund_id",
            "balance_fen = rm_funds.balance_fen + excluded.balance_fen, "
            "in_kind_value_fen = rm_funds.in_kind_value_fen + excluded.in_kind_value_fen, "
            "version = excluded.version",
            [
                (fund, "", "", "", "", "[]", 0, "", cash, in_kind, version, "", 0)
                for fund, (cash, in_kind, version) in self._changes.items()
            ],
        )
        cursor.executemany(
            "UPDATE rm_funds SET custodian_id = ? WHERE fund_id = ?",
            [(custodian, fund) for fund, custodian in self._custodians.items()],
        )
        if self._changes:
            _check_no_overdraft(cursor, list(self._changes))

    def discard(self) -> None:
        self._parties = []
        self._funds = []
        self._changes = {}
        self._custodians = {}


def _fund_row(fact: Fact, event: Fund.Opened) -> Row:
    return (
        fact.originator_id,
        event.name,
        event.purpose,
        event.bank_account,
        event.custodian_id,
        json.dumps(list(event.allowed_categories), ensure_ascii=False),
        int(event.revolving),
        event.currency,
        0,
        0,
        fact.originator_version,
        event.occurred_on.isoformat(),
        fact.position,
    )


def _check_no_overdraft(cursor: Cursor, fund_ids: list[str]) -> None:
    """The aggregate refused overdrafts when recording; the view checks again (pair assertion)."""
    marks = ",".join("?" * len(fund_ids))
    rows = cursor.execute(
        f"SELECT fund_id, balance_fen FROM rm_funds WHERE fund_id IN ({marks}) AND balance_fen < 0",
        fund_ids,
    )
    if rows:
        raise AssertionError(f"fund {rows[0][0]} projected below zero: {rows[0][1]} fen")
