"""write_ratio and import_ratio: the application's write paths beside the plain-driver floor."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from bench import floor
from bench.floor import Floor
from bench.stores import Store
from bench.workload import Results, Step, Workload
from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger

CONTEXT = c.CommandContext(actor="bench")
# Commands per import transaction: bounds the memory a batch holds, as `fundledger import` would.
IMPORT_CHUNK_COMMANDS = 5_000


# Commands per paired sample of the one-by-one path: the application runs them, then the floor
# writes the same rows at once, so both halves of a ratio see the same load on a shared machine.
WRITE_CHUNK_COMMANDS = 100


@dataclass
class Paired:
    """Seconds the application and the floor took for the same rows, sample by sample."""

    commands: int = 0
    events: int = 0
    app_seconds: list[float] = field(default_factory=list)
    floor_seconds: list[float] = field(default_factory=list)

    def add(self, commands: int, events: int, app_seconds: float, floor_seconds: float) -> None:
        self.commands += commands
        self.events += events
        self.app_seconds.append(app_seconds)
        self.floor_seconds.append(floor_seconds)

    @property
    def app_total_seconds(self) -> float:
        return sum(self.app_seconds)

    @property
    def median_ratio(self) -> float:
        return statistics.median(
            f / a for f, a in zip(self.floor_seconds, self.app_seconds, strict=True)
        )

    @property
    def total_ratio(self) -> float:
        return sum(self.floor_seconds) / sum(self.app_seconds)


def _remember(results: Results, step: Step, recorded: c.Recorded) -> None:
    label = step[0]
    if label is None:
        return
    results.ids[label] = recorded.resource_id
    if recorded.event_ids:
        results.ids[label + ":event"] = recorded.event_ids[0]


def _chunks(steps: list[Step], size: int) -> list[list[Step]]:
    return [steps[start : start + size] for start in range(0, len(steps), size)]


def measure_writes(ledger: FundLedger, store: Store, base: Floor, workload: Workload) -> Paired:
    """Every command through `execute`, each its own durable transaction, paired with the floor
    writing the same rows, one transaction per command."""
    results = Results()
    paired = Paired()
    for phase in workload.phases():
        for chunk in _chunks(phase(results), WRITE_CHUNK_COMMANDS):
            before = max_position(ledger)
            started = time.perf_counter()
            recorded = [ledger.execute(command, CONTEXT) for _, command in chunk]
            app_seconds = time.perf_counter() - started
            for step, answer in zip(chunk, recorded, strict=True):
                _remember(results, step, answer)
            groups = [len(answer.event_ids) for answer in recorded]
            rows = floor.stored_rows(store, before)
            paired.add(len(chunk), len(rows), app_seconds, base.per_command(rows, groups))
    return paired


def measure_import(
    ledger: FundLedger, store: Store, base: Floor, workload: Workload
) -> tuple[Paired, Results]:
    """Every phase through `execute_batch`, IMPORT_CHUNK_COMMANDS commands a transaction, paired
    with the floor loading the same rows in one transaction (executemany / COPY)."""
    results = Results()
    paired = Paired()
    for phase in workload.phases():
        for chunk in _chunks(phase(results), IMPORT_CHUNK_COMMANDS):
            before = max_position(ledger)
            started = time.perf_counter()
            recorded = ledger.execute_batch([command for _, command in chunk], CONTEXT)
            app_seconds = time.perf_counter() - started
            for step, answer in zip(chunk, recorded, strict=True):
                _remember(results, step, answer)
            rows = floor.stored_rows(store, before)
            paired.add(len(chunk), len(rows), app_seconds, base.bulk(rows))
    return paired, results


def sqlite_synchronous(ledger: FundLedger) -> int:
    """The application's SQLite `synchronous` setting, for the floor to use the same."""
    datastore = ledger.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        return int(cursor.fetchone()[0])


def max_position(ledger: FundLedger) -> int:
    return int(ledger.recorder.max_notification_id() or 0)


def open_floor(ledger: FundLedger, store: Store) -> Floor:
    return Floor(store, sqlite_synchronous(ledger) if store.kind == "sqlite" else 0)
