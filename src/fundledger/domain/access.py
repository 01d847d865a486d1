"""API keys: who may read or record what.

A key is a random secret shown once; only its SHA-256 is stored. The key's aggregate id is derived
from that hash, so finding the key for a request is one `repository.get` by id, in any process,
with no projection lag: a revocation is seen by every process on its next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from fundledger.domain.base import (
    NAME_LENGTH_MAX,
    LedgerCreated,
    LedgerEvent,
    require_business_date,
    require_text,
)
from fundledger.domain.errors import InvalidInput, NotFound, RuleViolation

# Fixed forever: changing it would orphan every key ever issued.
API_KEY_NAMESPACE = UUID("5f1c2a9e-4d0b-4c53-9a61-2b7d0e8f3c41")
API_KEY_BYTES = 32
API_KEY_LENGTH_MAX = 200
FUNDS_PER_KEY_MAX = 100


class Role(StrEnum):
    ADMIN = "admin"
    CLERK = "clerk"
    AUDITOR = "auditor"
    SUPERVISOR = "supervisor"
    CLIENT = "client"


# These roles see only the funds written on their key.
FUND_LIMITED_ROLES = frozenset({Role.SUPERVISOR, Role.CLIENT})


class KeyAlreadyRevoked(RuleViolation):
    rule = "key-already-revoked"


class UnknownApiKey(NotFound):
    rule = "unknown-api-key"


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        roles = ", ".join(role.value for role in Role)
        raise InvalidInput(f"role {text!r} is not one of: {roles}") from None


def new_api_key() -> str:
    """A fresh random key (URL-safe text, 256 bits)."""
    return secrets.token_urlsafe(API_KEY_BYTES)


def hash_api_key(key: str) -> str:
    """The SHA-256 of a key, hex: the only form in which a key is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_key_id(key_hash: str) -> UUID:
    """The aggregate id of the key with this hash."""
    return uuid5(API_KEY_NAMESPACE, key_hash)


class ApiKey(Aggregate):
    """An API key's role, name and funds; issued once, revocable once."""

    key_hash: str
    role: str
    name: str
    fund_ids: list[str]
    revoked: bool

    def __init__(self) -> None:
        # Declared so the library does not derive an __init__ from the annotations.
        self.revoked = False

    class Issued(LedgerCreated):
        key_hash: str
        role: str
        name: str
        fund_ids: list[str]

        def apply(self, key: ApiKey) -> None:
            key.key_hash = self.key_hash
            key.role = self.role
            key.name = self.name
            key.fund_ids = list(self.fund_ids)

    class Revoked(LedgerEvent):
        reason: str

        def apply(self, key: ApiKey) -> None:
            key.revoked = True

    @classmethod
    def issue(
        cls,
        *,
        key_hash: str,
        role: str,
        name: str,
        fund_ids: list[str],
        actor: str,
        occurred_on: date,
    ) -> ApiKey:
        checked_role = parse_role(role)
        _check_key_hash(key_hash)
        if checked_role in FUND_LIMITED_ROLES and not fund_ids:
            raise InvalidInput(f"a {checked_role.value} key needs at least one fund")
        if checked_role not in FUND_LIMITED_ROLES and fund_ids:
            raise InvalidInput(f"a {checked_role.value} key sees every fund; give it no funds")
        if len(fund_ids) > FUNDS_PER_KEY_MAX:
            raise InvalidInput(f"a key names at most {FUNDS_PER_KEY_MAX} funds")
        return cls._create(
            cls.Issued,
            id=api_key_id(key_hash),
            key_hash=key_hash,
            role=checked_role.value,
            name=require_text(name, "name", NAME_LENGTH_MAX),
            fund_ids=sorted(set(fund_ids)),
            actor=require_text(actor, "actor", NAME_LENGTH_MAX),
            occurred_on=require_business_date(occurred_on),
            note="",
        )

    def revoke(self, *, reason: str, actor: str, occurred_on: date) -> None:
        if self.revoked:
            raise KeyAlreadyRevoked(f"key {self.name!r} is already revoked")
        self.trigger_event(
            self.Revoked,
            reason=reason.strip()[:NAME_LENGTH_MAX],
            actor=require_text(actor, "actor", NAME_LENGTH_MAX),
            occurred_on=require_business_date(occurred_on),
            note="",
        )

    def matches(self, key_hash: str) -> bool:
        """Whether a presented key's hash is this key's, compared in constant time."""
        return hmac.compare_digest(self.key_hash.encode("ascii"), key_hash.encode("ascii"))

    @property
    def is_active(self) -> bool:
        return not self.revoked

    def may_see_fund(self, fund_id: str) -> bool:
        return Role(self.role) not in FUND_LIMITED_ROLES or fund_id in self.fund_ids


def _check_key_hash(key_hash: str) -> None:
    if len(key_hash) != 64 or any(ch not in "0123456789abcdef" for ch in key_hash):
        raise InvalidInput("a key is stored as its SHA-256, in lowercase hex")
