"""`python -m bench.table RESULTS.json [...]`: the Markdown table docs/performance.md carries.

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


def main(argv: list[str]) -> int:
    print(render(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
