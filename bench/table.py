"""`python -m bench.table [--targets] RESULTS.json [...]`: the Markdown tables docs/performance.md
carries (every metric; or the issue's targets, met or missed).

One row per metric, one column per (store, size), from any number of `--out` files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.run import METRICS

STORES = ("sqlite", "postgresql")


def _cell(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 1_000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def render(paths: list[str]) -> str:
    values: dict[tuple[str, int, str], float] = {}
    for path in paths:
        for result in json.loads(Path(path).read_text())["results"]:
            values[(result["store"], int(result["events"]), result["metric"])] = result["value"]
    columns = sorted(
        {(store, events) for store, events, _ in values}, key=lambda c: (STORES.index(c[0]), c[1])
    )
    header = "| metric | " + " | ".join(f"{store} {events:,}" for store, events in columns) + " |"
    rule = "|---|" + "---:|" * len(columns)
    lines = [header, rule]
    for metric in METRICS:
        cells = [values.get((store, events, metric)) for store, events in columns]
        if any(cell is not None for cell in cells):
            lines.append(f"| {metric} | " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


# The targets: (metric, at how many events, at least (True) or at most (False), bound).
TARGETS = (
    ("write_ratio", 100_000, True, 0.5),
    ("import_ratio", 100_000, True, 0.3),
    ("http_write_ratio", 100_000, True, 0.5),
    ("rebuild_ratio", 100_000, True, 0.2),
    ("projection_events_per_s", 100_000, True, 20_000),
    ("balance_as_of_p99_ms", 1_000_000, False, 5),
    ("balance_as_of_p99_ms_http", 1_000_000, False, 20),
    ("beancount_speedup", 100_000, True, 100),
    ("verify_events_per_s", 100_000, True, 100_000),
    ("rebuild_peak_rss_mb", 1_000_000, False, 300),
    ("verify_peak_rss_mb", 1_000_000, False, 300),
)


def render_targets(paths: list[str]) -> str:
    values: dict[tuple[str, int, str], float] = {}
    for path in paths:
        for result in json.loads(Path(path).read_text())["results"]:
            values[(result["store"], int(result["events"]), result["metric"])] = result["value"]
    lines = ["| metric | target | at | sqlite | postgresql |", "|---|---|---:|---|---|"]
    for metric, events, at_least, bound in TARGETS:
        cells = []
        for store in STORES:
            value = values.get((store, events, metric))
            if value is None:
                cells.append("not measured")
                continue
            met = value >= bound if at_least else value <= bound
            cells.append(f"{_cell(value)} {'met' if met else '**missed**'}")
        sign = "≥" if at_least else "≤"
        lines.append(f"| {metric} | {sign} {bound:,} | {events:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--targets":
        print(render_targets(argv[1:]))
        return 0
    print(render(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
