"""What the read side answers: the contract between `projections` and `api`.

Amounts are integer fen; the API formats them. Every list is paged by an opaque cursor.
Implementations live beside this module; `api` depends only on these types and `ReadModels`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar

ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class Page(Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


@dataclass(frozen=True)
class FundSummary:
    id: str
    name: str
    purpose: str
    revolving: bool
    balance_fen: int
    currency: str


@dataclass(frozen=True)
class FundDetail(FundSummary):
    bank_account: str
    custodian: str
    allowed_categories: list[str]
    version: int
    in_kind_value_fen: int = 0


@dataclass(frozen=True)
class PartySummary:
    id: str
    name: str
    kind: str


@dataclass(frozen=True)
class Balance:
    fund_id: str
    as_of: date | None
    balance_fen: int
    currency: str


@dataclass(frozen=True)
class LedgerLine:
    event_id: str
    occurred_on: date
    kind: str
    amount_fen: int
    direction: str  # "in" | "out" | "none" (in-kind, statements)
    counterparty: str
    running_balance_fen: int
    category: str | None = None
    voucher: dict[str, str] | None = None
    in_kind: bool = False
    reverses: str | None = None
    reversed_by: str | None = None
    note: str = ""
    counterparty_name: str = ""  # the party's or fund's name, when the counterparty is one


@dataclass(frozen=True)
class ComplianceCheck:
    ok: bool
    details: dict[str, object]


@dataclass(frozen=True)
class Finding:
    part: str  # special_account | special_ledger | special_personnel | closed_operation
    message: str
    event_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Compliance:
    fund_id: str
    special_account: ComplianceCheck
    special_ledger: ComplianceCheck
    special_personnel: ComplianceCheck
    closed_operation: ComplianceCheck
    findings: list[Finding]


@dataclass(frozen=True)
class CohortSummary:
    cohort: str
    loans: int
    principal_fen: int
    repaid_fen: int
    granted_fen: int
    outstanding_fen: int
    overdue_fen: int
    repayment_rate: str  # decimal string, e.g. "0.50"
    funded_by: list[str] = field(default_factory=list)  # earlier cohorts whose repayments paid it
    # fen of this cohort's loans that came from each earlier cohort's repayments (pro rata)
    funded_by_fen: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Flow:
    destination_kind: str  # fund | loan | grant | expenditure
    destination: str
    amount_fen: int
    detail: str = ""


@dataclass(frozen=True)
class PartyFlows:
    party_id: str
    given_fen: int
    items: list[Flow]
    in_kind_fen: int = 0  # value of goods given (not cash, so not in `given_fen` or the items)


@dataclass(frozen=True)
class SourceShare:
    party_id: str
    amount_fen: int


@dataclass(frozen=True)
class AuditEvent:
    position: int
    event_id: str
    type: str
    originator_id: str
    occurred_on: date | None
    recorded_at: datetime
    actor: str
    summary: str
    hash: str
    prev_hash: str


class ReadModels(Protocol):
    """The queries the API (and the CLI, the pages and the exports) ask of the read side."""

    def position(self) -> int:
        """The store position every read model has processed up to."""

    def wait_for(self, position: int, timeout_s: float) -> bool:
        """Block until all read models reached `position` (read-your-writes); False on timeout."""

    def funds(
        self, *, visible: Collection[str] | None, limit: int, cursor: str | None
    ) -> Page[FundSummary]: ...

    def fund(self, fund_id: str) -> FundDetail | None: ...

    def parties(self, *, limit: int, cursor: str | None) -> Page[PartySummary]: ...

    def balance(self, fund_id: str, as_of: date | None) -> Balance | None: ...

    def ledger(
        self,
        fund_id: str,
        *,
        limit: int,
        cursor: str | None,
        date_from: date | None = None,
        date_to: date | None = None,
        category: str | None = None,
        counterparty: str | None = None,
    ) -> Page[LedgerLine]: ...

    def compliance(self, fund_id: str) -> Compliance | None: ...

    def cohorts(self, fund_id: str) -> list[CohortSummary] | None: ...

    def flows(self, party_id: str) -> PartyFlows | None: ...

    def sources(self, fund_id: str) -> list[SourceShare] | None:
        """The mix of original sources in the fund's balance (sums to the balance)."""

    def audit_events(self, *, limit: int, cursor: str | None) -> Page[AuditEvent]: ...
