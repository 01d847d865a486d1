"""Signed checkpoints: "on <date> the log held position N and its chain head was H".

A checkpoint is signed only over a log that verifies, and is recorded in the store (table
`audit_checkpoints`) as well as handed to the auditor as a file. The signed message is the
canonical JSON of the statement (sorted keys, no spaces, ASCII), spelled out in docs/audit.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fundledger.application.ledger import FundLedger
from fundledger.audit import storage
from fundledger.audit.signing import key_id, public_key_hex, sign, signature_holds
from fundledger.audit.verify import Checkpoint, VerifyReport, verify_log

CHECKPOINT_FORMAT = "fundledger-checkpoint/1"
_HEX_HASH_LENGTH = 64
_HEX_PUBLIC_KEY_LENGTH = 64  # raw Ed25519 public key, 32 bytes
_HEX_SIGNATURE_LENGTH = 128  # Ed25519 signature, 64 bytes

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "LogNotIntact",
    "SignedCheckpoint",
    "latest_checkpoint",
    "load_checkpoint",
    "published_checkpoints",
    "sign_checkpoint",
]


class CheckpointError(ValueError):
    """A checkpoint file cannot be read or its signature does not hold."""


class LogNotIntact(Exception):
    """Refused to sign: the log does not verify."""

    def __init__(self, report: VerifyReport) -> None:
        super().__init__(f"the log is broken at position {report.broken_position}: {report.detail}")
        self.report = report


@dataclass(frozen=True)
class SignedCheckpoint(Checkpoint):
    key_id: str
    public_key: str  # hex, raw Ed25519
    signature: str  # hex, over `statement_bytes()`

    def statement(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "position": self.position,
            "head_hash": self.head_hash,
            "events": self.events,
            "signed_at": self.signed_at,
            "key_id": self.key_id,
        }

    def statement_bytes(self) -> bytes:
        return canonical_json(self.statement())

    def signature_holds(self) -> bool:
        """The signature is the public key's, over exactly this statement."""
        return key_id(self.public_key) == self.key_id and signature_holds(
            self.public_key, self.statement_bytes(), self.signature
        )

    def to_dict(self) -> dict[str, Any]:
        return {**self.statement(), "public_key": self.public_key, "signature": self.signature}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: object) -> SignedCheckpoint:
        """Read a checkpoint document; raises CheckpointError on any malformed field."""
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"not a {CHECKPOINT_FORMAT} document")
        try:
            checkpoint = cls(
                position=_natural(data["position"]),
                head_hash=_hex(data["head_hash"], _HEX_HASH_LENGTH),
                events=_natural(data["events"]),
                signed_at=str(data["signed_at"]),
                key_id=str(data["key_id"]),
                public_key=_hex(data["public_key"], _HEX_PUBLIC_KEY_LENGTH),
                signature=_hex(data["signature"], _HEX_SIGNATURE_LENGTH),
            )
        except KeyError as missing:
            raise CheckpointError(f"the checkpoint lacks the field {missing}") from None
        return checkpoint


def canonical_json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _natural(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CheckpointError(f"expected a whole number, got {value!r}")
    return value


def _hex(value: object, length: int) -> str:
    if not isinstance(value, str) or len(value) != length:
        raise CheckpointError(f"expected {length} hex digits, got {value!r}")
    try:
        bytes.fromhex(value)
    except ValueError:
        raise CheckpointError(f"expected {length} hex digits, got {value!r}") from None
    return value.lower()


def sign_checkpoint(
    ledger: FundLedger, key: Ed25519PrivateKey, now: datetime | None = None
) -> SignedCheckpoint:
    """Verify the whole log, sign its head, record the checkpoint in the store and return it."""
    report = verify_log(ledger)
    if not report.ok:
        raise LogNotIntact(report)
    public_hex = public_key_hex(key)
    signed_at = (now or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    unsigned = SignedCheckpoint(
        position=report.head_position,
        head_hash=report.head_hash,
        events=report.events_checked,
        signed_at=signed_at,
        key_id=key_id(public_hex),
        public_key=public_hex,
        signature="",
    )
    signed = replace(unsigned, signature=sign(key, unsigned.statement_bytes()))
    storage.insert_checkpoint(ledger, signed.position, signed.to_json())
    return signed


def published_checkpoints(ledger: FundLedger) -> list[SignedCheckpoint]:
    """The checkpoints recorded in the store, oldest first, each with a signature that holds.

    A row whose signature does not hold was not written by `sign_checkpoint` (someone edited the
    table) and is left out rather than shown as published.
    """
    found: list[SignedCheckpoint] = []
    for row in storage.select_checkpoints(ledger):
        try:
            checkpoint = SignedCheckpoint.from_dict(json.loads(row.document))
        except (CheckpointError, ValueError):
            continue
        if checkpoint.signature_holds() and checkpoint.position == row.position:
            found.append(checkpoint)
    return found


def latest_checkpoint(ledger: FundLedger) -> SignedCheckpoint | None:
    published = published_checkpoints(ledger)
    return max(published, key=lambda c: c.position) if published else None


def load_checkpoint(path: Path) -> SignedCheckpoint:
    """A checkpoint file whose signature holds; CheckpointError says what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot read the checkpoint {path}: {error}") from None
    checkpoint = SignedCheckpoint.from_dict(data)
    if not checkpoint.signature_holds():
        raise CheckpointError(f"the signature on {path} does not hold: the file was altered")
    return checkpoint


def write_checkpoint(path: Path, checkpoint: SignedCheckpoint) -> None:
    """Write the file whole or not at all."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.draft")
    draft.write_text(checkpoint.to_json(), encoding="utf-8")
    draft.replace(path)
