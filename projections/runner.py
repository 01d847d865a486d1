"""The projection runner: the event log, in store order, into every read model, exactly once.

One batch = one read of up to `batch_size` notifications from the lowest tracked position, each
decoded once and handed to every read model that has not seen it, then ONE transaction that
writes all pending rows and moves each model's tracking row from the position it was read at to
the batch's last position. If another process moved a position first, the update finds nothing,
the whole transaction rolls back and the runner reloads (so two runners never double-count).
Events no model cares about still advance the positions. PostgreSQL positions have gaps, so the
next batch starts after the last position seen, never at "last + 1 assumed to exist".
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.utils import resolve_topic

from projections.database import (
    Conflict,
    Cursor,
    Database,
    PostgresDatabase,
    SQLiteDatabase,
)
from projections.decoding import Decoder, EventReader, EventRow, decode_with_mapper
from projections.model import Fact, ReadModel
from projections.rebuild_worker import Share

log = structlog.get_logger(__name__)

TRACKING_TABLE = "rm_tracking"
BATCH_SIZE_DEFAULT = 500
# A rebuild starts from empty tables: larger batches mean fewer commits and fewer rewrites of
# live state (lineage's funds), and stay far below the memory a 1M-event log would need.
REBUILD_BATCH_SIZE = 10_000
# Below this many events a rebuild stays in one process (see rebuild_workers).
SECOND_PROCESS_EVENTS_MIN = 50_000
# A rebuild is CPU-bound Python: with a second core, a second process rebuilds these models
# (about half of a rebuild's work; each model has its own tracking row, so shares never overlap).
# Those act on fund events only (and loans' adjustments), so that process does not even decode
# parties' and most loans' events (a third of the log).
SECOND_SHARE = ("lineage", "special_ledger", "compliance")
# Any constant: the PostgreSQL advisory lock that serialises creating and dropping read models.
_SCHEMA_LOCK_KEY = 0x524D5348

Progress = Callable[[int, int], None]  # (position reached, head of the log)


class EventSource(Protocol):
    """What the runner reads: the ledger application's recorder and mapper (duck-typed)."""

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Any: ...


def decode(notification: Any, mapper: Any) -> Fact:
    """One stored notification as a Fact through the library's mapper (the reference path)."""
    return decode_with_mapper(notification, mapper)


class ProjectionRunner:
    """Brings read models up to the head of the log, batch by batch."""

    def __init__(
        self,
        database: Database,
        source: EventSource,
        models: Sequence[ReadModel],
        *,
        batch_size: int = BATCH_SIZE_DEFAULT,
        reader: EventReader | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.database = database
        self.source = source
        self.models = list(models)
        self.batch_size = batch_size
        self.positions: dict[str, int] = {}
        self._reader = reader
        self._acting: dict[tuple[str, ...], dict[str, bool]] = {}  # models -> topic -> acts?
        self._decoder: Decoder | None = None

    # ---- set-up ----------------------------------------------------------------------------------

    def setup(self) -> None:
        """Create missing tables; a model whose tables changed is dropped and rebuilt on its own."""
        with self.database.write() as cursor:
            _lock_schema(cursor)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (read_model TEXT PRIMARY KEY, "
                "position BIGINT NOT NULL, schema_fingerprint TEXT NOT NULL)"
            )
            tracked: dict[str, str] = dict(
                cursor.execute(f"SELECT read_model, schema_fingerprint FROM {TRACKING_TABLE}")
            )
            for model in self.models:
                fingerprint = model.schema_fingerprint()
                if tracked.get(model.name) != fingerprint:
                    _reset_model(cursor, model, fingerprint)
                for table in model.tables:
                    for statement in table.create_statements(cursor.dialect):
                        cursor.execute(statement)
        self.reload()

    def setup_for_reading(self) -> None:
        """Create missing tables, never drop one: a process that only reads must not destroy
        read models that a runner with other code (other schema fingerprints) has built."""
        with self.database.write() as cursor:
            _lock_schema(cursor)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (read_model TEXT PRIMARY KEY, "
                "position BIGINT NOT NULL, schema_fingerprint TEXT NOT NULL)"
            )
            tracked: dict[str, str] = dict(
                cursor.execute(f"SELECT read_model, schema_fingerprint FROM {TRACKING_TABLE}")
            )
            for model in self.models:
                fingerprint = model.schema_fingerprint()
                built_with = tracked.get(model.name)
                if built_with is None:
                    _reset_model(cursor, model, fingerprint)
                elif built_with != fingerprint:
                    log.warning("projection.schema_differs", read_model=model.name)
                    continue  # its tables are the runner's to rebuild, not this reader's
                for table in model.tables:
                    for statement in table.create_statements(cursor.dialect):
                        cursor.execute(statement)

    def drop(self) -> None:
        """Drop every read model's tables and positions (rebuild starts from nothing)."""
        with self.database.write() as cursor:
            _lock_schema(cursor)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (read_model TEXT PRIMARY KEY, "
                "position BIGINT NOT NULL, schema_fingerprint TEXT NOT NULL)"
            )
            for model in self.models:
                _reset_model(cursor, model, "")
        for model in self.models:
            model.discard()

    def reload(self) -> None:
        """Re-read positions and every model's in-memory state from the database."""
        with self.database.read() as cursor:
            self.positions = {
                name: int(position)
                for name, position in cursor.execute(
                    f"SELECT read_model, position FROM {TRACKING_TABLE}"
                )
            }
            for model in self.models:
                model.discard()
                model.load(cursor)
        missing = [m.name for m in self.models if m.name not in self.positions]
        if missing:
            raise RuntimeError(f"read models not set up: {', '.join(missing)} (run setup first)")

    # ---- running ---------------------------------------------------------------------------------

    def position(self) -> int:
        """The position every read model has reached (the lowest of them)."""
        return min((self.positions.get(m.name, 0) for m in self.models), default=0)

    def head(self) -> int:
        return int(self.source.recorder.max_notification_id() or 0)

    def run_batch(self) -> int:
        """Project one batch; returns how many notifications it covered (0: nothing new)."""
        start = self.position()
        rows = self._events().read(start + 1, self.batch_size)
        if not rows:
            return 0
        last = int(rows[-1][0])
        try:
            self._project(rows)
            self._commit(last)
        except Conflict:
            log.info("projection.conflict", position=start)
            self.reload()
            return 0
        except BaseException:
            self.reload()
            raise
        return len(rows)

    def catch_up(
        self,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
        *,
        head: int | None = None,
    ) -> int:
        """Run batches until the head (by default: as seen at the start) is reached; returns
        events projected."""
        head = self.head() if head is None else head
        projected = 0
        while self.position() < head:
            if should_stop is not None and should_stop():
                break
            count = self.run_batch()
            projected += count
            if progress is not None:
                progress(self.position(), head)
            if count == 0 and self.position() < head:
                continue  # a conflict: positions were reloaded, try again
        return projected

    def rebuild(self, progress: Progress | None = None, *, workers: int | None = None) -> int:
        """Drop every model and project the whole log again; with `workers` > 1 (default: 2
        when a core is idle, see `rebuild_workers`), a second process rebuilds a share of the
        models."""
        self.drop()
        self.setup()
        batch_size = self.batch_size
        self.batch_size = max(batch_size, REBUILD_BATCH_SIZE)
        try:
            head = self.head()
            workers = rebuild_workers(head) if workers is None else workers
            return self._rebuild(progress, workers, head)
        finally:
            self.batch_size = batch_size

    def _rebuild(self, progress: Progress | None, workers: int, head: int) -> int:
        share = self.second_share(head) if workers > 1 else None
        if share is None:
            return self.catch_up(progress, head=head)
        models = self.models
        with tempfile.TemporaryFile() as errors:
            worker = subprocess.Popen(
                [sys.executable, "-m", "projections.rebuild_worker", share.to_json()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
            )
            try:
                self.models = [m for m in models if m.name not in share.models]
                projected = self.catch_up(progress, head=head)
            except BaseException:
                worker.kill()
                worker.wait()
                raise
            finally:
                self.models = models
            if worker.wait() != 0:
                errors.seek(0)
                tail = errors.read()[-2000:].decode(errors="replace")
                raise RuntimeError(
                    f"the rebuild worker for {', '.join(share.models)} failed: {tail}"
                )
        self.reload()
        return projected

    def second_share(self, head: int) -> Share | None:
        """What a second process can rebuild, or None when it cannot take part: one model,
        events read through the recorder, a mapper with a cipher or compressor, a database
        whose location is not known, transcodings that cannot be made again from their class."""
        names = [m.name for m in self.models if m.name in SECOND_SHARE]
        if not names or len(names) == len(self.models):
            return None
        reader, transcodings = self._events(), self._decoding().transcoding_topics()
        location = _location_of(self.database)
        if reader.select_sql is None or reader.event_sql is None or transcodings is None:
            return None
        if location is None:
            return None
        return Share(
            self.database.dialect,
            location,
            reader.select_sql,
            reader.event_sql,
            transcodings,
            names,
            head,
            self.batch_size,
        )

    def _events(self) -> EventReader:
        if self._reader is None:
            self._reader = EventReader(self.database, self.source.recorder)
        return self._reader

    def _decoding(self) -> Decoder:
        if self._decoder is None:
            self._decoder = Decoder(self.source.mapper)
        return self._decoder

    def _acted_on(self, rows: Sequence[EventRow]) -> Sequence[EventRow]:
        """The rows some model of this runner acts on (by the models' `event_types`)."""
        if any(model.event_types is None for model in self.models):
            return rows
        acting = self._acting.setdefault(tuple(m.name for m in self.models), {})
        kept = []
        for row in rows:
            acts = acting.get(row[3])
            if acts is None:
                acts = acting[row[3]] = self._acts_on(row[3])
            if acts:
                kept.append(row)
        return kept

    def _acts_on(self, topic: str) -> bool:
        try:
            cls = resolve_topic(topic)
        except Exception:  # decoding it will say what is wrong
            return True
        return any(issubclass(cls, model.event_types or object) for model in self.models)

    def _project(self, rows: Sequence[EventRow]) -> None:
        decoder = self._decoding()
        facts = decoder.facts(self._acted_on(rows))
        behind = [(model, self.positions[model.name]) for model in self.models]
        with self.database.read() as cursor:
            # Lookups must see the tables as of our positions (one snapshot for the batch).
            stored: dict[str, int] = dict(
                cursor.execute(f"SELECT read_model, position FROM {TRACKING_TABLE}")
            )
            if any(int(stored.get(m.name, -1)) != p for m, p in behind):
                raise Conflict("another runner moved the read models since they were loaded")
            context = _Context(cursor, self._events(), decoder)
            if len({position for _, position in behind}) == 1:
                # Every model is at the same position (always, in a rebuild): no checks.
                projects = [model.project for model, _ in behind]
                for fact in facts:
                    for project in projects:
                        project(fact, context)
                return
            for fact in facts:
                for model, position in behind:
                    if fact.position > position:
                        model.project(fact, context)

    def _commit(self, last: int) -> None:
        """Positions first: a runner that lost the race finds out before writing any row."""
        behind = [model for model in self.models if self.positions[model.name] < last]
        with self.database.write() as cursor:
            for model in behind:
                old = self.positions[model.name]
                cursor.execute(
                    f"UPDATE {TRACKING_TABLE} SET position = ? "
                    "WHERE read_model = ? AND position = ?",
                    (last, model.name, old),
                )
                if cursor.rowcount() != 1:
                    raise Conflict(f"{model.name} was moved past {old} by another runner")
            for model in behind:
                model.write(cursor)
        for model in self.models:
            model.discard()
            self.positions[model.name] = max(self.positions[model.name], last)


class _Context:
    """Lookups a model may make while projecting (rare: reversals, state from before a restart)."""

    def __init__(self, cursor: Cursor, reader: EventReader, decoder: Decoder) -> None:
        self.cursor = cursor
        self._reader = reader
        self._acting: dict[tuple[str, ...], dict[str, bool]] = {}  # models -> topic -> acts?
        self._decoder = decoder

    def event(self, event_id: str) -> Any:
        originator, _, version_text = event_id.rpartition(".")
        row = self._reader.read_event(UUID(originator), int(version_text))
        if row is None:
            raise LookupError(f"event {event_id} is not in the store")
        return self._decoder.event(row)


def rebuild_workers(events: int) -> int:
    """2 when a core is idle and the log is long enough, else 1. A second process costs CPU of
    its own (it decodes the log again): on a busy machine (measured at load 8 on 2 cores) it
    made a rebuild slower, on an idle one it nearly halves it. Its start (about a second of
    imports) outweighs what it saves on a short log: 10 k events rebuilt at 9.2 k events/s in
    two processes on an idle machine, where one process had done 13.5 k."""
    if events < SECOND_PROCESS_EVENTS_MIN:
        return 1
    cores = os.cpu_count() or 1
    return 2 if cores > 1 and os.getloadavg()[0] <= cores - 1 else 1


def _location_of(database: Database) -> dict[str, str] | None:
    if isinstance(database, SQLiteDatabase):
        return {"path": database.path}
    if isinstance(database, PostgresDatabase):
        return {"conninfo": database.conninfo, "schema": database.schema}
    return None


def _lock_schema(cursor: Cursor) -> None:
    if cursor.dialect == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK_KEY,))


def _reset_model(cursor: Cursor, model: ReadModel, fingerprint: str) -> None:
    for table in model.tables:
        cursor.execute(f"DROP TABLE IF EXISTS {table.name}")
    cursor.execute(f"DELETE FROM {TRACKING_TABLE} WHERE read_model = ?", (model.name,))
    if fingerprint:
        cursor.execute(
            f"INSERT INTO {TRACKING_TABLE} (read_model, position, schema_fingerprint) "
            "VALUES (?, 0, ?)",
            (model.name, fingerprint),
        )
