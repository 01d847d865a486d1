"""Recompute the chain from the events and say whether the log is intact, or where it breaks.

`ChainChecker` is the pure part: fed every position of the log in order (the event and the link
the store holds there), it recomputes each link from the previous one and stops at the first
position where the log is not what was recorded. `verify_log` streams a store through it.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from hashlib import sha256
from typing import Any

from fundledger.application.ledger import FundLedger
from fundledger.audit.chain import (
    GENESIS_HASH,
    HASH_LENGTH,
    canonical_originator_id,
    event_digest,
    link_from_digest,
)
from fundledger.audit.storage import (
    AlignedRows,
    EventRow,
    LinkRow,
    LogBatch,
    LogEntry,
    log_batches,
    open_log,
    prefetched,
)

_U64 = struct.Struct(">Q")
# What a link hashes, laid out for one `struct` call: the previous link, the position, the
# originator's field, the version and the event's digest (see chain.link_from_digest).
_LinkPacker = Callable[[bytes, int, bytes, int, bytes], bytes]
# An originator as the fast path needs it: canonical id, encoded field, its links' packer.
_Originator = tuple[str, bytes, _LinkPacker]
# Ids remembered between events of the same stream; bounded so memory stays flat.
_ORIGINATORS_REMEMBERED_MAX = 100_000

EDITED = "edited"
MISSING = "missing"
INSERTED = "inserted"
REORDERED = "reordered"
TRUNCATED = "truncated"
REWRITTEN = "rewritten"


@dataclass(frozen=True)
class Checkpoint:
    """A statement that the log once held `position` with the chain head `head_hash` (hex)."""

    position: int
    head_hash: str
    events: int
    signed_at: str


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    events_checked: int
    head_hash: str  # hex of the last link that recomputed; all zeros for an empty log
    head_position: int  # its position; 0 for an empty log
    broken_position: int | None = None
    problem: str | None = None  # edited | missing | inserted | reordered | truncated | rewritten
    detail: str = ""
    checkpoint_position: int | None = None  # the checkpoint this run was held against

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class ChainChecker:
    """Recomputes the chain one position at a time; `broken` is set at the first fault."""

    def __init__(self, checkpoint: Checkpoint | None = None) -> None:
        self.checkpoint = checkpoint
        self.head_hash = GENESIS_HASH
        self.head_position = 0
        self.events_checked = 0
        self.broken: tuple[int, str, str] | None = None  # (position, problem, detail)
        self._previous_prev_hash: bytes | None = None
        self._checkpoint_hash = bytes.fromhex(checkpoint.head_hash) if checkpoint else b""
        self._checkpoint_reached = False
        self._topic_fields: dict[str, bytes] = {}
        self._originators: dict[str, _Originator] = {}

    def check_batch(self, entries: Sequence[LogEntry]) -> bool:
        """Take the next positions in order; False (and `broken` set) at the first fault."""
        return self.check_rows(
            [entry[1] for entry in entries], [entry[2] for entry in entries], entries
        )

    def check_rows(
        self,
        events: Sequence[Any],
        links: Sequence[Any],
        entries: Sequence[LogEntry] | None = None,
    ) -> bool:
        """Take the next positions in order, as the event rows and the link rows held there
        (`events[i]` and `links[i]` at one position, either None when the log lacks it);
        False (and `broken` set) at the first fault. `entries`, when given, are the same
        positions as log entries (they name the position when both rows are None).

        This loop runs once per event of the log, so the intact case is spelled out inline with
        local variables, each link hashed from one precomposed buffer; anything unusual goes
        through `check`, which explains it.
        """
        head, checked, head_position = self.head_hash, self.events_checked, self.head_position
        previous_prev_hash = self._previous_prev_hash
        originators, topics, pack = self._originators, self._topic_fields, _U64.pack
        watch = self._checkpoint_watch()
        for index, (event, link) in enumerate(zip(events, links, strict=True)):
            if event is not None and link is not None and type(event[4]) is bytes:
                originator = originators.get(event[1]) or self._originator(event[1])
                topic_field = topics.get(event[3]) or self._topic_field(event[3])
                state = event[4]
                if originator[0] == link[1] and event[2] == link[2] and link[3] == head:
                    computed = sha256(
                        originator[2](
                            head,
                            event[0],
                            originator[1],
                            event[2],
                            sha256(topic_field + pack(len(state)) + state).digest(),
                        )
                    ).digest()
                    if computed == link[4] and event[0] == link[0] and event[0] < watch:
                        previous_prev_hash, head = head, computed
                        head_position, checked = event[0], checked + 1
                        continue
            self.head_hash, self.events_checked = head, checked
            self.head_position, self._previous_prev_hash = head_position, previous_prev_hash
            entry = entries[index] if entries is not None else _entry(event, link)
            if not self.check(entry):
                return False
            head, checked, head_position = self.head_hash, self.events_checked, self.head_position
            previous_prev_hash = self._previous_prev_hash
            watch = self._checkpoint_watch()
        self.head_hash, self.events_checked = head, checked
        self.head_position, self._previous_prev_hash = head_position, previous_prev_hash
        return True

    def _checkpoint_watch(self) -> int | float:
        """From which position on the checkpoint must be consulted (never: infinity)."""
        if self.checkpoint is None or self._checkpoint_reached:
            return math.inf
        return self.checkpoint.position

    def check(self, entry: LogEntry) -> bool:
        """Take the next position; False (and `broken` set) when the log breaks here."""
        position, event, link = entry
        fault = self._fault(position, _event_row(event), _link_row(link))
        if fault is not None:
            self.broken = fault
            return False
        return self._holds_at_checkpoint(position)

    def _advance(self, position: int, link_hash: bytes) -> None:
        self._previous_prev_hash = self.head_hash
        self.head_hash = link_hash
        self.head_position = position
        self.events_checked += 1

    def _holds_at_checkpoint(self, position: int) -> bool:
        fault = self._checkpoint_fault(position)
        if fault is None:
            return True
        self.broken = fault
        return False

    def _originator(self, spelled: str) -> _Originator:
        """The canonical id, its encoded field and the packer of its links' hashed bytes,
        remembered (stores spell ids differently)."""
        if len(self._originators) >= _ORIGINATORS_REMEMBERED_MAX:
            self._originators.clear()
        canonical = canonical_originator_id(_text(spelled))
        encoded = canonical.encode("utf-8")
        field = _U64.pack(len(encoded)) + encoded
        known = self._originators[spelled] = (canonical, field, _link_packer(len(field)))
        return known

    def _topic_field(self, topic: str) -> bytes:
        # A log has a few dozen topics and millions of events: encode each topic once.
        field = self._topic_fields.get(topic)
        if field is None:
            encoded = topic.encode("utf-8")
            field = self._topic_fields[topic] = _U64.pack(len(encoded)) + encoded
        return field

    def finish(self) -> VerifyReport:
        """The verdict once every position was taken (or the first fault was found)."""
        if self.broken is None and self.checkpoint is not None and not self._checkpoint_reached:
            self.broken = (
                self.head_position + 1,
                TRUNCATED,
                f"the log ends at position {self.head_position} but the checkpoint signed "
                f"{self.checkpoint.signed_at} covers up to position {self.checkpoint.position}: "
                "the events after the end were removed",
            )
        position, problem, detail = self.broken or (None, None, "")
        return VerifyReport(
            ok=self.broken is None,
            events_checked=self.events_checked,
            head_hash=self.head_hash.hex(),
            head_position=self.head_position,
            broken_position=position,
            problem=problem,
            detail=detail,
            checkpoint_position=self.checkpoint.position if self.checkpoint else None,
        )

    def _fault(
        self, position: int, event: EventRow | None, link: LinkRow | None
    ) -> tuple[int, str, str] | None:
        """Why the log is not what was recorded at `position`; None when it is after all.

        The fast path above takes only well-typed rows; here every column has been read
        whatever its SQL type, so a value that was merely re-typed still recomputes.
        """
        if link is None:
            assert event is not None, "a log entry holds an event, a link or both"
            return (
                position,
                INSERTED,
                f"event {_event_id(event[1], event[2])} at position {position} has no chain "
                "link: it was not recorded through fundledger",
            )
        linked_id = _event_id(link[1], link[2])
        if event is None:
            return (position, MISSING, f"event {linked_id}, linked at position {position}, is gone")
        if (event[1], event[2]) != (link[1], link[2]):
            return (
                position,
                REORDERED,
                f"position {position} holds event {_event_id(event[1], event[2])} but the "
                f"chain linked {linked_id} here",
            )
        digest = event_digest(topic=event[3], state=event[4])
        computed = link_from_digest(self.head_hash, position, event[1], event[2], digest)
        if computed == link[4] and link[3] == self.head_hash:
            self._advance(position, computed)
            return None
        return self._classify(link, digest, computed)

    def _classify(self, link: LinkRow, digest: bytes, computed: bytes) -> tuple[int, str, str]:
        """Why the link does not follow on from the last good one (`computed` is what would)."""
        position, stored_prev_hash, stored_hash = link[0], link[3], link[4]
        linked_id = _event_id(link[1], link[2])
        if stored_prev_hash == self.head_hash or computed == stored_hash:
            return (
                position,
                EDITED,
                f"event {linked_id} at position {position} is not what was recorded: its "
                "stored bytes or its link were edited",
            )
        if stored_prev_hash == self._previous_prev_hash:
            return (
                self.head_position,
                INSERTED,
                f"the events at positions {self.head_position} and {position} both follow the "
                f"same link: the event at {self.head_position} was inserted",
            )
        own = link_from_digest(stored_prev_hash, position, link[1], link[2], digest)
        if own == stored_hash:
            return (
                position,
                MISSING,
                f"the link at position {position} follows a link that is no longer in the log: "
                f"events after position {self.head_position} and before {position} were deleted",
            )
        return (
            position,
            REORDERED,
            f"event {linked_id} and its link were moved to position {position} from elsewhere",
        )

    def _checkpoint_fault(self, position: int) -> tuple[int, str, str] | None:
        checkpoint = self.checkpoint
        if checkpoint is None or self._checkpoint_reached or position < checkpoint.position:
            return None
        self._checkpoint_reached = True
        if position == checkpoint.position and self.head_hash == self._checkpoint_hash:
            return None
        return (
            checkpoint.position,
            REWRITTEN,
            f"the chain recomputes without a break, but not to the head the checkpoint signed "
            f"{checkpoint.signed_at} holds at position {checkpoint.position}: events at or "
            "before it were rewritten together with their links",
        )


def check_entries(
    entries: Iterable[LogEntry], checkpoint: Checkpoint | None = None
) -> VerifyReport:
    """Run a whole log (in position order) through a `ChainChecker`."""
    return check_batches([list(entries)], checkpoint)


def check_batches(
    batches: Iterable[LogBatch],
    checkpoint: Checkpoint | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Run a whole log, batch by batch, through a `ChainChecker`; progress after each batch."""
    checker = ChainChecker(checkpoint)
    for batch in batches:
        if isinstance(batch, AlignedRows):
            intact = checker.check_rows(batch.events, batch.links)
        else:
            intact = checker.check_batch(batch)
        if not intact:
            break
        if progress is not None:
            progress(checker.events_checked)
    return checker.finish()


def verify_log(
    ledger: FundLedger,
    checkpoint: Checkpoint | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Recompute the chain over the whole store, in batches; memory stays flat.

    `progress` is called with the number of events checked so far, once a batch.
    """
    with open_log(ledger) as log, closing(log_batches(log)) as batches:
        return check_batches(prefetched(batches), checkpoint, progress)


def log_size(ledger: FundLedger) -> int:
    """How many links the chain holds (what a progress bar counts up to)."""
    with open_log(ledger) as log:
        return log.size()


@functools.cache
def _link_packer(originator_field_length: int) -> _LinkPacker:
    """The packer of a link's hashed bytes for an originator field of that length."""
    layout = f">{HASH_LENGTH}sQ{originator_field_length}sQ{HASH_LENGTH}s"
    pack: _LinkPacker = struct.Struct(layout).pack
    return pack


def _entry(event: Any, link: Any) -> LogEntry:
    position = event[0] if event is not None else link[0]
    return (int(position), event, link)


def _event_id(originator_id: str, originator_version: int) -> str:
    return f"{originator_id}.{originator_version}"


# A tampered row may hold any SQL type in any column: read it so that it fails to recompute
# instead of crashing the verifier.


def _event_row(row: Any) -> EventRow | None:
    if row is None:
        return None
    return (int(row[0]), _originator(row[1]), _integer(row[2]), _text(row[3]), _bytes(row[4]))


def _link_row(row: Any) -> LinkRow | None:
    if row is None:
        return None
    return (int(row[0]), _originator(row[1]), _integer(row[2]), _bytes(row[3]), _bytes(row[4]))


def _bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return b"" if value is None else str(value).encode("utf-8")


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _originator(value: object) -> str:
    return canonical_originator_id(_text(value))


def _integer(value: object) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return -1
