"""The ledger application: runs commands against the event store.

Each command is decided against freshly loaded aggregates and saved in ONE transaction (every
event, its audit-chain link and the idempotency record). A stale write (another writer saved the
same fund first) is an IntegrityError: reload and decide again, so two racing spends can never
both pass the "no fund below zero" rule.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID, uuid4

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Transcoder,
    Transcoding,
)

from fundledger.adapters.records import IdempotencyClaim, StoredResponse
from fundledger.adapters.transcoding import LedgerJSONTranscoder
from fundledger.application import commands as c
from fundledger.application.batch import PlannedCommand, WorkingSet, plain_copy, replay
from fundledger.domain.access import ApiKey, UnknownApiKey
from fundledger.domain.base import LedgerEvent, event_id_of, parse_event_id, require_text
from fundledger.domain.errors import (
    ConcurrentUpdate,
    DomainError,
    IdempotencyKeyReused,
    InvalidInput,
    NotReversible,
    UnknownEvent,
    UnknownFund,
    UnknownLoan,
    UnknownParty,
)
from fundledger.domain.fund import Fund, RolloverLine
from fundledger.domain.loan import Loan
from fundledger.domain.money import scale_fen
from fundledger.domain.party import Party

log = structlog.get_logger(__name__)

# A command that loses the optimistic-concurrency race this often in a row, or for this long,
# gives up (409). In-process racers queue on a stream lock, so only other processes race here.
ATTEMPTS_MAX = 100
ATTEMPTS_DURATION_S_MAX = 10.0
# Commands naming the same fund (or loan, or event stream) queue on one of these stripes.
STREAM_LOCK_STRIPES = 64
_STREAM_FIELDS = ("fund", "from_fund", "to_fund", "loan", "event_id")
AggregateT = TypeVar("AggregateT", bound=Aggregate)
# Aggregates a ledger caches; and a batch's prefetch asks for this many streams a query (under
# SQLite's limit of bound parameters).
CACHE_SIZE = 10_000
PREFETCH_CHUNK = 2_000
# Command fields that name an aggregate (read by a batch's prefetch).
_AGGREGATE_FIELDS = (
    "fund",
    "from_fund",
    "to_fund",
    "loan",
    "donor",
    "payee",
    "member",
    "custodian",
    "borrower",
    "grantor",
    "key_id",
)
# Parsed aggregate ids kept (each ~100 bytes): the working set of a busy ledger.
UUID_CACHE_SIZE = 16_384


@functools.lru_cache(maxsize=UUID_CACHE_SIZE)
def _parse_uuid(text: str) -> UUID:
    """Ids arrive as text in every command; parsing one is slow (UUID.__init__) and a busy
    fund's id is parsed over and over. UUIDs are immutable, so sharing them is safe."""
    return UUID(text)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class _DecidedOnCache(Exception):
    """A rule seemed broken on cached state: decide again on fresh state before saying so."""


@dataclass
class Decision:
    """The aggregates a command changed and the resource it answers with."""

    aggregates: Sequence[Aggregate]
    resource_id: str


class FundLedger(Application[UUID]):
    name = "FundLedger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Fund: 100}
    snapshotting_projectors: ClassVar[dict[type[Any], Any]] = {Fund: replay}
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": str(CACHE_SIZE),
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # What one decision sees (a batch's working set, whether to trust the cache) belongs to
        # the thread deciding it: the API decides on many threads at once.
        self._scope = threading.local()
        self._stream_locks = tuple(threading.Lock() for _ in range(STREAM_LOCK_STRIPES))
        self._deciders: dict[type[Any], Callable[[Any, str], Decision]] = {
            c.RegisterParty: self._register_party,
            c.OpenFund: self._open_fund,
            c.HandOverCustody: self._hand_over_custody,
            c.RecordDonation: self._record_donation,
            c.AllocateFunds: self._allocate,
            c.PledgeMatchingGrant: self._pledge_matching,
            c.DisburseLoan: self._disburse_loan,
            c.RecordRepayment: self._record_repayment,
            c.RollOverCohort: self._roll_over_cohort,
            c.PayExpenditure: self._pay_expenditure,
            c.SubscribeShares: self._subscribe_shares,
            c.RecordBankStatement: self._record_bank_statement,
            c.ReverseEvent: self._reverse,
            c.IssueApiKey: self._issue_api_key,
            c.RevokeApiKey: self._revoke_api_key,
        }

    def construct_transcoder(self) -> Transcoder:
        # The library's JSON, byte for byte, with less work per event (see the module).
        transcoder = LedgerJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # ---- running a command ---------------------------------------------------------------------

    def execute(self, command: c.Command, context: c.CommandContext) -> c.Recorded:
        """Decide and save one command; replay the stored answer for a repeated Idempotency-Key."""
        decide = self._deciders[type(command)]
        request = context.idempotency
        actor = require_text(context.actor, "actor")
        if request is not None and (replay := self._replay(request)) is not None:
            return replay
        held: list[threading.Lock] = []
        try:
            for lock in self._locks_of(command):
                lock.acquire()
                held.append(lock)
            return self._execute_held(command, decide, actor, request)
        finally:
            for lock in reversed(held):
                lock.release()

    def _locks_of(self, command: c.Command) -> list[threading.Lock]:
        """The stream locks a command queues on, always taken in one order (no deadlock).

        Threads of one process racing on one fund would otherwise keep beating each other to
        the store and a loser could give up while money remains; queued, they take turns.
        """
        keys = {
            str(value).partition(".")[0]
            for name in _STREAM_FIELDS
            if (value := getattr(command, name, None))
        }
        stripes = sorted({zlib.crc32(key.encode()) % STREAM_LOCK_STRIPES for key in keys})
        return [self._stream_locks[stripe] for stripe in stripes]

    def _execute_held(
        self,
        command: c.Command,
        decide: Callable[[Any, str], Decision],
        actor: str,
        request: c.IdempotencyRequest | None,
    ) -> c.Recorded:
        deadline = time.monotonic() + ATTEMPTS_DURATION_S_MAX
        for attempt in range(ATTEMPTS_MAX):
            if attempt and time.monotonic() > deadline:
                break
            try:
                decision = self._decide(decide, command, actor, trust_cache=attempt == 0)
            except _DecidedOnCache:
                continue
            working = WorkingSet()
            events = [e for a in decision.aggregates for e in working.changed(a)]
            event_ids = tuple(event_id_of(e.originator_id, e.originator_version) for e in events)
            claim = self._claim(request, decision.resource_id, event_ids)
            try:
                positions = self._save_events(events, working, idempotency=claim)
            except IntegrityError:
                # Either another writer moved one of our streams, or the same Idempotency-Key
                # was recorded by a concurrent request: replay that one, or decide again.
                if request is not None and (replay := self._replay(request)) is not None:
                    return replay
                log.debug("command.retry", command=type(command).__name__)
                continue
            return c.Recorded(decision.resource_id, event_ids, max(positions))
        raise ConcurrentUpdate(
            f"{type(command).__name__} kept losing the race to concurrent writers "
            f"({ATTEMPTS_MAX} tries or {ATTEMPTS_DURATION_S_MAX:.0f} s)"
        )

    def execute_batch(
        self, commands: Sequence[c.Command], context: c.CommandContext
    ) -> list[c.Recorded]:
        """Decide every command in turn and save all their events in ONE transaction.

        All or nothing: a command that breaks a rule raises its error (with a note saying which
        command of the batch) and nothing is recorded. Events are stored in command order, each
        with its audit-chain link, in the same transaction. With an Idempotency-Key the whole
        batch is claimed once: a repeated (or racing) batch returns the one replayed answer.
        """
        request = context.idempotency
        actor = require_text(context.actor, "actor")
        if request is not None and (replay := self._replay(request)) is not None:
            return [replay]
        self._prefetch(commands)
        for attempt in range(ATTEMPTS_MAX):
            working = WorkingSet()
            self._scope.working_set = working
            self._scope.trust_cache = attempt == 0
            try:
                planned, events = self._decide_batch(commands, actor, working)
            except DomainError:
                if attempt == 0:
                    continue  # perhaps decided on a stale cache: decide again from the store
                raise
            finally:
                self._scope.working_set = None
                self._scope.trust_cache = False
            all_event_ids = tuple(event_id for plan in planned for event_id in plan.event_ids)
            claim = self._claim(request, "", all_event_ids)
            try:
                positions = self._save_events(events, working, idempotency=claim)
            except IntegrityError:
                if request is not None and (replay := self._replay(request)) is not None:
                    return [replay]
                log.debug("batch.retry", commands=len(commands))
                continue
            return _recorded_batch(planned, positions)
        raise ConcurrentUpdate(f"a batch lost the race to concurrent writers {ATTEMPTS_MAX} times")

    def _prefetch(self, commands: Sequence[c.Command]) -> None:
        """Load into the cache, in one round, the aggregates a batch names that it lacks.

        A bulk load names more parties and loans than the cache holds; each miss would be two
        queries. Only what a recorder can fetch in bulk (streams without snapshots: parties,
        loans, young funds) is prefetched; the rest loads as before. What the store returns is
        at least as fresh as any cached state, and a stale one still fails its save.
        """
        cache = self.repository.cache
        select = getattr(self.recorder, "select_unsnapshotted_streams", None)
        if cache is None or select is None:
            return
        named: dict[UUID, None] = {}
        for command in commands:
            for name in _AGGREGATE_FIELDS:
                value = getattr(command, name, None)
                if isinstance(value, str):
                    with contextlib.suppress(ValueError):
                        named[_parse_uuid(value)] = None
        # At most half the cache, so the prefetch does not evict what it just loaded.
        missing = [key for key in named if key not in cache.cache][: CACHE_SIZE // 2]
        snapshots = getattr(self.snapshots, "recorder", None)
        snapshots_table = getattr(snapshots, "events_table_name", None)
        to_domain_event = self.mapper.to_domain_event
        for start in range(0, len(missing), PREFETCH_CHUNK):
            streams = select(missing[start : start + PREFETCH_CHUNK], snapshots_table)
            for aggregate_id, stored_events in streams.items():
                aggregate = replay(None, map(to_domain_event, stored_events))
                if aggregate is not None:
                    cache.put(aggregate_id, aggregate)

    def _decide_batch(
        self, commands: Sequence[c.Command], actor: str, working: WorkingSet
    ) -> tuple[list[PlannedCommand], list[LedgerEvent]]:
        planned: list[PlannedCommand] = []
        events: list[LedgerEvent] = []
        for index, command in enumerate(commands):
            try:
                decision = self._deciders[type(command)](command, actor)
            except Exception as error:
                error.add_note(f"command {index} of the batch: {type(command).__name__}")
                raise
            new_events = [e for a in decision.aggregates for e in working.changed(a)]
            event_ids = tuple(
                event_id_of(e.originator_id, e.originator_version) for e in new_events
            )
            working.pending_event_ids.update(event_ids)
            planned.append(PlannedCommand(command, decision.resource_id, event_ids))
            events.extend(new_events)
        return planned, events

    def _decide(
        self,
        decide: Callable[[Any, str], Decision],
        command: c.Command,
        actor: str,
        *,
        trust_cache: bool,
    ) -> Decision:
        """Decide on cached aggregates first (as this process last saved them), else fresh ones.

        A cached aggregate can be stale when another process wrote since. Saving then fails
        (the stream version moved: IntegrityError) and the command is decided again from the
        store; a rule the stale state seemed to break is checked again from the store too. This
        holds because every aggregate a decider reads is also changed by it, or never changes
        (parties): a decider that reads a changing aggregate without changing it must not
        trust the cache.
        """
        self._scope.trust_cache = trust_cache
        self._scope.used_cache = False
        try:
            return decide(command, actor)
        except DomainError as error:
            if self._scope.used_cache:
                raise _DecidedOnCache from error
            raise
        finally:
            self._scope.trust_cache = False

    def _save_events(
        self, events: Sequence[LedgerEvent], working: WorkingSet, **kwargs: Any
    ) -> list[int]:
        """Store the decided events in ONE transaction, snapshot, and cache what was saved.

        Returns the events' store positions, in order. Application.save() does the same but
        checks every event and aggregate against runtime-checkable Protocols and wraps every
        stored event in Recording and Notification objects that nothing here reads (nothing
        overrides `_notify`), which together cost more than the insert.
        """
        to_stored_event = self.mapper.to_stored_event
        stored_events = [to_stored_event(event) for event in events]
        try:
            positions = self.recorder.insert_events(stored_events, **kwargs)
        except IntegrityError:
            self._forget(working)
            raise
        assert positions is not None, "the application recorder returns positions"
        assert len(positions) == len(stored_events), "every event has its position"
        self._snapshot_changed(working)
        cache = self.repository.cache
        if cache is not None:
            for aggregate_id, aggregate in working.aggregates.items():
                cache.put(aggregate_id, aggregate)
        return list(positions)

    def _forget(self, working: WorkingSet) -> None:
        cache = self.repository.cache
        if cache is not None:
            for aggregate_id in working.aggregates:
                with contextlib.suppress(KeyError):
                    cache.get(aggregate_id, evict=True)

    def _snapshot_changed(self, working: WorkingSet) -> None:
        """Snapshot, from memory, each aggregate whose stream crossed its snapshot interval."""
        try:
            for aggregate_id, aggregate in working.aggregates.items():
                interval = self.snapshotting_intervals.get(type(aggregate))
                stored = working.stored_versions.get(aggregate_id, aggregate.version)
                if interval is None or aggregate.version // interval == stored // interval:
                    continue
                snapshot_class = getattr(type(aggregate), "Snapshot", None)
                if snapshot_class is not None and self.snapshots is not None:
                    self.snapshots.put([snapshot_class.take(aggregate)])
        except Exception:
            # As for single commands: the events are committed; a missing snapshot only slows
            # the next load down.
            log.exception("snapshot.failed")

    def _replay(self, request: c.IdempotencyRequest) -> c.Recorded | None:
        stored = self.stored_response(request.scope, request.key)
        if stored is None:
            return None
        if stored.fingerprint != request.fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {request.key!r} was already used for a different request"
            )
        return c.Recorded("", (), 0, stored.status_code, stored.body)

    @staticmethod
    def _claim(
        request: c.IdempotencyRequest | None, resource_id: str, event_ids: tuple[str, ...]
    ) -> IdempotencyClaim | None:
        if request is None:
            return None

        def render(positions: Sequence[int]) -> str:
            return request.render(c.Recorded(resource_id, event_ids, max(positions)))

        return IdempotencyClaim(
            request.scope, request.key, request.fingerprint, request.status_code, render
        )

    def stored_response(self, scope: str, key: str) -> StoredResponse | None:
        lookup = getattr(self.recorder, "stored_response", None)
        assert lookup is not None, "fundledger's recorders keep idempotency records"
        return cast("StoredResponse | None", lookup(scope, key))

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # Snapshots are taken after the events committed: a failure here must not look like a
        # failed command (a retry would record the command twice). Log it and go on.
        try:
            super()._take_snapshots(processing_event)
        except Exception:
            log.exception("snapshot.failed")

    # ---- loading -----------------------------------------------------------------------------

    def _load(self, text_id: str, kind: type[AggregateT], error: type[Exception]) -> AggregateT:
        try:
            aggregate = self._get_aggregate(_parse_uuid(str(text_id)))
        except (ValueError, AggregateNotFoundError):
            raise error(f"no {kind.__name__.lower()} has the id {text_id!r}") from None
        if not isinstance(aggregate, kind):
            raise error(f"{text_id!r} is not a {kind.__name__.lower()}")
        return aggregate

    def _get_aggregate(self, aggregate_id: UUID) -> Aggregate:
        working: WorkingSet | None = getattr(self._scope, "working_set", None)
        if working is None:
            return self._private_copy(aggregate_id)
        if aggregate_id not in working.aggregates:
            working.loaded(self._private_copy(aggregate_id))
        return working.aggregates[aggregate_id]

    def _private_copy(self, aggregate_id: UUID) -> Aggregate:
        """The aggregate for one decision to change: cached as last saved, or from the store.

        Cached aggregates are never changed in place (a fresher state replaces them), so any
        thread may copy one at any time.
        """
        cache = self.repository.cache
        if cache is None:
            return self._from_store(aggregate_id, None)
        try:
            cached = cast(Aggregate, cache.get(aggregate_id))
        except KeyError:
            cached = None
        if cached is not None and getattr(self._scope, "trust_cache", False):
            self._scope.used_cache = True
            return plain_copy(cached)
        fresh = self._from_store(aggregate_id, cached)
        cache.put(aggregate_id, fresh)
        return plain_copy(fresh)

    def _from_store(self, aggregate_id: UUID, known: Aggregate | None) -> Aggregate:
        """`known` brought up to date from the store, or rebuilt from the latest snapshot."""
        if known is not None:
            newer = self.events.get(aggregate_id, gt=known.version)
            return cast(Aggregate, replay(plain_copy(known), newer))
        snapshots = []
        if self.snapshots is not None:
            snapshots = list(self.snapshots.get(aggregate_id, desc=True, limit=1))
        after = snapshots[0].originator_version if snapshots else None
        events = self.events.get(aggregate_id, gt=after)
        aggregate = replay(None, itertools.chain(snapshots, events))
        if aggregate is None:
            raise AggregateNotFoundError(aggregate_id)
        return cast(Aggregate, aggregate)

    def fund(self, fund_id: str) -> Fund:
        return self._load(fund_id, Fund, UnknownFund)

    def party(self, party_id: str) -> Party:
        return self._load(party_id, Party, UnknownParty)

    def loan(self, loan_id: str) -> Loan:
        return self._load(loan_id, Loan, UnknownLoan)

    def api_key(self, key_id: str) -> ApiKey:
        return self._load(key_id, ApiKey, UnknownApiKey)

    def event(self, event_id: str) -> LedgerEvent:
        originator_id, version = parse_event_id(event_id)
        working: WorkingSet | None = getattr(self._scope, "working_set", None)
        if working is not None and event_id in working.pending_event_ids:
            # Its related events are not readable yet: reverse it in a later batch.
            raise InvalidInput(f"event {event_id} is recorded in this same batch")
        found = list(self.events.get(originator_id, gt=version - 1, lte=version))
        if not found or not isinstance(found[0], LedgerEvent):
            raise UnknownEvent(f"no event has the id {event_id!r}")
        return found[0]

    # ---- deciders: load, check through the domain, return what changed ---------------------

    def _register_party(self, cmd: c.RegisterParty, actor: str) -> Decision:
        party = Party.register(
            name=cmd.name, kind=cmd.kind, actor=actor, occurred_on=cmd.occurred_on, note=cmd.note
        )
        return Decision([party], str(party.id))

    def _open_fund(self, cmd: c.OpenFund, actor: str) -> Decision:
        custodian = self.party(cmd.custodian)
        fund = Fund.open(
            name=cmd.name,
            purpose=cmd.purpose,
            bank_account=cmd.bank_account,
            custodian_id=custodian.id,
            allowed_categories=list(cmd.allowed_categories),
            revolving=cmd.revolving,
            currency=cmd.currency,
            share_plan=cmd.share_plan,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        return Decision([fund], str(fund.id))

    def _hand_over_custody(self, cmd: c.HandOverCustody, actor: str) -> Decision:
        fund = self.fund(cmd.fund)
        custodian = self.party(cmd.custodian)
        fund.hand_over_custody(
            custodian_id=custodian.id, actor=actor, occurred_on=cmd.occurred_on, note=cmd.note
        )
        return Decision([fund], str(fund.id))

    def _record_donation(self, cmd: c.RecordDonation, actor: str) -> Decision:
        fund = self.fund(cmd.fund)
        donor = self.party(cmd.donor)
        if cmd.in_kind is not None:
            fund.receive_in_kind(
                donor_id=donor.id,
                value=cmd.amount,
                description=cmd.in_kind.description,
                quantity=cmd.in_kind.quantity,
                valuation_basis=cmd.in_kind.valuation_basis,
                actor=actor,
                occurred_on=cmd.occurred_on,
                note=cmd.note,
            )
            return Decision([fund], str(fund.id))
        donation_event_id = fund.receive_donation(
            donor_id=donor.id,
            amount=cmd.amount,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        fund.release_matching(
            donation_event_id=donation_event_id,
            donation_fen=cmd.amount.amount_fen,
            actor=actor,
            occurred_on=cmd.occurred_on,
        )
        return Decision([fund], str(fund.id))

    def _allocate(self, cmd: c.AllocateFunds, actor: str) -> Decision:
        source = self.fund(cmd.from_fund)
        target = self.fund(cmd.to_fund)
        if source.id == target.id:
            raise InvalidInput("an allocation moves money between two different funds")
        allocation_id = uuid4()
        # Each side names the other's event id (both are the next in their streams).
        sent_id = event_id_of(source.id, source.version + 1)
        received_id = event_id_of(target.id, target.version + 1)
        source.send_allocation(
            counterpart_event_id=received_id,
            allocation_id=allocation_id,
            to_fund=target,
            amount=cmd.amount,
            purpose=cmd.purpose,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        target.receive_allocation(
            counterpart_event_id=sent_id,
            allocation_id=allocation_id,
            from_fund=source,
            amount=cmd.amount,
            purpose=cmd.purpose,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        return Decision([source, target], str(allocation_id))

    def _pledge_matching(self, cmd: c.PledgeMatchingGrant, actor: str) -> Decision:
        fund = self.fund(cmd.fund)
        grantor = self.party(cmd.grantor)
        fund.pledge_matching(
            grantor_id=grantor.id,
            ratio=cmd.ratio,
            cap=cmd.cap,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        grant_id = next(reversed(fund.matching_grants))
        return Decision([fund], grant_id)

    def _disburse_loan(self, cmd: c.DisburseLoan, actor: str) -> Decision:
        fund = self.fund(cmd.fund)
        borrower = self.party(cmd.borrower)
        loan_id = uuid4()
        fund_event_id = fund.disburse_loan(
            loan_id=loan_id,
            borrower_id=borrower.id,
            principal=cmd.principal,
            cohort=cmd.cohort,
            due_on=cmd.due_on,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        loan = Loan.issue(
            loan_id=loan_id,
            fund_id=str(fund.id),
            borrower_id=str(borrower.id),
            principal=cmd.principal,
            cohort=cmd.cohort.strip(),
            due_on=cmd.due_on,
            fund_event_id=fund_event_id,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        return Decision([fund, loan], str(loan_id))

    def _record_repayment(self, cmd: c.RecordRepayment, actor: str) -> Decision:
        loan = self.loan(cmd.loan)
        loan.check_repayment(cmd.amount)
        fund = self.fund(loan.fund_id)
        fund_event_id = fund.receive_repayment(
            loan_id=loan.id,
            borrower_id=UUID(loan.borrower_id),
            amount=cmd.amount,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        loan.repay(
            amount=cmd.amount, fund_event_id=fund_event_id, actor=actor, occurred_on=cmd.occurred_on
        )
        return Decision([fund, loan], str(loan.id))

    def _roll_over_cohort(self, cmd: c.RollOverCohort, actor: str) -> Decision:
        if cmd.remainder not in c.ROLLOVER_REMAINDERS:
            raise InvalidInput("remainder must be 'grant' or 'outstanding'")
        if not 0 < cmd.ratio <= 1:
            raise InvalidInput("a rollover ratio must be above 0 and at most 1")
        fund = self.fund(cmd.fund)
        loans = [self.loan(loan_id) for loan_id in fund.loans_of_cohort(cmd.cohort.strip())]
        lines: list[RolloverLine] = []
        for loan in loans:
            if loan.owed_fen <= 0:
                continue
            repaid_fen = min(scale_fen(loan.principal_fen, cmd.ratio), loan.owed_fen)
            granted_fen = loan.owed_fen - repaid_fen if cmd.remainder == "grant" else 0
            lines.append(
                RolloverLine(loan_id=str(loan.id), repaid_fen=repaid_fen, granted_fen=granted_fen)
            )
        fund_event_id = fund.roll_over_cohort(
            cohort=cmd.cohort.strip(),
            ratio=cmd.ratio,
            remainder=cmd.remainder,
            lines=lines,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        changed: list[Aggregate] = [fund]
        by_id = {str(loan.id): loan for loan in loans}
        for line in lines:
            loan = by_id[line["loan_id"]]
            loan.roll_over(
                repaid_fen=line["repaid_fen"],
                granted_fen=line["granted_fen"],
                fund_event_id=fund_event_id,
                actor=actor,
                occurred_on=cmd.occurred_on,
            )
            changed.append(loan)
        return Decision(changed, str(fund.id))

    def _pay_expenditure(self, cmd: c.PayExpenditure, actor: str) -> Decision:
        fund = self.fund(cmd.fund)
        payee = self.party(cmd.payee)
        fund.pay_expenditure(
            payee_id=payee.id,
            amount=cmd.amount,
            category=cmd.category,
            voucher=cmd.voucher,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        return Decision([fund], str(fund.id))

    def _subscribe_shares(self, cmd: c.SubscribeShares, actor: str) -> Decision:
        fund = self.fund(cmd.fund)
        member = self.party(cmd.member)
        fund.subscribe_shares(
            member_id=member.id,
            shares=cmd.shares,
            actor=actor,
            occurred_on=cmd.occurred_on,
            note=cmd.note,
        )
        return Decision([fund], str(fund.id))

    def _record_bank_statement(self, cmd: c.RecordBankStatement, actor: str) -> Decision:
        fund = self.fund(cmd.fund)
        fund.record_bank_statement(
            balance=cmd.balance, actor=actor, occurred_on=cmd.occurred_on, note=cmd.note
        )
        return Decision([fund], str(fund.id))

    def _issue_api_key(self, cmd: c.IssueApiKey, actor: str) -> Decision:
        fund_ids = [str(self.fund(fund_id).id) for fund_id in cmd.funds]
        key = ApiKey.issue(
            key_hash=cmd.key_hash,
            role=cmd.role,
            name=cmd.name,
            fund_ids=fund_ids,
            actor=actor,
            occurred_on=cmd.occurred_on,
        )
        return Decision([key], str(key.id))

    def _revoke_api_key(self, cmd: c.RevokeApiKey, actor: str) -> Decision:
        key = self.api_key(cmd.key_id)
        key.revoke(reason=cmd.reason, actor=actor, occurred_on=cmd.occurred_on)
        return Decision([key], str(key.id))

    def _reverse(self, cmd: c.ReverseEvent, actor: str) -> Decision:
        original = self.event(cmd.event_id)
        # A loan's events mirror a fund event; the money moved in the fund, so reverse that one.
        fund_event_id = getattr(original, "fund_event_id", None)
        if isinstance(original, Loan.Event) and fund_event_id:
            original = self.event(fund_event_id)
        if not isinstance(original, Fund.Event):
            raise NotReversible(f"{type(original).__name__} moves no money and cannot be reversed")
        fund = self.fund(str(original.originator_id))
        changed: dict[UUID, Aggregate] = {fund.id: fund}
        reversal = _Reversal(self, changed, cmd.reason, actor, cmd.occurred_on)
        reversal.reverse(fund, original)
        return Decision(list(changed.values()), reversal.first_event_id)


@dataclass
class _Reversal:
    """Undo one fund event and whatever was recorded with it (the other side, the loans)."""

    ledger: FundLedger
    changed: dict[UUID, Aggregate]
    reason: str
    actor: str
    occurred_on: date
    first_event_id: str = ""

    def _fund(self, fund_id: str) -> Fund:
        key = UUID(fund_id)
        if key not in self.changed:
            self.changed[key] = self.ledger.fund(fund_id)
        return cast(Fund, self.changed[key])

    def _loan(self, loan_id: str) -> Loan:
        key = UUID(loan_id)
        if key not in self.changed:
            self.changed[key] = self.ledger.loan(loan_id)
        return cast(Loan, self.changed[key])

    def reverse(self, fund: Fund, original: LedgerEvent) -> None:
        self._check_loan_side(original)
        reversal_id = fund.reverse(
            original=original, reason=self.reason, actor=self.actor, occurred_on=self.occurred_on
        )
        self.first_event_id = self.first_event_id or reversal_id
        match original:
            case Fund.DonationReceived():
                # Its matching releases go with it (unless already reversed on their own).
                for release in self._releases_of(fund, original):
                    release_id = event_id_of(release.originator_id, release.originator_version)
                    if release_id not in fund.reversed_event_ids:
                        fund.reverse(
                            original=release,
                            reason=self.reason,
                            actor=self.actor,
                            occurred_on=self.occurred_on,
                        )
            case Fund.AllocationSent() | Fund.AllocationReceived():
                other_id = (
                    original.to_fund_id
                    if isinstance(original, Fund.AllocationSent)
                    else original.from_fund_id
                )
                other = self._fund(other_id)
                other.reverse(
                    original=self.ledger.event(original.counterpart_event_id),
                    reason=self.reason,
                    actor=self.actor,
                    occurred_on=self.occurred_on,
                )
            case Fund.LoanDisbursed():
                self._loan(original.loan_id).adjust(
                    repaid_change_fen=0,
                    granted_change_fen=0,
                    cancelled=True,
                    fund_event_id=reversal_id,
                    actor=self.actor,
                    occurred_on=self.occurred_on,
                )
            case Fund.RepaymentReceived():
                self._loan(original.loan_id).adjust(
                    repaid_change_fen=-original.amount_fen,
                    granted_change_fen=0,
                    cancelled=False,
                    fund_event_id=reversal_id,
                    actor=self.actor,
                    occurred_on=self.occurred_on,
                )
            case Fund.CohortRolledOver():
                for line in original.lines:
                    self._loan(line["loan_id"]).adjust(
                        repaid_change_fen=-line["repaid_fen"],
                        granted_change_fen=-line["granted_fen"],
                        cancelled=False,
                        fund_event_id=reversal_id,
                        actor=self.actor,
                        occurred_on=self.occurred_on,
                    )
            case _:
                pass

    def _check_loan_side(self, original: LedgerEvent) -> None:
        if isinstance(original, Fund.LoanDisbursed):
            self._loan(original.loan_id).check_cancellable()

    def _releases_of(self, fund: Fund, donation: Fund.DonationReceived) -> list[LedgerEvent]:
        """Matching releases are saved right after their donation, in the same stream."""
        version = donation.originator_version
        following = self.ledger.events.get(
            fund.id, gt=version, lte=version + len(fund.matching_grants)
        )
        donation_id = event_id_of(donation.originator_id, version)
        return [
            event
            for event in following
            if isinstance(event, Fund.MatchingFundsReleased)
            and event.donation_event_id == donation_id
        ]


def _recorded_batch(
    planned: Sequence[PlannedCommand], positions: Sequence[int]
) -> list[c.Recorded]:
    """Each command's answer, given the store positions of all the batch's events in order."""
    recorded: list[c.Recorded] = []
    offset = 0
    for plan in planned:
        mine = positions[offset : offset + len(plan.event_ids)]
        offset += len(plan.event_ids)
        recorded.append(c.Recorded(plan.resource_id, plan.event_ids, max(mine, default=0)))
    return recorded
