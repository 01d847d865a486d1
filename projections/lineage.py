"""Money lineage: whose yuan are where (api-contract "Money lineage").

Every place money can be is a *holder* with a mix of original sources (party id -> fen):
`fund:<fund>` (cash in a fund), `loan:<loan>` (lent, still owed), `grant:<fund>/<cohort>` (loan
remainders granted), `spent:<fund>/<category>` (expenditures) and `refund:<fund>` (inflows undone
by a reversal). Money enters from a party (donation, matching release, shares) and afterwards
only moves between holders: every outflow carries its holder's mix pro rata in whole fen
(largest remainder), so for each party the fen over all holders equal what it gave, and each
fund's mix sums to its cash balance.

Beside the parties, each revolving fund's cash carries an *origin* mix: "" for money from
outside, or the cohort whose repayments brought it back. A loan takes its origins pro rata when
disbursed: that is which earlier cohort funded which later one.

Live holders (funds, loans) are kept in memory once touched and rewritten when they change;
terminal holders (grants, spending, refunds) only grow, so they are added to in the database and
read back only when a reversal takes money out of them.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fundledger.domain.fund import Fund
from fundledger.domain.loan import Loan
from projections.database import Cursor
from projections.mix import Mix, add, split_pro_rata, take
from projections.model import Context, Fact, ReadModel, Table

HOLDINGS = Table(
    "rm_lineage_holdings",
    "holder TEXT NOT NULL, party_id TEXT NOT NULL, amount_fen INT NOT NULL, "
    "PRIMARY KEY (holder, party_id)",
    ("(party_id)",),
    clustered=True,
)
GIVEN = Table(
    "rm_lineage_given",
    "party_id TEXT PRIMARY KEY, given_fen INT NOT NULL, in_kind_fen INT NOT NULL",
)
LOANS = Table(
    "rm_lineage_loans",
    "loan_id TEXT PRIMARY KEY, fund_id TEXT NOT NULL, cohort TEXT NOT NULL, "
    "funding TEXT NOT NULL, cancelled INT NOT NULL",
)
ORIGINS = Table(
    "rm_lineage_origins",
    "fund_id TEXT NOT NULL, origin TEXT NOT NULL, amount_fen INT NOT NULL, "
    "PRIMARY KEY (fund_id, origin)",
    clustered=True,
)
COHORT_FUNDING = Table(
    "rm_cohort_funding",
    "fund_id TEXT NOT NULL, cohort TEXT NOT NULL, funded_by TEXT NOT NULL, "
    "amount_fen INT NOT NULL, PRIMARY KEY (fund_id, cohort, funded_by)",
    clustered=True,
)
EXTERNAL = ""  # origin of money that did not come back from a cohort
# Funds and outstanding loans kept in memory between batches (each a few hundred bytes).
LIVE_HOLDERS_MAX = 50_000


@dataclass
class LoanRecord:
    fund_id: str
    cohort: str
    funding: Mix = field(default_factory=dict)  # origin -> fen, as disbursed
    cancelled: bool = False


def fund_holder(fund_id: str) -> str:
    return f"fund:{fund_id}"


def loan_holder(loan_id: str) -> str:
    return f"loan:{loan_id}"


class Lineage(ReadModel):
    """Invariants: per party, fen over all holders == given; per fund, its mix == its balance."""

    name = "lineage"
    tables: ClassVar[tuple[Table, ...]] = (HOLDINGS, GIVEN, LOANS, ORIGINS, COHORT_FUNDING)

    def __init__(self) -> None:
        self._live: dict[str, Mix] = {}  # holder -> mix, for funds and loans touched so far
        self._origins: dict[str, Mix] = {}  # fund -> origin mix
        self._loans: dict[str, LoanRecord] = {}
        self.discard()

    def load(self, cursor: Cursor) -> None:
        # Loaded lazily, on first touch: a restart costs nothing up front.
        self._live = {}
        self._origins = {}
        self._loans = {}

    def discard(self) -> None:
        self._dirty_live: set[str] = set()
        self._dirty_origins: set[str] = set()
        self._dirty_loans: set[str] = set()
        self._terminal: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._given: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
        self._funding: defaultdict[tuple[str, str, str], int] = defaultdict(int)

    # ---- state, loaded on first touch ------------------------------------------------------------

    def _mix(self, holder: str, cursor: Cursor) -> Mix:
        mix = self._live.pop(holder, None)  # re-inserted last: the dict is in order of use
        if mix is None:
            rows = cursor.execute(
                "SELECT party_id, amount_fen FROM rm_lineage_holdings WHERE holder = ?", (holder,)
            )
            mix = {party: int(fen) for party, fen in rows}
        self._live[holder] = mix
        self._dirty_live.add(holder)
        return mix

    def _preload_loans(self, loan_ids: list[str], cursor: Cursor) -> None:
        """Load the loans of a rollover that are not in memory in two queries, not two each."""
        missing = [loan_id for loan_id in loan_ids if loan_holder(loan_id) not in self._live]
        if not missing:
            return
        marks = ",".join("?" * len(missing))
        holders = [loan_holder(loan_id) for loan_id in missing]
        mixes: dict[str, Mix] = {holder: {} for holder in holders}
        for holder, party, fen in cursor.execute(
            f"SELECT holder, party_id, amount_fen FROM rm_lineage_holdings "
            f"WHERE holder IN ({marks})",
            holders,
        ):
            mixes[holder][party] = int(fen)
        self._live.update(mixes)
        for loan_id, fund_id, cohort, funding, cancelled in cursor.execute(
            f"SELECT loan_id, fund_id, cohort, funding, cancelled FROM rm_lineage_loans "
            f"WHERE loan_id IN ({marks})",
            missing,
        ):
            self._loans[loan_id] = LoanRecord(fund_id, cohort, json.loads(funding), bool(cancelled))

    def _origin(self, fund_id: str, cursor: Cursor) -> Mix:
        mix = self._origins.get(fund_id)
        if mix is None:
            rows = cursor.execute(
                "SELECT origin, amount_fen FROM rm_lineage_origins WHERE fund_id = ?", (fund_id,)
            )
            mix = self._origins[fund_id] = {origin: int(fen) for origin, fen in rows}
        self._dirty_origins.add(fund_id)
        return mix

    def _loan(self, loan_id: str, cursor: Cursor) -> LoanRecord:
        record = self._loans.get(loan_id)
        if record is None:
            rows = cursor.execute(
                "SELECT fund_id, cohort, funding, cancelled FROM rm_lineage_loans "
                "WHERE loan_id = ?",
                (loan_id,),
            )
            fund_id, cohort, funding, cancelled = rows[0]
            record = LoanRecord(fund_id, cohort, json.loads(funding), bool(cancelled))
            self._loans[loan_id] = record
        return record

    def _terminal_mix(self, holder: str, cursor: Cursor) -> Mix:
        """A terminal holder as stored plus what this batch added to it."""
        rows = cursor.execute(
            "SELECT party_id, amount_fen FROM rm_lineage_holdings WHERE holder = ?", (holder,)
        )
        mix = {party: int(fen) for party, fen in rows}
        for (pending_holder, party), fen in self._terminal.items():
            if pending_holder == holder:
                mix[party] = mix.get(party, 0) + fen
        return {party: fen for party, fen in mix.items() if fen}

    # ---- moves -----------------------------------------------------------------------------------

    def _move_to_terminal(self, parts: Mix, holder: str) -> None:
        for party, fen in parts.items():
            self._terminal[(holder, party)] += fen

    def _inflow(self, fund_id: str, party: str, amount_fen: int, cursor: Cursor) -> None:
        add(self._mix(fund_holder(fund_id), cursor), {party: amount_fen})
        add(self._origin(fund_id, cursor), {EXTERNAL: amount_fen})
        self._given[party][0] += amount_fen

    def _fund_outflow(self, fund_id: str, amount_fen: int, cursor: Cursor) -> tuple[Mix, Mix]:
        """Take cash out of a fund: (its parties' parts, its origins' parts)."""
        parts = take(self._mix(fund_holder(fund_id), cursor), amount_fen)
        origins = take(self._origin(fund_id, cursor), amount_fen)
        return parts, origins

    def _fund_inflow(self, fund_id: str, parts: Mix, origin: Mix, cursor: Cursor) -> None:
        add(self._mix(fund_holder(fund_id), cursor), parts)
        add(self._origin(fund_id, cursor), origin)

    # ---- events ----------------------------------------------------------------------------------

    def project(self, fact: Fact, context: Context) -> None:
        handler = _HANDLERS.get(type(fact.event))
        if handler is not None:
            handler(self, fact.originator_id, fact.event, context)

    def _opened(self, fund_id: str, event: Fund.Opened, context: Context) -> None:
        self._live[fund_holder(fund_id)] = {}
        self._origins[fund_id] = {}
        self._dirty_live.add(fund_holder(fund_id))
        self._dirty_origins.add(fund_id)

    def _donation(self, fund_id: str, event: Any, context: Context) -> None:
        self._inflow(fund_id, event.donor_id, event.amount_fen, context.cursor)

    def _matching(self, fund_id: str, event: Fund.MatchingFundsReleased, context: Context) -> None:
        self._inflow(fund_id, event.grantor_id, event.amount_fen, context.cursor)

    def _shares(self, fund_id: str, event: Fund.SharesSubscribed, context: Context) -> None:
        self._inflow(fund_id, event.member_id, event.amount_fen, context.cursor)

    def _in_kind(self, fund_id: str, event: Fund.InKindDonationReceived, context: Context) -> None:
        self._given[event.donor_id][1] += event.value_fen

    def _allocation(self, fund_id: str, event: Fund.AllocationSent, context: Context) -> None:
        # The sending side moves the money; the receiving side (same transaction) adds nothing.
        cursor = context.cursor
        parts, _ = self._fund_outflow(fund_id, event.amount_fen, cursor)
        self._fund_inflow(event.to_fund_id, parts, {EXTERNAL: event.amount_fen}, cursor)

    def _expenditure(self, fund_id: str, event: Fund.ExpenditurePaid, context: Context) -> None:
        parts, _ = self._fund_outflow(fund_id, event.amount_fen, context.cursor)
        self._move_to_terminal(parts, f"spent:{fund_id}/{event.category}")

    def _loan_disbursed(self, fund_id: str, event: Fund.LoanDisbursed, context: Context) -> None:
        parts, origins = self._fund_outflow(fund_id, event.principal_fen, context.cursor)
        holder = loan_holder(event.loan_id)
        self._live[holder] = parts
        self._dirty_live.add(holder)
        funding = {origin: fen for origin, fen in origins.items() if origin != EXTERNAL}
        self._loans[event.loan_id] = LoanRecord(fund_id, event.cohort, funding)
        self._dirty_loans.add(event.loan_id)
        for origin, fen in funding.items():
            self._funding[(fund_id, event.cohort, origin)] += fen

    def _repaid_into_fund(self, loan_id: str, amount_fen: int, cursor: Cursor) -> None:
        """Part of a loan comes back: its parties' mix, tagged with the loan's cohort."""
        loan = self._loan(loan_id, cursor)
        parts = take(self._mix(loan_holder(loan_id), cursor), amount_fen)
        self._fund_inflow(loan.fund_id, parts, {loan.cohort: amount_fen}, cursor)

    def _repayment(self, fund_id: str, event: Fund.RepaymentReceived, context: Context) -> None:
        self._repaid_into_fund(event.loan_id, event.amount_fen, context.cursor)

    def _rollover(self, fund_id: str, event: Fund.CohortRolledOver, context: Context) -> None:
        cursor = context.cursor
        self._preload_loans([line["loan_id"] for line in event.lines], cursor)
        for line in event.lines:
            if line["repaid_fen"]:
                self._repaid_into_fund(line["loan_id"], line["repaid_fen"], cursor)
            if line["granted_fen"]:
                mix = self._mix(loan_holder(line["loan_id"]), cursor)
                parts = take(mix, line["granted_fen"])
                self._move_to_terminal(parts, f"grant:{fund_id}/{event.cohort}")

    def _reversal(self, fund_id: str, event: Fund.EventReversed, context: Context) -> None:
        """Inflows undone leave pro rata; outflows undone come back. Loans: see `_adjusted`."""
        cursor = context.cursor
        kind = event.original_type
        if kind in ("DonationReceived", "MatchingFundsReleased", "SharesSubscribed"):
            parts, _ = self._fund_outflow(fund_id, -event.balance_change_fen, cursor)
            self._move_to_terminal(parts, f"refund:{fund_id}")
        elif kind == "InKindDonationReceived":
            original = context.event(event.original_event_id)
            self._given[original.donor_id][1] += event.in_kind_change_fen
        elif kind == "AllocationReceived":
            original = context.event(event.original_event_id)
            amount_fen = -event.balance_change_fen
            parts, _ = self._fund_outflow(fund_id, amount_fen, cursor)
            self._fund_inflow(original.from_fund_id, parts, {EXTERNAL: amount_fen}, cursor)
        elif kind == "ExpenditurePaid":
            original = context.event(event.original_event_id)
            holder = f"spent:{fund_id}/{original.category}"
            parts = split_pro_rata(event.balance_change_fen, self._terminal_mix(holder, cursor))
            self._move_to_terminal({party: -fen for party, fen in parts.items()}, holder)
            self._fund_inflow(fund_id, parts, {EXTERNAL: event.balance_change_fen}, cursor)
        # AllocationSent: the receiving side's reversal moves the money back.
        # LoanDisbursed, RepaymentReceived, CohortRolledOver: the loans' Adjusted events do.

    def _adjusted(self, loan_id: str, event: Loan.Adjusted, context: Context) -> None:
        cursor = context.cursor
        loan = self._loan(loan_id, cursor)
        holder = loan_holder(loan_id)
        if event.cancelled and not loan.cancelled:
            mix = self._mix(holder, cursor)
            principal_fen = sum(mix.values())
            origin = dict(loan.funding)
            origin[EXTERNAL] = principal_fen - sum(loan.funding.values())
            self._fund_inflow(loan.fund_id, take(mix, principal_fen), origin, cursor)
            for funded_by, fen in loan.funding.items():
                self._funding[(loan.fund_id, loan.cohort, funded_by)] -= fen
            loan.cancelled = True
            self._dirty_loans.add(loan_id)
        if event.repaid_change_fen < 0:
            parts, _ = self._fund_outflow(loan.fund_id, -event.repaid_change_fen, cursor)
            add(self._mix(holder, cursor), parts)
        if event.granted_change_fen < 0:
            grants = f"grant:{loan.fund_id}/{loan.cohort}"
            mix = self._terminal_mix(grants, cursor)
            parts = split_pro_rata(-event.granted_change_fen, mix)
            self._move_to_terminal({party: -fen for party, fen in parts.items()}, grants)
            add(self._mix(holder, cursor), parts)

    # ---- writing ---------------------------------------------------------------------------------

    def write(self, cursor: Cursor) -> None:
        self._write_live(cursor)
        terminal = [(holder, party, fen) for (holder, party), fen in self._terminal.items() if fen]
        cursor.upsert_rows(
            HOLDINGS.name,
            ("holder", "party_id", "amount_fen"),
            ("text", "text", "bigint"),
            "holder, party_id",
            "amount_fen = rm_lineage_holdings.amount_fen + excluded.amount_fen",
            terminal,
        )
        cursor.upsert_rows(
            GIVEN.name,
            ("party_id", "given_fen", "in_kind_fen"),
            ("text", "bigint", "bigint"),
            "party_id",
            "given_fen = rm_lineage_given.given_fen + excluded.given_fen, "
            "in_kind_fen = rm_lineage_given.in_kind_fen + excluded.in_kind_fen",
            [(party, cash, in_kind) for party, (cash, in_kind) in self._given.items()],
        )
        cursor.upsert_rows(
            COHORT_FUNDING.name,
            ("fund_id", "cohort", "funded_by", "amount_fen"),
            ("text", "text", "text", "bigint"),
            "fund_id, cohort, funded_by",
            "amount_fen = rm_cohort_funding.amount_fen + excluded.amount_fen",
            [(f, cohort, by, fen) for (f, cohort, by), fen in self._funding.items() if fen],
        )
        # Rows that came to nothing go, so the tables do not depend on where batches were cut.
        # Only a negative change can bring a row to 0.
        cursor.delete_zero(
            HOLDINGS.name,
            ("holder", "party_id"),
            "amount_fen",
            [r[:2] for r in terminal if r[2] < 0],
        )
        cursor.delete_zero(
            COHORT_FUNDING.name,
            ("fund_id", "cohort", "funded_by"),
            "amount_fen",
            [key for key, fen in self._funding.items() if fen < 0],
        )
        self._write_loans(cursor)
        for holder in self._dirty_live:  # a loan repaid in full holds nothing more: forget it
            if holder.startswith("loan:") and not self._live[holder]:
                del self._live[holder]
                self._loans.pop(holder.removeprefix("loan:"), None)
        self._forget_least_recently_used()

    def _forget_least_recently_used(self) -> None:
        """Memory stays bounded however many loans are outstanding.

        What is forgotten was written in earlier batches, so it reloads from the tables on use.
        """
        excess = len(self._live) - LIVE_HOLDERS_MAX
        if excess <= 0:
            return
        oldest = itertools.islice(self._live, excess + len(self._dirty_live))
        victims = [holder for holder in oldest if holder not in self._dirty_live][:excess]
        for holder in victims:
            del self._live[holder]
            if holder.startswith("loan:"):
                self._loans.pop(holder.removeprefix("loan:"), None)

    def _write_live(self, cursor: Cursor) -> None:
        holders = sorted(self._dirty_live)
        cursor.delete_in(HOLDINGS.name, "holder", holders)
        cursor.insert_rows(
            HOLDINGS.name,
            ("holder", "party_id", "amount_fen"),
            [(h, party, fen) for h in holders for party, fen in self._live[h].items()],
        )
        funds = sorted(self._dirty_origins)
        cursor.delete_in(ORIGINS.name, "fund_id", funds)
        cursor.insert_rows(
            ORIGINS.name,
            ("fund_id", "origin", "amount_fen"),
            [(f, origin, fen) for f in funds for origin, fen in self._origins[f].items()],
        )

    def _write_loans(self, cursor: Cursor) -> None:
        cursor.upsert_rows(
            LOANS.name,
            ("loan_id", "fund_id", "cohort", "funding", "cancelled"),
            ("text", "text", "text", "text", "bigint"),
            "loan_id",
            "cancelled = excluded.cancelled",
            [
                (
                    loan_id,
                    self._loans[loan_id].fund_id,
                    self._loans[loan_id].cohort,
                    json.dumps(self._loans[loan_id].funding, sort_keys=True),
                    int(self._loans[loan_id].cancelled),
                )
                for loan_id in sorted(self._dirty_loans)
            ],
        )


_HANDLERS: dict[type[Any], Any] = {
    Fund.Opened: Lineage._opened,
    Fund.DonationReceived: Lineage._donation,
    Fund.MatchingFundsReleased: Lineage._matching,
    Fund.SharesSubscribed: Lineage._shares,
    Fund.InKindDonationReceived: Lineage._in_kind,
    Fund.AllocationSent: Lineage._allocation,
    Fund.ExpenditurePaid: Lineage._expenditure,
    Fund.LoanDisbursed: Lineage._loan_disbursed,
    Fund.RepaymentReceived: Lineage._repayment,
    Fund.CohortRolledOver: Lineage._rollover,
    Fund.EventReversed: Lineage._reversal,
    Loan.Adjusted: Lineage._adjusted,
}
# Set here, not in the class: the handlers are the class's own methods. Exact classes, as
# `project` dispatches on the exact class.
Lineage.event_types = tuple(_HANDLERS)
