"""CLI commands: `fundledger project [--follow]` (the projection worker), `fundledger rebuild`."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from fundledger.adapters.store import DatabaseUrlError, configured_database_url
from fundledger.bootstrap import open_ledger
from fundledger.cli.app import app, fail
from projections.database import open_database
from projections.read_models import open_runner
from projections.runner import BATCH_SIZE_DEFAULT, ProjectionRunner

BatchSize = Annotated[
    int, typer.Option(min=1, max=100_000, help="Events per transaction (one position update each).")
]


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _catch_up(
    runner: ProjectionRunner,
    description: str,
    console: Console,
    *,
    run: Callable[[Callable[[int, int], None]], int] | None = None,
    start: int | None = None,
) -> int:
    """Run to the head with a progress bar over store positions; returns events projected.

    `run` does the work (default: `runner.catch_up`), `start` is the position it starts from
    (default: the runner's position now)."""
    started = time.perf_counter()
    start = runner.position() if start is None else start
    with _progress(console) as progress:
        task = progress.add_task(description, total=max(runner.head() - start, 0), rate="")

        def advance(position: int, head: int) -> None:
            elapsed_s = max(time.perf_counter() - started, 1e-9)
            rate = f"{(position - start) / elapsed_s:,.0f} events/s"
            progress.update(task, completed=position - start, total=head - start, rate=rate)

        projected = (run or runner.catch_up)(advance)
    elapsed_s = time.perf_counter() - started
    console.print(
        f"{projected:,} events in {elapsed_s:.1f} s "
        f"({projected / max(elapsed_s, 1e-9):,.0f} events/s); position {runner.position()}"
    )
    return projected


def _open_runner(batch_size: int, names: list[str] | None = None) -> ProjectionRunner:
    url = configured_database_url()
    try:
        ledger = open_ledger(url)
        return open_runner(open_database(url), ledger, batch_size=batch_size, names=names)
    except (DatabaseUrlError, ValueError) as error:
        raise fail(str(error)) from None


def _names(models: str | None) -> list[str] | None:
    return [name.strip() for name in models.split(",") if name.strip()] if models else None


@app.command("project")
def project(
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep following new events until interrupted.")
    ] = False,
    batch_size: BatchSize = BATCH_SIZE_DEFAULT,
    poll_interval_s: Annotated[
        float, typer.Option(min=0.01, help="Seconds between looks for new events.")
    ] = 0.2,
    models: Annotated[
        str | None,
        typer.Option(help="Only these read models, comma-separated (default: all)."),
    ] = None,
) -> None:
    """Bring every read model up to the head of the log (and with --follow, keep it there)."""
    console = Console(stderr=True)
    runner = _open_runner(batch_size, _names(models))
    _catch_up(runner, "projecting", console)
    if not follow:
        return
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    console.print("following new events (Ctrl-C to stop)")
    while not stopping.is_set():
        if runner.run_batch() == 0:
            stopping.wait(poll_interval_s)
    console.print(f"stopped at position {runner.position()}")


@app.command("rebuild")
def rebuild(batch_size: BatchSize = 2_000) -> None:
    """Drop every read model and rebuild it from the events (stop projection workers first)."""
    console = Console(stderr=True)
    runner = _open_runner(batch_size)
    # runner.rebuild drops and sets up every model itself, then projects in large batches (in
    # two processes when a core is idle).
    _catch_up(runner, "rebuilding", console, run=runner.rebuild, start=0)
