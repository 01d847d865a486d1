"""Shared by the projection tests: the cattle-fund story, table dumps and a slow reference."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.domain.fund import Fund
from fundledger.domain.loan import Loan
from fundledger.domain.money import Money
from fundledger.domain.party import Party
from projections.database import Database
from projections.read_models import all_read_models

CLERK = c.CommandContext(actor="clerk")


@dataclass
class Cattle:
    fund: str
    cadres: str
    bureau: str
    last_position: int


def cattle_fund(ledger: FundLedger) -> Cattle:
    """The seed's programme C cattle fund: 80 households, a 50% rollover, 40 more households."""

    def run(command: c.Command) -> c.Recorded:
        return ledger.execute(command, CLERK)

    opened = date(2015, 3, 1)
    bureau = run(c.RegisterParty("Municipal Civil Affairs Bureau", "government", opened))
    cadres = run(c.RegisterParty("Bureau cadres", "donor", opened))
    fund = run(
        c.OpenFund(
            "Cattle fund",
            "beef cattle",
            "6222-0001",
            bureau.resource_id,
            ["livestock"],
            True,
            opened,
        )
    ).resource_id
    run(c.RecordDonation(fund, cadres.resource_id, Money.parse("11950.00"), date(2015, 3, 3)))
    run(c.RecordDonation(fund, bureau.resource_id, Money.parse("88050.00"), date(2015, 3, 5)))
    households = [
        run(c.RegisterParty(f"Household {n}", "household", opened)).resource_id for n in range(120)
    ]
    due = date(2015, 12, 31)
    for household in households[:80]:
        run(c.DisburseLoan(fund, household, Money.parse("1100"), "1", date(2015, 4, 1), due))
    run(c.RollOverCohort(fund, "1", Decimal("0.5"), "grant", date(2015, 12, 31)))
    recorded = None
    for household in households[80:]:
        recorded = run(
            c.DisburseLoan(
                fund, household, Money.parse("1100"), "2", date(2016, 1, 10), date(2016, 12, 31)
            )
        )
    assert recorded is not None
    return Cattle(fund, cadres.resource_id, bureau.resource_id, recorded.position)


def dump(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's rows, sorted (the tracking table is left out)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with database.read() as cursor:
        for model in all_read_models():
            for table in model.tables:
                rows = cursor.execute(f"SELECT * FROM {table.name}")
                tables[table.name] = sorted(
                    (tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows),
                    key=repr,
                )
    return tables


def events_of(ledger: FundLedger) -> list[tuple[int, Any]]:
    """Every stored event with its position, read straight from the recorder."""
    events: list[tuple[int, Any]] = []
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start, 1000)
        if not page:
            return events
        events.extend((n.id, ledger.mapper.to_domain_event(n)) for n in page)
        start = page[-1].id + 1


@dataclass
class Reference:
    """What the read models must say, computed slowly and directly from the events."""

    cash_by_fund: dict[str, list[tuple[date, int]]] = field(default_factory=dict)
    given_by_party: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    loans: dict[str, dict[str, Any]] = field(default_factory=dict)
    parties: set[str] = field(default_factory=set)

    def balance(self, fund_id: str, as_of: date | None = None) -> int:
        return sum(fen for day, fen in self.cash_by_fund[fund_id] if as_of is None or day <= as_of)

    def cohorts(self, fund_id: str) -> dict[str, tuple[int, int, int, int]]:
        """cohort -> (loans, principal, repaid, granted), voided loans left out."""
        totals: dict[str, list[int]] = {}
        for loan in self.loans.values():
            if loan["fund_id"] != fund_id or loan["cancelled"]:
                continue
            row = totals.setdefault(loan["cohort"], [0, 0, 0, 0])
            row[0] += 1
            row[1] += loan["principal_fen"]
            row[2] += loan["repaid_fen"]
            row[3] += loan["granted_fen"]
        return {cohort: (r[0], r[1], r[2], r[3]) for cohort, r in totals.items()}


# The cash each fund event moves, written out here independently of projections.movements.
_CASH_IN = (
    Fund.DonationReceived,
    Fund.AllocationReceived,
    Fund.MatchingFundsReleased,
    Fund.RepaymentReceived,
    Fund.SharesSubscribed,
)


def _cash_fen(event: Any) -> int:
    if isinstance(event, _CASH_IN):
        return int(event.amount_fen)
    if isinstance(event, Fund.AllocationSent | Fund.ExpenditurePaid):
        return -int(event.amount_fen)
    if isinstance(event, Fund.LoanDisbursed):
        return -int(event.principal_fen)
    if isinstance(event, Fund.CohortRolledOver):
        return int(event.repaid_fen)
    if isinstance(event, Fund.EventReversed):
        return int(event.balance_change_fen)
    return 0


def reference(ledger: FundLedger) -> Reference:
    ref = Reference()
    for _, event in events_of(ledger):
        originator = str(event.originator_id)
        if isinstance(event, Party.Registered):
            ref.parties.add(originator)
        elif isinstance(event, Fund.Opened):
            ref.cash_by_fund[originator] = []
        elif isinstance(event, Fund.Event):
            ref.cash_by_fund[originator].append((event.occurred_on, _cash_fen(event)))
            _given(ref, event)
        elif isinstance(event, Loan.Event):
            _loan(ref, originator, event)
    return ref


def _given(ref: Reference, event: Any) -> None:
    if isinstance(event, Fund.DonationReceived):
        ref.given_by_party[event.donor_id] += event.amount_fen
    elif isinstance(event, Fund.MatchingFundsReleased):
        ref.given_by_party[event.grantor_id] += event.amount_fen
    elif isinstance(event, Fund.SharesSubscribed):
        ref.given_by_party[event.member_id] += event.amount_fen


def _loan(ref: Reference, loan_id: str, event: Any) -> None:
    if isinstance(event, Loan.Issued):
        ref.loans[loan_id] = {
            "fund_id": event.fund_id,
            "cohort": event.cohort,
            "principal_fen": event.principal_fen,
            "repaid_fen": 0,
            "granted_fen": 0,
            "cancelled": False,
        }
        return
    loan = ref.loans[loan_id]
    if isinstance(event, Loan.Repaid):
        loan["repaid_fen"] += event.amount_fen
    elif isinstance(event, Loan.RolledOver):
        loan["repaid_fen"] += event.repaid_fen
        loan["granted_fen"] += event.granted_fen
    elif isinstance(event, Loan.Adjusted):
        loan["repaid_fen"] += event.repaid_change_fen
        loan["granted_fen"] += event.granted_change_fen
        loan["cancelled"] = loan["cancelled"] or event.cancelled
