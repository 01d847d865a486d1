"""`fundledger import`: one line per refusal naming file, row and column; the template command."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fundledger.application.importing import COLUMNS
from fundledger.application.ledger import FundLedger
from fundledger.cli import app
from tests.importing.conftest import Books, good_rows, write_csv


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", database_url)
    return CliRunner()


def test_a_bad_row_is_one_line_naming_file_row_and_column(
    runner: CliRunner, ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """The CLI exits non-zero with one line on standard error and records nothing."""
    rows = good_rows(books)
    rows[1]["occurred_on"] = "2016-13-01"
    path = write_csv(tmp_path / "loans.csv", rows)
    head = ledger.recorder.max_notification_id()
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: loans.csv row 3, column occurred_on:")
    assert ledger.recorder.max_notification_id() == head


def test_importing_twice_says_nothing_was_recorded(
    runner: CliRunner, ledger: FundLedger, books: Books, tmp_path: Path
) -> None:
    """The second run of the same file exits 0 and says it recorded nothing."""
    path = write_csv(tmp_path / "good.csv", good_rows(books))
    first = runner.invoke(app, ["import", str(path)])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("imported 3 rows")
    head = ledger.recorder.max_notification_id()
    second = runner.invoke(app, ["import", str(path)])
    assert second.exit_code == 0
    assert "nothing was recorded" in second.stdout
    assert ledger.recorder.max_notification_id() == head


def test_the_template_option_writes_the_columns(runner: CliRunner, tmp_path: Path) -> None:
    """`fundledger import --template FILE.csv` writes the header of the documented columns."""
    path = tmp_path / "template.csv"
    result = runner.invoke(app, ["import", "--template", str(path)])
    assert result.exit_code == 0
    assert path.read_text(encoding="utf-8-sig").strip() == ",".join(COLUMNS)
