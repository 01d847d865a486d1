"""One storage test class, run on SQLite and on PostgreSQL (the `ledger` fixture's two params)."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger
from fundledger.domain.access import hash_api_key, new_api_key
from fundledger.domain.errors import IdempotencyKeyReused
from fundledger.domain.fund import Fund, SharePlan
from fundledger.domain.money import Money
from tests.core import racer
from tests.core.books import ON, Books

ROUNDS = 4


def reloaded(database_url: str) -> FundLedger:
    """A second application on the same store with no aggregate cache: it reads the store."""
    fresh = open_ledger(database_url, create_tables=False)
    fresh.repository.cache = None
    return fresh


def state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def busy_fund(books: Books) -> tuple[str, str, list[str]]:
    """A fund whose state uses every field (shares, matching, cohorts, reversals, in kind).

    Returns the fund, a member (party) and the loans.
    """
    plan = SharePlan(share_price_fen=100_000, shares_min=1, shares_max=20)
    fund = books.fund(revolving=True, share_plan=plan)
    member = books.party("household")
    books.run(c.SubscribeShares(fund, member, 3, ON))
    books.pledge(fund, "0.5", "100")
    donation = books.donate(fund, "5000")
    books.give_in_kind(fund, "250")
    loans = [books.lend(fund, "1100", cohort) for cohort in ("1", "1", "2")]
    books.repay(loans[0], "100")
    books.roll_over(fund, "0.5")
    books.reverse(donation.event_ids[0])
    books.spend(fund, "10.50")
    return fund, member, loans


def api_key(books: Books, fund: str) -> str:
    """An API key limited to `fund` (the fourth aggregate type)."""
    key_hash = hash_api_key(new_api_key())
    return books.run(c.IssueApiKey(key_hash, "supervisor", "auditor Li", [fund], ON)).resource_id


class TestStorage:
    """What must hold of the event store, on each kind of store."""

    def test_every_aggregate_reloads_identically(
        self, ledger: FundLedger, database_url: str
    ) -> None:
        """Parties, funds, loans and API keys read back from a fresh application equal the live."""
        books = Books(ledger)
        fund, member, loans = busy_fund(books)
        key = api_key(books, fund)
        fresh = reloaded(database_url)
        try:
            assert state(fresh.fund(fund)) == state(ledger.fund(fund))
            assert state(fresh.party(member)) == state(ledger.party(member))
            for loan in loans:
                assert state(fresh.loan(loan)) == state(ledger.loan(loan))
            live_key: Any = ledger.repository.get(UUID(key))
            assert state(fresh.repository.get(UUID(key))) == state(live_key)
        finally:
            fresh.close()

    def test_snapshots_of_every_aggregate_type_round_trip(
        self, ledger: FundLedger, database_url: str
    ) -> None:
        """A snapshot of a fund, a party, a loan and an API key reloads to the same state."""
        books = Books(ledger)
        fund, member, loans = busy_fund(books)
        aggregate_ids = (fund, member, *loans, api_key(books, fund))
        for aggregate_id in aggregate_ids:
            ledger.take_snapshot(UUID(aggregate_id))
        fresh = reloaded(database_url)
        try:
            for aggregate_id in aggregate_ids:
                snapshots = list(fresh.snapshots.get(UUID(aggregate_id))) if fresh.snapshots else []
                assert snapshots, f"no snapshot of {aggregate_id}"
                live: Any = ledger.repository.get(UUID(aggregate_id))
                assert state(fresh.repository.get(UUID(aggregate_id))) == state(live)
            assert isinstance(fresh.loan(loans[0]).due_on, date)
        finally:
            fresh.close()

    def test_a_fund_past_100_events_is_snapshotted_and_reloads_identically(
        self, ledger: FundLedger, database_url: str
    ) -> None:
        """Fund snapshots every 100 events; the reloaded fund equals the live one after 120."""
        books = Books(ledger)
        fund, _, _ = busy_fund(books)
        donor = books.party("donor")
        while ledger.fund(fund).version < 120:
            books.donate(fund, "1.01", donor)
        fresh = reloaded(database_url)
        try:
            assert fresh.snapshots is not None
            versions = [s.originator_version for s in fresh.snapshots.get(UUID(fund))]
            assert 100 in versions
            assert state(fresh.fund(fund)) == state(ledger.fund(fund))
        finally:
            fresh.close()

    def test_two_threads_racing_to_overdraw_never_both_succeed(
        self, ledger: FundLedger, database_url: str
    ) -> None:
        """Two writers (own applications, threads) each spend 60 of 100: exactly one wins."""
        fund_ids, payee = _race_funds(Books(ledger))
        barrier = threading.Barrier(2)
        results: list[list[str]] = []

        def writer() -> None:
            results.append(racer.spend_from_each(database_url, fund_ids, payee, "60", barrier))

        threads = [threading.Thread(target=writer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        _assert_one_winner_per_fund(ledger, fund_ids, results)

    def test_two_threads_sharing_one_application_never_both_overdraw(
        self, ledger: FundLedger
    ) -> None:
        """Two threads on the same application and cache race too: exactly one wins each fund."""
        fund_ids, payee = _race_funds(Books(ledger))
        barrier = threading.Barrier(2)
        results: list[list[str]] = [[], []]

        def writer(index: int) -> None:
            for fund_id in fund_ids:
                barrier.wait()
                command = c.PayExpenditure(
                    fund_id, payee, Money.parse("60"), "construction", racer.VOUCHER, ON
                )
                try:
                    ledger.execute(command, c.CommandContext(actor="racer"))
                    results[index].append(racer.WON)
                except Exception as error:  # the outcome is what is asserted
                    results[index].append(type(error).__name__)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        _assert_one_winner_per_fund(ledger, fund_ids, results, refused="InsufficientFunds")

    def test_two_processes_racing_to_overdraw_never_both_succeed(
        self, ledger: FundLedger, database_url: str
    ) -> None:
        """Two processes, each with its own application on the store: exactly one wins."""
        fund_ids, payee = _race_funds(Books(ledger))
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(2)
        queue = context.Queue()
        processes = [
            context.Process(
                target=racer.spend_in_process,
                args=((database_url, fund_ids, payee, "60"), barrier, queue),
            )
            for _ in range(2)
        ]
        for process in processes:
            process.start()
        results = [queue.get(timeout=120) for _ in processes]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        _assert_one_winner_per_fund(ledger, fund_ids, results)

    def test_an_idempotency_key_replays_and_is_never_recorded_twice(
        self, ledger: FundLedger
    ) -> None:
        """Same key and fingerprint replays the first answer; another fingerprint is refused."""
        books = Books(ledger)
        fund, donor = books.fund(), books.party("donor")
        command = c.RecordDonation(fund, donor, Money.parse("100"), ON)
        first = ledger.execute(command, _keyed("key-1", "fingerprint-a"))
        position = books.position()
        again = ledger.execute(command, _keyed("key-1", "fingerprint-a"))
        assert again.is_replay
        assert again.replay_status_code == 201
        assert again.replay_body == f"{first.resource_id} {','.join(first.event_ids)}"
        with pytest.raises(IdempotencyKeyReused):
            ledger.execute(command, _keyed("key-1", "fingerprint-b"))
        assert books.position() == position
        assert books.balance_fen(fund) == 10_000
        other_scope = c.IdempotencyRequest("other", "key-1", "fingerprint-b", 201, _render)
        ledger.execute(command, c.CommandContext("clerk", other_scope))
        assert books.balance_fen(fund) == 20_000

    def test_racing_requests_with_one_idempotency_key_record_once(self, ledger: FundLedger) -> None:
        """Two threads sending the same keyed donation at once record it once."""
        books = Books(ledger)
        fund, donor = books.fund(), books.party("donor")
        command = c.RecordDonation(fund, donor, Money.parse("100"), ON)
        barrier = threading.Barrier(2)
        answers: list[c.Recorded] = []

        def send() -> None:
            barrier.wait()
            answers.append(ledger.execute(command, _keyed("race-key", "same")))

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(answers) == 2
        assert sum(answer.is_replay for answer in answers) == 1
        assert books.balance_fen(fund) == 10_000

    def test_every_event_records_actor_and_business_date_apart_from_recorded_time(
        self, ledger: FundLedger
    ) -> None:
        """Each stored event carries the actor and occurred_on; its timestamp is the record time."""
        books = Books(ledger)
        started = datetime.now(UTC)
        busy_fund(books)
        events = books.stored_events()
        assert events
        for event in events:
            assert event.actor == "clerk"
            assert event.occurred_on in (ON, date(2015, 12, 31))
            assert event.timestamp >= started

    def test_positions_are_the_store_order(self, ledger: FundLedger) -> None:
        """A command answers with the store position of its last event; later is higher."""
        books = Books(ledger)
        fund = books.fund()
        first = books.donate(fund, "1")
        second = books.donate(fund, "1")
        assert first.position < second.position == books.position()
        notifications = ledger.recorder.select_notifications(first.position, 1)
        event = ledger.mapper.to_domain_event(notifications[0])
        assert isinstance(event, Fund.DonationReceived)


def _keyed(key: str, fingerprint: str) -> c.CommandContext:
    return c.CommandContext("clerk", c.IdempotencyRequest("tests", key, fingerprint, 201, _render))


def _render(recorded: c.Recorded) -> str:
    return f"{recorded.resource_id} {','.join(recorded.event_ids)}"


def _race_funds(books: Books) -> tuple[list[str], str]:
    """ROUNDS funds holding 100.00 each, and a payee."""
    fund_ids = [books.fund() for _ in range(ROUNDS)]
    for fund_id in fund_ids:
        books.donate(fund_id, "100")
    return fund_ids, books.party("vendor")


def _assert_one_winner_per_fund(
    ledger: FundLedger,
    fund_ids: list[str],
    results: list[list[str]],
    refused: str = racer.REFUSED,
) -> None:
    assert len(results) == 2
    for round_index, outcomes in enumerate(zip(*results, strict=True)):
        assert sorted(outcomes) == sorted([racer.WON, refused]), f"round {round_index}"
    for fund_id in fund_ids:
        stored = list(ledger.events.get(UUID(fund_id)))
        assert sum(isinstance(event, Fund.ExpenditurePaid) for event in stored) == 1
        assert ledger.fund(fund_id).balance_fen == 4_000
