"""Import from spreadsheets: every row checked first, then all recorded or none, never twice."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook

from fundledger.application.importing import (
    COLUMNS,
    ImportRefused,
    ImportResult,
    import_file,
    plan_import,
    record_import,
    write_template,
)
from fundledger.application.ledger import FundLedger
from tests.importing.conftest import Books, good_rows, write_csv, write_xlsx


def _head(ledger: FundLedger) -> int:
    return ledger.recorder.max_notification_id() or 0


def test_a_good_csv_file_records_every_row(
    ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """Each row of a good CSV file becomes its command: the fund's balance and loans follow."""
    path = write_csv(tmp_path / "good.csv", good_rows(books))
    result = import_file(path, ledger)
    fund = ledger.fund(books.fund_id)
    assert (result.rows, result.already_imported) == (3, False)
    assert fund.balance_fen == 500000 - 110000 - 12050
    assert len(fund.loans_of_cohort("1")) == 1


def test_a_good_xlsx_file_records_every_row(
    ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """An XLSX file with the same rows records the same money, a number cell read as typed."""
    rows = good_rows(books)
    path = write_xlsx(tmp_path / "good.xlsx", rows)
    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    sheet["E2"] = 5000.1  # a clerk typed a number, not text: read as its decimal spelling
    workbook.save(path)
    import_file(path, ledger)
    assert ledger.fund(books.fund_id).balance_fen == 500010 - 110000 - 12050


def test_one_bad_row_records_nothing_and_names_row_and_column(
    ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """A file with one bad row records nothing; the error names the file, the row and the column."""
    rows = good_rows(books)
    rows[2]["amount"] = "120.505"
    path = write_csv(tmp_path / "one-bad.csv", rows)
    head = _head(ledger)
    with pytest.raises(ImportRefused) as refused:
        import_file(path, ledger)
    assert str(refused.value).startswith("one-bad.csv row 4, column amount:")
    assert [(p.row, p.column) for p in refused.value.problems] == [(4, "amount")]
    assert _head(ledger) == head


def test_a_row_naming_an_unknown_party_names_the_party_column(
    ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """A reference to a party that does not exist is found before anything is recorded."""
    rows = good_rows(books)
    rows[1]["party"] = books.fund_id  # a fund's id is not a party's
    path = write_csv(tmp_path / "unknown.csv", rows)
    head = _head(ledger)
    with pytest.raises(ImportRefused) as refused:
        import_file(path, ledger)
    assert [(p.row, p.column) for p in refused.value.problems] == [(3, "party")]
    assert _head(ledger) == head


def test_a_rule_broken_by_a_later_row_records_no_earlier_row(
    ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """An overdraft in row 4 refuses the whole file: rows 2 and 3 are not recorded either."""
    rows = good_rows(books)
    rows[2]["amount"] = "9000"  # more than the 5000 - 1100 the fund holds by then
    path = write_csv(tmp_path / "overdraft.csv", rows)
    head = _head(ledger)
    with pytest.raises(ImportRefused) as refused:
        import_file(path, ledger)
    assert [(p.row, p.column) for p in refused.value.problems] == [(4, "amount")]
    assert _head(ledger) == head
    assert ledger.fund(books.fund_id).balance_fen == 0


def test_the_same_file_twice_records_nothing_twice(
    ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """Importing the same file again records nothing: same events, same balance."""
    path = write_csv(tmp_path / "twice.csv", good_rows(books))
    first = import_file(path, ledger)
    head = _head(ledger)
    again = import_file(tmp_path.joinpath("twice.csv").rename(tmp_path / "renamed.csv"), ledger)
    assert (first.already_imported, again.already_imported) == (False, True)
    assert again.events == 0
    assert _head(ledger) == head
    assert ledger.fund(books.fund_id).balance_fen == 500000 - 110000 - 12050


def test_the_same_file_imported_twice_at_once_is_recorded_once(
    ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """Two imports of one file racing (both checked before either committed) record it once."""
    path = write_csv(tmp_path / "race.csv", good_rows(books))
    plans = [plan_import(path.name, path.read_bytes(), ledger) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[ImportResult] = []

    def importer(index: int) -> None:
        barrier.wait()
        results.append(record_import(ledger, plans[index]))

    threads = [threading.Thread(target=importer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(result.already_imported for result in results) == [False, True]
    assert ledger.fund(books.fund_id).balance_fen == 500000 - 110000 - 12050


def test_a_changed_file_is_a_new_import(ledger: FundLedger, books: Books, tmp_path: Path) -> None:
    """A file whose content changed (one more row) is another file: it is recorded."""
    rows = good_rows(books)
    import_file(write_csv(tmp_path / "first.csv", rows[:1]), ledger)
    result = import_file(write_csv(tmp_path / "second.csv", rows), ledger)
    assert not result.already_imported
    assert ledger.fund(books.fund_id).balance_fen == 2 * 500000 - 110000 - 12050


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_template_is_an_empty_file_with_the_documented_columns(
    tmp_path: Path, suffix: str
) -> None:
    """The template holds the header row of COLUMNS and no data row."""
    path = tmp_path / f"template{suffix}"
    write_template(path)
    if suffix == ".csv":
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        assert lines == [",".join(COLUMNS)]
        return
    sheet = load_workbook(path).worksheets[0]
    assert [cell.value for cell in sheet[1]] == list(COLUMNS)
    assert sheet.max_row == 1 or all(cell.value is None for cell in sheet[2])


def test_repayments_of_an_earlier_import_are_recorded_and_capped(
    ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """A repayment row names its loan; paying more than is owed refuses the file at that row."""
    import_file(write_csv(tmp_path / "loans.csv", good_rows(books)), ledger)
    loan_id = ledger.fund(books.fund_id).loans_of_cohort("1")[0]
    repay = {"type": "repayment", "loan": loan_id, "occurred_on": "2016-11-30"}
    too_much = [{**repay, "amount": "600"}, {**repay, "amount": "600"}]
    head = _head(ledger)
    with pytest.raises(ImportRefused) as refused:
        import_file(write_csv(tmp_path / "too-much.csv", too_much), ledger)
    assert [(p.row, p.column) for p in refused.value.problems] == [(3, "amount")]
    assert _head(ledger) == head
    import_file(write_csv(tmp_path / "repayments.csv", [{**repay, "amount": "550.00"}]), ledger)
    assert ledger.loan(loan_id).owed_fen == 110000 - 55000


def test_a_repayment_can_name_its_loan_by_fund_borrower_and_cohort(
    ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """With no loan id, the fund, the borrower and the cohort find the one loan to repay."""
    import_file(write_csv(tmp_path / "loans.csv", good_rows(books)), ledger)
    by_borrower = {
        "type": "repayment",
        "fund": books.fund_id,
        "party": books.household_id,
        "cohort": "1",
        "amount": "100",
        "occurred_on": "2016-11-30",
    }
    import_file(write_csv(tmp_path / "repay.csv", [by_borrower]), ledger)
    loan_id = ledger.fund(books.fund_id).loans_of_cohort("1")[0]
    assert ledger.loan(loan_id).owed_fen == 110000 - 10000
    stranger = {**by_borrower, "party": books.vendor_id}
    with pytest.raises(ImportRefused) as refused:
        import_file(write_csv(tmp_path / "stranger.csv", [stranger]), ledger)
    assert [(p.row, p.column) for p in refused.value.problems] == [(2, "party")]


@pytest.mark.parametrize(
    "bad_cell",
    [
        (0, "type", "gift"),
        (0, "occurred_on", "1.3.2016"),
        (0, "amount", "-5"),
        (0, "fund", "no-such-fund"),
        (1, "due_on", "2016-03-31"),
        (1, "cohort", ""),
        (2, "category", "banquet"),
        (2, "voucher_date", ""),
        (2, "note", "x" * 2000),
    ],
)
def test_each_bad_cell_is_named_by_its_row_and_column(
    ledger: FundLedger, books: Books, tmp_path: Path, bad_cell: tuple[int, str, str]
) -> None:
    """Whatever cell is wrong, the refusal names its row and its column, and nothing is recorded."""
    row_index, column, bad_value = bad_cell
    rows = good_rows(books)
    rows[row_index][column] = bad_value
    head = _head(ledger)
    with pytest.raises(ImportRefused) as refused:
        import_file(write_csv(tmp_path / "bad.csv", rows), ledger)
    assert [(p.row, p.column) for p in refused.value.problems] == [(row_index + 2, column)]
    assert _head(ledger) == head
