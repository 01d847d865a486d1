"""What a recorder writes beside the events, in the same transaction."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from fundledger.audit.chain import HASH_LENGTH, canonical_originator_id

_u64 = struct.Struct(">Q").pack

IDEMPOTENCY_KEY_LENGTH_MAX = 200


@dataclass(frozen=True)
class IdempotencyClaim:
    """A request's Idempotency-Key, stored with the response it produced.

    `render` turns the store positions of the new events into the response body, so the stored
    response is exactly what the first caller saw.
    """

    scope: str
    key: str
    fingerprint: str
    status_code: int
    render: Callable[[Sequence[int]], str]


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status_code: int
    body: str


class ChainLink(NamedTuple):
    """One row of the chain table, in its column order (a tuple: it is the row as it is)."""

    position: int
    originator_id: str
    originator_version: int
    prev_hash: bytes
    hash: bytes


def extend_chain(
    head_hash: bytes, positions: Sequence[int], stored_events: Sequence[StoredEvent]
) -> list[ChainLink]:
    """Links for newly inserted events, following on from the current head."""
    assert len(positions) == len(stored_events), "every event needs its position"
    assert len(head_hash) == HASH_LENGTH, "a chain link is 32 bytes"
    links: list[ChainLink] = []
    prev_hash = head_hash
    sha256 = hashlib.sha256
    for position, stored in zip(positions, stored_events, strict=True):
        # audit.chain.link_hash() spelled out (docs/audit.md; a test holds them equal): it costs
        # as much as the insert when called per event through its helpers.
        originator_id = stored.originator_id
        text_id = str(originator_id)
        canonical = text_id if isinstance(originator_id, UUID) else canonical_originator_id(text_id)
        id_bytes = canonical.encode("utf-8")
        topic = stored.topic.encode("utf-8")
        state = bytes(stored.state)
        digest = sha256(_u64(len(topic)) + topic + _u64(len(state)) + state).digest()
        version = stored.originator_version
        header = _u64(position) + _u64(len(id_bytes)) + id_bytes + _u64(version)
        link = sha256(prev_hash + header + digest).digest()
        links.append(ChainLink(position, text_id, version, prev_hash, link))
        prev_hash = link
    return links
