"""The Ed25519 key that signs checkpoints, kept apart from the database.

Someone who can write to the database must not also be able to sign: the key lives in a file of
its own (FUNDLEDGER_SIGNING_KEY, else the user's config directory), created on first use with
owner-only permissions. Auditors keep its public half and check signatures against that.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

SIGNING_KEY_VARIABLE = "FUNDLEDGER_SIGNING_KEY"
KEY_FILE_NAME = "signing-key.pem"
KEY_ID_LENGTH = 16  # hex digits of the public key's SHA-256 that name the key


class SigningKeyError(ValueError):
    """The signing key file cannot be used; the message says why in one line."""


def signing_key_path() -> Path:
    """Where the signing key lives: $FUNDLEDGER_SIGNING_KEY, else the config directory."""
    configured = os.environ.get(SIGNING_KEY_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "fundledger" / KEY_FILE_NAME


def load_signing_key(path: Path | None = None) -> Ed25519PrivateKey:
    """The signing key, created (owner-only, never overwritten) when the file does not exist."""
    key_path = path or signing_key_path()
    if not key_path.exists():
        _create_key_file(key_path)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise SigningKeyError(f"cannot read the signing key at {key_path}: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"the key at {key_path} is not an Ed25519 private key")
    return key


def _create_key_file(key_path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        key_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        draft = key_path.with_name(f".{key_path.name}.{os.getpid()}.draft")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as key_file:
            key_file.write(pem)
        try:
            # A hard link appears whole or not at all, and never replaces a key another
            # process created meanwhile: there is only ever one key.
            os.link(draft, key_path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    except OSError as error:
        raise SigningKeyError(f"cannot create the signing key at {key_path}: {error}") from None


def public_key_hex(key: Ed25519PrivateKey) -> str:
    """The public half as 64 hex digits (raw Ed25519), the form auditors keep."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def key_id(public_hex: str) -> str:
    """A short name for a public key: the first hex digits of its SHA-256."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:KEY_ID_LENGTH]


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return key.sign(message).hex()


def signature_holds(public_hex: str, message: bytes, signature_hex: str) -> bool:
    """Whether `signature_hex` is the holder of `public_hex`'s signature over `message`."""
    try:
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        public_key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
