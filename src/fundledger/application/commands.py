"""Commands: what a clerk (or the demo, or an import) asks the ledger to record.

Ids arrive as text and amounts as `Money`; the application resolves and checks them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fundledger.domain.fund import SharePlan, Voucher
from fundledger.domain.money import Money


@dataclass(frozen=True)
class IdempotencyRequest:
    """An Idempotency-Key and what the caller answers when the command is recorded."""

    scope: str
    key: str
    fingerprint: str
    status_code: int
    render: Callable[[Recorded], str]


@dataclass(frozen=True)
class CommandContext:
    actor: str
    idempotency: IdempotencyRequest | None = None


@dataclass(frozen=True)
class Recorded:
    """What a recorded command produced. `replay` is set when an Idempotency-Key matched."""

    resource_id: str
    event_ids: tuple[str, ...]
    position: int
    replay_status_code: int | None = None
    replay_body: str | None = None

    @property
    def is_replay(self) -> bool:
        return self.replay_body is not None


@dataclass(frozen=True)
class RegisterParty:
    name: str
    kind: str
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class OpenFund:
    name: str
    purpose: str
    bank_account: str
    custodian: str
    allowed_categories: list[str]
    revolving: bool
    occurred_on: date
    currency: str = "CNY"
    share_plan: SharePlan | None = None
    note: str = ""


@dataclass(frozen=True)
class HandOverCustody:
    fund: str
    custodian: str
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class InKind:
    description: str
    quantity: str
    valuation_basis: str


@dataclass(frozen=True)
class RecordDonation:
    fund: str
    donor: str
    amount: Money
    occurred_on: date
    in_kind: InKind | None = None
    note: str = ""


@dataclass(frozen=True)
class AllocateFunds:
    from_fund: str
    to_fund: str
    amount: Money
    occurred_on: date
    purpose: str
    note: str = ""


@dataclass(frozen=True)
class PledgeMatchingGrant:
    fund: str
    grantor: str
    ratio: Decimal
    cap: Money
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class DisburseLoan:
    fund: str
    borrower: str
    principal: Money
    cohort: str
    occurred_on: date
    due_on: date
    note: str = ""


@dataclass(frozen=True)
class RecordRepayment:
    loan: str
    amount: Money
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class RollOverCohort:
    fund: str
    cohort: str
    ratio: Decimal
    remainder: str  # "grant" or "outstanding"
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class PayExpenditure:
    fund: str
    payee: str
    amount: Money
    category: str
    voucher: Voucher | None
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class SubscribeShares:
    fund: str
    member: str
    shares: int
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class RecordBankStatement:
    fund: str
    balance: Money
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class ReverseEvent:
    event_id: str
    reason: str
    occurred_on: date


@dataclass(frozen=True)
class IssueApiKey:
    """Record a new API key; only its hash travels (the key itself is shown once, elsewhere)."""

    key_hash: str
    role: str
    name: str
    funds: list[str]
    occurred_on: date


@dataclass(frozen=True)
class RevokeApiKey:
    key_id: str
    reason: str
    occurred_on: date


Command = (
    RegisterParty
    | OpenFund
    | HandOverCustody
    | RecordDonation
    | AllocateFunds
    | PledgeMatchingGrant
    | DisburseLoan
    | RecordRepayment
    | RollOverCohort
    | PayExpenditure
    | SubscribeShares
    | RecordBankStatement
    | ReverseEvent
    | IssueApiKey
    | RevokeApiKey
)

ROLLOVER_REMAINDERS = ("grant", "outstanding")
