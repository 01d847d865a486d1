"""Named domain errors. Each names the rule it protects; the API maps the families to statuses.

- `RuleViolation` (409): the command is well formed but breaks a rule of the ledger.
- `NotFound` (404): the command names a fund, party, loan or event that does not exist.
- `InvalidInput` (422): a value is malformed (an amount with three decimals, a float).
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    rule = "domain-error"

    def __init__(self, detail: str, *, event_ids: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.event_ids = event_ids


class InvalidInput(DomainError):
    rule = "invalid-input"


class InvalidAmount(InvalidInput):
    rule = "invalid-amount"


class NotFound(DomainError):
    rule = "not-found"


class UnknownFund(NotFound):
    rule = "unknown-fund"


class UnknownParty(NotFound):
    rule = "unknown-party"


class UnknownLoan(NotFound):
    rule = "unknown-loan"


class UnknownEvent(NotFound):
    rule = "unknown-event"


class UnknownCohort(NotFound):
    rule = "unknown-cohort"


class RuleViolation(DomainError):
    rule = "rule-violation"


class InsufficientFunds(RuleViolation):
    """No fund goes below zero."""

    rule = "insufficient-funds"


class CategoryNotAllowed(RuleViolation):
    """Closed operation: money leaves only for the fund's declared purposes."""

    rule = "category-not-allowed"


class VoucherRequired(RuleViolation):
    """Reimbursement system: every expenditure is backed by a voucher."""

    rule = "voucher-required"


class RepaymentExceedsOwed(RuleViolation):
    rule = "repayment-exceeds-owed"


class MatchingCapExceeded(RuleViolation):
    rule = "matching-cap-exceeded"


class SharesOutOfLimits(RuleViolation):
    rule = "shares-out-of-limits"


class CurrencyMismatch(RuleViolation):
    rule = "currency-mismatch"


class AlreadyReversed(RuleViolation):
    rule = "already-reversed"


class NotReversible(RuleViolation):
    rule = "not-reversible"


class FundNotRevolving(RuleViolation):
    rule = "fund-not-revolving"


class BalanceLimitExceeded(RuleViolation):
    """A fund never holds more than the amount limit (10^12 yuan): more is a typo or an attack."""

    rule = "balance-limit-exceeded"


class NoSharePlan(RuleViolation):
    rule = "no-share-plan"


class PartyKindNotAllowed(RuleViolation):
    rule = "party-kind-not-allowed"


class IdempotencyKeyReused(RuleViolation):
    """The same Idempotency-Key was sent with a different request."""

    rule = "idempotency-key-reused"


class ConcurrentUpdate(RuleViolation):
    """Another writer kept winning the race; the command was not recorded."""

    rule = "concurrent-update"
