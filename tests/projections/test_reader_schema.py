"""A process that only reads never drops read models that a runner built with other code."""

from __future__ import annotations

from datetime import date

import pytest

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from projections.catalog import Catalog
from projections.database import open_database
from projections.read_models import open_read_models, open_runner
from projections.runner import TRACKING_TABLE
from tests.projections.helpers import CLERK

OPENED_ON = date(2025, 1, 1)


def _open_fund(ledger: FundLedger) -> str:
    custodian = ledger.execute(
        c.RegisterParty("Accountant", "individual", OPENED_ON), CLERK
    ).resource_id
    fund = c.OpenFund(
        "Service centre", "Build it", "6222-0001", custodian, ["materials"], False, OPENED_ON
    )
    return ledger.execute(fund, CLERK).resource_id


def _rebuild(database_url: str, ledger: FundLedger) -> None:
    database = open_database(database_url)
    try:
        open_runner(database, ledger).rebuild()
    finally:
        database.close()


def test_reader_with_other_schema_keeps_the_rebuilt_funds(
    database_url: str, ledger: FundLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A follow=False reader whose catalog fingerprint differs still finds every rebuilt fund."""
    fund = _open_fund(ledger)
    _rebuild(database_url, ledger)
    # The reader runs other code than the rebuild did (e.g. started before an upgrade).
    monkeypatch.setattr(Catalog, "schema_fingerprint", classmethod(lambda cls: "other-code"))
    with open_read_models(database_url, follow=False) as reader:
        assert reader.balance(fund, OPENED_ON) is not None
        with reader.database.read() as cursor:
            tracked = dict(cursor.execute(f"SELECT read_model, position FROM {TRACKING_TABLE}"))
    assert tracked["catalog"] == ledger.recorder.max_notification_id()


def test_reader_on_a_fresh_store_sets_up_empty_read_models(database_url: str) -> None:
    """On a store no runner has touched, a reader creates the tables and answers 'unknown'."""
    with open_read_models(database_url, follow=False) as reader:
        assert reader.balance("00000000-0000-0000-0000-000000000000", OPENED_ON) is None
        assert reader.position() == 0
