"""The write path's shortcuts store exactly what the library's own path would: the same JSON
bytes, the same chain links, one transaction per command that is all or nothing."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.workload import Results, Workload
from fundledger.adapters.records import IdempotencyClaim, extend_chain
from fundledger.adapters.transcoding import LedgerJSONTranscoder
from fundledger.application import commands as c
from fundledger.application.ledger import DateAsISO, FundLedger
from fundledger.audit.chain import GENESIS_HASH, link_hash
from fundledger.audit.verify import verify_log
from fundledger.bootstrap import open_ledger
from fundledger.domain.money import Money
from tests.audit.scenario import record_programme

CLERK = c.CommandContext(actor="clerk")


def _library_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    Application.register_transcodings(None, transcoder)  # type: ignore[arg-type]
    transcoder.register(DateAsISO())
    return transcoder


def _fast_transcoder() -> LedgerJSONTranscoder:
    transcoder = LedgerJSONTranscoder()
    Application.register_transcodings(None, transcoder)  # type: ignore[arg-type]
    transcoder.register(DateAsISO())
    return transcoder


_zones = st.sampled_from([None, UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5))])
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.dates(),
    st.datetimes(timezones=_zones),
    st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400)
@given(st.dictionaries(st.text(), _values, max_size=8))
def test_the_fast_transcoder_writes_the_library_transcoders_bytes(state: dict[str, Any]) -> None:
    """Any event state (text, numbers, dates, datetimes, UUIDs, nesting) encodes identically."""
    assert _fast_transcoder().encode(state) == _library_transcoder().encode(state)


def test_the_fast_transcoder_refuses_what_the_library_refuses() -> None:
    """A type without a transcoding is refused by both, with the library's error."""
    with pytest.raises(TypeError):
        _library_transcoder().encode({"x": object()})
    with pytest.raises(TypeError):
        _fast_transcoder().encode({"x": object()})


def test_every_stored_event_is_what_the_library_would_have_stored(tmp_path: Path) -> None:
    """Each event of a realistic workload (every event type) is stored as the library's own
    mapper encodes it, and decodes back to an equal event."""
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    try:
        results = Results()
        for phase in Workload(3_000).phases():
            steps = phase(results)
            for start in range(0, len(steps), 500):
                chunk = steps[start : start + 500]
                recorded = ledger.execute_batch([command for _, command in chunk], CLERK)
                for (label, _), answer in zip(chunk, recorded, strict=True):
                    if label is not None:
                        results.ids[label] = answer.resource_id
                        if answer.event_ids:
                            results.ids[label + ":event"] = answer.event_ids[0]
        record_programme(ledger)
        library: Mapper[UUID] = Mapper(transcoder=_library_transcoder())
        stored = ledger.recorder.select_notifications(start=1, limit=1_000_000)
        topics = set()
        for notification in stored:
            as_stored = StoredEvent(
                notification.originator_id,
                notification.originator_version,
                notification.topic,
                notification.state,
            )
            event = ledger.mapper.to_domain_event(as_stored)
            assert library.to_stored_event(event).state == notification.state
            assert library.to_domain_event(as_stored) == event
            topics.add(notification.topic)
        assert len(topics) >= 14, topics
    finally:
        ledger.close()


_streams = st.sampled_from([UUID(int=n + 1) for n in range(3)])


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.one_of(_streams, _streams.map(str), _streams.map(lambda u: u.hex)),
            st.text(min_size=1, max_size=30),
            st.binary(max_size=60),
        ),
        min_size=1,
        max_size=8,
    ),
    st.binary(min_size=32, max_size=32),
)
def test_chain_links_are_the_audit_specs_links(
    events: list[tuple[UUID | str, str, bytes]], head: bytes
) -> None:
    """extend_chain's inlined hashing gives exactly audit.chain.link_hash for every link."""
    stored = [
        StoredEvent(originator_id, version, topic, state)
        for version, (originator_id, topic, state) in enumerate(events, start=1)
    ]
    positions = [7 * n + 3 for n in range(len(stored))]
    prev_hash = head
    for link, event, position in zip(
        extend_chain(head, positions, stored), stored, positions, strict=True
    ):
        expected = link_hash(
            prev_hash,
            position=position,
            topic=event.topic,
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            state=event.state,
        )
        assert (link.position, link.prev_hash, link.hash) == (position, prev_hash, expected)
        assert link.originator_id == str(event.originator_id)
        prev_hash = expected
    assert extend_chain(GENESIS_HASH, [], []) == []


def _rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as lite:
        return int(lite.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_the_sqlite_writer_keeps_the_librarys_durability(tmp_path: Path) -> None:
    """The writer connection commits with the same `synchronous` as the library's connections."""
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    try:
        ledger.execute(c.RegisterParty("Bureau", "government", date(2020, 1, 1)), CLERK)
        recorder: Any = ledger.recorder
        writer = recorder._writer._connection
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute("PRAGMA synchronous")
            pooled = int(cursor.fetchone()[0])
        assert int(writer.execute("PRAGMA synchronous").fetchone()[0]) == pooled
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        ledger.close()


def test_a_stale_write_is_an_integrity_error_and_stores_nothing(tmp_path: Path) -> None:
    """Saving at a stream version already taken fails whole: no event, link or idempotency row."""
    path = tmp_path / "ledger.sqlite"
    ledger: FundLedger = open_ledger(f"sqlite:///{path}")
    try:
        party = ledger.execute(c.RegisterParty("Bureau", "government", date(2020, 1, 1)), CLERK)
        counts = [_rows(path, t) for t in ("stored_events", "event_chain", "idempotency_keys")]
        (stored,) = ledger.recorder.select_events(UUID(party.resource_id))
        fresh = StoredEvent(UUID(int=99), 1, stored.topic, stored.state)
        claim = IdempotencyClaim("scope", "key", "fingerprint", 201, lambda _: "{}")
        with pytest.raises(IntegrityError):
            ledger.recorder.insert_events([fresh, stored], idempotency=claim)
        assert [_rows(path, t) for t in ("stored_events", "event_chain", "idempotency_keys")] == (
            counts
        )
        # The writer is usable again afterwards, and the chain still verifies.
        ledger.execute(c.RegisterParty("Cadre", "donor", date(2020, 1, 1)), CLERK)
        assert verify_log(ledger).ok
    finally:
        ledger.close()


def test_a_batch_prefetches_the_aggregates_its_cache_lacks_in_one_round(database_url: str) -> None:
    """A fresh process's batch loads the parties and funds it names together, not one by one,
    and decides exactly as the one-by-one loads would (both stores)."""
    url = database_url
    writer = open_ledger(url)
    day = date(2020, 1, 1)
    try:
        bureau = writer.execute(c.RegisterParty("Bureau", "government", day), CLERK).resource_id
        donors = [
            writer.execute(c.RegisterParty(f"Donor {n}", "donor", day), CLERK).resource_id
            for n in range(30)
        ]
        fund = writer.execute(
            c.OpenFund("Centre", "build", "6222", bureau, [], False, day), CLERK
        ).resource_id
    finally:
        writer.close()
    reader = open_ledger(url)  # another process: an empty cache
    loads: list[UUID] = []
    select_events = reader.recorder.select_events

    def counted(originator_id: UUID, **kwargs: Any) -> Any:
        loads.append(originator_id)
        return select_events(originator_id, **kwargs)

    try:
        reader.recorder.select_events = counted  # type: ignore[method-assign,assignment]
        gifts = [c.RecordDonation(fund, donor, Money.parse("10"), day) for donor in donors]
        reader.execute_batch(gifts, CLERK)
        assert loads == []
        assert reader.fund(fund).balance_fen == 30 * 1_000
        assert verify_log(reader).ok
    finally:
        reader.close()
