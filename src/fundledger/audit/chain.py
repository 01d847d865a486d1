"""The hash chain over every stored event, in store order (spec: docs/audit.md).

    link(n) = SHA-256( prev_link
                       || u64(position) || field(topic) || field(originator_id)
                       || u64(originator_version) || field(state) )

where `prev_link` is the previous event's link (32 zero bytes before the first event), u64 is an
unsigned 64-bit big-endian integer, field(b) = u64(len(b)) || b, text is UTF-8, `originator_id` is
the UUID in its canonical lowercase hyphenated form, and `state` is the event's stored JSON bytes
exactly as the store holds them (they carry the business date, recorded time, actor and payload).

The length prefixes make the encoding unambiguous; the position makes reordering visible.
Pure functions only: used by the recorders (extending) and by verify (recomputing).
"""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

GENESIS_HASH = bytes(32)
_U64 = struct.Struct(">Q")


def _field(data: bytes) -> bytes:
    return _U64.pack(len(data)) + data


def canonical_encoding(
    *, position: int, topic: str, originator_id: UUID | str, originator_version: int, state: bytes
) -> bytes:
    """The bytes a link hashes (besides the previous link)."""
    return b"".join(
        (
            _U64.pack(position),
            _field(topic.encode("utf-8")),
            _field(str(UUID(str(originator_id))).encode("ascii")),
            _U64.pack(originator_version),
            _field(bytes(state)),
        )
    )


def link_hash(
    prev_hash: bytes,
    *,
    position: int,
    topic: str,
    originator_id: UUID | str,
    originator_version: int,
    state: bytes,
) -> bytes:
    assert len(prev_hash) == 32, "a chain link is 32 bytes"
    digest = hashlib.sha256(prev_hash)
    digest.update(
        canonical_encoding(
            position=position,
            topic=topic,
            originator_id=originator_id,
            originator_version=originator_version,
            state=state,
        )
    )
    return digest.digest()
