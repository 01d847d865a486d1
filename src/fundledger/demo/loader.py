"""Loads the seed scenario into a ledger, one command at a time, idempotently.

Every command carries an Idempotency-Key of the demo's own scope, so loading twice records nothing
new (each command replays its first answer), and a load that was interrupted resumes where it
stopped. A store that holds a different demo under the same keys is refused (IdempotencyKeyReused).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.demo.scenario import (
    PROGRAMMES,
    Allocation,
    Donation,
    Expenditure,
    FundSpec,
    Handover,
    InKindGift,
    LoanBatch,
    MatchingPledge,
    Programme,
    Rollover,
    Step,
    Subscription,
)
from fundledger.domain.fund import SharePlan, Voucher
from fundledger.domain.money import Money

DEMO_ACTOR = "fundledger demo"
IDEMPOTENCY_SCOPE = "fundledger-demo"


@dataclass
class DemoLoad:
    """What loading the demo did: the stored ids by scenario key, and how much was new."""

    party_ids: dict[str, str] = field(default_factory=dict)
    fund_ids: dict[str, str] = field(default_factory=dict)
    fund_programmes: dict[str, str] = field(default_factory=dict)
    recorded: int = 0
    replayed: int = 0

    @property
    def already_loaded(self) -> bool:
        """True when the store held the whole demo before this load."""
        return self.recorded == 0


def command_count(programmes: tuple[Programme, ...] = PROGRAMMES) -> int:
    """How many commands loading `programmes` runs (for a progress bar)."""
    steps = sum(
        len(step.borrowers) if isinstance(step, LoanBatch) else 1
        for programme in programmes
        for step in programme.steps
    )
    return steps + sum(len(p.parties) + len(p.funds) for p in programmes)


def load_demo(
    ledger: FundLedger,
    programmes: tuple[Programme, ...] = PROGRAMMES,
    on_command: Callable[[], None] | None = None,
) -> DemoLoad:
    """Run every command of `programmes` against `ledger`; `on_command` is called after each."""
    loader = _Loader(ledger, on_command or (lambda: None))
    for programme in programmes:
        loader.load_programme(programme)
    return loader.result


@dataclass
class _Loader:
    ledger: FundLedger
    on_command: Callable[[], None]
    result: DemoLoad = field(default_factory=DemoLoad)

    def load_programme(self, programme: Programme) -> None:
        for party in programme.parties:
            registration = c.RegisterParty(party.name, party.kind, programme.funds[0].opened_on)
            self.result.party_ids[party.key] = self._run(f"party:{party.key}", registration)
        for fund in programme.funds:
            self.result.fund_ids[fund.key] = self._run(f"fund:{fund.key}", self._open(fund))
            self.result.fund_programmes[fund.key] = programme.code
        for index, step in enumerate(programme.steps):
            for suffix, command in self._commands(step):
                self._run(f"{programme.code}:step{index}{suffix}", command)

    def _run(self, key: str, command: c.Command) -> str:
        """Execute once per store: the same key and command replay the first answer."""
        request = c.IdempotencyRequest(
            scope=IDEMPOTENCY_SCOPE,
            key=key,
            fingerprint=hashlib.sha256(repr(command).encode()).hexdigest(),
            status_code=201,
            render=_render,
        )
        recorded = self.ledger.execute(command, c.CommandContext(DEMO_ACTOR, request))
        self.on_command()
        if recorded.replay_body is not None:
            self.result.replayed += 1
            return str(json.loads(recorded.replay_body)["resource_id"])
        self.result.recorded += 1
        return recorded.resource_id

    def _party(self, key: str) -> str:
        return self.result.party_ids[key]

    def _fund(self, key: str) -> str:
        return self.result.fund_ids[key]

    def _open(self, fund: FundSpec) -> c.OpenFund:
        plan = None
        if fund.share_plan is not None:
            plan = SharePlan(
                share_price_fen=Money.parse(fund.share_plan.share_price).amount_fen,
                shares_min=fund.share_plan.shares_min,
                shares_max=fund.share_plan.shares_max,
            )
        return c.OpenFund(
            name=fund.name,
            purpose=fund.purpose,
            bank_account=fund.bank_account,
            custodian=self._party(fund.custodian),
            allowed_categories=list(fund.allowed_categories),
            revolving=fund.revolving,
            occurred_on=fund.opened_on,
            share_plan=plan,
            note=fund.note,
        )

    def _commands(self, step: Step) -> Iterator[tuple[str, c.Command]]:
        """The command(s) of one step, each with a suffix that keeps its key unique."""
        match step:
            case LoanBatch():
                for borrower in step.borrowers:
                    yield f":{borrower}", self._loan(step, borrower)
            case _:
                yield "", self._command(step)

    def _loan(self, step: LoanBatch, borrower: str) -> c.DisburseLoan:
        return c.DisburseLoan(
            fund=self._fund(step.fund),
            borrower=self._party(borrower),
            principal=Money.parse(step.principal),
            cohort=step.cohort,
            occurred_on=step.occurred_on,
            due_on=step.due_on,
            note=step.note,
        )

    def _command(self, step: Step) -> c.Command:
        builders: dict[type[Any], Callable[[Any], c.Command]] = {
            Donation: self._donation,
            InKindGift: self._in_kind,
            Allocation: self._allocation,
            MatchingPledge: self._matching,
            Expenditure: self._expenditure,
            Handover: self._handover,
            Subscription: self._subscription,
            Rollover: self._rollover,
        }
        return builders[type(step)](step)

    def _donation(self, step: Donation) -> c.RecordDonation:
        return c.RecordDonation(
            self._fund(step.fund),
            self._party(step.donor),
            Money.parse(step.amount),
            step.occurred_on,
            note=step.note,
        )

    def _in_kind(self, step: InKindGift) -> c.RecordDonation:
        return c.RecordDonation(
            self._fund(step.fund),
            self._party(step.donor),
            Money.parse(step.value),
            step.occurred_on,
            in_kind=c.InKind(step.description, step.quantity, step.valuation_basis),
            note=step.note,
        )

    def _allocation(self, step: Allocation) -> c.AllocateFunds:
        return c.AllocateFunds(
            self._fund(step.from_fund),
            self._fund(step.to_fund),
            Money.parse(step.amount),
            step.occurred_on,
            step.purpose,
            note=step.note,
        )

    def _matching(self, step: MatchingPledge) -> c.PledgeMatchingGrant:
        return c.PledgeMatchingGrant(
            self._fund(step.fund),
            self._party(step.grantor),
            Decimal(step.ratio),
            Money.parse(step.cap),
            step.occurred_on,
            note=step.note,
        )

    def _handover(self, step: Handover) -> c.HandOverCustody:
        return c.HandOverCustody(
            self._fund(step.fund), self._party(step.custodian), step.occurred_on, note=step.note
        )

    def _subscription(self, step: Subscription) -> c.SubscribeShares:
        return c.SubscribeShares(
            self._fund(step.fund),
            self._party(step.member),
            step.shares,
            step.occurred_on,
            note=step.note,
        )

    def _rollover(self, step: Rollover) -> c.RollOverCohort:
        return c.RollOverCohort(
            self._fund(step.fund),
            step.cohort,
            Decimal(step.ratio),
            step.remainder,
            step.occurred_on,
            note=step.note,
        )

    def _expenditure(self, step: Expenditure) -> c.PayExpenditure:
        return c.PayExpenditure(
            fund=self._fund(step.fund),
            payee=self._party(step.payee),
            amount=Money.parse(step.amount),
            category=step.category,
            voucher=Voucher(
                number=step.voucher_number,
                date=step.occurred_on.isoformat(),
                description=step.voucher_description,
            ),
            occurred_on=step.occurred_on,
            note=step.note,
        )


def _render(recorded: c.Recorded) -> str:
    """The answer stored with each demo command, so a second load can find its ids again."""
    return json.dumps(
        {
            "resource_id": recorded.resource_id,
            "event_ids": list(recorded.event_ids),
            "position": recorded.position,
        }
    )
