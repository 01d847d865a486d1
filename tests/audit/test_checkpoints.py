"""Signed checkpoints, the signing key, and the verify/checkpoint/keys commands (both stores)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fundledger.application.ledger import FundLedger
from fundledger.audit.checkpoints import (
    CheckpointError,
    LogNotIntact,
    load_checkpoint,
    published_checkpoints,
    sign_checkpoint,
    write_checkpoint,
)
from fundledger.audit.signing import SIGNING_KEY_VARIABLE, load_signing_key, public_key_hex
from fundledger.audit.verify import verify_log
from fundledger.cli import app
from tests.audit.scenario import RawStore, record_programme


@pytest.fixture
def key_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The signing key lives in a temporary file, never in the user's config directory."""
    path = tmp_path / "keys" / "signing-key.pem"
    monkeypatch.setenv(SIGNING_KEY_VARIABLE, str(path))
    return path


def test_the_signing_key_is_created_once_owner_only(key_path: Path) -> None:
    """The first use creates a key readable by its owner alone; later uses load the same key."""
    first = public_key_hex(load_signing_key())
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert public_key_hex(load_signing_key()) == first


def test_a_checkpoint_is_signed_recorded_and_published(ledger: FundLedger, key_path: Path) -> None:
    """Signing states the verified head, and the store lists the checkpoint with its signature."""
    record_programme(ledger)
    signed = sign_checkpoint(ledger, load_signing_key())
    report = verify_log(ledger)
    assert (signed.position, signed.head_hash, signed.events) == (
        report.head_position,
        report.head_hash,
        report.events_checked,
    )
    assert signed.signature_holds()
    assert published_checkpoints(ledger) == [signed]
    assert published_checkpoints(ledger)[0].to_dict()["signature"] == signed.signature


def test_no_checkpoint_is_published_before_the_first(ledger: FundLedger) -> None:
    """A store that never signed a checkpoint publishes none (and reading creates nothing)."""
    assert published_checkpoints(ledger) == []


def test_a_broken_log_is_not_signed(ledger: FundLedger, database_url: str, key_path: Path) -> None:
    """Signing refuses a log that does not verify, and records nothing."""
    record_programme(ledger)
    store = RawStore(database_url)
    store.flip_byte(store.positions()[3])
    with pytest.raises(LogNotIntact):
        sign_checkpoint(ledger, load_signing_key())
    assert published_checkpoints(ledger) == []


def test_an_edited_checkpoint_file_is_refused(
    ledger: FundLedger, key_path: Path, tmp_path: Path
) -> None:
    """Changing the position in a checkpoint file breaks its signature."""
    record_programme(ledger)
    path = tmp_path / "checkpoint.json"
    write_checkpoint(path, sign_checkpoint(ledger, load_signing_key()))
    assert load_checkpoint(path).position > 1
    document = json.loads(path.read_text())
    document["position"] -= 1
    path.write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="signature"):
        load_checkpoint(path)


def test_the_commands_verify_sign_and_catch_an_edit(
    ledger: FundLedger, database_url: str, key_path: Path, tmp_path: Path
) -> None:
    """verify passes, checkpoint signs, and after a one-byte edit verify exits 1 at its position."""
    record_programme(ledger)
    runner = CliRunner()
    env = {"FUNDLEDGER_DATABASE_URL": database_url}
    intact = runner.invoke(app, ["verify"], env=env)
    assert intact.exit_code == 0, intact.output
    assert "intact" in intact.output
    out = tmp_path / "checkpoint.json"
    signed = runner.invoke(app, ["checkpoint", "--out", str(out)], env=env)
    assert signed.exit_code == 0, signed.output
    key = runner.invoke(app, ["keys", "signing-key"], env=env)
    assert key.stdout.strip() == load_checkpoint(out).public_key
    held = ["verify", "--checkpoint", str(out), "--public-key", key.stdout.strip()]
    assert runner.invoke(app, held, env=env).exit_code == 0
    stranger = ["verify", "--checkpoint", str(out), "--public-key", "ab" * 32]
    assert runner.invoke(app, stranger, env=env).exit_code == 2
    store = RawStore(database_url)
    edited = store.positions()[4]
    store.flip_byte(edited)
    broken = runner.invoke(app, ["verify", "--checkpoint", str(out)], env=env)
    assert broken.exit_code == 1
    assert f"BROKEN at position {edited}: edited" in broken.output


def test_verify_refuses_an_unreadable_checkpoint(ledger: FundLedger, tmp_path: Path) -> None:
    """A checkpoint that cannot be read is bad input: exit 2, nothing checked."""
    path = tmp_path / "checkpoint.json"
    path.write_text("{}")
    result = CliRunner().invoke(app, ["verify", "--checkpoint", str(path)])
    assert result.exit_code == 2
    assert "fundledger-checkpoint/1" in result.output


def test_verify_of_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    """Pointing verify at a SQLite file that does not exist is an error, and no file appears."""
    missing = tmp_path / "missing.sqlite"
    env = {"FUNDLEDGER_DATABASE_URL": f"sqlite:///{missing}"}
    result = CliRunner().invoke(app, ["verify"], env=env)
    assert result.exit_code == 2
    assert "no store" in result.output
    assert not missing.exists()
