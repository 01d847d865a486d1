"""`fundledger keys create/list/revoke` on the store itself, without a server."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fundledger.bootstrap import open_ledger
from fundledger.cli.app import app
from fundledger.domain.access import api_key_id, hash_api_key
from tests.api.conftest import _seed

runner = CliRunner()


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", database_url)
    return database_url


def test_create_prints_the_key_alone_and_stores_only_its_hash(store: str) -> None:
    """The key is the only line on stdout; the store holds its hash, role, name and funds."""
    ledger = open_ledger(store)
    _, fund, _ = _seed(ledger)
    result = runner.invoke(
        app, ["keys", "create", "--role", "supervisor", "--name", "township", "--fund", fund]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    key = lines[0]
    stored = ledger.api_key(str(api_key_id(hash_api_key(key))))
    ledger.close()
    assert (stored.role, stored.name, stored.fund_ids) == ("supervisor", "township", [fund])
    assert stored.key_hash == hash_api_key(key)
    assert key not in str(vars(stored))


def test_list_shows_keys_without_secrets_and_revoke_stops_one(store: str) -> None:
    """`keys list` names each key and its status; `keys revoke` marks it revoked at once."""
    key = runner.invoke(app, ["keys", "create", "--role", "clerk", "--name", "clerk-li"]).stdout
    key_id = str(api_key_id(hash_api_key(key.strip())))
    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0
    assert "clerk-li" in listed.stdout
    assert key_id in listed.stdout
    assert key.strip() not in listed.stdout
    revoked = runner.invoke(app, ["keys", "revoke", key_id, "--reason", "left"])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(app, ["keys", "list"]).stdout
    again = runner.invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 2


def test_bad_key_requests_change_nothing(store: str) -> None:
    """An unknown role, a supervisor without funds, or an unknown fund fail and store no key."""
    for arguments in (
        ["--role", "owner"],
        ["--role", "supervisor"],
        ["--role", "client", "--fund", "00000000-0000-4000-8000-000000000000"],
        ["--role", "admin", "--fund", "00000000-0000-4000-8000-000000000000"],
    ):
        result = runner.invoke(app, ["keys", "create", *arguments])
        assert result.exit_code == 2, arguments
        assert result.stdout == ""
    ledger = open_ledger(store)
    head = ledger.recorder.max_notification_id()
    ledger.close()
    assert not head
