"""Read models on both stores: the cattle fund, balances at a date, lineage, compliance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.domain.fund import Voucher
from fundledger.domain.money import Money
from projections import lineage
from projections.database import Database, open_database
from projections.read_models import SqlReadModels, open_read_models, open_runner
from projections.runner import ProjectionRunner
from tests.projections.helpers import CLERK, Reference, cattle_fund, dump, reference


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.close()


@pytest.fixture
def read_models(database_url: str, ledger: FundLedger) -> Iterator[SqlReadModels]:
    models = open_read_models(database_url, ledger, poll_interval_s=0.05)
    yield models
    models.close()


def test_cattle_fund_cohort_one_funds_cohort_two(
    ledger: FundLedger, read_models: SqlReadModels
) -> None:
    """Cohort 1's 44,000.00 of repayments pay for cohort 2, and the cadres' 11,950.00 is traced."""
    cattle = cattle_fund(ledger)
    assert read_models.wait_for(cattle.last_position, timeout_s=30)
    cohorts = {summary.cohort: summary for summary in read_models.cohorts(cattle.fund) or []}
    assert (cohorts["1"].loans, cohorts["1"].principal_fen) == (80, 8_800_000)
    assert (cohorts["1"].repaid_fen, cohorts["1"].granted_fen) == (4_400_000, 4_400_000)
    assert (cohorts["2"].loans, cohorts["2"].outstanding_fen) == (40, 4_400_000)
    assert cohorts["2"].funded_by == ["1"]
    # 44,000 of the 56,000 in the fund at the time came back from cohort 1.
    assert abs(cohorts["2"].funded_by_fen["1"] - 4_400_000 * 44 // 56) <= 40
    flows = read_models.flows(cattle.cadres)
    assert flows is not None
    assert flows.given_fen == 1_195_000
    assert sum(item.amount_fen for item in flows.items) == 1_195_000
    kinds = {item.destination_kind: item for item in flows.items}
    assert set(kinds) == {"fund", "loan", "grant"}
    assert kinds["loan"].destination.endswith("/2")
    assert kinds["grant"].destination.endswith("/1")
    sources = read_models.sources(cattle.fund) or []
    assert sum(share.amount_fen for share in sources) == 1_200_000


def test_balance_as_of_equals_sum_of_movements_up_to_that_date(
    ledger: FundLedger, read_models: SqlReadModels
) -> None:
    """Balance as of D is the sum of the fund's movements with occurred_on <= D, back-dated too."""
    cattle = cattle_fund(ledger)
    late = ledger.execute(
        c.RecordDonation(cattle.fund, cattle.cadres, Money.parse("7.01"), date(2015, 3, 4)), CLERK
    )
    assert read_models.wait_for(late.position, timeout_s=30)
    ref = reference(ledger)
    day = date(2015, 2, 27)
    while day <= date(2016, 2, 2):
        balance = read_models.balance(cattle.fund, day)
        assert balance is not None
        assert balance.balance_fen == ref.balance(cattle.fund, day), day
        day += timedelta(days=3)
    now = read_models.balance(cattle.fund, None)
    assert now is not None
    assert now.balance_fen == ref.balance(cattle.fund) == 1_200_701


def test_ledger_pages_carry_the_running_balance_in_business_date_order(
    ledger: FundLedger, read_models: SqlReadModels
) -> None:
    """Paging the special ledger gives every line once, in date order, ending at the balance."""
    cattle = cattle_fund(ledger)
    late = ledger.execute(
        c.RecordDonation(cattle.fund, cattle.cadres, Money.parse("7.01"), date(2015, 3, 4)), CLERK
    )
    assert read_models.wait_for(late.position, timeout_s=30)
    lines = []
    cursor = None
    while True:
        page = read_models.ledger(cattle.fund, limit=17, cursor=cursor)
        lines.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(lines) == 124
    assert [line.occurred_on for line in lines] == sorted(line.occurred_on for line in lines)
    assert lines[1].amount_fen == 701
    assert lines[1].running_balance_fen == 1_195_701
    running = 0
    for line in lines:
        running += {"in": line.amount_fen, "out": -line.amount_fen, "none": 0}[line.direction]
        assert line.running_balance_fen == running
    assert running == 1_200_701


def test_compliance_names_the_events_behind_each_finding(
    ledger: FundLedger, read_models: SqlReadModels
) -> None:
    """A statement that does not reconcile and a wrong custodian handover become findings."""
    cattle = cattle_fund(ledger)
    statement = ledger.execute(
        c.RecordBankStatement(cattle.fund, Money.parse("56000.00"), date(2015, 12, 31)), CLERK
    )
    wrong = ledger.execute(
        c.RecordBankStatement(cattle.fund, Money.parse("12000.01"), date(2016, 1, 31)), CLERK
    )
    assert read_models.wait_for(wrong.position, timeout_s=30)
    report = read_models.compliance(cattle.fund)
    assert report is not None
    assert not report.special_account.ok
    assert report.special_personnel.ok
    assert report.closed_operation.ok
    assert report.special_ledger.ok
    [finding] = report.findings
    assert finding.part == "special_account"
    assert wrong.event_ids[0] in finding.event_ids
    assert "12000.01" in finding.message
    assert "difference 0.01" in finding.message
    assert statement.event_ids[0] not in finding.event_ids


def test_reversals_keep_lineage_and_balances_whole(
    ledger: FundLedger, read_models: SqlReadModels
) -> None:
    """After reversing a donation, a spend, a repayment, a rollover and a loan, every sum holds."""
    cattle = cattle_fund(ledger)
    on = date(2016, 2, 1)
    cohort_two = _loans(ledger, cattle.fund, "2")
    repaid = ledger.execute(c.RecordRepayment(cohort_two[0], Money.parse("100"), on), CLERK)
    rolled = ledger.execute(c.RollOverCohort(cattle.fund, "2", Decimal("0.5"), "grant", on), CLERK)
    voucher = Voucher(number="V-1", date="2016-02-01", description="feed")
    payee = cattle.bureau
    spent = ledger.execute(
        c.PayExpenditure(cattle.fund, payee, Money.parse("300"), "livestock", voucher, on), CLERK
    )
    gift = ledger.execute(c.RecordDonation(cattle.fund, payee, Money.parse("50"), on), CLERK)
    for recorded in (rolled, spent, gift, repaid):
        ledger.execute(c.ReverseEvent(recorded.event_ids[0], "entered in error", on), CLERK)
    last = ledger.execute(c.ReverseEvent(_loan_event(ledger, cohort_two[1]), "void", on), CLERK)
    assert read_models.wait_for(last.position, timeout_s=30)
    ref = reference(ledger)
    _assert_lineage_sums(read_models, ref)
    balance = read_models.balance(cattle.fund, None)
    assert balance is not None
    assert balance.balance_fen == ref.balance(cattle.fund)
    cohorts = {s.cohort: s for s in read_models.cohorts(cattle.fund) or []}
    assert cohorts["2"].loans == 39
    assert cohorts["2"].funded_by_fen["1"] < 4_400_000 * 44 // 56


def test_two_runners_never_double_count(database_url: str, ledger: FundLedger) -> None:
    """Two runners taking turns on one store end exactly where one clean rebuild ends."""
    cattle_fund(ledger)
    first = open_runner(open_database(database_url), ledger, batch_size=37)
    second = open_runner(open_database(database_url), ledger, batch_size=53)
    while first.position() < first.head() or second.position() < second.head():
        first.run_batch()
        second.run_batch()
    turns = dump(first.database)
    rebuilt = open_runner(open_database(database_url), ledger, batch_size=1000)
    rebuilt.rebuild()
    assert dump(rebuilt.database) == turns
    for runner in (first, second, rebuilt):
        runner.database.close()


def test_a_changed_read_model_is_rebuilt_on_its_own(database_url: str, ledger: FundLedger) -> None:
    """When one model's tables change, set-up drops and rebuilds it; the others keep position."""
    cattle_fund(ledger)
    runner = open_runner(open_database(database_url), ledger)
    runner.catch_up()
    before = dump(runner.database)
    with runner.database.write() as cursor:
        cursor.execute(
            "UPDATE rm_tracking SET schema_fingerprint = 'old' WHERE read_model = 'balances'"
        )
    again = open_runner(runner.database, ledger)
    assert again.positions["balances"] == 0
    assert again.positions["lineage"] == runner.position()
    again.catch_up()
    assert dump(again.database) == before
    runner.database.close()


def _loans(ledger: FundLedger, fund_id: str, cohort: str) -> list[str]:
    return ledger.fund(fund_id).loans_of_cohort(cohort)


def _loan_event(ledger: FundLedger, loan_id: str) -> str:
    return f"{loan_id}.1"


def _assert_lineage_sums(read_models: SqlReadModels, ref: Reference) -> None:
    for party in ref.parties:
        flows = read_models.flows(party)
        assert flows is not None
        assert flows.given_fen == ref.given_by_party.get(party, 0)
        assert sum(item.amount_fen for item in flows.items) == flows.given_fen
    for fund_id in ref.cash_by_fund:
        sources = read_models.sources(fund_id)
        assert sources is not None
        assert sum(share.amount_fen for share in sources) == ref.balance(fund_id)


def test_runner_rejects_an_empty_batch_size(database: Database, ledger: FundLedger) -> None:
    """A batch of no events is a configuration mistake, refused up front."""
    with pytest.raises(ValueError, match="batch_size"):
        ProjectionRunner(database, ledger, [], batch_size=0)


def test_lineage_forgets_and_reloads_state_without_changing_a_fen(
    database_url: str, ledger: FundLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With almost no lineage state kept in memory, the views equal a rebuild that keeps it all."""
    cattle = cattle_fund(ledger)
    on = date(2016, 2, 1)
    for loan in _loans(ledger, cattle.fund, "2")[:5]:
        ledger.execute(c.RecordRepayment(loan, Money.parse("1100"), on), CLERK)
    ledger.execute(c.RollOverCohort(cattle.fund, "2", Decimal("0.3"), "outstanding", on), CLERK)
    roomy = open_runner(open_database(database_url), ledger, batch_size=500)
    roomy.rebuild()
    expected = dump(roomy.database)
    monkeypatch.setattr(lineage, "LIVE_HOLDERS_MAX", 3)
    tight = open_runner(open_database(database_url), ledger, batch_size=11)
    tight.rebuild()
    assert dump(tight.database) == expected
    for runner in (roomy, tight):
        runner.database.close()
