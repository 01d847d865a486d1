"""CLI commands: verify the audit trail, sign checkpoints, the signing key, the auditor's export."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from fundledger.adapters.store import (
    DatabaseUrlError,
    configured_database_url,
    parse_database_url,
)
from fundledger.application.ledger import FundLedger
from fundledger.audit.checkpoints import (
    CheckpointError,
    LogNotIntact,
    SignedCheckpoint,
    load_checkpoint,
    sign_checkpoint,
    write_checkpoint,
)
from fundledger.audit.export import KIT_SCRIPT, LANGUAGES, NothingToExport, export_fund_audit
from fundledger.audit.signing import (
    SigningKeyError,
    key_id,
    load_signing_key,
    public_key_hex,
    signing_key_path,
)
from fundledger.audit.verify import VerifyReport, log_size, verify_log
from fundledger.bootstrap import open_ledger
from fundledger.cli.app import app, export_app, fail, keys_app
from fundledger.domain.errors import UnknownFund

EXIT_BROKEN = 1


def _open() -> FundLedger:
    """The configured store, which must exist: checking a store never creates one."""
    try:
        location = parse_database_url(configured_database_url())
    except DatabaseUrlError as error:
        raise fail(str(error)) from None
    path = location.sqlite_path
    on_disk = location.kind == "sqlite" and not path.startswith(("file:", ":memory:"))
    if on_disk and not Path(path).is_file():
        raise fail(f"there is no store at {path} (FUNDLEDGER_DATABASE_URL)")
    return open_ledger(create_tables=False)


@app.command()
def verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="A signed checkpoint file: also prove the log still holds, unchanged, "
            "everything it covered."
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(help="Insist that the checkpoint is signed by this key (64 hex digits)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute the audit chain over every event; exit 1 at the first broken position."""
    signed = _read_checkpoint(checkpoint) if checkpoint is not None else None
    if public_key is not None and (signed is None or signed.public_key != public_key.lower()):
        raise fail("--public-key needs a --checkpoint signed by that key")
    ledger = _open()
    started = time.perf_counter()
    try:
        report = _verify_with_progress(ledger, signed)
    except PersistenceError as error:
        raise fail(f"cannot read the audit trail: {error}") from None
    finally:
        ledger.close()
    elapsed_s = time.perf_counter() - started
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "elapsed_s": round(elapsed_s, 3)}, indent=2))
    else:
        _print_report(report, signed, elapsed_s)
    if not report.ok:
        raise typer.Exit(EXIT_BROKEN)


def _read_checkpoint(path: Path) -> SignedCheckpoint:
    try:
        return load_checkpoint(path)
    except CheckpointError as error:
        raise fail(str(error)) from None


def _verify_with_progress(ledger: FundLedger, signed: SignedCheckpoint | None) -> VerifyReport:
    if not sys.stderr.isatty():
        return verify_log(ledger, signed)
    columns = (
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("verify", total=log_size(ledger))
        return verify_log(ledger, signed, lambda checked: bar.update(task, completed=checked))


def _print_report(report: VerifyReport, signed: SignedCheckpoint | None, elapsed_s: float) -> None:
    if report.ok:
        rate = f", {report.events_checked / elapsed_s:,.0f} events/s" if elapsed_s > 0 else ""
        typer.echo(
            f"audit trail intact: {report.events_checked:,} events checked "
            f"in {elapsed_s:.2f} s{rate}"
        )
        typer.echo(f"head: position {report.head_position}, hash {report.head_hash}")
        if signed is not None:
            typer.echo(
                f"checkpoint: position {signed.position}, signed {signed.signed_at} by key "
                f"{signed.key_id}: everything it covered is still there, unchanged"
            )
        return
    typer.echo(f"audit trail BROKEN at position {report.broken_position}: {report.problem}")
    typer.echo(report.detail)
    typer.echo(
        f"{report.events_checked:,} events verified before it; last intact link at position "
        f"{report.head_position}, hash {report.head_hash}"
    )


@app.command()
def checkpoint(
    out: Annotated[Path, typer.Option(help="Where to write the signed checkpoint (JSON).")],
) -> None:
    """Verify the log, sign its head (position, hash, time), record it and write it to OUT."""
    if not out.parent.is_dir():
        raise fail(f"the directory {out.parent} does not exist")
    key = _signing_key()
    ledger = _open()
    try:
        signed = sign_checkpoint(ledger, key)
    except LogNotIntact as refused:
        raise fail(f"not signing: {refused}", EXIT_BROKEN) from None
    except PersistenceError as error:
        raise fail(f"cannot read the audit trail: {error}") from None
    finally:
        ledger.close()
    write_checkpoint(out, signed)
    typer.echo(
        f"checkpoint signed: position {signed.position}, {signed.events:,} events, head "
        f"{signed.head_hash}, at {signed.signed_at}, key {signed.key_id} -> {out}"
    )


def _signing_key() -> Ed25519PrivateKey:
    path = signing_key_path()
    existed = path.exists()
    try:
        key = load_signing_key(path)
    except SigningKeyError as error:
        raise fail(str(error)) from None
    if not existed:
        typer.secho(
            f"created a new signing key at {path}; give auditors its public half: "
            f"{public_key_hex(key)}",
            err=True,
        )
    return key


@keys_app.command("signing-key")
def signing_key() -> None:
    """Print the checkpoint signing key's public half (creating the key on first use)."""
    public_hex = public_key_hex(_signing_key())
    typer.echo(public_hex)
    typer.secho(f"key id {key_id(public_hex)}, kept at {signing_key_path()}", err=True)


@export_app.command("audit")
def export_audit(
    fund: Annotated[str, typer.Option(help="The fund's id.")],
    out: Annotated[Path, typer.Option(help="The directory to write the kit into.")],
    lang: Annotated[str, typer.Option(help="Column headings: en, or zh for Chinese.")] = "en",
    sign: Annotated[
        bool, typer.Option(help="Sign a fresh checkpoint first, so the kit covers every event.")
    ] = False,
) -> None:
    """Write one fund's offline audit kit: ledger, chained events, checkpoint, checker."""
    if lang not in LANGUAGES:
        raise fail(f"--lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    key = _signing_key() if sign else None
    ledger = _open()
    try:
        if key is not None:
            sign_checkpoint(ledger, key)
        summary = export_fund_audit(ledger, fund, out, lang)
    except (UnknownFund, NothingToExport) as error:
        raise fail(str(error)) from None
    except LogNotIntact as refused:
        raise fail(f"not exporting: {refused}", EXIT_BROKEN) from None
    except PersistenceError as error:
        raise fail(f"cannot read the audit trail: {error}") from None
    finally:
        ledger.close()
    typer.echo(
        f"exported fund {summary.fund_id} to {summary.directory}: {summary.fund_events} of its "
        f"events among {summary.lines} chain positions, up to the checkpoint at position "
        f"{summary.checkpoint.position} signed {summary.checkpoint.signed_at}"
    )
    typer.echo(f"check it offline: python {summary.directory / KIT_SCRIPT}")
    if summary.later_fund_events:
        typer.secho(
            f"note: {summary.later_fund_events} later events of this fund come after that "
            "checkpoint and are not in the kit; export again with --sign to include them",
            err=True,
        )
