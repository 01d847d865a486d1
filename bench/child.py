"""Measured in a process of its own, so its peak RSS is its own: `python -m bench.child WHAT URL`.

WHAT is `rebuild` (drop and rebuild every read model) or `verify` (recompute the audit chain).
Prints one JSON line: {"events": N, "seconds": S, "ok": bool, "peak_rss_mb": M, "error": "..."}.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

from fundledger.audit.verify import verify_log
from fundledger.bootstrap import open_ledger
from projections.database import open_database
from projections.read_models import open_runner

REBUILD_BATCH_EVENTS = 2_000  # what `fundledger rebuild` uses


def rebuild(url: str) -> dict[str, Any]:
    ledger = open_ledger(url, create_tables=False)
    try:
        runner = open_runner(open_database(url), ledger, batch_size=REBUILD_BATCH_EVENTS)
        started = time.perf_counter()
        events = runner.rebuild()
        seconds = time.perf_counter() - started
        # The rebuild's second process (when a core is idle) holds memory at the same time.
        workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return {"events": events, "seconds": seconds, "ok": True, "workers_peak_rss_mb": workers_mb}
    finally:
        ledger.close()


def verify(url: str) -> dict[str, Any]:
    ledger = open_ledger(url, create_tables=False)
    try:
        started = time.perf_counter()
        report = verify_log(ledger)
        seconds = time.perf_counter() - started
        return {"events": report.events_checked, "seconds": seconds, "ok": report.ok}
    finally:
        ledger.close()


def main(argv: list[str]) -> int:
    what, url = argv
    try:
        answer = {"rebuild": rebuild, "verify": verify}[what](url)
    except Exception as error:  # reported, not hidden: the bench leaves the metric out
        answer = {"events": 0, "seconds": 0.0, "ok": False, "error": repr(error)[:500]}
    # Upper bound of the memory the work held at once: own peak plus its worker's peak.
    answer["peak_rss_mb"] = peak_rss_mb() + float(answer.get("workers_peak_rss_mb", 0.0))
    print(json.dumps(answer))
    return 0


def peak_rss_mb() -> float:
    """This process's own high-water mark of resident memory (VmHWM, reset by exec).

    Not the parent's getrusage of the child: that counts the bench process it was forked from."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
