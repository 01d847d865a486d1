"""The auditor's offline kit for one fund: ledger (XLSX, CSV), chained events, checkpoint, checker.

One pass over the log, from position 1 to the latest signed checkpoint, recomputes the chain
(nothing is exported from a log that does not verify) and writes, from the fund's first event
on, every position as a line of events.jsonl: the fund's own events in full, every other event
by its header and content digest only. That is what lets `verify_export.py` recompute the links
from the fund's first event up to the signed head without seeing other funds' business.
What the kit proves and what it cannot is in docs/audit.md.
"""

from __future__ import annotations

import base64
import csv
import json
import shutil
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from openpyxl import Workbook
from openpyxl.styles import Font

from fundledger.application.ledger import FundLedger
from fundledger.audit import verify_export as kit
from fundledger.audit.chain import event_digest
from fundledger.audit.checkpoints import LogNotIntact, SignedCheckpoint, latest_checkpoint
from fundledger.audit.storage import EventRow, LinkRow, log_entries, open_log
from fundledger.audit.verify import ChainChecker
from fundledger.domain.errors import UnknownFund, UnknownParty

LANGUAGES = ("en", "zh")
KIT_SCRIPT = "verify_export.py"


class NothingToExport(Exception):
    """No signed checkpoint covers the fund yet; the message says what to do."""


@dataclass(frozen=True)
class ExportSummary:
    fund_id: str
    directory: Path
    fund_events: int
    lines: int
    checkpoint: SignedCheckpoint
    later_fund_events: int  # the fund's events after the checkpoint, not in this export


def export_fund_audit(
    ledger: FundLedger, fund_id: str, directory: Path, lang: str = "en"
) -> ExportSummary:
    """Write the fund's offline kit into `directory` (created if need be, files replaced)."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}")
    fund = ledger.fund(fund_id)  # an unknown fund raises before anything is written
    checkpoint = latest_checkpoint(ledger)
    if checkpoint is None:
        raise NothingToExport("no checkpoint was ever signed: run `fundledger checkpoint` first")
    # Written beside the target first: a refused export (a broken log) leaves nothing behind.
    directory.parent.mkdir(parents=True, exist_ok=True)
    draft = directory.parent / f".{directory.name}.export-draft"
    shutil.rmtree(draft, ignore_errors=True)
    draft.mkdir()
    try:
        fund_lines = _write_events(ledger, str(fund.id), checkpoint, draft / "events.jsonl")
        rows = [
            {**row, "counterparty": _name_of(ledger, row["counterparty_id"])}
            for row in kit.ledger_rows(fund_lines)
        ]
        _write_ledger(rows, lang, fund.name, draft)
        (draft / "checkpoint.json").write_text(checkpoint.to_json(), encoding="utf-8")
        meta = _meta(str(fund.id), fund.name, lang, checkpoint, len(fund_lines))
        (draft / "export.json").write_text(meta, encoding="utf-8")
        shutil.copyfile(Path(kit.__file__), draft / KIT_SCRIPT)
        directory.mkdir(exist_ok=True)
        for path in draft.iterdir():
            path.replace(directory / path.name)
    finally:
        shutil.rmtree(draft, ignore_errors=True)
    lines = sum(1 for _ in (directory / "events.jsonl").open(encoding="utf-8"))
    return ExportSummary(
        fund_id=str(fund.id),
        directory=directory,
        fund_events=len(fund_lines),
        lines=lines,
        checkpoint=checkpoint,
        later_fund_events=max(0, fund.version - len(fund_lines)),
    )


def _write_events(
    ledger: FundLedger, fund_id: str, checkpoint: SignedCheckpoint, path: Path
) -> list[dict[str, Any]]:
    """Stream the log up to the checkpoint through the checker, writing the fund's range."""
    checker = ChainChecker(checkpoint)
    fund_lines: list[dict[str, Any]] = []
    with open_log(ledger) as log, closing(log_entries(log)) as entries, path.open("w") as out:
        first = log.first_position_of(fund_id)
        if first is None or first > checkpoint.position:
            raise NothingToExport(
                f"the latest checkpoint (position {checkpoint.position}) was signed before the "
                "fund's first event: run `fundledger checkpoint` and export again"
            )
        for position, event, link in entries:
            prev_hash = checker.head_hash
            if not checker.check_batch([(position, event, link)]):
                break
            if position >= first and event is not None and link is not None:
                line = _line(fund_id, event, link, prev_hash)
                _write_line(out, line)
                if "event_digest" not in line:
                    fund_lines.append(line)
            if position >= checkpoint.position:
                break
    report = checker.finish()
    if not report.ok:
        raise LogNotIntact(report)
    return fund_lines


def _line(fund_id: str, event: EventRow, link: LinkRow, prev_hash: bytes) -> dict[str, Any]:
    position, originator_id, version = link[0], link[1], link[2]
    line: dict[str, Any] = {
        "position": position,
        "originator_id": originator_id,
        "originator_version": version,
    }
    if originator_id != fund_id:
        line["event_digest"] = event_digest(topic=event[3], state=event[4]).hex()
    else:
        line["event_id"] = f"{originator_id}.{version}"
        line["topic"] = event[3]
        try:
            line["state"] = event[4].decode("utf-8")
        except UnicodeDecodeError:  # a compressed or enciphered store: keep the bytes exact
            line["state_base64"] = base64.b64encode(event[4]).decode("ascii")
    line["prev_hash"] = prev_hash.hex()
    line["hash"] = link[4].hex()
    return line


def _write_line(out: TextIO, line: dict[str, Any]) -> None:
    out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")


def _name_of(ledger: FundLedger, aggregate_id: str) -> str:
    """A party's or fund's name, for reading; empty when the id names neither."""
    if not aggregate_id:
        return ""
    lookups: tuple[Callable[[str], Any], ...] = (ledger.party, ledger.fund)
    for lookup in lookups:
        try:
            return str(lookup(aggregate_id).name)
        except (UnknownParty, UnknownFund):
            continue
    return ""


def _write_ledger(rows: list[dict[str, str]], lang: str, fund_name: str, directory: Path) -> None:
    headings = kit.HEADINGS[lang]
    shown = [kit.localise(row, lang) for row in rows]
    # utf-8-sig: Excel opens a CSV with a byte-order mark as UTF-8, so Chinese reads right.
    with (directory / "ledger.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headings)
        writer.writerows([row[column] for column in kit.LEDGER_COLUMNS] for row in shown)
    book = Workbook()
    sheet = book.active
    assert sheet is not None, "a new workbook has a sheet"
    sheet.title = "专账" if lang == "zh" else "Special ledger"
    sheet.append(list(headings))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in shown:
        sheet.append([_xlsx_value(column, row[column]) for column in kit.LEDGER_COLUMNS])
    for column in ("F", "G"):
        for cell in sheet[column][1:]:
            cell.number_format = "#,##0.00"
    sheet.freeze_panes = "A2"
    about = book.create_sheet("说明" if lang == "zh" else "About")
    about.append(["fund" if lang == "en" else "专项资金", fund_name])
    book.save(directory / "ledger.xlsx")


def _xlsx_value(column: str, text: str) -> object:
    # Amounts as exact decimals (never floats in our code); Excel shows them with two decimals.
    if column in ("amount", "running_balance"):
        return Decimal(text)
    if column == "position":
        return int(text)
    return text


def _meta(fund_id: str, name: str, lang: str, checkpoint: SignedCheckpoint, events: int) -> str:
    exported_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    meta = {
        "format": kit.EXPORT_FORMAT,
        "fund_id": fund_id,
        "fund_name": name,
        "lang": lang,
        "exported_at": exported_at,
        "checkpoint_position": checkpoint.position,
        "fund_events": events,
        "files": ["ledger.xlsx", "ledger.csv", "events.jsonl", "checkpoint.json", KIT_SCRIPT],
    }
    return json.dumps(meta, ensure_ascii=False, indent=2) + "\n"
