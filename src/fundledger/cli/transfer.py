"""`fundledger import FILE` and `fundledger import --template FILE`: spreadsheets in.

Every row is checked first; then all rows are recorded in one transaction, or none. A problem
prints as one line naming the file, row and column; importing the same file again records
nothing. See docs/guide-supervisors.md for the column layout.
"""

from __future__ import annotations

import getpass
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from fundledger.adapters.store import DatabaseUrlError
from fundledger.application.importing import (
    SUFFIXES,
    ImportPlan,
    ImportRefused,
    ImportResult,
    plan_import,
    read_rows,
    record_import,
    write_template,
)
from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger
from fundledger.cli.app import app, fail

EXIT_REFUSED = 1
# A whole file is one transaction: on PostgreSQL the library ends a transaction that sends nothing
# for 5 s, which a 100k-row batch exceeds while its events are being prepared. Allow 10 minutes.
IDLE_IN_TRANSACTION_VARIABLE = "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT"
IMPORT_IDLE_IN_TRANSACTION_S = 600


def _actor() -> str:
    try:
        return f"import:{getpass.getuser()}"
    except (KeyError, OSError):
        return "import"


def _quiet(console: Console) -> bool:
    """No bar when standard error is not a terminal (logs, CI): it would only print blank lines."""
    return not console.is_terminal


def _count_rows(name: str, content: bytes) -> int | None:
    """Rows to expect, for the progress bar (None when the file cannot be read: checked later)."""
    try:
        return sum(1 for _ in read_rows(name, content))
    except ImportRefused:
        return None


def _plan(ledger: FundLedger, path: Path, content: bytes, console: Console) -> ImportPlan:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=_quiet(console)) as progress:
        task = progress.add_task("checking rows", total=_count_rows(path.name, content))
        return plan_import(path.name, content, ledger, lambda: progress.advance(task))


def _record(ledger: FundLedger, plan: ImportPlan, console: Console) -> ImportResult:
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=_quiet(console)) as progress:
        progress.add_task(f"recording {len(plan.rows)} rows in one transaction", total=None)
        return record_import(ledger, plan, _actor())


def _write_template(path: Path) -> None:
    try:
        write_template(path)
    except (ValueError, OSError) as error:
        raise fail(f"cannot write the template {path}: {error}") from None
    typer.echo(f"wrote the import template {path}")


@app.command("import")
def import_command(
    file: Annotated[
        Path | None,
        typer.Argument(help="A CSV or XLSX file of donations, loans, repayments, expenditures."),
    ] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template", help="Write an empty import file (.csv or .xlsx) here and stop."
        ),
    ] = None,
) -> None:
    """Import rows from a spreadsheet: every row is checked, then all are recorded, or none."""
    if template is not None:
        _write_template(template)
        return
    if file is None:
        raise fail("name a file to import, or --template FILE to write an empty one")
    if file.suffix.lower() not in SUFFIXES:
        raise fail(f"{file.name}: the file must end in {' or '.join(SUFFIXES)}")
    try:
        content = file.read_bytes()
    except OSError as error:
        raise fail(f"cannot read {file}: {error.strerror or error}") from None
    console = Console(stderr=True)
    os.environ.setdefault(IDLE_IN_TRANSACTION_VARIABLE, str(IMPORT_IDLE_IN_TRANSACTION_S))
    try:
        ledger = open_ledger()
    except DatabaseUrlError as error:
        raise fail(str(error)) from None
    try:
        started_s = time.perf_counter()
        plan = _plan(ledger, file, content, console)
        result = _record(ledger, plan, console)
        elapsed_s = time.perf_counter() - started_s
    except ImportRefused as refused:
        raise fail(str(refused), EXIT_REFUSED) from None
    finally:
        ledger.close()
    if result.already_imported:
        typer.echo(
            f"{file.name} (sha256 {result.digest}…) was imported before: nothing was recorded"
        )
        return
    rate = result.rows / elapsed_s if elapsed_s > 0 else float("inf")
    typer.echo(
        f"imported {result.rows} rows ({result.events} events) from {file.name} "
        f"in {elapsed_s:.2f} s ({rate:,.0f} rows/s)"
    )
