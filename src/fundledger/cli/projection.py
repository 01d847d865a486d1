"""CLI commands: projection (filled in by its owner)."""

from __future__ import annotations
