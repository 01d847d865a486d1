"""The chain's encoding matches the test vectors in docs/audit.md, in both implementations."""

from __future__ import annotations

from fundledger.audit import verify_export as kit
from fundledger.audit.chain import GENESIS_HASH, canonical_originator_id, event_digest, link_hash

TOPIC = "fundledger.domain.party:Party.Registered"
STATE = b'{"actor":"clerk","kind":"government","name":"Bureau"}'
ORIGINATOR = "109b3434-5b41-44ea-a4eb-49b4c8394793"
DIGEST = "e1c701dfd3404d170d92424d35a100f473cb9aff70f6ce588d396ca87105d8a0"
FIRST = "ddde019a3281d493c1650f3c7a2f18f5d335fb89c8348e24b9736180f6955617"
SECOND = "57ca6ca282300dc86164b943312e24d9685bc9d95e34a5ec66c068a05af93063"


def test_fundledger_computes_the_documented_links() -> None:
    """The recorder's encoding gives the documented digest and links, whatever the id's spelling."""
    assert event_digest(topic=TOPIC, state=STATE).hex() == DIGEST
    first = link_hash(
        GENESIS_HASH,
        position=1,
        topic=TOPIC,
        originator_id=ORIGINATOR,
        originator_version=1,
        state=STATE,
    )
    assert first.hex() == FIRST
    second = link_hash(
        first,
        position=3,
        topic=TOPIC,
        originator_id="109B34345B4144EAA4EB49B4C8394793",
        originator_version=2,
        state=b"",
    )
    assert second.hex() == SECOND


def test_the_kit_recomputes_the_documented_links_independently() -> None:
    """verify_export.py, written apart from fundledger's chain code, agrees with the vectors."""
    assert kit.event_digest(TOPIC, STATE).hex() == DIGEST
    first = kit.link(GENESIS_HASH, 1, ORIGINATOR, 1, kit.event_digest(TOPIC, STATE))
    assert first.hex() == FIRST
    assert kit.link(first, 3, ORIGINATOR, 2, kit.event_digest(TOPIC, b"")).hex() == SECOND


def test_ids_are_hashed_in_one_canonical_spelling() -> None:
    """SQLite's 32 hex digits and PostgreSQL's uuid text are the same id to the chain."""
    assert canonical_originator_id("109B34345B4144EAA4EB49B4C8394793") == ORIGINATOR
    assert canonical_originator_id(ORIGINATOR.upper()) == ORIGINATOR
    assert canonical_originator_id("not a uuid") == "not a uuid"
