"""Runs the measurements for each store and size, prints the table, writes the JSON."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg

from bench import floor, http, reads, writes
from bench.floor import Floor
from bench.stores import Store, admin_url, fresh_store, postgres_reachable
from bench.workload import Workload
from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger

# Every metric name the JSON can carry (the names, plus the rates behind the ratios).
METRICS = (
    "write_ratio",
    "write_commands_per_s",
    "import_ratio",
    "import_events_per_s",
    "http_write_ratio",
    "http_donations_per_s",
    "projection_events_per_s",
    "rebuild_ratio",
    "balance_as_of_p99_ms",
    "balance_as_of_p99_ms_http",
    "beancount_speedup",
    "verify_events_per_s",
    "rebuild_peak_rss_mb",
    "verify_peak_rss_mb",
)

# The one-by-one write sample, run on top of the imported workload (a store of N events).
WRITE_SAMPLE_EVENTS = 3_000
WRITE_SAMPLE_EVENTS_QUICK = 2_000
WRITE_SAMPLE_SEED = 7
# Each beancount answer loads the whole file; a few questions show the cost.
BEANCOUNT_QUESTIONS = 20
# Past this, beancount's load takes many minutes and gigabytes (the target is at 100k).
BEANCOUNT_EVENTS_MAX = 100_000


@dataclass
class Report:
    results: list[dict[str, Any]] = field(default_factory=list)

    def add(self, store: str, events: int, metric: str, value: float) -> None:
        assert metric in METRICS, f"unknown metric {metric}"
        self.results.append({"store": store, "events": events, "metric": metric, "value": value})
        print(f"  {store:<10} {events:>9,} {metric:<28} {value:>14,.3f}", flush=True)


@dataclass(frozen=True)
class Context:
    """What every metric group gets: a store holding the imported workload of `events` events."""

    store: Store
    ledger: FundLedger
    workload: Workload
    events: int
    report: Report
    quick: bool
    floor: Floor
    ids: dict[str, str]
    directory: Path


Group = Callable[[Context], None]


def _scaled(ctx: Context, samples: int) -> int:
    """Fewer samples for toy sizes (the harness's own test), never fewer than 40."""
    return max(40, min(samples, ctx.events // 10))


def _writes(ctx: Context) -> None:
    sample_events = WRITE_SAMPLE_EVENTS_QUICK if ctx.quick else WRITE_SAMPLE_EVENTS
    sample = Workload(min(ctx.events, sample_events), seed=WRITE_SAMPLE_SEED)
    paired = writes.measure_writes(ctx.ledger, ctx.store, ctx.floor, sample)
    ctx.report.add(ctx.store.kind, ctx.events, "write_ratio", round(paired.median_ratio, 3))
    ctx.report.add(
        ctx.store.kind,
        ctx.events,
        "write_commands_per_s",
        round(paired.commands / paired.app_total_seconds, 1),
    )


def _reads(ctx: Context) -> None:
    kind, events, report = ctx.store.kind, ctx.events, ctx.report
    child = reads.run_child("rebuild", ctx.store.url)
    if not child.answer.get("ok"):
        print(f"  {kind}: rebuild failed, its metrics are left out: {child.answer.get('error')}")
        return
    floor_rows, floor_seconds = floor.read_every_row(ctx.store)
    rebuild_rate = child.answer["events"] / child.answer["seconds"]
    report.add(kind, events, "projection_events_per_s", round(rebuild_rate, 1))
    report.add(kind, events, "rebuild_ratio", round(rebuild_rate / (floor_rows / floor_seconds), 3))
    report.add(kind, events, "rebuild_peak_rss_mb", round(child.peak_rss_mb, 1))
    funds = reads.fund_ids(ctx.ids)
    queries = _scaled(ctx, 500 if ctx.quick else 2_000)
    latencies, answers = reads.balances_in_process(
        ctx.store, funds, queries, seed=events, ledger=ctx.ledger
    )
    report.add(kind, events, "balance_as_of_p99_ms", round(latencies.p99_ms, 3))
    _beancount(ctx, latencies, answers)


def _beancount(
    ctx: Context, latencies: reads.Latencies, answers: dict[tuple[str, date], int]
) -> None:
    try:
        import beancount  # noqa: F401, PLC0415
    except ImportError:
        print("  beancount is not installed (pip install beancount): beancount_speedup left out")
        return
    if ctx.events > BEANCOUNT_EVENTS_MAX:
        print(f"  beancount_speedup is measured up to {BEANCOUNT_EVENTS_MAX:,} events only")
        return
    path = ctx.directory / f"ledger-{ctx.store.kind}-{ctx.events}.beancount"
    transactions = reads.write_beancount(ctx.ledger, path)
    questions = list(answers)[:BEANCOUNT_QUESTIONS]
    answer = reads.beancount_balances(path, questions)
    wrong = [q for q in questions if answer.balances_fen[q] != answers[q]]
    if wrong:
        print(f"  beancount disagrees on {len(wrong)} balances: beancount_speedup left out")
        return
    seconds_per_answer = answer.load_seconds + answer.query_seconds
    print(
        f"  beancount: {transactions:,} transactions, load {answer.load_seconds:.2f}s, "
        f"query {answer.query_seconds * 1000:.1f}ms, same balances"
    )
    ctx.report.add(
        ctx.store.kind,
        ctx.events,
        "beancount_speedup",
        round(seconds_per_answer / latencies.median_s, 1),
    )


def _verify(ctx: Context) -> None:
    child = reads.run_child("verify", ctx.store.url)
    if not child.answer.get("ok"):
        print(f"  {ctx.store.kind}: verify failed, its metrics are left out: {child.answer}")
        return
    rate = child.answer["events"] / child.answer["seconds"]
    ctx.report.add(ctx.store.kind, ctx.events, "verify_events_per_s", round(rate, 1))
    ctx.report.add(ctx.store.kind, ctx.events, "verify_peak_rss_mb", round(child.peak_rss_mb, 1))


def _http(ctx: Context) -> None:
    requests = _scaled(ctx, 480 if ctx.quick else 2_000)
    synchronous = writes.sqlite_synchronous(ctx.ledger) if ctx.store.kind == "sqlite" else 0
    try:
        figures = http.measure_http(
            ctx.store,
            ctx.ledger,
            ids=ctx.ids,
            directory=ctx.directory,
            requests=requests,
            synchronous=synchronous,
        )
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"  {ctx.store.kind}: the HTTP measurement failed, its metrics are left out: {error}")
        return
    if figures.failures:
        print(f"  {ctx.store.kind}: some HTTP requests failed: {figures.failures}")
    kind, events = ctx.store.kind, ctx.events
    ctx.report.add(kind, events, "http_write_ratio", round(figures.write_ratio, 3))
    ctx.report.add(kind, events, "http_donations_per_s", round(figures.app_donations_per_s, 1))
    ctx.report.add(kind, events, "balance_as_of_p99_ms_http", round(figures.balance_p99_ms, 3))


GROUPS: dict[str, Group] = {
    "writes": _writes,
    "reads": _reads,
    "verify": _verify,
    "http": _http,
}


def measure(kind: str, events: int, groups: list[str], report: Report, quick: bool) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="fundledger-bench-") as tmp,
        fresh_store(kind, Path(tmp)) as store,
    ):
        ledger = open_ledger(store.url)
        base = writes.open_floor(ledger, store)
        try:
            workload = Workload(events)
            started = time.perf_counter()
            imported, book = writes.measure_import(ledger, store, base, workload)
            print(
                f"  {kind}: imported {imported.events:,} events "
                f"({imported.commands:,} commands) in {time.perf_counter() - started:.1f}s",
                flush=True,
            )
            report.add(kind, events, "import_ratio", round(imported.total_ratio, 3))
            report.add(
                kind,
                events,
                "import_events_per_s",
                round(imported.events / imported.app_total_seconds, 1),
            )
            ctx = Context(store, ledger, workload, events, report, quick, base, book.ids, Path(tmp))
            for name in groups:
                try:
                    GROUPS[name](ctx)
                except Exception as error:  # one group's failure must not lose the others
                    print(f"  {kind}: {name} failed, its metrics are left out: {error!r}")
        finally:
            base.close()
            ledger.close()


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "eventsourcing": version("eventsourcing"),
        "psycopg": version("psycopg"),
        "commit": _git_commit(),
    }
    try:
        with psycopg.connect(admin_url(), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            info["postgresql"] = str(row[0]) if row else "?"
    except psycopg.Error:
        info["postgresql"] = "unreachable"
    return info


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(*, sizes: list[int], stores: list[str], out: str, groups: list[str], quick: bool) -> int:
    chosen = groups or list(GROUPS)
    unknown = [name for name in chosen if name not in GROUPS]
    if unknown:
        print(f"unknown metric groups: {', '.join(unknown)} (have {', '.join(GROUPS)})")
        return 2
    if "postgresql" in stores and (problem := postgres_reachable()) is not None:
        print(f"PostgreSQL at {admin_url()} is unreachable: {problem}")
        return 2
    report = Report()
    started = time.perf_counter()
    for events in sizes:
        for kind in stores:
            print(f"{kind}, {events:,} events", flush=True)
            measure(kind, events, chosen, report, quick)
            if out:  # after each store and size, so a later failure loses nothing measured
                _write(out, report)
    print(f"done in {time.perf_counter() - started:.0f}s")
    if out:
        print(f"wrote {out}")
    return 0


def _write(out: str, report: Report) -> None:
    document = {"machine": machine(), "results": report.results}
    Path(out).write_text(json.dumps(document, indent=2) + "\n")
