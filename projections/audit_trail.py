"""Every event in store order, with who recorded it, when, its business date and a readable line.

Summaries name parties and funds as `{<uuid>}`; the query renders the names at read time, so a
summary never needs another model's state while projecting. The chain hashes are not copied:
the audit query joins the recorders' own `event_chain` table by position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from fundledger.domain.fund import Fund
from fundledger.domain.loan import Loan
from fundledger.domain.money import format_fen
from fundledger.domain.party import Party
from projections.database import Cursor, Row
from projections.model import Context, Fact, ReadModel, Table

AUDIT_EVENTS = Table(
    "rm_audit_events",
    "position INT PRIMARY KEY, event_id TEXT NOT NULL, type TEXT NOT NULL, "
    "originator_id TEXT NOT NULL, occurred_on TEXT, recorded_at TEXT NOT NULL, "
    "actor TEXT NOT NULL, summary TEXT NOT NULL",
)
COLUMNS = (
    "position",
    "event_id",
    "type",
    "originator_id",
    "occurred_on",
    "recorded_at",
    "actor",
    "summary",
)


class AuditTrail(ReadModel):
    """Invariant: exactly one row per stored event, positions strictly increasing."""

    name = "audit_trail"
    tables: ClassVar[tuple[Table, ...]] = (AUDIT_EVENTS,)

    def __init__(self) -> None:
        self._rows: list[Row] = []

    def project(self, fact: Fact, context: Context) -> None:
        occurred_on = fact.occurred_on.isoformat() if fact.occurred_on is not None else None
        self._rows.append(
            (
                fact.position,
                fact.event_id,
                fact.type,
                fact.originator_id,
                occurred_on,
                fact.recorded_at.isoformat(),
                fact.actor,
                summary_of(fact),
            )
        )

    def write(self, cursor: Cursor) -> None:
        cursor.insert_rows(AUDIT_EVENTS.name, COLUMNS, self._rows)

    def discard(self) -> None:
        self._rows = []


def _yuan(amount_fen: int) -> str:
    return f"{format_fen(amount_fen)} yuan"


SUMMARIES: dict[type[Any], Callable[[Any, str], str]] = {
    Party.Registered: lambda e, me: f"{e.kind} {e.name!r} registered",
    Fund.Opened: lambda e, me: (
        f"fund {e.name!r} opened, account {e.bank_account}, custodian {{{e.custodian_id}}}"
    ),
    Fund.CustodianHandedOver: lambda e, me: (
        f"custody of {{{me}}} handed from {{{e.previous_custodian_id}}} to {{{e.custodian_id}}}"
    ),
    Fund.DonationReceived: lambda e, me: (
        f"donation of {_yuan(e.amount_fen)} from {{{e.donor_id}}} into {{{me}}}"
    ),
    Fund.InKindDonationReceived: lambda e, me: (
        f"in-kind gift from {{{e.donor_id}}} to {{{me}}}: {e.quantity} {e.description}, "
        f"valued {_yuan(e.value_fen)}"
    ),
    Fund.AllocationSent: lambda e, me: (
        f"{_yuan(e.amount_fen)} allocated from {{{me}}} to {{{e.to_fund_id}}}"
    ),
    Fund.AllocationReceived: lambda e, me: (
        f"{_yuan(e.amount_fen)} received by {{{me}}} from {{{e.from_fund_id}}}"
    ),
    Fund.MatchingGrantPledged: lambda e, me: (
        f"{{{e.grantor_id}}} pledged {e.ratio} × later cash donations to {{{me}}}, "
        f"up to {_yuan(e.cap_fen)}"
    ),
    Fund.MatchingFundsReleased: lambda e, me: (
        f"{{{e.grantor_id}}} matched {_yuan(e.amount_fen)} into {{{me}}}"
    ),
    Fund.LoanDisbursed: lambda e, me: (
        f"interest-free loan of {_yuan(e.principal_fen)} from {{{me}}} to {{{e.borrower_id}}}, "
        f"cohort {e.cohort}, due {e.due_on.isoformat()}"
    ),
    Fund.RepaymentReceived: lambda e, me: (
        f"{{{e.borrower_id}}} repaid {_yuan(e.amount_fen)} into {{{me}}}"
    ),
    Fund.CohortRolledOver: lambda e, me: (
        f"cohort {e.cohort} of {{{me}}} rolled over at {e.ratio}: {_yuan(e.repaid_fen)} repaid, "
        f"{_yuan(e.granted_fen)} granted"
    ),
    Fund.ExpenditurePaid: lambda e, me: (
        f"{{{me}}} paid {_yuan(e.amount_fen)} to {{{e.payee_id}}} for {e.category}, "
        f"voucher {e.voucher['number']}"
    ),
    Fund.SharesSubscribed: lambda e, me: (
        f"{{{e.member_id}}} bought {e.shares} shares of {{{me}}} for {_yuan(e.amount_fen)}"
    ),
    Fund.BankStatementRecorded: lambda e, me: (
        f"bank statement for {{{me}}}: {_yuan(e.balance_fen)} at end of day"
    ),
    Fund.EventReversed: lambda e, me: (
        f"{e.original_type} {e.original_event_id} reversed in {{{me}}}: {e.reason}"
    ),
    Loan.Issued: lambda e, me: (
        f"loan to {{{e.borrower_id}}} of {_yuan(e.principal_fen)} from {{{e.fund_id}}} issued"
    ),
    Loan.Repaid: lambda e, me: f"loan {me} repaid {_yuan(e.amount_fen)}",
    Loan.RolledOver: lambda e, me: (
        f"loan {me} rolled over: {_yuan(e.repaid_fen)} repaid, {_yuan(e.granted_fen)} granted"
    ),
    Loan.Adjusted: lambda e, me: (
        f"loan {me} adjusted by reversal {e.fund_event_id}" + (" (voided)" if e.cancelled else "")
    ),
}


def summary_of(fact: Fact) -> str:
    """One readable line; `{uuid}` marks a name to fill in when read."""
    summarise = SUMMARIES.get(type(fact.event))
    if summarise is None:
        return fact.type
    return summarise(fact.event, fact.originator_id)
