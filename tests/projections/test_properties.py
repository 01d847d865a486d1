"""Properties on both stores: live == rebuilt == reference; split sums; a killed worker recovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.domain.errors import DomainError
from fundledger.domain.fund import Voucher
from fundledger.domain.money import Money
from projections.database import Database, open_database
from projections.mix import split_pro_rata
from projections.read_models import SqlReadModels, open_runner
from projections.runner import ProjectionRunner
from tests.projections.helpers import CLERK, cattle_fund, dump, reference

START = date(2020, 1, 1)

Step = tuple[str, int, int, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(
            ["donate", "donate", "spend", "allocate", "lend", "repay", "roll", "reverse", "match"]
        ),
        st.integers(0, 2),
        st.integers(1, 500_00),
        st.integers(0, 40),
    ),
    min_size=5,
    max_size=25,
)


@st.composite
def mixes(draw: st.DrawFn) -> tuple[dict[str, int], int]:
    mix = draw(st.dictionaries(st.text("abcdef", min_size=1, max_size=3), st.integers(0, 10**6)))
    amount_fen = draw(st.integers(0, sum(mix.values())))
    return mix, amount_fen


@given(mixes())
@settings(max_examples=200, deadline=None)
def test_a_pro_rata_split_sums_exactly_and_never_takes_more_than_held(
    case: tuple[dict[str, int], int],
) -> None:
    """Largest-remainder parts sum to the amount, each within a fen of its exact share."""
    mix, amount_fen = case
    parts = split_pro_rata(amount_fen, mix)
    assert sum(parts.values()) == amount_fen
    total_fen = sum(mix.values())
    for source, part_fen in parts.items():
        assert 0 < part_fen <= mix[source]
        assert abs(part_fen * total_fen - amount_fen * mix[source]) < total_fen


class Scenario:
    """Random commands on three funds (one revolving); rule violations are skipped."""

    def __init__(self, ledger: FundLedger) -> None:
        self.ledger = ledger
        self.donors = [self._run(c.RegisterParty(f"Donor {n}", "donor", START)) for n in range(3)]
        custodian = self.donors[0]
        self.funds = [
            self._run(
                c.OpenFund(f"Fund {n}", "p", f"acct-{n}", custodian, ["works"], n == 0, START)
            )
            for n in range(3)
        ]
        self.loans: list[str] = []
        self.money_events: list[str] = []

    def _run(self, command: c.Command) -> str:
        return self.ledger.execute(command, CLERK).resource_id

    def apply(self, step: Step) -> None:
        kind, which, amount_fen, day = step
        on = START + timedelta(days=day)
        fund = self.funds[which]
        amount = Money(amount_fen)
        commands: dict[str, c.Command] = {
            "donate": c.RecordDonation(fund, self.donors[which], amount, on),
            "spend": c.PayExpenditure(
                fund,
                self.donors[2],
                amount,
                "works",
                Voucher(number="V", date=str(on), description="d"),
                on,
            ),
            "allocate": c.AllocateFunds(fund, self.funds[(which + 1) % 3], amount, on, "share"),
            "lend": c.DisburseLoan(
                self.funds[0], self.donors[1], amount, f"c{which}", on, on + timedelta(days=30)
            ),
            "match": c.PledgeMatchingGrant(fund, self.donors[2], Decimal("0.5"), amount, on),
            "roll": c.RollOverCohort(
                self.funds[0], f"c{which}", Decimal("0.5"), ["grant", "outstanding"][day % 2], on
            ),
        }
        if kind == "repay" and self.loans:
            commands["repay"] = c.RecordRepayment(self.loans[day % len(self.loans)], amount, on)
        if kind == "reverse" and self.money_events:
            target = self.money_events[day % len(self.money_events)]
            commands["reverse"] = c.ReverseEvent(target, "error", on)
        if kind not in commands:
            return
        try:
            recorded = self.ledger.execute(commands[kind], CLERK)
        except DomainError:
            return
        if kind == "lend":
            self.loans.append(recorded.resource_id)
        if kind != "match":
            self.money_events.append(recorded.event_ids[0])


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.close()


@given(steps)
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_live_equals_rebuilt_equals_reference(
    ledger: FundLedger, database: Database, database_url: str, steps: list[Step]
) -> None:
    """Projected while commands run (small batches) == rebuilt from scratch == from the events."""
    live = open_runner(database, ledger, batch_size=3)
    scenario = Scenario(ledger)
    for step in steps:
        scenario.apply(step)
        live.run_batch()
    live.catch_up()
    live_tables = dump(database)
    rebuilt = open_runner(database, ledger, batch_size=500)
    rebuilt.rebuild()
    assert dump(database) == live_tables
    _assert_matches_reference(SqlReadModels(database), ledger)


def _assert_matches_reference(read_models: SqlReadModels, ledger: FundLedger) -> None:
    ref = reference(ledger)
    for fund_id, movements in ref.cash_by_fund.items():
        for day in sorted({day for day, _ in movements}):
            balance = read_models.balance(fund_id, day)
            assert balance is not None
            assert balance.balance_fen == ref.balance(fund_id, day)
        sources = read_models.sources(fund_id) or []
        assert sum(share.amount_fen for share in sources) == ref.balance(fund_id)
        cohorts = read_models.cohorts(fund_id) or []
        assert {
            s.cohort: (s.loans, s.principal_fen, s.repaid_fen, s.granted_fen) for s in cohorts
        } == ref.cohorts(fund_id)
    for party in ref.parties:
        flows = read_models.flows(party)
        assert flows is not None
        assert flows.given_fen == ref.given_by_party.get(party, 0)
        assert sum(item.amount_fen for item in flows.items) == flows.given_fen


def _worker(database_url: str, *args: str) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).with_name("fundledger")), "project", *args]
    environment = {**os.environ, "FUNDLEDGER_DATABASE_URL": database_url}
    return subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _tracked_positions(database: Database) -> list[int]:
    try:
        with database.read() as cursor:
            return [int(row[0]) for row in cursor.execute("SELECT position FROM rm_tracking")]
    except Exception:  # the worker has not created its tables yet
        return []


@pytest.mark.slow
def test_a_worker_killed_mid_batch_recovers_to_a_clean_rebuild(
    ledger: FundLedger, database: Database, database_url: str
) -> None:
    """SIGKILL the worker while it projects; after a restart the views equal a clean rebuild."""
    cattle_fund(ledger)
    cattle_fund(ledger)
    head = ledger.recorder.max_notification_id()
    worker = _worker(database_url, "--follow", "--batch-size", "10")
    deadline = time.monotonic() + 60
    while not any(p > 0 for p in _tracked_positions(database)):
        assert time.monotonic() < deadline, "the worker never committed a batch"
        time.sleep(0.005)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = min(_tracked_positions(database))
    assert killed_at < head, "the worker finished before it could be killed"
    restarted = _worker(database_url)
    assert restarted.wait(timeout=120) == 0
    assert min(_tracked_positions(database)) == head
    recovered = dump(database)
    clean: ProjectionRunner = open_runner(database, ledger, batch_size=1000)
    clean.rebuild()
    assert dump(database) == recovered


def test_rebuild_command_drops_and_rebuilds_to_the_same_views(
    ledger: FundLedger, database: Database, database_url: str
) -> None:
    """`fundledger rebuild` after live projection leaves every table exactly as it was."""
    cattle_fund(ledger)
    live = open_runner(database, ledger, batch_size=50)
    live.catch_up()
    with database.write() as cursor:  # damage the rebuild must repair
        cursor.execute("DELETE FROM rm_ledger_lines WHERE kind = 'donation'")
    damaged = dump(database)
    command = [str(Path(sys.executable).with_name("fundledger")), "rebuild"]
    environment = {**os.environ, "FUNDLEDGER_DATABASE_URL": database_url}
    finished = subprocess.run(command, env=environment, capture_output=True, check=False)
    assert finished.returncode == 0, finished.stderr.decode()
    assert b"events/s" in finished.stderr
    rebuilt = dump(database)
    assert rebuilt != damaged
    fresh = open_runner(database, ledger, batch_size=7)
    fresh.rebuild()
    assert dump(database) == rebuilt


def test_workers_sharing_the_read_models_build_what_one_runner_builds(
    ledger: FundLedger, database: Database, database_url: str
) -> None:
    """Two `project --models` workers, each with its share, end equal to one full rebuild."""
    cattle_fund(ledger)
    for share in ("catalog,lineage,audit_trail", "balances,special_ledger,compliance,cohorts"):
        assert _worker(database_url, "--models", share).wait(timeout=120) == 0
    shared = dump(database)
    one = open_runner(database, ledger, batch_size=500)
    one.rebuild()
    assert dump(database) == shared


def test_an_unknown_read_model_is_refused(database_url: str) -> None:
    """Naming a read model that does not exist is a clear error, and nothing runs."""
    command = [str(Path(sys.executable).with_name("fundledger")), "project", "--models", "nope"]
    environment = {**os.environ, "FUNDLEDGER_DATABASE_URL": database_url}
    finished = subprocess.run(command, env=environment, capture_output=True, check=False)
    assert finished.returncode != 0
    assert b"no read model named nope" in finished.stderr
