"""The offline kit: a real export checks out with verify_export.py alone, and any edit is caught."""

from __future__ import annotations

import ast
import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from fundledger.application.ledger import FundLedger
from fundledger.audit import verify_export
from fundledger.audit.checkpoints import LogNotIntact, sign_checkpoint
from fundledger.audit.export import KIT_SCRIPT, NothingToExport, export_fund_audit
from fundledger.audit.signing import SIGNING_KEY_VARIABLE, load_signing_key
from fundledger.domain.errors import UnknownFund
from tests.audit.scenario import RawStore, record_programme


@pytest.fixture
def kit(ledger: FundLedger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cattle fund's kit, exported after a checkpoint, with other funds' events between."""
    monkeypatch.setenv(SIGNING_KEY_VARIABLE, str(tmp_path / "signing-key.pem"))
    programme = record_programme(ledger)
    sign_checkpoint(ledger, load_signing_key())
    directory = tmp_path / "kit"
    export_fund_audit(ledger, programme.cattle_fund, directory, lang="zh")
    return directory


def run_kit(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the copied script as an auditor would: its own directory, nothing on the path."""
    return subprocess.run(
        [sys.executable, "-I", str(directory / KIT_SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=directory.parent,
    )


def test_a_real_export_verifies_offline(kit: Path) -> None:
    """verify_export.py passes on an untouched kit and names what it proved."""
    result = run_kit(kit)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "export verified" in result.stdout
    key = json.loads((kit / "checkpoint.json").read_text())["public_key"]
    assert run_kit(kit, "--public-key", key).returncode == 0
    assert run_kit(kit, "--public-key", "ab" * 32).returncode == 1


def test_the_ledger_closes_at_the_fund_balance(ledger: FundLedger, kit: Path) -> None:
    """The kit's running balance ends where the fund's own balance stands (reversal included)."""
    meta = json.loads((kit / "export.json").read_text())
    with (kit / "ledger.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    balance_column = verify_export.HEADINGS["zh"].index("余额（元）")
    fund = ledger.fund(meta["fund_id"])
    assert rows[-1][balance_column] == verify_export.yuan(fund.balance_fen)
    assert len(rows) - 1 == fund.version
    kinds = [row[verify_export.LEDGER_COLUMNS.index("kind")] for row in rows[1:]]
    assert {"冲销", "实物捐赠（估值）", "配套资金到账"} <= set(kinds)


def test_the_kit_script_needs_only_the_standard_library_and_cryptography(kit: Path) -> None:
    """Every import in verify_export.py is the standard library's or cryptography's."""
    tree = ast.parse((kit / KIT_SCRIPT).read_text())
    imported = {
        (alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - {"__future__"} <= set(sys.stdlib_module_names) | {"cryptography"}


def _replace_in(name: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(directory: Path) -> None:
        path = directory / name
        text = path.read_text(encoding="utf-8-sig" if name.endswith(".csv") else "utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def _drop_fund_line(directory: Path) -> None:
    path = directory / "events.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fund_lines = [n for n, line in enumerate(lines) if '"event_id"' in line]
    del lines[fund_lines[1]]
    path.write_text("".join(lines), encoding="utf-8")


def _edit_xlsx_amount(directory: Path) -> None:
    book = load_workbook(directory / "ledger.xlsx")
    sheet = book.worksheets[0]
    sheet["F3"] = 11951
    book.save(directory / "ledger.xlsx")


EDITS: dict[str, Callable[[Path], None]] = {
    "an amount in the CSV": _replace_in("ledger.csv", "11950.00", "11950.01"),
    "an amount in an event": _replace_in("events.jsonl", "1195000", "1195100"),
    "a business date in an event": _replace_in("events.jsonl", "2015-04-01", "2015-04-02"),
    "a fund event left out": _drop_fund_line,
    "an amount in the XLSX": _edit_xlsx_amount,
    "the checkpoint's event count": _replace_in("checkpoint.json", '"events": ', '"events": 1'),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_an_edited_export_fails(kit: Path, edit: Callable[[Path], None]) -> None:
    """Any one edit to the kit's files makes verify_export.py fail with a reason."""
    edit(kit)
    result = run_kit(kit)
    assert result.returncode == 1, result.stdout
    assert "EXPORT DOES NOT VERIFY" in result.stdout


def test_an_unknown_fund_exports_nothing(ledger: FundLedger, tmp_path: Path) -> None:
    """Asking for a fund that does not exist is an error, and no directory is written."""
    with pytest.raises(UnknownFund):
        export_fund_audit(ledger, "00000000-0000-0000-0000-000000000000", tmp_path / "kit")
    assert not (tmp_path / "kit").exists()


def test_a_broken_log_is_not_exported(
    ledger: FundLedger, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log edited after its checkpoint yields no kit at all, not a kit that fails later."""
    monkeypatch.setenv(SIGNING_KEY_VARIABLE, str(tmp_path / "signing-key.pem"))
    programme = record_programme(ledger)
    sign_checkpoint(ledger, load_signing_key())
    store = RawStore(database_url)
    store.flip_byte(store.positions()[2])
    with pytest.raises(LogNotIntact):
        export_fund_audit(ledger, programme.cattle_fund, tmp_path / "kit")
    assert not [path.name for path in tmp_path.iterdir() if "kit" in path.name]


def test_a_fund_without_a_checkpoint_is_not_exported(ledger: FundLedger, tmp_path: Path) -> None:
    """Without a signed checkpoint there is nothing to prove the export against."""
    programme = record_programme(ledger)
    with pytest.raises(NothingToExport):
        export_fund_audit(ledger, programme.cattle_fund, tmp_path / "kit")
