"""Request and response bodies. Amounts are decimal strings in yuan; a JSON number is refused.

Amounts are normalised on the way in ("1100" becomes "1100.50"-style "1100.00"), so what a command
echoes back is always two decimals and equal requests fingerprint equally for idempotency.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict

from fundledger.domain.base import NAME_LENGTH_MAX, TEXT_LENGTH_MAX
from fundledger.domain.errors import DomainError
from fundledger.domain.money import format_fen, parse_amount_fen, parse_ratio

# C0 controls other than tab, newline and carriage return have no place in ledger text.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean_text(text: str) -> str:
    """Refuse lone surrogates (not UTF-8) and control characters: they break stores and exports."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    if _CONTROL_CHARACTERS.search(text):
        raise ValueError("text must not contain control characters")
    return text


def _amount(text: str) -> str:
    try:
        return format_fen(parse_amount_fen(text))
    except DomainError as error:
        raise ValueError(error.detail) from None


def _positive_amount(text: str) -> str:
    normalised = _amount(text)
    if parse_amount_fen(normalised) <= 0:
        raise ValueError("the amount must be positive")
    return normalised


def _ratio(text: str) -> str:
    try:
        ratio = parse_ratio(text)
    except DomainError as error:
        raise ValueError(error.detail) from None
    if ratio <= 0:
        raise ValueError("a ratio must be above 0")
    return text.strip()


# The patterns say in the OpenAPI document exactly what the validators accept (so a client, or a
# fuzzer, generating from the schema is not surprised by a 422); the validators also check them.
# Positive, at most 10^12 yuan, at most two decimals:
_POSITIVE_AMOUNT_PATTERN = (
    r"^(?:[1-9][0-9]{0,11}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?)|1000000000000(?:\.00?)?)$"
)
_AMOUNT_PATTERN = r"^(?:(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,2})?|1000000000000(?:\.00?)?)$"
# A fraction above 0 with at most six decimals.
_FRACTION = (
    r"0\.(?:[1-9][0-9]{0,5}|0[1-9][0-9]{0,4}|00[1-9][0-9]{0,3}|000[1-9][0-9]{0,2}"
    r"|0000[1-9][0-9]?|00000[1-9])"
)
_ROLLOVER_RATIO_PATTERN = rf"^(?:1(?:\.0{{1,6}})?|{_FRACTION})$"
_MATCHING_RATIO_PATTERN = rf"^(?:100(?:\.0{{1,6}})?|[1-9][0-9]?(?:\.[0-9]{{1,6}})?|{_FRACTION})$"
# Business dates from 1949-10-01 to 2199-12-31 (the domain's window).
_BUSINESS_DATE_PATTERN = r"^(?:1949-1[0-2]|19[5-9][0-9]-[0-9]{2}|2[01][0-9]{2}-[0-9]{2})-[0-9]{2}$"
# Text without control characters (tab, newline and carriage return are fine) ...
_SAFE = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_NOTE_PATTERN = rf"^{_SAFE}*$"
# ... and, where text is required, with at least one visible character.
_TEXT_PATTERN = rf"^{_SAFE}*[^\s\x00-\x1f\x7f]{_SAFE}*$"

Amount = Annotated[
    str,
    Strict(),
    Field(
        pattern=_POSITIVE_AMOUNT_PATTERN,
        description='Yuan as a decimal string, at most two decimals ("1100", "1100.5", "1100.50").',
        examples=["1100.00"],
    ),
    AfterValidator(_positive_amount),
]
NonNegativeAmount = Annotated[
    str,
    Strict(),
    Field(pattern=_AMOUNT_PATTERN, examples=["12000.00"]),
    AfterValidator(_amount),
]
AmountOut = Annotated[str, Field(description="Yuan, always two decimals.", examples=["1100.00"])]
RolloverRatio = Annotated[
    str,
    Strict(),
    Field(pattern=_ROLLOVER_RATIO_PATTERN, description="0 < ratio <= 1.", examples=["0.5"]),
    AfterValidator(_ratio),
]
MatchingRatio = Annotated[
    str,
    Strict(),
    Field(pattern=_MATCHING_RATIO_PATTERN, description="0 < ratio <= 100.", examples=["0.5"]),
    AfterValidator(_ratio),
]


def _json_number(value: object) -> object:
    """A count is a JSON number (5 or 5.0), never text ("5") or a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    return value


ShareCount = Annotated[int, BeforeValidator(_json_number), Field(ge=1, le=10_000)]


def _date_text(value: object) -> object:
    """Dates arrive as "YYYY-MM-DD" text; a number (a Unix time) is refused, not guessed at."""
    if not isinstance(value, str | date):
        raise ValueError('a date must be a string "YYYY-MM-DD"')
    return value


BusinessDate = Annotated[
    date,
    BeforeValidator(_date_text),
    Field(examples=["2016-03-01"], json_schema_extra={"pattern": _BUSINESS_DATE_PATTERN}),
]
Name = Annotated[
    str,
    Strict(),
    Field(min_length=1, max_length=NAME_LENGTH_MAX, pattern=_TEXT_PATTERN),
    AfterValidator(_clean_text),
]
Text = Annotated[
    str,
    Strict(),
    Field(min_length=1, max_length=TEXT_LENGTH_MAX, pattern=_TEXT_PATTERN),
    AfterValidator(_clean_text),
]
Note = Annotated[
    str,
    Strict(),
    Field(max_length=TEXT_LENGTH_MAX, pattern=_NOTE_PATTERN),
    AfterValidator(_clean_text),
]
Id = Annotated[
    str,
    Strict(),
    Field(
        min_length=1,
        max_length=100,
        pattern=_TEXT_PATTERN,
        examples=["0b5c7e4e-3a59-4c4e-9d43-3b0a1f8f2a10"],
    ),
    AfterValidator(_clean_text),
]
PartyKindName = Literal[
    "government", "donor", "household", "cooperative", "village", "vendor", "individual"
]


class Body(BaseModel):
    """A request body: unknown fields are refused (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordedFields(Out):
    event_ids: list[str] = Field(description="The events recorded, in order.")
    position: int = Field(description="Store position of the last event; pass as min_position.")


# ---- commands ------------------------------------------------------------------------------------


class PartyIn(Body):
    name: Name
    kind: PartyKindName
    occurred_on: BusinessDate | None = None
    note: Note = ""


class PartyRecorded(PartyIn, RecordedFields):
    id: str


class SharePlanIn(Body):
    share_price: Amount
    shares_min: ShareCount
    shares_max: ShareCount


class FundIn(Body):
    name: Name
    purpose: Text
    bank_account: Name
    custodian: Id
    allowed_categories: Annotated[list[Name], Field(max_length=50)]
    revolving: Annotated[bool, Strict()]
    currency: Annotated[str, Strict(), Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    share_plan: SharePlanIn | None = None
    occurred_on: BusinessDate | None = None
    note: Note = ""


class FundRecorded(FundIn, RecordedFields):
    id: str


class CustodianIn(Body):
    custodian: Id
    occurred_on: BusinessDate
    note: Note = ""


class CustodianRecorded(CustodianIn, RecordedFields):
    fund_id: str


class InKindIn(Body):
    description: Text
    quantity: Name
    valuation_basis: Text


class DonationIn(Body):
    donor: Id
    amount: Amount
    occurred_on: BusinessDate
    in_kind: InKindIn | None = None
    note: Note = ""


class DonationRecorded(DonationIn, RecordedFields):
    fund_id: str


class AllocationIn(Body):
    from_fund: Id
    to_fund: Id
    amount: Amount
    occurred_on: BusinessDate
    purpose: Text
    note: Note = ""


class AllocationRecorded(AllocationIn, RecordedFields):
    id: str


class MatchingGrantIn(Body):
    grantor: Id
    ratio: MatchingRatio
    cap: Amount
    occurred_on: BusinessDate
    note: Note = ""


class MatchingGrantRecorded(MatchingGrantIn, RecordedFields):
    id: str
    fund_id: str


class LoanIn(Body):
    borrower: Id
    principal: Amount
    cohort: Name
    occurred_on: BusinessDate
    due_on: BusinessDate
    note: Note = ""


class LoanRecorded(LoanIn, RecordedFields):
    id: str
    fund_id: str


class RepaymentIn(Body):
    amount: Amount
    occurred_on: BusinessDate
    note: Note = ""


class RepaymentRecorded(RepaymentIn, RecordedFields):
    loan_id: str


class RolloverIn(Body):
    ratio: RolloverRatio
    occurred_on: BusinessDate
    remainder: Literal["grant", "outstanding"]
    note: Note = ""


class RolloverRecorded(RolloverIn, RecordedFields):
    fund_id: str
    cohort: str


class VoucherIn(Body):
    number: Name
    date: BusinessDate
    description: Text


class ExpenditureIn(Body):
    payee: Id
    amount: Amount
    category: Name
    occurred_on: BusinessDate
    voucher: VoucherIn
    note: Note = ""


class ExpenditureRecorded(ExpenditureIn, RecordedFields):
    fund_id: str


class SharesIn(Body):
    member: Id
    shares: ShareCount
    occurred_on: BusinessDate
    note: Note = ""


class SharesRecorded(SharesIn, RecordedFields):
    fund_id: str


class BankStatementIn(Body):
    balance: NonNegativeAmount
    occurred_on: BusinessDate
    note: Note = ""


class BankStatementRecorded(BankStatementIn, RecordedFields):
    fund_id: str


class ReversalIn(Body):
    reason: Text
    occurred_on: BusinessDate | None = None


class ReversalRecorded(ReversalIn, RecordedFields):
    id: str = Field(description="The id of the (first) reversing event.")
    reverses: str


class KeyRevocationIn(Body):
    reason: Note = ""


class KeyRevocationRecorded(KeyRevocationIn, RecordedFields):
    id: str


# ---- queries -------------------------------------------------------------------------------------


class FundItem(Out):
    id: str
    name: str
    purpose: str
    revolving: bool
    balance: AmountOut
    currency: str


class FundPage(Out):
    items: list[FundItem]
    next_cursor: str | None


class FundDetailOut(FundItem):
    bank_account: str
    custodian: str
    allowed_categories: list[str]
    version: int
    in_kind_value: AmountOut


class PartyItem(Out):
    id: str
    name: str
    kind: str


class PartyPage(Out):
    items: list[PartyItem]
    next_cursor: str | None


class BalanceOut(Out):
    fund_id: str
    as_of: date | None
    balance: AmountOut
    currency: str


Direction = Literal["in", "out", "none"]


class LedgerLineOut(Out):
    event_id: str
    occurred_on: date
    kind: str
    amount: AmountOut
    direction: Direction
    counterparty: str
    running_balance: AmountOut
    category: str | None = None
    voucher: dict[str, str] | None = None
    in_kind: bool = False
    reverses: str | None = None
    reversed_by: str | None = None
    note: str = ""


class LedgerPage(Out):
    items: list[LedgerLineOut]
    next_cursor: str | None


class ComplianceCheckOut(Out):
    ok: bool
    details: dict[str, Any]


class FindingOut(Out):
    part: str
    message: str
    event_ids: list[str]


class ComplianceOut(Out):
    fund_id: str
    special_account: ComplianceCheckOut
    special_ledger: ComplianceCheckOut
    special_personnel: ComplianceCheckOut
    closed_operation: ComplianceCheckOut
    findings: list[FindingOut]


class CohortOut(Out):
    cohort: str
    loans: int
    principal: AmountOut
    repaid: AmountOut
    granted: AmountOut
    outstanding: AmountOut
    overdue: AmountOut
    repayment_rate: str
    funded_by: list[str]


class CohortList(Out):
    fund_id: str
    items: list[CohortOut]


class FlowOut(Out):
    destination_kind: str
    destination: str
    amount: AmountOut
    detail: str = ""


class FlowsOut(Out):
    party_id: str
    given: AmountOut
    items: list[FlowOut]


class SourceOut(Out):
    party_id: str
    amount: AmountOut


class SourcesOut(Out):
    fund_id: str
    balance: AmountOut
    items: list[SourceOut]


class AuditEventOut(Out):
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


class AuditEventPage(Out):
    items: list[AuditEventOut]
    next_cursor: str | None


class VerifyOut(Out):
    ok: bool
    events_checked: int
    head_hash: str
    head_position: int
    position: int | None = Field(None, description="The first broken position when not ok.")
    problem: str | None = Field(
        None, description="edited, missing, inserted, reordered, truncated or rewritten."
    )
    detail: str = ""
    checkpoint_position: int | None = Field(
        None, description="The published checkpoint the log was also held against."
    )


class CheckpointOut(Out):
    format: str
    position: int
    head_hash: str
    events: int
    signed_at: str
    key_id: str
    public_key: str
    signature: str


class CheckpointList(Out):
    items: list[CheckpointOut]


class Health(Out):
    status: Literal["ok"]
    store: str
    read_side_position: int | None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    rule: str
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None
