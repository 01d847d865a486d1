"""The working set of a batch: aggregates decided in memory, saved together in ONE transaction.

A bulk load (`fundledger import`, the bench) decides thousands of commands in a row. Loading each
fund from the store for every command and committing each one is what makes the one-by-one path
slow; in a batch each aggregate is loaded once, every later command of the batch sees the state
the earlier ones left, and one save writes all the events (with their audit-chain links) in
command order. A stale aggregate (another writer moved it meanwhile) fails the whole save with an
IntegrityError and the batch is decided again from fresh state, as a single command is.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from fundledger.application import commands as c
from fundledger.domain.base import LedgerEvent

AggregateT = TypeVar("AggregateT", bound=Aggregate)


@dataclass
class WorkingSet:
    """Every aggregate a batch touched, at its latest (not yet saved) state."""

    aggregates: dict[UUID, Aggregate] = field(default_factory=dict)
    # The version each aggregate had in the store before the batch (0: created in the batch).
    stored_versions: dict[UUID, int] = field(default_factory=dict)
    pending_event_ids: set[str] = field(default_factory=set)

    def loaded(self, aggregate: Aggregate) -> None:
        self.aggregates[aggregate.id] = aggregate
        self.stored_versions.setdefault(aggregate.id, aggregate.version)

    def changed(self, aggregate: Aggregate) -> list[LedgerEvent]:
        """Take the aggregate's new events (in the order they happened) into the batch."""
        self.aggregates[aggregate.id] = aggregate
        events: list[LedgerEvent] = list(aggregate.collect_events())  # type: ignore[arg-type]
        if events:
            self.stored_versions.setdefault(aggregate.id, events[0].originator_version - 1)
        return events


@dataclass
class PlannedCommand:
    """One decided command of a batch: what it answers with and how many events it wrote."""

    command: c.Command
    resource_id: str
    event_ids: tuple[str, ...]


_IMMUTABLE = (str, int, bool, float, type(None), UUID, date, datetime, Decimal)


def plain_copy(aggregate: AggregateT) -> AggregateT:
    """A private copy of a cached aggregate for one decision to change.

    Aggregate state is plain data (dicts with str keys, lists, str/int/bool, dates, UUIDs: the
    snapshot rule), so copying it is a walk over dicts and lists, several times faster than
    `copy.deepcopy` and its memo; anything else falls back to `deepcopy`.
    """
    copied = object.__new__(type(aggregate))
    state = {name: _copy_value(value) for name, value in vars(aggregate).items()}
    object.__setattr__(copied, "__dict__", state)
    return copied


def _copy_value(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _copy_value(item) for key, item in value.items()}
    if kind is list:
        return [_copy_value(item) for item in value]
    if isinstance(value, _IMMUTABLE):
        return value
    return deepcopy(value)


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply events in turn. The library's default projector checks each event against a
    runtime-checkable Protocol with isinstance, which costs more than applying the event."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
