"""What every read model is: tables it owns, and a pure-ish event -> rows step batched per commit.

The runner hands each stored event to `project` as a `Fact`; a model turns it into pending rows
(and updates the small per-entity state it keeps in memory, e.g. a fund's mix of sources).
`write` puts the pending rows into the open transaction, which also moves the model's tracking
position; `discard` throws pending work away after a failed commit, and `load` re-reads the
in-memory state from the model's own tables (at start and after a failure).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Protocol

from projections.database import Cursor
from projections.movements import Movement


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which was a tenth
# of a rebuild (one Fact per stored event). Nothing changes a Fact after it is made.
@dataclass(slots=True)
class Fact:
    """One stored event as the read side sees it: its store position and its decoded event."""

    position: int
    event_id: str  # "<originator uuid>.<version>"
    originator_id: str
    originator_version: int
    type: str  # e.g. "Fund.DonationReceived"
    event: Any
    recorded_at: datetime
    occurred_on: date | None
    actor: str
    movement: Movement | None  # what a fund event does to the fund's cash (None: not money)


class Context(Protocol):
    """What a model may consult while projecting: its tables (as committed) and the event log."""

    cursor: Cursor

    def event(self, event_id: str) -> Any:
        """The decoded event with this id (a reversal's original, say), read from the store."""


@dataclass(frozen=True)
class Table:
    """A table a read model owns. Column types: TEXT, INT (64-bit); the dialect maps them."""

    name: str
    columns: str  # "fund_id TEXT NOT NULL, net_fen INT NOT NULL, PRIMARY KEY (fund_id)"
    indexes: tuple[str, ...] = ()  # "(fund_id, occurred_on, position)"
    # SQLite: keep the rows in the primary key's b-tree (one insert per row, not two).
    clustered: bool = False

    def create_statements(self, dialect: str) -> list[str]:
        integer = "BIGINT" if dialect == "postgresql" else "INTEGER"
        columns = self.columns.replace(" INT", f" {integer}")
        clustered = " WITHOUT ROWID" if self.clustered and dialect == "sqlite" else ""
        statements = [f"CREATE TABLE IF NOT EXISTS {self.name} ({columns}){clustered}"]
        for number, index in enumerate(self.indexes):
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {self.name}_ix{number} ON {self.name} {index}"
            )
        return statements


class ReadModel(ABC):
    """Base of every read model; see docs/projections.md for how to add one."""

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    # The event classes `project` can act on (None: every event). The runner does not even
    # decode an event that no model of its share acts on; the event still advances positions.
    event_types: ClassVar[tuple[type[Any], ...] | None] = None

    @classmethod
    def schema_fingerprint(cls) -> str:
        """Changes whenever the tables change: the runner then rebuilds this model alone."""
        text = "|".join(f"{t.name}:{t.columns}:{t.indexes}:{t.clustered}" for t in cls.tables)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def load(self, cursor: Cursor) -> None:  # noqa: B027 - stateless models keep nothing
        """Re-read the in-memory state this model keeps between batches from its tables."""

    @abstractmethod
    def project(self, fact: Fact, context: Context) -> None:
        """Turn one event into pending rows (events the model ignores are simply skipped)."""

    @abstractmethod
    def write(self, cursor: Cursor) -> None:
        """Write the pending rows inside the batch's transaction."""

    @abstractmethod
    def discard(self) -> None:
        """Forget pending rows (after `write` committed, or after it failed: `load` follows)."""
