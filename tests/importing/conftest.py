"""A fund with a donor, a household and a vendor to import rows against; files to import."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from fundledger.application.commands import CommandContext, OpenFund, RegisterParty
from fundledger.application.importing import COLUMNS
from fundledger.application.ledger import FundLedger

CONTEXT = CommandContext(actor="test-setup")


@dataclass(frozen=True)
class Books:
    fund_id: str
    donor_id: str
    household_id: str
    vendor_id: str


def _party(ledger: FundLedger, name: str, kind: str) -> str:
    command = RegisterParty(name=name, kind=kind, occurred_on=date(2016, 1, 1))
    return ledger.execute(command, CONTEXT).resource_id


@pytest.fixture
def books(ledger: FundLedger) -> Books:
    custodian = _party(ledger, "Village committee", "village")
    fund = OpenFund(
        name="Cattle fund",
        purpose="cattle",
        bank_account="6222 0001",
        custodian=custodian,
        allowed_categories=["cattle", "vet"],
        revolving=True,
        occurred_on=date(2016, 1, 1),
    )
    return Books(
        fund_id=ledger.execute(fund, CONTEXT).resource_id,
        donor_id=_party(ledger, "Civil Affairs Bureau", "government"),
        household_id=_party(ledger, "Household 001", "household"),
        vendor_id=_party(ledger, "Vet station", "vendor"),
    )


def good_rows(books: Books) -> list[dict[str, str]]:
    return [
        {"type": "donation", "fund": books.fund_id, "party": books.donor_id,
         "amount": "5000", "occurred_on": "2016-03-01", "note": "cadres' gift"},
        {"type": "loan", "fund": books.fund_id, "party": books.household_id,
         "amount": "1100.00", "occurred_on": "2016-04-01", "cohort": "1",
         "due_on": "2016-12-31"},
        {"type": "expenditure", "fund": books.fund_id, "party": books.vendor_id,
         "amount": "120.50", "occurred_on": "2016-05-01", "category": "vet",
         "voucher_number": "V-7", "voucher_date": "2016-05-01",
         "voucher_description": "vaccines"},
    ]  # fmt: skip


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[dict[str, str]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([row.get(column, "") for column in COLUMNS])
    workbook.save(path)
    return path
