"""Tampering done directly in SQL is caught, and reported at the right position, on both stores."""

from __future__ import annotations

import pytest

from fundledger.application.ledger import FundLedger
from fundledger.audit.verify import Checkpoint, VerifyReport, verify_log
from tests.audit.scenario import RawStore, record_programme


@pytest.fixture
def store(ledger: FundLedger, database_url: str) -> RawStore:
    """The programme recorded in a fresh store, and raw SQL access to that store."""
    record_programme(ledger)
    return RawStore(database_url)


def checkpoint_of(report: VerifyReport) -> Checkpoint:
    assert report.ok, report.detail
    return Checkpoint(report.head_position, report.head_hash, report.events_checked, "then")


def middle(store: RawStore) -> int:
    positions = store.positions()
    return positions[len(positions) // 2]


def test_an_untouched_log_verifies(ledger: FundLedger, store: RawStore) -> None:
    """Every event is checked and the head is the last link the recorder wrote."""
    report = verify_log(ledger)
    positions = store.positions()
    last_link = store.sql("SELECT hash FROM event_chain ORDER BY position DESC LIMIT 1")[0][0]
    assert report.ok
    assert report.events_checked == len(positions)
    assert report.head_position == positions[-1]
    assert report.head_hash == bytes(last_link).hex()
    assert verify_log(ledger, checkpoint_of(report)).ok


def test_an_empty_log_verifies(ledger: FundLedger) -> None:
    """A store without events is intact, with the genesis head at position 0."""
    report = verify_log(ledger)
    assert (report.ok, report.events_checked, report.head_position) == (True, 0, 0)
    assert report.head_hash == "00" * 32


def test_a_flipped_byte_is_reported_as_an_edit_at_its_position(
    ledger: FundLedger, store: RawStore
) -> None:
    """One byte changed in one event's stored state breaks the chain exactly there."""
    position = middle(store)
    store.flip_byte(position)
    report = verify_log(ledger)
    assert (report.ok, report.problem, report.broken_position) == (False, "edited", position)
    assert report.head_position == store.positions()[store.positions().index(position) - 1]


def test_an_edited_link_is_reported_as_an_edit(ledger: FundLedger, store: RawStore) -> None:
    """Changing a stored link (not the event) is caught at that link's position."""
    position = middle(store)
    store.sql("UPDATE event_chain SET hash = ? WHERE position = ?", [bytes(32), position])
    report = verify_log(ledger)
    assert (report.problem, report.broken_position) == ("edited", position)


def test_a_deleted_event_with_its_link_is_reported_missing_after_the_gap(
    ledger: FundLedger, store: RawStore
) -> None:
    """Deleting an event and its link leaves the next link following nothing: caught there."""
    positions = store.positions()
    deleted = middle(store)
    store.delete(deleted)
    report = verify_log(ledger)
    following = positions[positions.index(deleted) + 1]
    assert (report.ok, report.problem, report.broken_position) == (False, "missing", following)
    assert str(positions[positions.index(deleted) - 1]) in report.detail


def test_a_deleted_event_whose_link_remains_is_reported_missing_at_its_position(
    ledger: FundLedger, store: RawStore
) -> None:
    """A link without its event names the event that is gone."""
    deleted = middle(store)
    store.delete(deleted, with_link=False)
    report = verify_log(ledger)
    assert (report.problem, report.broken_position) == ("missing", deleted)


def test_a_forged_event_without_a_link_is_reported_inserted(
    ledger: FundLedger, store: RawStore
) -> None:
    """An event written straight into the table has no link: caught at its position."""
    forged = store.insert_forged()
    report = verify_log(ledger)
    assert (report.problem, report.broken_position) == ("inserted", forged)


def test_a_forged_event_with_a_following_link_is_reported_inserted(
    ledger: FundLedger, store: RawStore
) -> None:
    """A forged event slipped in with a link of its own forks the chain: caught at the forgery."""
    position = middle(store)
    store.insert_forged_with_link(position)
    report = verify_log(ledger)
    assert (report.ok, report.problem, report.broken_position) == (False, "inserted", position)


def test_two_swapped_events_are_reported_reordered_at_the_first(
    ledger: FundLedger, store: RawStore
) -> None:
    """Exchanging two events' positions is caught where the first of them now sits."""
    positions = store.positions()
    first = middle(store)
    second = positions[positions.index(first) + 2]
    store.swap_events(first, second)
    report = verify_log(ledger)
    assert (report.problem, report.broken_position) == ("reordered", first)


def test_two_events_swapped_with_their_links_are_reported_reordered(
    ledger: FundLedger, store: RawStore
) -> None:
    """Moving events together with their links still shows: the position is in every link."""
    positions = store.positions()
    first = middle(store)
    store.swap_events(first, positions[positions.index(first) + 1], with_links=True)
    report = verify_log(ledger)
    assert (report.problem, report.broken_position) == ("reordered", first)


def test_a_truncated_tail_is_caught_only_with_a_checkpoint(
    ledger: FundLedger, store: RawStore
) -> None:
    """Cutting off the last events leaves a valid shorter chain; the checkpoint proves the loss."""
    checkpoint = checkpoint_of(verify_log(ledger))
    cut = middle(store)
    store.truncate(cut)
    assert verify_log(ledger).ok
    report = verify_log(ledger, checkpoint)
    assert (report.ok, report.problem, report.broken_position) == (False, "truncated", cut)


def test_a_consistently_rewritten_chain_is_caught_only_with_a_checkpoint(
    ledger: FundLedger, store: RawStore
) -> None:
    """Editing an event and recomputing every later link fools verify, but not a checkpoint."""
    checkpoint = checkpoint_of(verify_log(ledger))
    store.rewrite_from(middle(store))
    assert verify_log(ledger).ok
    report = verify_log(ledger, checkpoint)
    assert (report.ok, report.problem) == (False, "rewritten")
    assert report.broken_position == checkpoint.position


def test_a_checkpoint_still_holds_after_more_events(ledger: FundLedger, store: RawStore) -> None:
    """Events recorded after a checkpoint do not disturb what the checkpoint covered."""
    checkpoint = checkpoint_of(verify_log(ledger))
    record_programme(ledger, households=1)
    report = verify_log(ledger, checkpoint)
    assert report.ok
    assert report.head_position > checkpoint.position
    assert report.checkpoint_position == checkpoint.position
