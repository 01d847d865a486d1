"""GET /v1/audit/verify and /v1/audit/checkpoints: the chain checked over HTTP."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fundledger.audit.checkpoints import sign_checkpoint
from tests.api.conftest import Api
from tests.audit.scenario import RawStore


def test_verify_reports_an_intact_log(fresh_api: Api) -> None:
    """An untouched log verifies: ok, every event checked, the head's position and hash."""
    api = fresh_api
    answer = api.get("/v1/audit/verify", role="auditor").json()
    head = api.ledger.recorder.max_notification_id()
    assert answer["ok"] is True
    assert answer["events_checked"] == len(RawStore(api.database_url).positions())
    assert answer["head_position"] == head
    assert len(answer["head_hash"]) == 64
    assert answer["position"] is None


def test_verify_names_the_first_edited_position(fresh_api: Api) -> None:
    """An event edited in the database makes verify answer ok false at that position."""
    api = fresh_api
    raw = RawStore(api.database_url)
    edited = raw.positions()[2]
    raw.flip_byte(edited)
    answer = api.get("/v1/audit/verify", role="admin").json()
    assert answer["ok"] is False
    assert answer["position"] == edited
    assert answer["problem"]


def test_checkpoints_are_listed_and_held_against(fresh_api: Api) -> None:
    """A signed checkpoint is listed with its signature, and verify holds the log against it."""
    api = fresh_api
    signed = sign_checkpoint(api.ledger, Ed25519PrivateKey.generate())
    listed = api.get("/v1/audit/checkpoints", role="auditor").json()["items"]
    assert listed == [signed.to_dict()]
    answer = api.get("/v1/audit/verify", role="auditor").json()
    assert answer["ok"] is True
    assert answer["checkpoint_position"] == signed.position
