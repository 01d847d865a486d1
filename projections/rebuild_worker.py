"""The second process of a parallel rebuild: `python -m projections.rebuild_worker JSON`.

A rebuild is CPU-bound Python; each read model keeps its own tracking row, so two processes can
each rebuild a share of the models from the same log, exactly once, and use two cores. The
parent (`ProjectionRunner.rebuild`) has already dropped and set up every model; this process
opens the same database, reads the log with the parent's SQL, decodes it with the parent's
transcodings (named by topic), and brings its share up to the parent's head.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.utils import resolve_topic

from projections.database import Database, PostgresDatabase, SQLiteDatabase
from projections.decoding import EventReader


@dataclass(frozen=True)
class Share:
    """What the parent tells the worker (all of it JSON)."""

    dialect: str
    location: dict[str, str]  # sqlite: path; postgresql: conninfo, schema
    select_sql: str
    event_sql: str
    transcodings: list[str]  # topics of the transcoder's transcodings (no-argument classes)
    models: list[str]
    head: int
    batch_size: int

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> Share:
        return cls(**json.loads(text))


class _Source:
    """The worker's event source: no recorder (events are read with SQL), a plain JSON mapper."""

    recorder: Any = None

    def __init__(self, transcodings: list[str]) -> None:
        transcoder = JSONTranscoder()
        for topic in transcodings:
            transcoder.register(resolve_topic(topic)())
        self.mapper: Mapper[Any] = Mapper(transcoder=transcoder)


def open_share_database(share: Share) -> Database:
    if share.dialect == "sqlite":
        return SQLiteDatabase(share.location["path"])
    return PostgresDatabase(share.location["conninfo"], share.location["schema"])


def run(share: Share) -> int:
    # Imported here: the runner starts this module, and read_models imports the runner.
    from projections.read_models import select_read_models  # noqa: PLC0415
    from projections.runner import ProjectionRunner  # noqa: PLC0415

    database = open_share_database(share)
    try:
        reader = EventReader(database, None, select_sql=share.select_sql, event_sql=share.event_sql)
        runner = ProjectionRunner(
            database,
            _Source(share.transcodings),
            select_read_models(share.models),
            batch_size=share.batch_size,
            reader=reader,
        )
        runner.reload()
        return runner.catch_up(head=share.head)
    finally:
        database.close()


def main(argv: list[str]) -> int:
    run(Share.from_json(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
