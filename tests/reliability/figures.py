"""Figures of a run (requests sent, clients, faults, bad inputs, events lost), for
docs/reliability.md: set FUNDLEDGER_RELIABILITY_FIGURES=FILE to have them written as JSON."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path


class Figures:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._maxima: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            self._counts[name] += count

    def at_least(self, name: str, value: int) -> None:
        with self._lock:
            self._maxima[name] = max(self._maxima.get(name, 0), value)

    def write(self) -> None:
        target = os.environ.get("FUNDLEDGER_RELIABILITY_FIGURES")
        if not target:
            return
        with self._lock:
            figures = {**dict(sorted(self._counts.items())), **self._maxima}
        Path(target).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


FIGURES = Figures()
