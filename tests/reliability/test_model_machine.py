"""A hypothesis state machine drives the HTTP API on PostgreSQL against an in-test model of
balances, cohorts and lineage, restarting the app (ledger, read side, HTTP app) among its steps.

tests/core/test_ledger_machine.py checks the write side's invariants on SQLite; this one checks
what clients read over HTTP, from the projections, across restarts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from api.app import create_app
from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger
from tests.api.conftest import issue_key, make_app_settings
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.reliability.figures import FIGURES

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ON = "2016-03-01"
amounts_fen = st.integers(1, 60_000)
cohorts = st.sampled_from(["2016", "2017"])


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fen(text: str) -> int:
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int(cents or 0)


@dataclass
class LoanModel:
    fund: str
    cohort: str
    principal_fen: int
    owed_fen: int
    repaid_fen: int = 0
    granted_fen: int = 0


@dataclass
class Model:
    """What the ledger must hold: balances, loans (so cohorts), and what each donor gave."""

    balance_fen: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    loans: dict[str, LoanModel] = field(default_factory=dict)
    given_fen: Counter[str] = field(default_factory=Counter)
    spent_fen_by_fund: Counter[str] = field(default_factory=Counter)


class ApiModelMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.url, self.database = create_postgres_database()
        self.ledger: FundLedger = open_ledger(self.url)
        self.key = issue_key(self.ledger, "clerk", name="machine-clerk")
        self.client = self._start()
        self.model = Model()
        self.position = 0
        self.requests = 0
        village = self._record("/v1/parties", {"name": "Siluogou", "kind": "village"})["id"]
        self.donors = [
            self._record("/v1/parties", {"name": f"Donor {n}", "kind": "donor"})["id"]
            for n in range(2)
        ]
        self.borrowers = [
            self._record("/v1/parties", {"name": f"Household {n}", "kind": "household"})["id"]
            for n in range(2)
        ]
        self.funds = [self._open_fund(village, "Cattle fund", True)]
        self.funds.append(self._open_fund(village, "Road fund", False))
        self.revolving = self.funds[0]
        for donor, fund, amount in ((0, 0, 500_000), (1, 0, 200_000), (1, 1, 100_000)):
            self.donate(donor, fund, amount)  # money to lend, so loans and rollovers happen

    # ---- plumbing -------------------------------------------------------------------------

    def _start(self) -> TestClient:
        app = create_app(make_app_settings(self.url), ledger=self.ledger, configure_logs=False)
        client = TestClient(app, headers={"Authorization": f"Bearer {self.key}"})
        client.__enter__()
        return client

    def _stop(self) -> None:
        self.client.__exit__(None, None, None)
        self.ledger.close()

    def teardown(self) -> None:
        self._stop()
        drop_postgres_database(self.database)
        FIGURES.add("requests", self.requests)

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        self.requests += 1
        answer: httpx.Response = self.client.post(path, json=body)
        assert answer.status_code in {201, 409}, (path, body, answer.text)
        if answer.status_code == 201:
            self.position = max(self.position, answer.json()["position"])
        return answer

    def _record(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._post(path, body)
        assert answer.status_code == 201, answer.text
        recorded: dict[str, Any] = answer.json()
        return recorded

    def _expect(self, accepted: bool, answer: httpx.Response) -> None:
        """The model says whether the command is allowed; a refusal is 409 and records nothing."""
        assert answer.status_code == (201 if accepted else 409), answer.text

    def _get(self, path: str) -> Any:
        self.requests += 1
        answer = self.client.get(path, params={"min_position": self.position})
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()

    def _open_fund(self, custodian: str, name: str, revolving: bool) -> str:
        body = {
            "name": name,
            "purpose": name,
            "bank_account": f"{name} account",
            "custodian": custodian,
            "allowed_categories": ["cattle"],
            "revolving": revolving,
        }
        fund_id: str = self._record("/v1/funds", body)["id"]
        return fund_id

    # ---- rules --------------------------------------------------------------------------

    @rule(donor=st.integers(0, 1), fund=st.integers(0, 1), amount=amounts_fen)
    def donate(self, donor: int, fund: int, amount: int) -> None:
        body = {"donor": self.donors[donor], "amount": yuan(amount), "occurred_on": ON}
        self._record(f"/v1/funds/{self.funds[fund]}/donations", body)
        self.model.balance_fen[self.funds[fund]] += amount
        self.model.given_fen[self.donors[donor]] += amount

    @rule(source=st.integers(0, 1), amount=amounts_fen)
    def allocate(self, source: int, amount: int) -> None:
        origin, target = self.funds[source], self.funds[1 - source]
        body = {
            "from_fund": origin,
            "to_fund": target,
            "amount": yuan(amount),
            "occurred_on": ON,
            "purpose": "move",
        }
        accepted = self.model.balance_fen[origin] >= amount
        self._expect(accepted, self._post("/v1/allocations", body))
        if accepted:
            self.model.balance_fen[origin] -= amount
            self.model.balance_fen[target] += amount

    @rule(fund=st.integers(0, 1), amount=amounts_fen)
    def spend(self, fund: int, amount: int) -> None:
        fund_id = self.funds[fund]
        body = {
            "payee": self.borrowers[0],
            "amount": yuan(amount),
            "category": "cattle",
            "occurred_on": ON,
            "voucher": {"number": "V", "date": ON, "description": "calf"},
        }
        accepted = self.model.balance_fen[fund_id] >= amount
        self._expect(accepted, self._post(f"/v1/funds/{fund_id}/expenditures", body))
        if accepted:
            self.model.balance_fen[fund_id] -= amount
            self.model.spent_fen_by_fund[fund_id] += amount

    @rule(borrower=st.integers(0, 1), amount=amounts_fen, cohort=cohorts)
    def lend(self, borrower: int, amount: int, cohort: str) -> None:
        body = {
            "borrower": self.borrowers[borrower],
            "principal": yuan(amount),
            "cohort": cohort,
            "occurred_on": ON,
            "due_on": "2016-12-31",
        }
        accepted = self.model.balance_fen[self.revolving] >= amount
        answer = self._post(f"/v1/funds/{self.revolving}/loans", body)
        self._expect(accepted, answer)
        if accepted:
            self.model.balance_fen[self.revolving] -= amount
            loan = LoanModel(self.revolving, cohort, amount, owed_fen=amount)
            self.model.loans[answer.json()["id"]] = loan

    @precondition(lambda self: bool(self.model.loans))
    @rule(data=st.data(), share=st.sampled_from([0.25, 1.0, 1.5]))
    def repay(self, data: st.DataObject, share: float) -> None:
        loan_id = data.draw(st.sampled_from(sorted(self.model.loans)))
        loan = self.model.loans[loan_id]
        amount = max(1, int(loan.principal_fen * share))
        body = {"amount": yuan(amount), "occurred_on": "2016-06-01"}
        accepted = amount <= loan.owed_fen
        self._expect(accepted, self._post(f"/v1/loans/{loan_id}/repayments", body))
        if accepted:
            loan.owed_fen -= amount
            loan.repaid_fen += amount
            self.model.balance_fen[loan.fund] += amount

    @precondition(lambda self: any(loan.owed_fen > 0 for loan in self.model.loans.values()))
    @rule(
        data=st.data(),
        ratio=st.sampled_from(["0.5", "1", "0.333"]),
        remainder=st.sampled_from(["grant", "outstanding"]),
    )
    def roll_over(self, data: st.DataObject, ratio: str, remainder: str) -> None:
        owing = sorted({loan.cohort for loan in self.model.loans.values() if loan.owed_fen > 0})
        cohort = data.draw(st.sampled_from(owing))
        body = {"ratio": ratio, "occurred_on": "2016-12-31", "remainder": remainder}
        self._record(f"/v1/funds/{self.revolving}/cohorts/{cohort}/rollover", body)
        for loan in self.model.loans.values():
            if loan.cohort != cohort or loan.owed_fen <= 0:
                continue
            scaled = Decimal(loan.principal_fen) * Decimal(ratio)
            repaid = min(int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP)), loan.owed_fen)
            granted = loan.owed_fen - repaid if remainder == "grant" else 0
            loan.owed_fen -= repaid + granted
            loan.repaid_fen += repaid
            loan.granted_fen += granted
            self.model.balance_fen[loan.fund] += repaid

    @rule()
    def restart(self) -> None:
        """Stop the app and its store connections as a deploy would; start a fresh one."""
        self._stop()
        self.ledger = open_ledger(self.url)
        self.client = self._start()
        FIGURES.add("app restarts")

    # ---- what must hold after every step ------------------------------------------------

    @invariant()
    def balances_match_the_model(self) -> None:
        for fund_id in self.funds:
            balance = self._get(f"/v1/funds/{fund_id}/balance")["balance"]
            assert fen(balance) == self.model.balance_fen[fund_id], fund_id
            assert self.ledger.fund(fund_id).balance_fen == self.model.balance_fen[fund_id]

    @invariant()
    def cohorts_match_the_model(self) -> None:
        expected: dict[str, tuple[int, int, int, int, int]] = {}
        for loan in self.model.loans.values():
            count, principal, repaid, granted, owed = expected.get(loan.cohort, (0, 0, 0, 0, 0))
            expected[loan.cohort] = (
                count + 1,
                principal + loan.principal_fen,
                repaid + loan.repaid_fen,
                granted + loan.granted_fen,
                owed + loan.owed_fen,
            )
        items = self._get(f"/v1/funds/{self.revolving}/cohorts")["items"]
        found = {
            item["cohort"]: (
                item["loans"],
                fen(item["principal"]),
                fen(item["repaid"]),
                fen(item["granted"]),
                fen(item["outstanding"]),
            )
            for item in items
        }
        assert found == expected

    @invariant()
    def lineage_accounts_for_every_fen_given(self) -> None:
        """Each donor's flows sum to what it gave; together they are exactly where money is."""
        where: Counter[tuple[str, str]] = Counter()
        for donor in self.donors:
            flows = self._get(f"/v1/parties/{donor}/flows")
            assert fen(flows["given"]) == self.model.given_fen[donor]
            amounts = [fen(item["amount"]) for item in flows["items"]]
            assert sum(amounts) == fen(flows["given"])
            for item in flows["items"]:
                where[item["destination_kind"], item["destination"]] += fen(item["amount"])
        assert where == +self._expected_places()

    def _expected_places(self) -> Counter[tuple[str, str]]:
        """Where the donors' money must be: funds, loans per cohort, grants, spending."""
        places: Counter[tuple[str, str]] = Counter()
        for fund_id in self.funds:
            places["fund", fund_id] += self.model.balance_fen[fund_id]
            places["expenditure", f"{fund_id}/cattle"] += self.model.spent_fen_by_fund[fund_id]
        for loan in self.model.loans.values():
            places["loan", f"{loan.fund}/{loan.cohort}"] += loan.owed_fen
            places["grant", f"{loan.fund}/{loan.cohort}"] += loan.granted_fen
        return places


ApiModelMachine.TestCase.settings = settings(
    max_examples=5,
    stateful_step_count=15,
    # No shrinking: each example is a fresh PostgreSQL database, so shrinking a failure could
    # take many minutes; the failing run's steps are printed in full instead.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
test_the_api_keeps_the_model_across_restarts = ApiModelMachine.TestCase
