"""What a recorder writes beside the events, in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import StoredEvent

from fundledger.audit.chain import link_hash

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


@dataclass(frozen=True)
class ChainLink:
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
    links: list[ChainLink] = []
    prev_hash = head_hash
    for position, stored in zip(positions, stored_events, strict=True):
        digest = link_hash(
            prev_hash,
            position=position,
            topic=stored.topic,
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            state=stored.state,
        )
        originator_id = str(stored.originator_id)
        links.append(
            ChainLink(position, originator_id, stored.originator_version, prev_hash, digest)
        )
        prev_hash = digest
    return links
