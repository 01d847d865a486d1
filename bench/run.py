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
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg

from bench import writes
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
WRITE_SAMPLE_SEED = 7


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


Group = Callable[[Context], None]


def _writes(ctx: Context) -> None:
    sample = Workload(min(ctx.events, WRITE_SAMPLE_EVENTS), seed=WRITE_SAMPLE_SEED)
    paired = writes.measure_writes(ctx.ledger, ctx.store, ctx.floor, sample)
    ctx.report.add(ctx.store.kind, ctx.events, "write_ratio", round(paired.median_ratio, 3))
    ctx.report.add(
        ctx.store.kind,
        ctx.events,
        "write_commands_per_s",
        round(paired.commands / paired.app_total_seconds, 1),
    )


GROUPS: dict[str, Group] = {"writes": _writes}


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
            imported = writes.measure_import(ledger, store, base, workload)
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
            ctx = Context(store, ledger, workload, events, report, quick, base)
            for name in groups:
                GROUPS[name](ctx)
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
    print(f"done in {time.perf_counter() - started:.0f}s")
    if out:
        document = {"machine": machine(), "results": report.results}
        Path(out).write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {out}")
    return 0
