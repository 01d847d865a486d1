"""Property: any sequence of events recorded through the chain verifies; any single change fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from fundledger.adapters.records import extend_chain
from fundledger.audit.chain import GENESIS_HASH
from fundledger.audit.storage import EventRow, LinkRow, LogEntry
from fundledger.audit.verify import Checkpoint, VerifyReport, check_entries

STREAMS = [UUID(int=n + 1) for n in range(4)]
TOPICS = [
    "fundledger.domain.fund:Fund.DonationReceived",
    "fundledger.domain.party:Party.Registered",
]


@dataclass(frozen=True)
class Log:
    entries: list[LogEntry]

    def report(self, checkpoint: Checkpoint | None = None) -> VerifyReport:
        return check_entries(iter(self.entries), checkpoint)


@st.composite
def logs(draw: st.DrawFn) -> Log:
    """Events on a few streams, at increasing positions with gaps, chained by the recorder."""
    count = draw(st.integers(min_value=2, max_value=25))
    versions = dict.fromkeys(STREAMS, 0)
    stored: list[StoredEvent] = []
    for _ in range(count):
        stream = draw(st.sampled_from(STREAMS))
        versions[stream] += 1
        topic = draw(st.sampled_from(TOPICS))
        stored.append(StoredEvent(stream, versions[stream], topic, draw(st.binary(max_size=40))))
    gaps = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    positions = [sum(gaps[: n + 1]) for n in range(count)]
    entries: list[LogEntry] = []
    for link in extend_chain(GENESIS_HASH, positions, stored):
        event = stored[len(entries)]
        event_row: EventRow = (
            link.position,
            str(event.originator_id),
            event.originator_version,
            event.topic,
            event.state,
        )
        link_row: LinkRow = (
            link.position,
            link.originator_id,
            link.originator_version,
            link.prev_hash,
            link.hash,
        )
        entries.append((link.position, event_row, link_row))
    return Log(entries)


def _head(log: Log) -> Checkpoint:
    report = log.report()
    return Checkpoint(report.head_position, report.head_hash, report.events_checked, "then")


# Each mutation takes the entries and an index and returns the changed entries.
Mutation = Callable[[list[LogEntry], int], list[LogEntry]]


def flip_state_byte(entries: list[LogEntry], at: int) -> list[LogEntry]:
    position, event, link = entries[at]
    assert event is not None
    state = bytes([event[4][0] ^ 1, *event[4][1:]]) if event[4] else b"\x00"
    entries[at] = (position, (*event[:4], state), link)
    return entries


def change_topic(entries: list[LogEntry], at: int) -> list[LogEntry]:
    position, event, link = entries[at]
    assert event is not None
    entries[at] = (position, (*event[:3], event[3] + "x", event[4]), link)
    return entries


def flip_link_byte(entries: list[LogEntry], at: int) -> list[LogEntry]:
    position, event, link = entries[at]
    assert link is not None
    entries[at] = (position, event, (*link[:4], bytes([link[4][0] ^ 1]) + link[4][1:]))
    return entries


def delete_entry(entries: list[LogEntry], at: int) -> list[LogEntry]:
    del entries[at]
    return entries


def delete_event_only(entries: list[LogEntry], at: int) -> list[LogEntry]:
    position, _event, link = entries[at]
    entries[at] = (position, None, link)
    return entries


def delete_link_only(entries: list[LogEntry], at: int) -> list[LogEntry]:
    position, event, _link = entries[at]
    entries[at] = (position, event, None)
    return entries


def swap_with_next(entries: list[LogEntry], at: int) -> list[LogEntry]:
    """Event and link rows change places with the next ones (each keeps the other's position)."""
    if at + 1 >= len(entries):
        at -= 1
    (first, event_a, link_a), (second, event_b, link_b) = entries[at], entries[at + 1]
    assert event_a is not None
    assert event_b is not None
    assert link_a is not None
    assert link_b is not None
    entries[at] = (first, (first, *event_b[1:]), (first, *link_b[1:]))
    entries[at + 1] = (second, (second, *event_a[1:]), (second, *link_a[1:]))
    return entries


def swap_events_only(entries: list[LogEntry], at: int) -> list[LogEntry]:
    if at + 1 >= len(entries):
        at -= 1
    (first, event_a, link_a), (second, event_b, link_b) = entries[at], entries[at + 1]
    assert event_a is not None
    assert event_b is not None
    entries[at] = (first, (first, *event_b[1:]), link_a)
    entries[at + 1] = (second, (second, *event_a[1:]), link_b)
    return entries


def append_unlinked(entries: list[LogEntry], at: int) -> list[LogEntry]:
    position = entries[-1][0] + 1
    entries.append((position, (position, str(STREAMS[0]), 99, TOPICS[0], b"{}"), None))
    return entries


def truncate(entries: list[LogEntry], at: int) -> list[LogEntry]:
    return entries[: max(at, 1)]


MUTATIONS: list[Mutation] = [
    flip_state_byte,
    change_topic,
    flip_link_byte,
    delete_entry,
    delete_event_only,
    delete_link_only,
    swap_with_next,
    swap_events_only,
    append_unlinked,
    truncate,
]


@settings(max_examples=60, deadline=None)
@given(logs())
def test_an_untouched_log_verifies(log: Log) -> None:
    """Whatever was recorded through the chain verifies, alone and against its own head."""
    report = log.report()
    assert report.ok
    assert report.events_checked == len(log.entries)
    assert log.report(_head(log)).ok


@settings(max_examples=300, deadline=None)
@given(logs(), st.sampled_from(MUTATIONS), st.data())
def test_any_single_mutation_fails_against_a_checkpoint(
    log: Log, mutation: Mutation, data: st.DataObject
) -> None:
    """Any one change to events or links, held against a checkpoint of the head, is caught."""
    checkpoint = _head(log)
    at = data.draw(st.integers(min_value=0, max_value=len(log.entries) - 1))
    mutated = Log(mutation(list(log.entries), at))
    report = mutated.report(checkpoint)
    assert not report.ok
    assert report.problem is not None
    assert report.broken_position is not None


@settings(max_examples=200, deadline=None)
@given(logs(), st.data())
def test_an_edit_is_reported_at_its_own_position(log: Log, data: st.DataObject) -> None:
    """Without any checkpoint, a changed event is caught exactly where it sits."""
    at = data.draw(st.integers(min_value=0, max_value=len(log.entries) - 1))
    mutated = Log(flip_state_byte(list(log.entries), at))
    report = mutated.report()
    assert (report.problem, report.broken_position) == ("edited", log.entries[at][0])
    assert report.events_checked == at
