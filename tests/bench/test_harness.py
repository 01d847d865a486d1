"""The bench harness runs end to end at a tiny size and writes the JSON shape the issue fixes.

Not a speed test: only that it runs, on both stores, and reports every metric it knows by name.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from bench.run import METRICS, run
from bench.workload import Results, Workload
from tests.conftest import require_postgres


def test_the_workload_is_reproducible_from_its_seed() -> None:
    """Two workloads with one seed generate the same first phases, command for command."""
    first, second = Workload(2_000, seed=3), Workload(2_000, seed=3)
    results_first = first.phases()[0](Results())
    results_second = second.phases()[0](Results())
    assert results_first == results_second
    assert first.villages == second.villages >= 2


@pytest.mark.postgres
def test_a_tiny_run_writes_every_write_metric_for_both_stores(tmp_path: Path) -> None:
    """--out holds machine facts and one result per store, size and metric, all named."""
    require_postgres()
    out = tmp_path / "bench.json"
    code = run(
        sizes=[400], stores=["sqlite", "postgresql"], out=str(out), groups=["writes"], quick=False
    )
    assert code == 0
    document = json.loads(out.read_text())
    assert set(document) == {"machine", "results"}
    assert document["machine"]["cores"] >= 1
    results = document["results"]
    for result in results:
        assert set(result) == {"store", "events", "metric", "value"}
        assert result["store"] in ("sqlite", "postgresql")
        assert result["events"] == 400
        assert result["metric"] in METRICS
        assert isinstance(result["value"], int | float)
        assert result["value"] > 0
    for store in ("sqlite", "postgresql"):
        named = {r["metric"] for r in results if r["store"] == store}
        assert {"write_ratio", "import_ratio"} <= named


def test_a_tiny_run_of_every_metric_group_on_sqlite(tmp_path: Path) -> None:
    """Reads, verify and HTTP report their metrics too (beancount's only where it is installed)."""
    out = tmp_path / "bench.json"
    groups = ["writes", "reads", "verify", "http"]
    assert run(sizes=[400], stores=["sqlite"], out=str(out), groups=groups, quick=True) == 0
    named = {r["metric"] for r in json.loads(out.read_text())["results"]}
    expected = {
        "write_ratio",
        "import_ratio",
        "projection_events_per_s",
        "rebuild_ratio",
        "rebuild_peak_rss_mb",
        "balance_as_of_p99_ms",
        "verify_events_per_s",
        "verify_peak_rss_mb",
        "http_write_ratio",
        "balance_as_of_p99_ms_http",
    }
    if importlib.util.find_spec("beancount") is not None:
        expected.add("beancount_speedup")
    assert expected <= named
