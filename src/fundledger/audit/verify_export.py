#!/usr/bin/env python3
"""Check a fundledger audit export offline.

    python verify_export.py [EXPORT_DIR] [--public-key HEX]

Needs Python 3.11 or later and the `cryptography` package (pip install cryptography), nothing
else: not fundledger, not its database. Run it in the directory `fundledger export audit` wrote.
It checks, and says which check failed and where:

1. checkpoint.json is signed by the Ed25519 key it names (give --public-key, the key the fund's
   operator handed you, to insist that it is that key);
2. events.jsonl recomputes link by link, from the fund's first event to the checkpoint's
   position, to exactly the head hash the checkpoint signed;
3. the fund's own events are all there (versions 1, 2, 3, ... with none left out up to the
   checkpoint) and every other line is another stream's event, shown by its digest only;
4. ledger.csv and ledger.xlsx say what the fund's events say (amounts, directions, balances, ...).

The encoding is specified in docs/audit.md of fundledger; it is re-implemented here on purpose,
apart from fundledger's own code. Exit status 0: all checks hold; 1: a check failed.
This file is also imported by fundledger's exporter, so the ledger rows are derived once.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import json
import struct
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # the one package the auditor installs besides Python
    sys.exit("verify_export.py needs the cryptography package: pip install cryptography")

EXPORT_FORMAT = "fundledger-audit-export/1"
CHECKPOINT_FORMAT = "fundledger-checkpoint/1"
STATEMENT_FIELDS = ("format", "position", "head_hash", "events", "signed_at", "key_id")
KEY_ID_LENGTH = 16
_U64 = struct.Struct(">Q")
_EXIT_FAILED = 1

# ---- the chain (docs/audit.md) ------------------------------------------------------------------


def _field(data: bytes) -> bytes:
    return _U64.pack(len(data)) + data


def event_digest(topic: str, state: bytes) -> bytes:
    """SHA-256( field(topic) || field(state) )."""
    return hashlib.sha256(_field(topic.encode("utf-8")) + _field(state)).digest()


def link(prev: bytes, position: int, originator_id: str, version: int, digest: bytes) -> bytes:
    """SHA-256( prev || u64(position) || field(originator_id) || u64(version) || digest )."""
    header = _U64.pack(position) + _field(originator_id.encode("utf-8")) + _U64.pack(version)
    return hashlib.sha256(prev + header + digest).digest()


# ---- the special ledger, derived from the fund's events -----------------------------------------

LEDGER_COLUMNS = (
    "position",
    "event_id",
    "occurred_on",
    "kind",
    "direction",
    "amount",
    "running_balance",
    "counterparty_id",
    "counterparty",
    "category",
    "voucher_number",
    "voucher_date",
    "voucher_description",
    "note",
    "actor",
    "recorded_at",
)
# Shown for reading, looked up in the store at export time; not derived from the events, so
# not checked here.
UNPROVEN_COLUMNS = frozenset({"counterparty"})
NUMERIC_COLUMNS = frozenset({"position", "amount", "running_balance"})
HEADINGS = {
    "en": (
        "Position",
        "Event id",
        "Date",
        "Kind",
        "Direction",
        "Amount (yuan)",
        "Balance (yuan)",
        "Counterparty id",
        "Counterparty",
        "Category",
        "Voucher no.",
        "Voucher date",
        "Voucher description",
        "Note",
        "Recorded by",
        "Recorded at",
    ),
    "zh": (
        "位置",
        "事件编号",
        "业务日期",
        "摘要类型",
        "收支方向",
        "金额（元）",
        "余额（元）",
        "对方编号",
        "对方名称",
        "支出类别",
        "凭证号",
        "凭证日期",
        "凭证摘要",
        "备注",
        "经办人",
        "记录时间",
    ),
}
KIND_NAMES_ZH = {
    "Opened": "开立专户",
    "CustodianHandedOver": "专管员交接",
    "DonationReceived": "捐赠收入",
    "InKindDonationReceived": "实物捐赠（估值）",
    "AllocationSent": "拨出",
    "AllocationReceived": "拨入",
    "MatchingGrantPledged": "配套资金承诺",
    "MatchingFundsReleased": "配套资金到账",
    "LoanDisbursed": "发放无息借款",
    "RepaymentReceived": "收回还款",
    "CohortRolledOver": "年终周转收回",
    "ExpenditurePaid": "凭证报销支出",
    "SharesSubscribed": "入股",
    "BankStatementRecorded": "银行对账单",
    "EventReversed": "冲销",
}
DIRECTION_NAMES_ZH = {"in": "收入", "out": "支出", "none": "—"}

# kind -> (direction, the payload field holding the amount in fen, the counterparty's field)
_MONEY_FIELDS: dict[str, tuple[str, str, str]] = {
    "Opened": ("none", "", "custodian_id"),
    "CustodianHandedOver": ("none", "", "custodian_id"),
    "DonationReceived": ("in", "amount_fen", "donor_id"),
    "InKindDonationReceived": ("none", "value_fen", "donor_id"),
    "AllocationSent": ("out", "amount_fen", "to_fund_id"),
    "AllocationReceived": ("in", "amount_fen", "from_fund_id"),
    "MatchingGrantPledged": ("none", "", "grantor_id"),
    "MatchingFundsReleased": ("in", "amount_fen", "grantor_id"),
    "LoanDisbursed": ("out", "principal_fen", "borrower_id"),
    "RepaymentReceived": ("in", "amount_fen", "borrower_id"),
    "CohortRolledOver": ("in", "repaid_fen", ""),
    "ExpenditurePaid": ("out", "amount_fen", "payee_id"),
    "SharesSubscribed": ("in", "amount_fen", "member_id"),
    "BankStatementRecorded": ("none", "balance_fen", ""),
}


def yuan(fen: int) -> str:
    """Integer fen as a decimal string of yuan with two decimals: 110050 -> "1100.50"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _plain(value: Any) -> Any:
    """A transcoded value ({"_type_": ..., "_data_": ...}) as its plain data."""
    if isinstance(value, dict) and "_type_" in value and "_data_" in value:
        return value["_data_"]
    return value


def _kind_of(topic: str) -> str:
    return topic.rpartition(".")[2] if "." in topic else topic.rpartition(":")[2]


def _movement(kind: str, payload: dict[str, Any]) -> tuple[str, int, str]:
    """(direction, amount in fen, counterparty id) of one event of the fund."""
    if kind == "EventReversed":
        change = int(payload.get("balance_change_fen", 0))
        direction = "in" if change > 0 else "out" if change < 0 else "none"
        if change == 0:
            change = int(payload.get("in_kind_change_fen", 0))
        return direction, abs(change), str(payload.get("loan_id", ""))
    direction, amount_field, party_field = _MONEY_FIELDS.get(kind, ("none", "", ""))
    amount_fen = int(payload.get(amount_field, 0)) if amount_field else 0
    return direction, amount_fen, str(payload.get(party_field, "")) if party_field else ""


def ledger_rows(fund_events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The special ledger: one row per event of the fund, in order, with the running balance.

    `fund_events` are the fund's lines of events.jsonl (position, event_id, topic, state, ...).
    Every value is text, exactly as ledger.csv holds it (English codes; see `localise`).
    """
    rows: list[dict[str, str]] = []
    balance_fen = 0
    for line in fund_events:
        payload = json.loads(_state_bytes(line))
        kind = _kind_of(str(line["topic"]))
        direction, amount_fen, counterparty_id = _movement(kind, payload)
        balance_fen += {"in": amount_fen, "out": -amount_fen}.get(direction, 0)
        voucher = payload.get("voucher") or {}
        rows.append(
            {
                "position": str(line["position"]),
                "event_id": str(line["event_id"]),
                "occurred_on": str(_plain(payload.get("occurred_on", ""))),
                "kind": kind,
                "direction": direction,
                "amount": yuan(amount_fen),
                "running_balance": yuan(balance_fen),
                "counterparty_id": counterparty_id,
                "counterparty": "",
                "category": str(payload.get("category", "")),
                "voucher_number": str(voucher.get("number", "")),
                "voucher_date": str(voucher.get("date", "")),
                "voucher_description": str(voucher.get("description", "")),
                "note": str(payload.get("reason") or payload.get("note", "")),
                "actor": str(payload.get("actor", "")),
                "recorded_at": str(_plain(payload.get("timestamp", ""))),
            }
        )
    return rows


def localise(row: dict[str, str], lang: str) -> dict[str, str]:
    """A ledger row as the export shows it in `lang` (kinds and directions in Chinese for zh)."""
    if lang != "zh":
        return dict(row)
    return {
        **row,
        "kind": KIND_NAMES_ZH.get(row["kind"], row["kind"]),
        "direction": DIRECTION_NAMES_ZH.get(row["direction"], row["direction"]),
    }


def _state_bytes(line: dict[str, Any]) -> bytes:
    if "state" in line:
        return str(line["state"]).encode("utf-8")
    return base64.b64decode(str(line["state_base64"]), validate=True)


# ---- the checks ---------------------------------------------------------------------------------


class ExportBroken(Exception):
    """One check failed; the message says which and where."""


@dataclass
class Export:
    directory: Path
    meta: dict[str, Any]
    checkpoint: dict[str, Any]

    @classmethod
    def open(cls, directory: Path) -> Export:
        meta = _read_json(directory / "export.json")
        if meta.get("format") != EXPORT_FORMAT:
            raise ExportBroken(f"export.json is not a {EXPORT_FORMAT} export")
        return cls(directory, meta, _read_json(directory / "checkpoint.json"))

    def lines(self) -> Iterator[dict[str, Any]]:
        with (self.directory / "events.jsonl").open(encoding="utf-8") as events:
            for number, text in enumerate(events, start=1):
                try:
                    line = json.loads(text)
                except ValueError:
                    raise ExportBroken(f"events.jsonl line {number} is not JSON") from None
                if not isinstance(line, dict):
                    raise ExportBroken(f"events.jsonl line {number} is not an object")
                yield line


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ExportBroken(f"cannot read {path.name}: {error}") from None
    if not isinstance(data, dict):
        raise ExportBroken(f"{path.name} is not a JSON object")
    return data


def check_signature(checkpoint: dict[str, Any], public_key: str | None) -> str:
    """The checkpoint's signature holds; returns the signing key's id."""
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ExportBroken(f"checkpoint.json is not a {CHECKPOINT_FORMAT} document")
    signer = str(checkpoint.get("public_key", ""))
    if public_key is not None and signer.lower() != public_key.lower():
        raise ExportBroken("checkpoint.json is signed by another key than the one you gave")
    try:
        statement = {name: checkpoint[name] for name in STATEMENT_FIELDS}
        message = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(signer))
        key.verify(bytes.fromhex(str(checkpoint["signature"])), message.encode())
    except (KeyError, ValueError, InvalidSignature):
        raise ExportBroken("the signature on checkpoint.json does not hold") from None
    if hashlib.sha256(bytes.fromhex(signer)).hexdigest()[:KEY_ID_LENGTH] != checkpoint["key_id"]:
        raise ExportBroken("checkpoint.json names another key id than its key's")
    return str(checkpoint["key_id"])


def check_chain(export: Export) -> list[dict[str, Any]]:
    """Recompute every line's link up to the signed head; returns the fund's own event lines."""
    fund_id = str(export.meta.get("fund_id", ""))
    fund_events: list[dict[str, Any]] = []
    running: bytes | None = None
    position = 0
    for line in export.lines():
        try:
            position, running = _check_line(line, running, position, fund_id, fund_events)
        except (KeyError, TypeError, ValueError) as error:
            raise ExportBroken(f"events.jsonl position {position}: malformed ({error})") from None
    head = export.checkpoint
    if running is None:
        raise ExportBroken("events.jsonl holds no events")
    if position != head.get("position") or running.hex() != head.get("head_hash"):
        raise ExportBroken(
            f"the chain ends at position {position} with {running.hex()}, but the checkpoint "
            f"signed position {head.get('position')} with {head.get('head_hash')}"
        )
    return fund_events


def _check_line(
    line: dict[str, Any],
    running: bytes | None,
    last_position: int,
    fund_id: str,
    fund_events: list[dict[str, Any]],
) -> tuple[int, bytes]:
    position = int(line["position"])
    originator_id, version = str(line["originator_id"]), int(line["originator_version"])
    prev = bytes.fromhex(str(line["prev_hash"]))
    if position <= last_position:
        raise ExportBroken(f"position {position} comes after {last_position}: out of order")
    if running is not None and prev != running:
        raise ExportBroken(f"position {position} does not follow the line before it")
    if "event_digest" in line:
        if originator_id == fund_id:
            raise ExportBroken(f"position {position} is the fund's own event but not shown")
        digest = bytes.fromhex(str(line["event_digest"]))
    else:
        if originator_id != fund_id or version != len(fund_events) + 1:
            raise ExportBroken(
                f"position {position}: expected the fund's event {fund_id}.{len(fund_events) + 1}"
            )
        if line["event_id"] != f"{originator_id}.{version}":
            raise ExportBroken(f"position {position}: event_id does not name its event")
        digest = event_digest(str(line["topic"]), _state_bytes(line))
        fund_events.append(line)
    computed = link(prev, position, originator_id, version, digest)
    if computed.hex() != line["hash"]:
        raise ExportBroken(f"position {position}: the event does not recompute to its link")
    return position, computed


def check_csv(export: Export, expected: list[dict[str, str]]) -> list[list[str]]:
    """ledger.csv holds exactly the derived rows; returns its cells (for the XLSX check)."""
    lang = str(export.meta.get("lang", "en"))
    with (export.directory / "ledger.csv").open(encoding="utf-8-sig", newline="") as handle:
        cells = list(csv.reader(handle))
    if not cells or tuple(cells[0]) != HEADINGS.get(lang, HEADINGS["en"]):
        raise ExportBroken("ledger.csv does not start with the ledger's column headings")
    if len(cells) - 1 != len(expected):
        raise ExportBroken(
            f"ledger.csv has {len(cells) - 1} rows; the fund has {len(expected)} events"
        )
    for number, (found, row) in enumerate(zip(cells[1:], expected, strict=True), start=2):
        wanted = localise(row, lang)
        for column, value in zip(LEDGER_COLUMNS, found, strict=False):
            if column not in UNPROVEN_COLUMNS and value != wanted[column]:
                raise ExportBroken(
                    f"ledger.csv line {number}, {column}: {value!r} but the events say "
                    f"{wanted[column]!r}"
                )
    return cells


def check_xlsx(export: Export, csv_cells: list[list[str]]) -> None:
    """The first sheet of ledger.xlsx holds the same cells as ledger.csv."""
    sheet = _xlsx_cells(export.directory / "ledger.xlsx")
    if len(sheet) != len(csv_cells):
        raise ExportBroken(f"ledger.xlsx has {len(sheet)} rows, ledger.csv {len(csv_cells)}")
    for number, (found, wanted) in enumerate(zip(sheet, csv_cells, strict=True), start=1):
        padded = found + [""] * (len(wanted) - len(found))
        for column, (cell, text) in enumerate(zip(padded, wanted, strict=False)):
            if not _same_cell(cell, text, number > 1 and LEDGER_COLUMNS[column] in NUMERIC_COLUMNS):
                raise ExportBroken(
                    f"ledger.xlsx row {number}, column {column + 1}: {cell!r} but ledger.csv "
                    f"says {text!r}"
                )


def _same_cell(cell: str, text: str, numeric: bool) -> bool:
    if not numeric:
        return cell == text
    try:
        return Decimal(cell) == Decimal(text)
    except ArithmeticError:
        return False


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _xlsx_cells(path: Path) -> list[list[str]]:
    """The first worksheet's cell texts, row by row (inline and shared strings, numbers)."""
    try:
        with zipfile.ZipFile(path) as book:
            shared = _shared_strings(book)
            root = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError) as error:
        raise ExportBroken(f"cannot read ledger.xlsx: {error}") from None
    rows: list[list[str]] = []
    for row in root.iter(f"{_SHEET_NS}row"):
        cells: list[str] = []
        for cell in row.iter(f"{_SHEET_NS}c"):
            column = _column_index(cell.get("r", ""))
            cells.extend([""] * (column - len(cells)))
            cells.append(_cell_text(cell, shared))
        rows.append(cells)
    return rows


def _shared_strings(book: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in book.namelist():
        return []
    root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in item.iter(f"{_SHEET_NS}t")) for item in root]


def _cell_text(cell: ElementTree.Element, shared: list[str]) -> str:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{_SHEET_NS}t"))
    value = cell.findtext(f"{_SHEET_NS}v") or ""
    return shared[int(value)] if kind == "s" else value


def _column_index(reference: str) -> int:
    index = 0
    for letter in reference:
        if not letter.isalpha():
            break
        index = index * 26 + ord(letter.upper()) - ord("A") + 1
    return index - 1


def check_export(directory: Path, public_key: str | None = None) -> list[str]:
    """Run every check; returns what was proven, raises ExportBroken at the first failure."""
    export = Export.open(directory)
    signer = check_signature(export.checkpoint, public_key)
    fund_events = check_chain(export)
    rows = ledger_rows(fund_events)
    csv_cells = check_csv(export, rows)
    check_xlsx(export, csv_cells)
    head = export.checkpoint
    return [
        f"checkpoint signed {head['signed_at']} by key {signer}"
        + ("" if public_key else " (compare this key id with the one you were given)"),
        f"the chain recomputes to the signed head at position {head['position']}",
        f"fund {export.meta['fund_id']}: all {len(fund_events)} of its events up to the "
        "checkpoint are here, unaltered",
        f"ledger.csv and ledger.xlsx agree with the events ({len(rows)} rows, closing balance "
        f"{rows[-1]['running_balance'] if rows else '0.00'})",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a fundledger audit export offline.")
    parser.add_argument("directory", nargs="?", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--public-key", help="the signing key's public half (64 hex digits)")
    arguments = parser.parse_args(argv)
    try:
        proven = check_export(Path(arguments.directory), arguments.public_key)
    except ExportBroken as broken:
        print(f"EXPORT DOES NOT VERIFY: {broken}")
        return _EXIT_FAILED
    for statement in proven:
        print(f"ok: {statement}")
    print("export verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
