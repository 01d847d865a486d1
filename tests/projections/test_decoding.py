"""The read side's fast reading and decoding give what the library's recorder and mapper give."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import Mapper
from eventsourcing.utils import Environment

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.domain.fund import Voucher
from fundledger.domain.money import Money
from projections.database import Database, open_database
from projections.decoding import Decoder, EventReader, decode_with_mapper
from projections.read_models import open_runner
from projections.runner import SECOND_PROCESS_EVENTS_MIN, rebuild_workers
from tests.projections.helpers import CLERK, cattle_fund, dump


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.close()


def _every_kind_of_event(ledger: FundLedger) -> None:
    """The cattle fund (loans, a rollover) plus expenditures, matching, a reversal."""
    cattle = cattle_fund(ledger)
    fund, donor = cattle.fund, cattle.cadres
    on = date(2016, 2, 1)
    ledger.execute(c.PledgeMatchingGrant(fund, donor, Decimal("0.5"), Money(10_000), on), CLERK)
    donation = ledger.execute(c.RecordDonation(fund, donor, Money(5_000), on), CLERK)
    voucher = Voucher(number="V-1", date="2016-02-01", description="feed")
    ledger.execute(
        c.PayExpenditure(fund, cattle.bureau, Money(700), "livestock", voucher, on), CLERK
    )
    ledger.execute(c.ReverseEvent(donation.event_ids[0], "typo", on), CLERK)


def test_the_reader_and_decoder_give_what_the_recorder_and_mapper_give(
    ledger: FundLedger, database: Database
) -> None:
    """Every stored event, read with SQL and decoded without the mapper, is the mapper's Fact."""
    _every_kind_of_event(ledger)
    reader = EventReader(database, ledger.recorder)
    assert reader.select_sql is not None, "the library's recorder on the same database"
    decoder = Decoder(ledger.mapper)
    rows = reader.read(1, 10_000)
    notifications = ledger.recorder.select_notifications(1, 10_000)
    assert [row[0] for row in rows] == [n.id for n in notifications]
    for row, notification in zip(rows, notifications, strict=True):
        fact = decoder.fact(row)
        expected = decode_with_mapper(notification, ledger.mapper)
        assert fact == expected
        assert type(fact.event) is type(expected.event)
        assert fact.event.__dict__ == expected.event.__dict__
        original = reader.read_event(notification.originator_id, notification.originator_version)
        assert original is not None
        assert decoder.event(original).__dict__ == expected.event.__dict__


def test_a_compressed_or_enciphered_store_is_decoded_by_the_mapper(ledger: FundLedger) -> None:
    """With a compressor or a cipher the decoder hands the row to the mapper (same event)."""
    _every_kind_of_event(ledger)
    transcoder = ledger.mapper.transcoder
    mappers = [
        Mapper(transcoder=transcoder, compressor=ZlibCompressor()),
        Mapper(
            transcoder=transcoder,
            cipher=AESCipher(Environment(env={"CIPHER_KEY": AESCipher.create_key(16)})),
        ),
    ]
    events = [
        ledger.mapper.to_domain_event(n) for n in ledger.recorder.select_notifications(1, 500)
    ]
    for mapper in mappers:
        decoder = Decoder(mapper)
        assert decoder.transcoding_topics() is None, "no second process without the fast path"
        for position, event in enumerate(events, start=1):
            stored = mapper.to_stored_event(event)
            row = (position, stored.originator_id.hex, event.originator_version, stored.topic,
                   stored.state)  # fmt: skip
            assert decoder.event(row).__dict__ == event.__dict__


def test_a_rebuild_in_two_processes_equals_one_in_one(
    ledger: FundLedger, database: Database
) -> None:
    """The second process's share of the models ends exactly as one process builds it."""
    _every_kind_of_event(ledger)
    runner = open_runner(database, ledger, batch_size=50)
    share = runner.second_share(ledger.recorder.max_notification_id())
    assert share is not None, "this store can be rebuilt by two processes"
    assert runner.rebuild(workers=1) == ledger.recorder.max_notification_id()
    alone = dump(database)
    runner.rebuild(workers=2)
    assert dump(database) == alone
    assert runner.position() == ledger.recorder.max_notification_id()


def test_a_short_log_is_rebuilt_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second process pays about a second to start: never for a short log, even when idle."""
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert rebuild_workers(SECOND_PROCESS_EVENTS_MIN - 1) == 1
    assert rebuild_workers(SECOND_PROCESS_EVENTS_MIN) == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 1.5, 1.5))
    assert rebuild_workers(SECOND_PROCESS_EVENTS_MIN) == 1
