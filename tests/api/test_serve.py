"""`fundledger serve` as a real process, driven over HTTP with httpx."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

FUNDLEDGER = str(Path(sys.executable).with_name("fundledger"))
START_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(base_url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited while starting"
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not answer within {START_TIMEOUT_S} s")


def test_serve_answers_commands_over_real_http(database_url: str, tmp_path: Path) -> None:
    """A served process takes a CLI-made key, records commands, and logs JSON lines without it."""
    env = {**os.environ, "FUNDLEDGER_DATABASE_URL": database_url, "FUNDLEDGER_LOG_FORMAT": "json"}
    created = subprocess.run(
        [FUNDLEDGER, "keys", "create", "--role", "clerk", "--name", "served-clerk"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = created.stdout.splitlines()
    assert len(lines) == 1, created.stdout
    key = lines[0]
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen(
            [FUNDLEDGER, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait_until_up(base_url, server)
            with httpx.Client(
                base_url=base_url, headers={"Authorization": f"Bearer {key}"}
            ) as http:
                party = http.post("/v1/parties", json={"name": "Bureau", "kind": "government"})
                assert party.status_code == 201, party.text
                fund = http.post(
                    "/v1/funds",
                    json={
                        "name": "Cattle fund",
                        "purpose": "cattle",
                        "bank_account": "6222",
                        "custodian": party.json()["id"],
                        "allowed_categories": ["cattle"],
                        "revolving": True,
                    },
                )
                assert fund.status_code == 201, fund.text
                donation = http.post(
                    f"/v1/funds/{fund.json()['id']}/donations",
                    json={
                        "donor": party.json()["id"],
                        "amount": "11950",
                        "occurred_on": "2016-03-01",
                    },
                    headers={"Idempotency-Key": "served-1", "X-Request-ID": "served-req"},
                )
                assert donation.status_code == 201, donation.text
                assert donation.json()["amount"] == "11950.00"
                assert donation.headers["X-Request-ID"] == "served-req"
                refused = http.post("/v1/parties", json={"name": "x", "kind": "alien"})
                assert refused.status_code == 422
                assert refused.headers["content-type"] == "application/problem+json"
        finally:
            server.terminate()
            server.wait(timeout=30)
    records = [
        json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")
    ]
    requests = [record for record in records if record.get("event") == "request"]
    served = next(r for r in requests if r["request_id"] == "served-req")
    assert served["actor"] == "served-clerk"
    assert served["status"] == 201
    assert key not in log_path.read_text()


def test_serve_refuses_unsafe_settings(tmp_path: Path) -> None:
    """A setting out of its safe range stops `fundledger serve` at start-up with a clear error."""
    env = {
        **os.environ,
        "FUNDLEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "FUNDLEDGER_BODY_BYTES_MAX": "0",
    }
    refused = subprocess.run(
        [FUNDLEDGER, "serve", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "FUNDLEDGER_BODY_BYTES_MAX" in refused.stderr
