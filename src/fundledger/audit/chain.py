"""The hash chain over every stored event, in store order (spec: docs/audit.md).

    event_digest(n) = SHA-256( field(topic) || field(state) )
    link(n)         = SHA-256( prev_link || u64(position) || field(originator_id)
                               || u64(originator_version) || event_digest(n) )

where `prev_link` is the previous event's link (32 zero bytes before the first event), u64 is an
unsigned 64-bit big-endian integer, field(b) = u64(len(b)) || b, text is UTF-8, `originator_id` is
the UUID in its canonical lowercase hyphenated form, and `state` is the event's stored JSON bytes
exactly as the store holds them (they carry the business date, recorded time, actor and payload).

The length prefixes make the encoding unambiguous; the position makes reordering visible. The
content is hashed apart from the header so that a one-fund export can stand in for another fund's
event with its header and digest alone, without disclosing that event, and still be recomputed
link by link up to a signed checkpoint.

Pure functions only: used by the recorders (extending) and by verify and export (recomputing).
"""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

GENESIS_HASH = bytes(32)
HASH_LENGTH = 32
_U64 = struct.Struct(">Q")
_CANONICAL_UUID_LENGTH = 36
_HEX_UUID_LENGTH = 32


def _field(data: bytes) -> bytes:
    return _U64.pack(len(data)) + data


def canonical_originator_id(originator_id: UUID | str) -> str:
    """The UUID as 36 lowercase characters with hyphens; text that is no UUID stays as it is.

    Stores spell ids differently (SQLite keeps 32 hex digits, PostgreSQL a uuid); the chain
    hashes one spelling. Text that is not a UUID cannot come from the recorder, so keeping it
    as it is makes its link fail to recompute instead of raising.
    """
    if isinstance(originator_id, UUID):
        return str(originator_id)
    if len(originator_id) == _HEX_UUID_LENGTH:
        text = originator_id.lower()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    if len(originator_id) == _CANONICAL_UUID_LENGTH:
        return originator_id.lower()
    try:
        return str(UUID(originator_id))
    except ValueError:
        return originator_id


def event_digest(*, topic: str, state: bytes) -> bytes:
    """SHA-256 of an event's content: its topic and its stored state bytes."""
    return hashlib.sha256(_field(topic.encode("utf-8")) + _field(bytes(state))).digest()


def canonical_encoding(
    *, position: int, topic: str, originator_id: UUID | str, originator_version: int, state: bytes
) -> bytes:
    """The bytes a link hashes after the previous link."""
    return _header(position, canonical_originator_id(originator_id), originator_version) + (
        event_digest(topic=topic, state=state)
    )


def _header(position: int, originator_id: str, originator_version: int) -> bytes:
    return (
        _U64.pack(position) + _field(originator_id.encode("utf-8")) + _U64.pack(originator_version)
    )


def link_from_digest(
    prev_hash: bytes, position: int, originator_id: str, originator_version: int, digest: bytes
) -> bytes:
    """A link from its parts; `originator_id` must already be canonical (see above)."""
    return hashlib.sha256(
        prev_hash + _header(position, originator_id, originator_version) + digest
    ).digest()


def link_hash(
    prev_hash: bytes,
    *,
    position: int,
    topic: str,
    originator_id: UUID | str,
    originator_version: int,
    state: bytes,
) -> bytes:
    assert len(prev_hash) == HASH_LENGTH, "a chain link is 32 bytes"
    return link_from_digest(
        prev_hash,
        position,
        canonical_originator_id(originator_id),
        originator_version,
        event_digest(topic=topic, state=state),
    )
