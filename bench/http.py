"""http_write_ratio and balance_as_of_p99_ms over HTTP: real `fundledger serve` under uvicorn,
a bare FastAPI endpoint doing the plain insert beside it, and a load generator in another process.

Every server is started here on 127.0.0.1 and stopped here; nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stores import Store
from bench.writes import max_position
from fundledger.application.ledger import FundLedger

STARTUP_S_MAX = 300.0
# The follower projects thousands of events a second; minutes means it is stuck.
CATCH_UP_S_MAX = 300.0
ROUNDS = 3  # app, bare, three times (the median ratio): each ratio's halves see the same load
CONCURRENCY = 8
BENCH_DIRECTORY = Path(__file__).parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _read_side_position(base: str) -> int | None:
    with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
        position = json.loads(response.read())["read_side_position"]
    return None if position is None else int(position)


def _wait_for_read_side(base: str, head: int) -> float:
    """Seconds until the server's read side has projected the log up to `head`.

    The balance phase measures the query path; started right after the write rounds, its first
    requests would also time the follower catching up with them (a cost the write rounds own).
    """
    started = time.monotonic()
    while (position := _read_side_position(base)) is not None and position < head:
        if time.monotonic() - started > CATCH_UP_S_MAX:
            raise RuntimeError(f"the read side did not reach position {head}")
        time.sleep(0.2)
    return time.monotonic() - started


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def _server(command_at: Callable[[int], list[str]], env: dict[str, str]) -> Iterator[str]:
    """Start `command_at(port)` on a free loopback port; yield its base URL; stop it (only it)."""
    port = _free_port()
    command = command_at(port)
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        cwd=BENCH_DIRECTORY,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S_MAX
        while not _healthy(base):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(command[:3])} did not start (exit {process.poll()})")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def _fundledger() -> str:
    return str(Path(sys.executable).with_name("fundledger"))


def create_clerk_key(url: str) -> str:
    done = subprocess.run(
        [_fundledger(), "keys", "create", "--role", "clerk", "--name", "bench"],
        env={**os.environ, "FUNDLEDGER_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _load(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.load"],
        input=json.dumps(spec),
        cwd=BENCH_DIRECTORY,
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def donation_row_bytes(ledger: FundLedger) -> int:
    sizes = [
        len(n.state)
        for n in ledger.recorder.select_notifications(1, 5_000)
        if n.topic.endswith("DonationReceived")
    ]
    return int(statistics.median(sizes)) if sizes else 300


@dataclass(frozen=True)
class HttpFigures:
    write_ratio: float
    app_donations_per_s: float
    balance_p99_ms: float
    failures: str


def measure_http(
    store: Store,
    ledger: FundLedger,
    *,
    ids: dict[str, str],
    directory: Path,
    requests: int,
    synchronous: int,
) -> HttpFigures:
    funds = sorted(v for k, v in ids.items() if k.startswith("fund:service:") and "." not in v)
    donors = sorted(v for k, v in ids.items() if k.startswith("donor:") and "." not in v)
    key = create_clerk_key(store.url)
    app_env = {
        "FUNDLEDGER_DATABASE_URL": store.url,
        "FUNDLEDGER_LOG_LEVEL": "warning",
        "FUNDLEDGER_LOG_FORMAT": "json",
    }
    bare_target = (
        str(directory / "http-floor.sqlite") if store.kind == "sqlite" else store.floor_target
    )
    row_bytes = donation_row_bytes(ledger)
    bare_args = [store.kind, bare_target, str(row_bytes), str(synchronous)]
    ratios: list[float] = []
    app_rates: list[float] = []
    failures = ""
    with _server(lambda port: [_fundledger(), "serve", "--port", str(port)], app_env) as app_base:
        for round_number in range(ROUNDS):
            spec = {
                "key": key,
                "mode": "donate",
                "requests": requests,
                "concurrency": CONCURRENCY,
                "funds": funds,
                "donors": donors,
                "seed": round_number + 1,
            }
            app = _load({**spec, "base": app_base})
            with _bare_server(bare_args) as bare_base:
                floor = _load({**spec, "base": bare_base})
            if app["failed"] or floor["failed"]:
                failures = str(app.get("first_failure") or floor.get("first_failure"))
            app_rate = app["ok"] / app["seconds"]
            app_rates.append(app_rate)
            ratios.append(app_rate / (floor["ok"] / floor["seconds"]))
        caught_up_s = _wait_for_read_side(app_base, max_position(ledger))
        print(f"  {store.kind}: read side caught up {caught_up_s:.1f}s after the write rounds")
        balance = _load(
            {
                "base": app_base,
                "key": key,
                "mode": "balance",
                "requests": requests,
                "concurrency": 1,
                "funds": funds,
                "donors": donors,
                "seed": 99,
            }
        )
    latencies = sorted(balance["latencies_s"])
    p99_ms = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return HttpFigures(statistics.median(ratios), statistics.median(app_rates), p99_ms, failures)


def _bare_server(args: list[str]) -> AbstractContextManager[str]:
    return _server(lambda port: [sys.executable, "-m", "bench.bare", str(port), *args], {})
