"""The load generator, run in a process of its own: `python -m bench.load < SPEC_JSON`.

SPEC: {"base": URL, "key": API key, "mode": "donate" | "balance", "requests": N,
"concurrency": C, "funds": [...], "donors": [...], "seed": S}. Prints one JSON line:
{"ok": successes, "failed": failures, "seconds": wall time, "latencies_s": [...]}.
Only ever talks to the loopback server the bench started.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from datetime import date, timedelta
from typing import Any

import httpx

REQUEST_TIMEOUT_S = 30.0


def _donation(rnd: random.Random, spec: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    fund = rnd.choice(spec["funds"])
    body = {
        "donor": rnd.choice(spec["donors"]),
        "amount": f"{rnd.randrange(100, 50_000)}.{rnd.randrange(100):02d}",
        "occurred_on": (date(2025, 1, 1) + timedelta(days=rnd.randrange(365))).isoformat(),
        "note": "bench donation over HTTP",
    }
    return "POST", f"/v1/funds/{fund}/donations", body


def _balance(rnd: random.Random, spec: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    fund = rnd.choice(spec["funds"])
    day = (date(2025, 1, 1) + timedelta(days=rnd.randrange(420))).isoformat()
    return "GET", f"/v1/funds/{fund}/balance?as_of={day}", {}


async def _client(
    client: httpx.AsyncClient,
    spec: dict[str, Any],
    rnd: random.Random,
    count: int,
    out: dict[str, Any],
) -> None:
    make = _donation if spec["mode"] == "donate" else _balance
    for _ in range(count):
        method, path, body = make(rnd, spec)
        started = time.perf_counter()
        if method == "POST":
            response = await client.post(path, json=body)
        else:
            response = await client.get(path)
        out["latencies_s"].append(time.perf_counter() - started)
        if response.status_code < 300:
            out["ok"] += 1
        else:
            out["failed"] += 1
            out.setdefault("first_failure", f"{response.status_code} {response.text[:200]}")


async def _run(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": 0, "failed": 0, "latencies_s": []}
    headers = {"Authorization": f"Bearer {spec['key']}"}
    concurrency = int(spec["concurrency"])
    per_client = int(spec["requests"]) // concurrency
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=spec["base"], headers=headers, timeout=REQUEST_TIMEOUT_S, limits=limits
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _client(client, spec, random.Random(spec["seed"] * 1000 + n), per_client, out)
                for n in range(concurrency)
            )
        )
        out["seconds"] = time.perf_counter() - started
    return out


def main(argv: list[str]) -> int:
    # On standard input: at a million events the fund and donor lists outgrow a command line.
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_run(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
