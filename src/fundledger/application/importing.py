"""Import from spreadsheets: rows of a CSV or XLSX file -> checked commands -> one batch.

File formats are edge concerns and live here, not in the domain. An import is all or nothing:

1. every row is read and parsed (amounts as yuan text, dates as YYYY-MM-DD) and every reference
   (fund, party, loan, category) is checked against the current state; every problem is collected
   with its file, row and column;
2. only when no row has a problem are all rows decided and saved in ONE transaction through
   `FundLedger.execute_batch`; a rule broken by a row (an overdraft, a repayment over what is owed)
   refuses the whole batch and names that row.

Re-importing: the batch is saved with an idempotency claim keyed by the SHA-256 of the file's
bytes, in the same transaction as the events, so a file is recorded once even when two imports of
it race. Each recorded row also carries a marker in its note, `[import <file digest>:<row>]`, for
the reader of the ledger (and for files imported before the claim existed, which are found by
looking for the marker in the stream of the fund their first row touches).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final
from uuid import UUID

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.domain.base import TEXT_LENGTH_MAX
from fundledger.domain.errors import (
    BalanceLimitExceeded,
    CategoryNotAllowed,
    CurrencyMismatch,
    DomainError,
    FundNotRevolving,
    InsufficientFunds,
    InvalidAmount,
    NotFound,
    PartyKindNotAllowed,
    RepaymentExceedsOwed,
    UnknownCohort,
    VoucherRequired,
)
from fundledger.domain.fund import Fund, Voucher
from fundledger.domain.money import Money

ROW_TYPES: Final = ("donation", "loan", "repayment", "expenditure")
COLUMNS: Final = (
    "type",
    "fund",
    "party",
    "loan",
    "amount",
    "occurred_on",
    "cohort",
    "due_on",
    "category",
    "voucher_number",
    "voucher_date",
    "voucher_description",
    "note",
)
# Which columns each row type needs (beyond `type`); the others must be empty or are ignored.
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "donation": ("fund", "party", "amount", "occurred_on"),
    "loan": ("fund", "party", "amount", "occurred_on", "cohort", "due_on"),
    # A repayment names its loan by id, or by the fund, the borrower (party) and the cohort.
    "repayment": ("amount", "occurred_on"),
    "expenditure": (
        "fund",
        "party",
        "amount",
        "occurred_on",
        "category",
        "voucher_number",
        "voucher_date",
        "voucher_description",
    ),
}
COLUMN_HELP: Final[dict[str, tuple[str, str]]] = {
    "type": ("donation, loan, repayment or expenditure", "donation/loan/repayment/expenditure"),
    "fund": ("the fund's id", "资金编号"),
    "party": ("donor, borrower or payee: the party's id", "捐赠人、借款人或收款人的编号"),
    "loan": (
        "repayment: the loan's id (or leave empty and give fund, party and cohort)",
        "还款：借款编号（或留空，填写资金、借款人和批次）",
    ),
    "amount": ("yuan as text, at most two decimals: 1100.50", "金额（元），最多两位小数"),
    "occurred_on": ("business date YYYY-MM-DD", "业务日期 YYYY-MM-DD"),
    "cohort": (
        "loan (and repayment by borrower): the cohort, e.g. 1",
        "借款（及按借款人还款）：批次",
    ),
    "due_on": ("loan: due date YYYY-MM-DD", "借款：到期日"),
    "category": ("expenditure: a category the fund allows", "支出：资金允许的类别"),
    "voucher_number": ("expenditure: voucher number", "支出：凭证号"),
    "voucher_date": ("expenditure: voucher date YYYY-MM-DD", "支出：凭证日期"),
    "voucher_description": ("expenditure: what the voucher is for", "支出：凭证摘要"),
    "note": ("optional note", "备注（可选）"),
}
IMPORT_ACTOR_DEFAULT: Final = "fundledger import"
MARKER_PATTERN: Final = re.compile(r"\[import ([0-9a-f]{16}):(\d+)\]")
HEADER_ROW: Final = 1
SUFFIXES: Final = (".csv", ".xlsx")


class ImportRefused(Exception):
    """The file cannot be imported; nothing was recorded. `problems` names file, row, column."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
        super().__init__(f"{first}{suffix}; nothing was recorded")


@dataclass(frozen=True)
class RowProblem:
    file: str
    row: int  # the spreadsheet's row number (the header is row 1)
    column: str  # "" when the problem is the whole row or file
    message: str

    def __str__(self) -> str:
        where = f"{self.file} row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ImportRow:
    row: int
    command: c.Command
    fund_id: str  # the fund the row moves money in (for the re-import check)


@dataclass
class ImportPlan:
    """A file read and checked: its commands in file order, or the problems found."""

    file: str
    digest: str
    rows: list[ImportRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    file: str
    digest: str
    rows: int
    events: int
    already_imported: bool


# ---- reading files ----------------------------------------------------------------------------


def file_digest(content: bytes) -> str:
    """The first 16 hex digits of the file's SHA-256: what marks its rows in the store."""
    return hashlib.sha256(content).hexdigest()[:16]


def read_rows(name: str, content: bytes) -> Iterator[tuple[int, dict[str, object]]]:
    """(row number, {column: cell}) for each non-empty data row of a CSV or XLSX file."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        yield from _csv_rows(name, content)
    elif suffix == ".xlsx":
        yield from _xlsx_rows(name, content)
    else:
        raise ImportRefused(
            [RowProblem(name, 0, "", f"the file must end in {' or '.join(SUFFIXES)}")]
        )


def _check_header(name: str, header: Sequence[object]) -> list[str]:
    columns = [str(cell or "").strip().lower() for cell in header]
    unknown = [column for column in columns if column and column not in COLUMNS]
    if unknown:
        message = f"unknown column {unknown[0]!r}; the columns are: {', '.join(COLUMNS)}"
        raise ImportRefused([RowProblem(name, HEADER_ROW, unknown[0], message)])
    if "type" not in columns:
        raise ImportRefused([RowProblem(name, HEADER_ROW, "type", "the header has no 'type'")])
    return columns


def _csv_rows(name: str, content: bytes) -> Iterator[tuple[int, dict[str, object]]]:
    try:
        text = content.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError:
        raise ImportRefused([RowProblem(name, 0, "", "the CSV file is not UTF-8")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise ImportRefused([RowProblem(name, HEADER_ROW, "", "the file is empty")])
    columns = _check_header(name, header)
    for index, cells in enumerate(reader, start=HEADER_ROW + 1):
        if any(cell.strip() for cell in cells):
            yield index, dict(zip(columns, cells, strict=False))


def _xlsx_rows(name: str, content: bytes) -> Iterator[tuple[int, dict[str, object]]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise ImportRefused(
            [RowProblem(name, 0, "", f"not a readable XLSX file ({error})")]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ImportRefused([RowProblem(name, HEADER_ROW, "", "the first sheet is empty")])
        columns = _check_header(name, header)
        for index, cells in enumerate(rows, start=HEADER_ROW + 1):
            if any(cell not in (None, "") for cell in cells):
                yield index, dict(zip(columns, cells, strict=False))
    finally:
        workbook.close()


# ---- parsing one row --------------------------------------------------------------------------


class _CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _text(cells: dict[str, object], column: str) -> str:
    value = cells.get(column)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # A number typed into a spreadsheet cell: its shortest decimal spelling, never the float.
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value).strip()


def _required(cells: dict[str, object], column: str) -> str:
    text = _text(cells, column)
    if not text:
        raise _CellError(column, "is empty")
    return text


def _amount(cells: dict[str, object]) -> Money:
    text = _required(cells, "amount")
    try:
        amount = Money.parse(text)
    except DomainError as error:
        raise _CellError("amount", error.detail) from None
    if not amount.is_positive:
        raise _CellError("amount", f"amount {text!r} must be above zero")
    return amount


def _date(cells: dict[str, object], column: str) -> date:
    text = _required(cells, column)
    try:
        return date.fromisoformat(text[:10] if len(text) > 10 and text[10] in "T " else text)
    except ValueError:
        raise _CellError(column, f"{text!r} is not a date YYYY-MM-DD") from None


def _note(cells: dict[str, object], digest: str, row: int) -> str:
    marker = f"[import {digest}:{row}]"
    note = _text(cells, "note")
    if len(note) + len(marker) + 1 > TEXT_LENGTH_MAX:
        limit = TEXT_LENGTH_MAX - len(marker) - 1
        raise _CellError("note", f"is longer than {limit} characters")
    return f"{note} {marker}" if note else marker


def parse_row(cells: dict[str, object], digest: str, row: int) -> c.Command:
    """The command one row asks for; a _CellError names the column that is wrong."""
    kind = _required(cells, "type").lower()
    if kind not in ROW_TYPES:
        raise _CellError("type", f"{kind!r} is not one of {', '.join(ROW_TYPES)}")
    for column in REQUIRED[kind]:
        _required(cells, column)
    note = _note(cells, digest, row)
    occurred_on = _date(cells, "occurred_on")
    if kind == "donation":
        return c.RecordDonation(
            fund=_text(cells, "fund"),
            donor=_text(cells, "party"),
            amount=_amount(cells),
            occurred_on=occurred_on,
            note=note,
        )
    if kind == "loan":
        if _date(cells, "due_on") < occurred_on:
            raise _CellError("due_on", "is before occurred_on (the day the loan is paid out)")
        return c.DisburseLoan(
            fund=_text(cells, "fund"),
            borrower=_text(cells, "party"),
            principal=_amount(cells),
            cohort=_text(cells, "cohort"),
            occurred_on=occurred_on,
            due_on=_date(cells, "due_on"),
            note=note,
        )
    if kind == "repayment":
        if not _text(cells, "loan"):
            for column in ("fund", "party", "cohort"):
                if not _text(cells, column):
                    raise _CellError(column, "is empty: name the loan, or its fund, party, cohort")
        return c.RecordRepayment(
            loan=_text(cells, "loan"), amount=_amount(cells), occurred_on=occurred_on, note=note
        )
    voucher = Voucher(
        number=_text(cells, "voucher_number"),
        date=_date(cells, "voucher_date").isoformat(),
        description=_text(cells, "voucher_description"),
    )
    return c.PayExpenditure(
        fund=_text(cells, "fund"),
        payee=_text(cells, "party"),
        amount=_amount(cells),
        category=_text(cells, "category"),
        voucher=voucher,
        occurred_on=occurred_on,
        note=note,
    )


# ---- checking references against the current state -----------------------------------------


@dataclass
class _References:
    """Funds, parties and loans looked up once each (a file names the same few many times)."""

    ledger: FundLedger
    funds: dict[str, Fund | NotFound] = field(default_factory=dict)
    parties: dict[str, NotFound | None] = field(default_factory=dict)
    loan_funds: dict[str, str | NotFound] = field(default_factory=dict)
    # (fund id, cohort) -> borrower's party id -> the ids of their loans in that cohort
    cohort_loans: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)

    def fund(self, fund_id: str) -> Fund:
        if fund_id not in self.funds:
            try:
                self.funds[fund_id] = self.ledger.fund(fund_id)
            except NotFound as error:
                self.funds[fund_id] = error
        found = self.funds[fund_id]
        if isinstance(found, NotFound):
            raise _CellError("fund", found.detail)
        return found

    def party(self, party_id: str) -> None:
        if party_id not in self.parties:
            try:
                self.ledger.party(party_id)
                self.parties[party_id] = None
            except NotFound as error:
                self.parties[party_id] = error
        missing = self.parties[party_id]
        if missing is not None:
            raise _CellError("party", missing.detail)

    def loan_of_borrower(self, fund_id: str, borrower_id: str, cohort: str) -> str:
        """The one loan of `borrower_id` in the fund's `cohort` (recorded before this import)."""
        fund = self.fund(fund_id)
        self.party(borrower_id)
        key = (str(fund.id), cohort)
        if key not in self.cohort_loans:
            self.cohort_loans[key] = self._loans_by_borrower(fund, cohort)
        found = self.cohort_loans[key].get(str(UUID(borrower_id)), [])
        if len(found) != 1:
            many = "several loans" if found else "no loan"
            raise _CellError(
                "party", f"the borrower has {many} in cohort {cohort!r}: give the loan's id"
            )
        return found[0]

    def _loans_by_borrower(self, fund: Fund, cohort: str) -> dict[str, list[str]]:
        try:
            loan_ids = fund.loans_of_cohort(cohort)
        except NotFound as error:
            raise _CellError("cohort", error.detail) from None
        by_borrower: dict[str, list[str]] = {}
        for loan_id in loan_ids:
            loan = self.ledger.loan(loan_id)
            by_borrower.setdefault(loan.borrower_id, []).append(str(loan.id))
        return by_borrower

    def loan_fund(self, loan_id: str) -> str:
        if loan_id not in self.loan_funds:
            try:
                self.loan_funds[loan_id] = self.ledger.loan(loan_id).fund_id
            except NotFound as error:
                self.loan_funds[loan_id] = error
        found = self.loan_funds[loan_id]
        if isinstance(found, NotFound):
            raise _CellError("loan", found.detail)
        return found


def _check_references(command: c.Command, refs: _References) -> str:
    """The fund the command moves money in, once its references hold; else a _CellError."""
    match command:
        case (
            c.RecordDonation(fund=fund_id, donor=party_id)
            | c.DisburseLoan(fund=fund_id, borrower=party_id)
        ):
            fund = refs.fund(fund_id)
            refs.party(party_id)
            return str(fund.id)
        case c.PayExpenditure(fund=fund_id, payee=party_id, category=category):
            fund = refs.fund(fund_id)
            refs.party(party_id)
            if category not in fund.allowed_categories:
                allowed = ", ".join(fund.allowed_categories) or "none"
                raise _CellError("category", f"{category!r} is not allowed by the fund ({allowed})")
            return str(fund.id)
        case c.RecordRepayment(loan=loan_id):
            return refs.loan_fund(loan_id)
    raise AssertionError(f"an import row never asks for {type(command).__name__}")


def _with_loan(command: c.Command, cells: dict[str, object], refs: _References) -> c.Command:
    """A repayment named by fund, borrower and cohort, given its loan's id."""
    if not isinstance(command, c.RecordRepayment) or command.loan:
        return command
    loan_id = refs.loan_of_borrower(
        _text(cells, "fund"), _text(cells, "party"), _text(cells, "cohort")
    )
    return replace(command, loan=loan_id)


def plan_import(
    name: str,
    content: bytes,
    ledger: FundLedger,
    on_row: Callable[[], None] = lambda: None,
) -> ImportPlan:
    """Read, parse and check every row of the file; record nothing."""
    plan = ImportPlan(file=name, digest=file_digest(content))
    refs = _References(ledger)
    try:
        for row, cells in read_rows(name, content):
            try:
                command = _with_loan(parse_row(cells, plan.digest, row), cells, refs)
                fund_id = _check_references(command, refs)
            except _CellError as error:
                plan.problems.append(RowProblem(name, row, error.column, error.message))
            else:
                plan.rows.append(ImportRow(row, command, fund_id))
            on_row()
    except ImportRefused as refused:
        plan.problems.extend(refused.problems)
    if not plan.rows and not plan.problems:
        plan.problems.append(RowProblem(name, HEADER_ROW, "", "the file has no rows to import"))
    return plan


# ---- recording --------------------------------------------------------------------------------


def already_imported(ledger: FundLedger, plan: ImportPlan) -> bool:
    """True when the store holds a row of this very file (then it holds all of them)."""
    marker = f"[import {plan.digest}:{plan.rows[0].row}]".encode()
    stored = ledger.recorder.select_events(UUID(plan.rows[0].fund_id))
    return any(marker in event.state for event in stored)


_BATCH_NOTE = re.compile(r"command (\d+) of the batch")
# The column to blame when a row breaks a rule while the batch is decided (else the row alone).
_RULE_COLUMNS: Final[dict[type[DomainError], str]] = {
    InsufficientFunds: "amount",
    RepaymentExceedsOwed: "amount",
    BalanceLimitExceeded: "amount",
    InvalidAmount: "amount",
    CurrencyMismatch: "amount",
    CategoryNotAllowed: "category",
    VoucherRequired: "voucher_number",
    UnknownCohort: "cohort",
    FundNotRevolving: "fund",
    PartyKindNotAllowed: "party",
}


def _problem_of(plan: ImportPlan, error: DomainError) -> RowProblem:
    """Name the row whose command broke a rule (the batch notes which command it was)."""
    for note in getattr(error, "__notes__", []):
        found = _BATCH_NOTE.search(note)
        if found and int(found.group(1)) < len(plan.rows):
            row = plan.rows[int(found.group(1))]
            column = next(
                (name for kind, name in _RULE_COLUMNS.items() if isinstance(error, kind)), ""
            )
            return RowProblem(plan.file, row.row, column, error.detail)
    return RowProblem(plan.file, 0, "", error.detail)


def record_import(
    ledger: FundLedger, plan: ImportPlan, actor: str = IMPORT_ACTOR_DEFAULT
) -> ImportResult:
    """Record every row of a checked plan in ONE transaction, or nothing (ImportRefused)."""
    if plan.problems:
        raise ImportRefused(plan.problems)
    if already_imported(ledger, plan):
        return ImportResult(plan.file, plan.digest, len(plan.rows), 0, already_imported=True)
    commands = [row.command for row in plan.rows]
    try:
        recorded = ledger.execute_batch(
            commands, c.CommandContext(actor=actor, idempotency=_claim_of(plan))
        )
    except DomainError as error:
        raise ImportRefused([_problem_of(plan, error)]) from error
    if any(answer.is_replay for answer in recorded):
        return ImportResult(plan.file, plan.digest, len(plan.rows), 0, already_imported=True)
    events = sum(len(answer.event_ids) for answer in recorded)
    return ImportResult(plan.file, plan.digest, len(plan.rows), events, already_imported=False)


IMPORT_CLAIM_SCOPE = "import"


def _claim_of(plan: ImportPlan) -> c.IdempotencyRequest:
    """One claim per file content: the same bytes are one import, whatever the file is called."""

    def render(recorded: c.Recorded) -> str:
        summary = {"rows": len(plan.rows), "events": len(recorded.event_ids)}
        return json.dumps({**summary, "position": recorded.position, "file": plan.file})

    return c.IdempotencyRequest(
        scope=IMPORT_CLAIM_SCOPE,
        key=plan.digest,
        fingerprint=plan.digest,
        status_code=201,
        render=render,
    )


def import_file(
    path: Path,
    ledger: FundLedger,
    actor: str = IMPORT_ACTOR_DEFAULT,
    on_row: Callable[[], None] = lambda: None,
) -> ImportResult:
    """Check every row of the file, then record all of them or none."""
    plan = plan_import(path.name, path.read_bytes(), ledger, on_row)
    return record_import(ledger, plan, actor)


# ---- the template -------------------------------------------------------------------------


def write_template(path: Path) -> None:
    """An empty import file with the documented columns (CSV or XLSX, by the file's suffix)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_text(",".join(COLUMNS) + "\n", encoding="utf-8-sig")
        return
    if suffix != ".xlsx":
        raise ValueError(f"the template must end in {' or '.join(SUFFIXES)}")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None, "a new workbook has a sheet"
    sheet.title = "import"
    sheet.append(list(COLUMNS))
    for letter_index in range(1, len(COLUMNS) + 1):
        column = get_column_letter(letter_index)
        sheet.column_dimensions[column].width = 18
        # Text cells: amounts stay the yuan the clerk typed, not a binary float.
        for row in range(2, 1002):
            sheet.cell(row=row, column=letter_index).number_format = "@"
    help_sheet = workbook.create_sheet("columns")
    help_sheet.append(["column", "meaning", "说明", "needed by"])
    for column in COLUMNS:
        needed = ", ".join(kind for kind, columns in REQUIRED.items() if column in columns)
        english, chinese = COLUMN_HELP[column]
        help_sheet.append([column, english, chinese, needed or ("all" if column == "type" else "")])
    workbook.save(path)
