"""The seed scenario (../shared/seed/README.md) as plain data: three Baocun programmes.

Each programme lists its parties, its funds and the money steps in business order. Parties and
funds are named by short local keys ("a.bureau"); the loader turns keys into stored ids. Amounts
are the decimal strings of the report. Where the machine translation garbled a figure, the step
carries a `note` saying what the text says and how we read it; figures the report does not give
at all (programme B's subsidy and spending) are marked as illustrative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class PartySpec:
    key: str
    name: str
    kind: str


@dataclass(frozen=True)
class SharePlanSpec:
    share_price: str
    shares_min: int
    shares_max: int


@dataclass(frozen=True)
class FundSpec:
    key: str
    name: str
    purpose: str
    bank_account: str
    custodian: str
    allowed_categories: tuple[str, ...]
    revolving: bool
    opened_on: date
    share_plan: SharePlanSpec | None = None
    note: str = ""


@dataclass(frozen=True)
class Donation:
    fund: str
    donor: str
    amount: str
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class InKindGift:
    fund: str
    donor: str
    value: str
    occurred_on: date
    description: str
    quantity: str
    valuation_basis: str
    note: str = ""


@dataclass(frozen=True)
class Allocation:
    from_fund: str
    to_fund: str
    amount: str
    occurred_on: date
    purpose: str
    note: str = ""


@dataclass(frozen=True)
class MatchingPledge:
    fund: str
    grantor: str
    ratio: str
    cap: str
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class Expenditure:
    fund: str
    payee: str
    amount: str
    category: str
    occurred_on: date
    voucher_number: str
    voucher_description: str
    note: str = ""


@dataclass(frozen=True)
class Handover:
    fund: str
    custodian: str
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class Subscription:
    fund: str
    member: str
    shares: int
    occurred_on: date
    note: str = ""


@dataclass(frozen=True)
class LoanBatch:
    """One interest-free loan of `principal` to each borrower, all in one cohort."""

    fund: str
    borrowers: tuple[str, ...]
    principal: str
    cohort: str
    occurred_on: date
    due_on: date
    note: str = ""


@dataclass(frozen=True)
class Rollover:
    fund: str
    cohort: str
    ratio: str
    remainder: str
    occurred_on: date
    note: str = ""


Step = (
    Donation
    | InKindGift
    | Allocation
    | MatchingPledge
    | Expenditure
    | Handover
    | Subscription
    | LoanBatch
    | Rollover
)


@dataclass(frozen=True)
class Programme:
    code: str
    title: str
    parties: tuple[PartySpec, ...]
    funds: tuple[FundSpec, ...]
    steps: tuple[Step, ...] = field(default_factory=tuple)


# ---- Programme A: Baoji Family Planning Bureau -> Gaojiawan Village, 2015 ----------------------

PROGRAMME_A = Programme(
    code="A",
    title="Baoji Family Planning Bureau -> Gaojiawan Village (2015)",
    parties=(
        PartySpec("a.bureau", "Baoji Family Planning Bureau", "government"),
        PartySpec("a.village", "Gaojiawan Village", "village"),
        PartySpec("a.caijiawan", "Caijiawan Village, Pingtou Town", "village"),
        PartySpec("a.dou", "Dou Xiaoru (deputy director, resident cadre)", "individual"),
        PartySpec("a.departments", "Relevant departments (grants won by the bureau)", "government"),
        PartySpec("a.civil_affairs", "Jintai District Civil Affairs Bureau", "government"),
        PartySpec("a.jintai_finance", "Jintai District Finance", "government"),
        PartySpec("a.builder", "Service-center construction team", "vendor"),
        PartySpec("a.supplier", "Seedling and equipment supplier", "vendor"),
    ),
    funds=(
        FundSpec(
            "a.relief",
            "Bureau relief and gifts fund",
            "Condolence money and gifts to poor households of Gaojiawan and Caijiawan",
            "BJ-FPB-RELIEF-2015",
            "a.dou",
            ("condolence",),
            False,
            date(2015, 3, 1),
        ),
        FundSpec(
            "a.bureau_fund",
            "Bureau Baocun fund",
            "The bureau's own office funds set aside for its paired village",
            "BJ-FPB-BAOCUN-2015",
            "a.dou",
            ("allocation to village projects",),
            False,
            date(2015, 3, 1),
        ),
        FundSpec(
            "a.service_center",
            "Gaojiawan service-center fund",
            "Building and equipping the Gaojiawan Village service center",
            "BJ-GJW-SVC-2015",
            "a.dou",
            ("construction", "equipment"),
            False,
            date(2015, 3, 1),
        ),
        FundSpec(
            "a.industry",
            "Gaojiawan village-industry fund",
            "Developing the village's industry (watermelon and walnut)",
            "BJ-GJW-IND-2015",
            "a.dou",
            ("seedlings", "training"),
            False,
            date(2015, 3, 1),
        ),
    ),
    steps=(
        InKindGift(
            "a.relief",
            "a.bureau",
            "25000.00",
            date(2015, 3, 10),
            "A pair of gongs and drums for Caijiawan Village's cultural activities",
            "1 set",
            "Purchase price as reported (25,000 yuan)",
        ),
        InKindGift(
            "a.relief",
            "a.bureau",
            "10500.00",
            date(2015, 3, 12),
            "A quilt, rice, flour and oil for each of 62 households in Caijiawan Village",
            "62 households",
            "Purchase price as reported",
            note='garbled figure: the text says "10.5 million yuan"; read as 10,500.00 '
            "(62 households' quilts, rice, flour and oil)",
        ),
        Donation(
            "a.relief",
            "a.bureau",
            "500.00",
            date(2015, 6, 15),
            note="condolence money at the summer harvest, brought by Dou Xiaoru's party of 8",
        ),
        Expenditure(
            "a.relief",
            "a.village",
            "500.00",
            "condolence",
            date(2015, 6, 15),
            "A-2015-001",
            "Condolence money handed to Gaojiawan households at the summer harvest",
        ),
        InKindGift(
            "a.relief",
            "a.bureau",
            "4000.00",
            date(2015, 9, 20),
            "Quilts for poor households of Gaojiawan Village",
            "20 quilts",
            "Purchase price as reported (4,000 yuan)",
        ),
        Donation(
            "a.bureau_fund",
            "a.bureau",
            "100000.00",
            date(2015, 4, 1),
            note='garbled figure: the text says "654.38 million yuan" (the translator turns '
            'a "1" into "654.38"); read as 100,000.00 of the bureau\'s own office funds',
        ),
        Allocation(
            "a.bureau_fund",
            "a.service_center",
            "100000.00",
            date(2015, 4, 2),
            "The bureau's own funds for the Gaojiawan Village service center",
            note='garbled figure: the text says "654.38 million yuan"; read as 100,000.00',
        ),
        Donation(
            "a.service_center",
            "a.departments",
            "50000.00",
            date(2015, 5, 10),
            note="grant won from the relevant departments for the service center",
        ),
        Donation(
            "a.industry",
            "a.departments",
            "50000.00",
            date(2015, 5, 10),
            note="grant won from the relevant departments for the village industry",
        ),
        MatchingPledge(
            "a.service_center",
            "a.civil_affairs",
            "1",
            "19000.00",
            date(2015, 7, 1),
            note='garbled figure: the text says "6.5438+0.9 million yuan"; read as 19,000.00. '
            "Modelled as yuan for yuan on later cash donations, capped at 19,000.00",
        ),
        Donation(
            "a.service_center",
            "a.jintai_finance",
            "50000.00",
            date(2015, 8, 1),
            note="Jintai District financial support, won by the resident cadre Chai Zhiqiang",
        ),
        Expenditure(
            "a.service_center",
            "a.builder",
            "169000.00",
            "construction",
            date(2015, 10, 15),
            "A-2015-014",
            "Service-center building works, final account",
        ),
        Expenditure(
            "a.service_center",
            "a.supplier",
            "50000.00",
            "equipment",
            date(2015, 11, 20),
            "A-2015-021",
            "Service-center furniture and equipment",
        ),
        Expenditure(
            "a.industry",
            "a.supplier",
            "50000.00",
            "seedlings",
            date(2015, 11, 25),
            "A-2015-022",
            "Watermelon and walnut seedlings for the village industry",
        ),
    ),
)


# ---- Programme B: Duolun County Audit Bureau -> Beicun Village (Nuoer Town) -------------------

_B_ILLUSTRATIVE = "illustrative figure: the report names this source but gives no amount"
_B_MEMBERS = (("b.member1", 20), ("b.member2", 10), ("b.member3", 5), ("b.member4", 1))

PROGRAMME_B = Programme(
    code="B",
    title="Duolun County Audit Bureau -> Beicun Village, Nuoer Town",
    parties=(
        PartySpec("b.bureau", "Duolun County Audit Bureau", "government"),
        PartySpec("b.finance", "Duolun County Finance Bureau (subsidy)", "government"),
        PartySpec("b.village", "Beicun Village committee", "village"),
        PartySpec("b.coop", "Beicun solar-greenhouse vegetable cooperative", "cooperative"),
        PartySpec("b.treasurer1", "Cooperative treasurer (first term)", "individual"),
        PartySpec("b.treasurer2", "Cooperative treasurer (second term)", "individual"),
        PartySpec("b.member1", "Beicun household Li", "household"),
        PartySpec("b.member2", "Beicun household Wang", "household"),
        PartySpec("b.member3", "Beicun household Zhang", "household"),
        PartySpec("b.member4", "Beicun household Zhao", "household"),
        PartySpec("b.builder", "Greenhouse builder", "vendor"),
        PartySpec("b.seed_shop", "Nuoer Town seed shop", "vendor"),
    ),
    funds=(
        FundSpec(
            "b.coop_fund",
            "Beicun greenhouse cooperative fund",
            "60 solar greenhouses on 200 mu: cucumbers and tomatoes",
            "DL-BC-COOP-2014",
            "b.treasurer1",
            ("greenhouse construction", "seeds and seedlings"),
            False,
            date(2014, 3, 1),
            SharePlanSpec("1000.00", 1, 20),
            note='garbled figure: the share price reads "1 10,000 yuan/share"; read as 1,000.00 '
            "a share, 1 to 20 shares a member, never over 20,000.00",
        ),
    ),
    steps=(
        *(
            Subscription(
                "b.coop_fund",
                member,
                shares,
                date(2014, 3, 15),
                note="villager's shareholding at 1,000.00 a share",
            )
            for member, shares in _B_MEMBERS
        ),
        Donation("b.coop_fund", "b.finance", "300000.00", date(2014, 4, 1), note=_B_ILLUSTRATIVE),
        Donation("b.coop_fund", "b.village", "20000.00", date(2014, 4, 5), note=_B_ILLUSTRATIVE),
        Expenditure(
            "b.coop_fund",
            "b.builder",
            "280000.00",
            "greenhouse construction",
            date(2014, 5, 20),
            "B-2014-003",
            "Solar greenhouses, reimbursed against the builder's invoice",
            note=_B_ILLUSTRATIVE,
        ),
        Handover(
            "b.coop_fund",
            "b.treasurer2",
            date(2014, 7, 1),
            note="special personnel: the board of directors appointed a new treasurer",
        ),
        Expenditure(
            "b.coop_fund",
            "b.seed_shop",
            "24000.00",
            "seeds and seedlings",
            date(2014, 7, 10),
            "B-2014-009",
            "Cucumber and tomato seedlings for the first season",
            note=_B_ILLUSTRATIVE,
        ),
    ),
)


# ---- Programme C: Municipal Civil Affairs Bureau -> xx Village (Siluogou) ---------------------

COHORT_1_HOUSEHOLDS = 80
COHORT_2_HOUSEHOLDS = 40
_C_COHORT_1 = tuple(f"c.household{n:03d}" for n in range(1, COHORT_1_HOUSEHOLDS + 1))
_C_COHORT_2 = tuple(
    f"c.household{n:03d}"
    for n in range(COHORT_1_HOUSEHOLDS + 1, COHORT_1_HOUSEHOLDS + COHORT_2_HOUSEHOLDS + 1)
)
_C_SUPPORT_NOTE = (
    'the text reads "1 100 yuan per household" (split by the translator); read as 1,100.00'
)

PROGRAMME_C = Programme(
    code="C",
    title="Municipal Civil Affairs Bureau -> xx Village (Siluogou)",
    parties=(
        PartySpec("c.bureau", "Municipal Civil Affairs Bureau", "government"),
        PartySpec("c.cadres", "Bureau cadres and workers (three days' donations)", "donor"),
        PartySpec("c.building_grant", "Post-disaster reconstruction building grant", "government"),
        PartySpec("c.village", "xx Village (Siluogou) two committees", "village"),
        PartySpec("c.accountant", "Village accountant (special personnel)", "individual"),
        PartySpec("c.builder", "Relocation housing builder", "vendor"),
        PartySpec("c.water_works", "Drinking-water and road contractor", "vendor"),
        PartySpec("c.post_office", "Post office (newspaper subscriptions)", "vendor"),
        *(
            PartySpec(key, f"xx Village cattle household {key[-3:]}", "household")
            for key in _C_COHORT_1 + _C_COHORT_2
        ),
    ),
    funds=(
        FundSpec(
            "c.relocation",
            "Relocation building fund",
            "New houses for 35 households (105 houses)",
            "SLG-RELOC-2015",
            "c.accountant",
            ("house building",),
            False,
            date(2015, 3, 1),
        ),
        FundSpec(
            "c.cattle",
            "Cattle fund",
            "Rolling poverty alleviation: interest-free support to beef-cattle households",
            "SLG-CATTLE-2015",
            "c.accountant",
            (),
            True,
            date(2015, 3, 1),
        ),
        FundSpec(
            "c.infrastructure",
            "Water and road fund",
            "Tap water to every home and 12 km of hardened village road",
            "SLG-INFRA-2015",
            "c.accountant",
            ("drinking water and roads",),
            False,
            date(2015, 3, 1),
        ),
        FundSpec(
            "c.village_work",
            "Village work fund",
            "Party newspapers and periodicals for the two committees",
            "SLG-WORK-2015",
            "c.accountant",
            ("newspapers",),
            False,
            date(2015, 1, 1),
        ),
    ),
    steps=(
        Donation("c.relocation", "c.building_grant", "350000.00", date(2015, 3, 20)),
        Expenditure(
            "c.relocation",
            "c.builder",
            "350000.00",
            "house building",
            date(2015, 9, 30),
            "C-2015-007",
            "105 houses for the 35 relocated households",
        ),
        Donation(
            "c.cattle",
            "c.cadres",
            "11950.00",
            date(2015, 4, 3),
            note='garbled figure: the text says "1 1950 yuan" (split by the translator); '
            "read as 11,950.00",
        ),
        Donation(
            "c.cattle",
            "c.bureau",
            "88050.00",
            date(2015, 4, 10),
            note='garbled figure: the text says "more than 80,000 yuan" squeezed from working '
            'funds, raising "654.38+million yuan" in all; read as a total of 100,000.00, '
            "so the bureau gave 100,000.00 - 11,950.00 = 88,050.00",
        ),
        LoanBatch(
            "c.cattle",
            _C_COHORT_1,
            "1100.00",
            "1",
            date(2015, 4, 20),
            date(2015, 12, 31),
            note=_C_SUPPORT_NOTE,
        ),
        Rollover(
            "c.cattle",
            "1",
            "0.5",
            "grant",
            date(2015, 12, 20),
            note="year-end withdrawal of 50% of each first-batch household's support; "
            "the other half stays with the household as a grant",
        ),
        LoanBatch(
            "c.cattle",
            _C_COHORT_2,
            "1100.00",
            "2",
            date(2015, 12, 28),
            date(2016, 12, 31),
            note=_C_SUPPORT_NOTE + '; the report\'s "40-50 households": 44,000.00 funds 40',
        ),
        Donation("c.infrastructure", "c.bureau", "300000.00", date(2015, 5, 1)),
        Expenditure(
            "c.infrastructure",
            "c.water_works",
            "300000.00",
            "drinking water and roads",
            date(2015, 10, 31),
            "C-2015-012",
            "Drinking-water pipes to every home and 12 km of road hardening",
        ),
        Donation("c.village_work", "c.bureau", "2000.00", date(2015, 1, 5)),
        Expenditure(
            "c.village_work",
            "c.post_office",
            "2000.00",
            "newspapers",
            date(2015, 1, 10),
            "C-2015-001",
            "Party newspapers and periodicals subscription for the year",
            note='the text says "nearly 2000 yuan"; read as 2,000.00',
        ),
    ),
)

PROGRAMMES = (PROGRAMME_A, PROGRAMME_B, PROGRAMME_C)
CATTLE_FUND_KEY = "c.cattle"
