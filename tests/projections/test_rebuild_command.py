"""`fundledger rebuild` on both stores: it ends where the live runner ends, from any state."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fundledger.application.ledger import FundLedger
from fundledger.cli.app import app
from projections.database import open_database
from projections.read_models import open_runner
from tests.projections.helpers import cattle_fund, dump


def test_the_rebuild_command_rebuilds_every_read_model(
    database_url: str, ledger: FundLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    cattle_fund(ledger)
    live = open_runner(open_database(database_url), ledger, batch_size=41)
    live.catch_up()
    expected = dump(live.database)
    # A damaged read side: rows lost from a read model the rebuild must restore.
    with live.database.write() as cursor:
        cursor.execute("DELETE FROM rm_funds")
    assert dump(live.database) != expected
    live.database.close()

    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["rebuild"])

    assert result.exit_code == 0, result.output
    assert "events in" in result.output
    rebuilt = open_database(database_url)
    assert dump(rebuilt) == expected
    rebuilt.close()
