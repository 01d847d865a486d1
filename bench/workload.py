"""A seeded synthetic workload: many village programmes, shaped like the seed scenario.

A county fund receives government grants and allocates to villages. Each village has a
service-centre fund (donations from cadres and firms, a matching grant, expenditures against
vouchers), a revolving cattle fund (cohorts of households borrow interest-free, repay, the cohort
rolls over and re-funds the next), and every fifth village a greenhouse cooperative selling shares.
A few donations are reversed.

Commands refer to parties, funds and loans that exist only once earlier commands ran, so the
workload comes in phases: each phase is built from the results of the ones before it (the
`Results` book). Both the one-command-at-a-time path and the batch path run the same phases.
The generator keeps a shadow balance per fund that never exceeds the real one (matching releases
are left out of it), so every generated command is valid.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from fundledger.application import commands as c
from fundledger.domain.money import Money

SERVICE_CATEGORIES = ["construction", "materials", "services", "training"]
CATTLE_CATEGORIES = ["livestock"]
COOPERATIVE_CATEGORIES = ["greenhouses", "seedlings"]
HOUSEHOLDS_PER_VILLAGE = 40
DONORS_PER_VILLAGE = 6
# A village programme is a few hundred events a year (the seed's three programmes, scaled).
EVENTS_PER_VILLAGE = 500
YEAR_START = date(2025, 1, 1)
ACTOR = "bench"


@dataclass
class Results:
    """What earlier phases produced: resource ids by label, event ids of donations."""

    ids: dict[str, str] = field(default_factory=dict)


Step = tuple[str | None, c.Command]
Phase = Callable[[Results], list[Step]]


@dataclass
class _Village:
    number: int
    households: list[str]
    donors: list[str]
    service_balance_fen: int = 0
    cattle_balance_fen: int = 0
    loans: list[tuple[str, int]] = field(default_factory=list)  # (label, principal_fen)
    donations: list[tuple[str, int]] = field(default_factory=list)  # (label, amount_fen)
    cooperative: bool = False


def village_count(events: int) -> int:
    return max(2, round(events / EVENTS_PER_VILLAGE))


@dataclass
class Workload:
    """The phases of a workload of about `events` events, reproducible from `seed`."""

    events: int
    seed: int = 20151

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._villages = [
            _Village(
                number=n,
                households=[f"household:{n}:{h}" for h in range(HOUSEHOLDS_PER_VILLAGE)],
                donors=[f"donor:{n}:{d}" for d in range(DONORS_PER_VILLAGE)],
                cooperative=n % 5 == 0,
            )
            for n in range(village_count(self.events))
        ]
        self._county_balance_fen = 0

    @property
    def villages(self) -> int:
        return len(self._villages)

    def phases(self) -> list[Phase]:
        return [
            self._parties,
            self._funds,
            self._first_year,
            self._repayments_and_rollover,
            self._second_cohort_and_reversals,
        ]

    # ---- phase 1 and 2: who and which accounts ---------------------------------------------

    def _parties(self, _results: Results) -> list[Step]:
        when = YEAR_START
        steps: list[Step] = [
            ("party:county", c.RegisterParty("County Finance Bureau", "government", when)),
            ("party:custodian:county", c.RegisterParty("County treasurer", "individual", when)),
        ]
        for village in self._villages:
            n = village.number
            steps.append((f"party:village:{n}", c.RegisterParty(f"Village {n}", "village", when)))
            steps.append(
                (f"party:custodian:{n}", c.RegisterParty(f"Accountant {n}", "individual", when))
            )
            steps.append((f"party:vendor:{n}", c.RegisterParty(f"Supplier {n}", "vendor", when)))
            for label in village.donors:
                steps.append((label, c.RegisterParty(f"Cadre {label}", "donor", when)))
            for label in village.households:
                steps.append((label, c.RegisterParty(f"Household {label}", "household", when)))
        return steps

    def _funds(self, results: Results) -> list[Step]:
        when = YEAR_START
        ids = results.ids
        steps: list[Step] = [
            (
                "fund:county",
                c.OpenFund(
                    "County poverty-alleviation fund",
                    "Allocations to village programmes",
                    "6222-0000-0000",
                    ids["party:custodian:county"],
                    ["administration"],
                    False,
                    when,
                ),
            )
        ]
        for village in self._villages:
            n = village.number
            custodian = ids[f"party:custodian:{n}"]
            steps.append(
                (
                    f"fund:service:{n}",
                    c.OpenFund(
                        f"Village {n} service centre",
                        "Build and run the village service centre",
                        f"6222-{n:04d}-0001",
                        custodian,
                        SERVICE_CATEGORIES,
                        False,
                        when,
                    ),
                )
            )
            steps.append(
                (
                    f"fund:cattle:{n}",
                    c.OpenFund(
                        f"Village {n} cattle fund",
                        "Interest-free support for cattle households, revolving",
                        f"6222-{n:04d}-0002",
                        custodian,
                        CATTLE_CATEGORIES,
                        True,
                        when,
                    ),
                )
            )
            if village.cooperative:
                steps.append(
                    (
                        f"fund:coop:{n}",
                        c.OpenFund(
                            f"Village {n} greenhouse cooperative",
                            "Solar greenhouses, financed by subsidy and members' shares",
                            f"6222-{n:04d}-0003",
                            custodian,
                            COOPERATIVE_CATEGORIES,
                            False,
                            when,
                            share_plan={
                                "share_price_fen": 100_000,
                                "shares_min": 1,
                                "shares_max": 20,
                            },
                        ),
                    )
                )
        return steps

    # ---- phase 3: the year's money --------------------------------------------------------

    def _first_year(self, results: Results) -> list[Step]:
        ids = results.ids
        steps: list[Step] = []
        county = ids["fund:county"]
        for village in self._villages:
            n = village.number
            steps.append(
                (
                    None,
                    c.PledgeMatchingGrant(
                        ids[f"fund:service:{n}"],
                        ids["party:county"],
                        Decimal("0.5"),
                        Money.parse("19000"),
                        YEAR_START,
                    ),
                )
            )
        # Enough county grants to fund every village's first cohort.
        for _ in range(self.villages):
            amount_fen = 20_000_000
            self._county_balance_fen += amount_fen
            steps.append(
                (
                    None,
                    c.RecordDonation(county, ids["party:county"], Money(amount_fen), YEAR_START),
                )
            )
        flows_per_village = max(20, int(EVENTS_PER_VILLAGE * 0.55))
        for village in self._villages:
            steps.extend(self._village_year(village, results, flows_per_village))
        return steps

    def _village_year(self, village: _Village, results: Results, flows: int) -> list[Step]:
        ids = results.ids
        n = village.number
        rnd = self._random
        service = ids[f"fund:service:{n}"]
        cattle = ids[f"fund:cattle:{n}"]
        steps: list[Step] = []
        # The county allocates the cattle fund's first cohort up front.
        allocation_fen = 8_800_000
        self._county_balance_fen -= allocation_fen
        village.cattle_balance_fen += allocation_fen
        steps.append(
            (
                None,
                c.AllocateFunds(
                    ids["fund:county"],
                    cattle,
                    Money(allocation_fen),
                    YEAR_START + timedelta(days=1),
                    "cattle fund, first cohort",
                ),
            )
        )
        for index in range(flows):
            when = YEAR_START + timedelta(days=2 + index * 300 // flows)
            roll = rnd.random()
            if roll < 0.45:
                steps.append(self._donation(village, service, results, when))
            elif roll < 0.75 and village.service_balance_fen > 50_000:
                steps.append(self._expenditure(village, service, ids, when, index))
            elif roll < 0.88 and len(village.loans) < len(village.households):
                steps.extend(self._loan(village, cattle, ids, when, "2025-1"))
            elif roll < 0.94 and village.cooperative:
                member = ids[village.households[index % len(village.households)]]
                coop = ids[f"fund:coop:{n}"]
                steps.append((None, c.SubscribeShares(coop, member, 1, when)))
            elif roll < 0.97:
                statement = Money(village.service_balance_fen)
                steps.append((None, c.RecordBankStatement(service, statement, when)))
            else:
                steps.append(self._donation(village, service, results, when))
        return steps

    def _donation(
        self, village: _Village, service: str, results: Results, when: date
    ) -> tuple[str | None, c.Command]:
        amount_fen = self._random.randrange(5_000, 500_000, 100)
        village.service_balance_fen += amount_fen
        donor = results.ids[self._random.choice(village.donors)]
        label = f"donation:{village.number}:{len(village.donations)}"
        village.donations.append((label, amount_fen))
        return label, c.RecordDonation(service, donor, Money(amount_fen), when, note="cadre gift")

    def _expenditure(
        self, village: _Village, service: str, ids: dict[str, str], when: date, index: int
    ) -> tuple[str | None, c.Command]:
        amount_fen = self._random.randrange(1_000, village.service_balance_fen // 2, 100)
        village.service_balance_fen -= amount_fen
        category = SERVICE_CATEGORIES[index % len(SERVICE_CATEGORIES)]
        voucher = {
            "number": f"V{village.number:04d}-{index:05d}",
            "date": when.isoformat(),
            "description": f"{category} for the service centre, invoice attached",
        }
        return None, c.PayExpenditure(
            service,
            ids[f"party:vendor:{village.number}"],
            Money(amount_fen),
            category,
            voucher,  # type: ignore[arg-type]
            when,
        )

    def _loan(
        self, village: _Village, cattle: str, ids: dict[str, str], when: date, cohort: str
    ) -> list[Step]:
        principal_fen = 110_000
        if village.cattle_balance_fen < principal_fen:
            return []
        household = village.households[len(village.loans) % len(village.households)]
        label = f"loan:{village.number}:{len(village.loans)}"
        village.cattle_balance_fen -= principal_fen
        village.loans.append((label, principal_fen))
        due_on = when + timedelta(days=365)
        return [
            (
                label,
                c.DisburseLoan(cattle, ids[household], Money(principal_fen), cohort, when, due_on),
            )
        ]

    # ---- phase 4 and 5: the cohort revolves, a few mistakes are reversed -------------------

    def _repayments_and_rollover(self, results: Results) -> list[Step]:
        ids = results.ids
        steps: list[Step] = []
        when = date(2025, 11, 1)
        for village in self._villages:
            cattle = ids[f"fund:cattle:{village.number}"]
            for label, principal_fen in village.loans:
                if self._random.random() < 0.3:
                    steps.append(
                        (None, c.RecordRepayment(ids[label], Money(principal_fen // 4), when))
                    )
                    village.cattle_balance_fen += principal_fen // 4
            if village.loans:
                # Half of each principal comes back at year end; what a household already
                # repaid counts towards it, so the fund gets at least a quarter of each back.
                village.cattle_balance_fen += sum(p // 4 for _, p in village.loans)
                steps.append(
                    (
                        None,
                        c.RollOverCohort(
                            cattle, "2025-1", Decimal("0.5"), "grant", date(2025, 12, 20)
                        ),
                    )
                )
        return steps

    def _second_cohort_and_reversals(self, results: Results) -> list[Step]:
        ids = results.ids
        steps: list[Step] = []
        when = date(2026, 1, 10)
        for village in self._villages:
            cattle = ids[f"fund:cattle:{village.number}"]
            first_cohort = len(village.loans)
            for _ in range(first_cohort // 2):
                steps.extend(self._loan(village, cattle, ids, when, "2026-1"))
        # About one donation in two hundred was entered twice and is reversed.
        for village in self._villages:
            for label, amount_fen in village.donations:
                if self._random.random() < 0.005 and amount_fen <= village.service_balance_fen:
                    village.service_balance_fen -= amount_fen
                    event_id = results.ids[label + ":event"]
                    steps.append((None, c.ReverseEvent(event_id, "entered twice by mistake", when)))
        return steps
