"""Stored events into Facts, fast: how the read side reads and decodes the log.

Reading: the library's `select_notifications` builds a frozen `Notification` and a `UUID` per row
(through `sqlite3.Row` on SQLite), several times the cost of reading the row. `EventReader` reads
the same columns of the recorder's own table with the plain driver, in store order, when it can
tell the recorder is one of the library's SQLite or PostgreSQL recorders on the read models'
database; otherwise it asks the recorder.

Decoding: the library's mapper parses JSON with a Python object hook called for every JSON object
(~40 % of a rebuild). `Decoder` parses with orjson (json for what orjson refuses), without a
hook, and walks only the values that can hold a
tagged `{"_type_": ..., "_data_": ...}` value, decoding each with the transcoder's own registered
transcoding, and builds the event the way the mapper does (`object.__new__`, the state as
`__dict__`), so models see exactly the event the mapper would give them. Anything it does not
know to be equivalent goes through the mapper itself: a cipher or a compressor, a transcoder that
is not the library's JSON transcoder, an event class that upcasts (`class_version` > 1), or state
that carries a `class_version`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
import psycopg
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Notification,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic, resolve_topic

from projections.database import Database
from projections.model import Fact
from projections.movements import movement_of

# (position, originator id as stored, originator version, topic, state)
EventRow = tuple[int, str, int, str, bytes]
_SCALARS = frozenset((str, int, float, bool, type(None)))
# Originator ids decoded recently (funds recur on most events); bounded so memory stays flat.
_IDS_CACHED_MAX = 20_000


def decode_with_mapper(notification: Any, mapper: Any) -> Fact:
    """One stored notification as a Fact through the library's mapper (the reference path)."""
    event = mapper.to_domain_event(notification)
    originator_id = str(notification.originator_id)
    return _fact(notification.id, originator_id, notification.originator_version, event)


def _fact(position: int, originator_id: str, version: int, event: Any) -> Fact:
    return Fact(
        position,
        f"{originator_id}.{version}",
        originator_id,
        version,
        type(event).__qualname__,
        event,
        event.timestamp,
        getattr(event, "occurred_on", None),
        getattr(event, "actor", ""),
        movement_of(event, originator_id),
    )


class EventReader:
    """Stored events from a position on, in store order, as `EventRow`s."""

    def __init__(
        self,
        database: Database,
        recorder: Any,
        *,
        select_sql: str | None = None,
        event_sql: str | None = None,
    ) -> None:
        self._database = database
        self._recorder = recorder
        if select_sql is None and recorder is not None:
            select_sql, event_sql = _direct_sql(database, recorder)
        self.select_sql = select_sql
        self.event_sql = event_sql

    def read(self, start: int, limit: int) -> list[EventRow]:
        """Up to `limit` events with positions >= `start` (positions may have gaps)."""
        if self.select_sql is None:
            return [
                (n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
                for n in self._recorder.select_notifications(start, limit, inclusive_of_start=True)
            ]
        with self._database.read(snapshot=False) as cursor:
            return cursor.execute(self.select_sql, (start, limit))

    def read_event(self, originator_id: UUID, version: int) -> EventRow | None:
        """One stored event by its stream and version (None: not in the store)."""
        if self.event_sql is None:
            stored = self._recorder.select_events(originator_id, gt=version - 1, lte=version)
            if not stored:
                return None
            event = stored[0]
            return (0, str(originator_id), version, event.topic, event.state)
        key = originator_id.hex if self._database.dialect == "sqlite" else str(originator_id)
        with self._database.read(snapshot=False) as cursor:
            rows = cursor.execute(self.event_sql, (key, version))
        return rows[0] if rows else None


def _direct_sql(database: Database, recorder: Any) -> tuple[str | None, str | None]:
    """The recorder's own selects, when the read models' database is the recorder's."""
    columns = "originator_version, topic, state"
    if isinstance(recorder, SQLiteApplicationRecorder) and database.dialect == "sqlite":
        path = getattr(getattr(recorder.datastore, "pool", None), "db_name", "")
        if not path or os.path.realpath(path) != getattr(database, "path", None):
            return None, None
        table = recorder.events_table_name
        select = f"SELECT rowid, originator_id, {columns} FROM {table} "
        return (
            select + "WHERE rowid >= ? ORDER BY rowid LIMIT ?",
            select + "WHERE originator_id = ? AND originator_version = ?",
        )
    if isinstance(recorder, PostgresApplicationRecorder) and database.dialect == "postgresql":
        if not _same_postgres_database(database, recorder):
            return None, None
        table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
        select = f"SELECT notification_id, originator_id::text, {columns} FROM {table} "
        return (
            select + "WHERE notification_id >= ? ORDER BY notification_id LIMIT ?",
            select + "WHERE originator_id = ?::uuid AND originator_version = ?",
        )
    return None, None


def _same_postgres_database(database: Database, recorder: Any) -> bool:
    """Both connections land in the same database of the same server (asked, not guessed)."""
    sql = (
        "SELECT current_database(), inet_server_addr()::text, inet_server_port(), "
        "(SELECT system_identifier FROM pg_control_system())"
    )
    try:
        with database.read(snapshot=False) as cursor:
            ours = tuple(cursor.execute(sql)[0])
        with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
    except psycopg.Error:  # cannot tell (a proxy, a restricted role): read through the recorder
        return False
    theirs = tuple(row.values()) if isinstance(row, dict) else tuple(row)
    return ours == theirs


# The library's own transcodings decode with one C call; calling it directly saves a Python frame.
_LIBRARY_DECODERS: dict[type[Any], Callable[[str], Any]] = {
    UUIDAsHex: UUID,
    DecimalAsStr: Decimal,
    DatetimeAsISO: datetime.fromisoformat,
}


def _decodes_as_library_json(transcoder: object) -> bool:
    """The library's JSON transcoder, or a subclass that changed how it encodes only."""
    if not isinstance(transcoder, JSONTranscoder):
        return False
    kind = type(transcoder)
    decoder = transcoder.decoder
    return (
        kind.decode is JSONTranscoder.decode
        and kind._decode_obj is JSONTranscoder._decode_obj
        and type(decoder) is json.JSONDecoder
        and decoder.object_hook == transcoder._decode_obj
        and decoder.object_pairs_hook is None
        and decoder.parse_float is float
        and decoder.parse_int is int
    )


def _decoder_of(transcoding: Transcoding) -> Callable[[Any], Any]:
    return _LIBRARY_DECODERS.get(type(transcoding), transcoding.decode)


class Decoder:
    """Decodes `EventRow`s like `mapper.to_domain_event`, without its per-object hook."""

    def __init__(self, mapper: Any) -> None:
        self._mapper = mapper
        transcoder = getattr(mapper, "transcoder", None)
        self._fast = (
            _decodes_as_library_json(transcoder)
            and getattr(mapper, "cipher", None) is None
            and getattr(mapper, "compressor", None) is None
        )
        names: dict[str, Transcoding] = transcoder.names if self._fast else {}  # type: ignore[union-attr]
        self._names: dict[str, Callable[[Any], Any]] = {
            name: _decoder_of(t) for name, t in names.items()
        }
        self._classes: dict[str, type[Any] | None] = {}  # topic -> class (None: use the mapper)
        self._ids: dict[str, tuple[UUID, str]] = {}

    def transcoding_topics(self) -> list[str] | None:
        """The transcoder's transcodings as topics another process can make them again from
        (None: this decoder uses the mapper, or a transcoding needs constructor arguments)."""
        if not self._fast:
            return None
        topics = []
        transcoder: JSONTranscoder = self._mapper.transcoder
        for name, transcoding in transcoder.names.items():
            try:
                again = type(transcoding)()
            except TypeError:
                return None
            if again.name != name:
                return None
            topics.append(get_topic(type(transcoding)))
        return topics

    def facts(self, rows: Sequence[EventRow]) -> list[Fact]:
        return [self.fact(row) for row in rows]

    def fact(self, row: EventRow) -> Fact:
        ids = self._ids.get(row[1])
        if ids is None:
            ids = self._originator(row[1])
        return _fact(row[0], ids[1], row[2], self._decode(row, ids[0]))

    def event(self, row: EventRow) -> Any:
        """The domain event of a stored row (what the mapper would return)."""
        return self._decode(row, self._originator(row[1])[0])

    def _originator(self, stored_id: str) -> tuple[UUID, str]:
        if len(self._ids) >= _IDS_CACHED_MAX:
            self._ids.clear()
        uuid = UUID(stored_id)
        ids = self._ids[stored_id] = (uuid, str(uuid))
        return ids

    def _decode(self, row: EventRow, originator_id: UUID) -> Any:
        position, _, version, topic, state = row
        cls = self._classes[topic] if topic in self._classes else self._class(topic)
        event = None if cls is None else self._event(cls, originator_id, version, state)
        if event is None:
            event = self._mapper.to_domain_event(
                Notification(
                    id=position,
                    originator_id=originator_id,
                    originator_version=version,
                    topic=topic,
                    state=bytes(state),
                )
            )
        return event

    def _event(self, cls: type[Any], originator_id: UUID, version: int, stored: bytes) -> Any:
        try:
            state = orjson.loads(stored)
        except orjson.JSONDecodeError:  # what orjson refuses (NaN, huge integers), json reads
            state = json.loads(stored)
        if type(state) is not dict or "class_version" in state:
            return None
        names = self._names
        for key, value in state.items():
            if type(value) is dict:
                # Most objects in an event's state are a tagged value holding a string.
                if len(value) == 2:
                    data = value.get("_data_")
                    if type(data) is str:
                        decode = names.get(value.get("_type_"))  # type: ignore[arg-type]
                        if decode is not None:
                            state[key] = decode(data)
                            continue
                state[key] = self._revive(value)
            elif type(value) is list:
                state[key] = self._revive(value)
        state["originator_id"] = originator_id
        state["originator_version"] = version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def _class(self, topic: str) -> type[Any] | None:
        cls: type[Any] | None = resolve_topic(topic) if self._fast else None
        # Upcasting is the mapper's business (rare: keep one path for it).
        if cls is not None and getattr(cls, "class_version", 1) != 1:
            cls = None
        self._classes[topic] = cls
        return cls

    def _revive(self, value: Any) -> Any:
        """The transcoder's object hook, applied bottom-up as `json` applies it."""
        if type(value) is list:
            return [v if type(v) in _SCALARS else self._revive(v) for v in value]
        if type(value) is not dict:
            return value
        for key, item in value.items():
            if type(item) not in _SCALARS:
                value[key] = self._revive(item)
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            name = value["_type_"]
            try:
                decode = self._names[name]
            except KeyError:
                raise TranscodingNotRegisteredError(
                    f"Data serialized with name '{name}' is not deserializable. "
                    "Please register a custom transcoding for this type."
                ) from None
            return decode(value["_data_"])
        return value
