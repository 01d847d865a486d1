"""The `fundledger` command line: the composition root that sees write side, read side and API.

Each group of commands lives in its own module and registers itself on the shared Typer apps in
`fundledger.cli.app`; importing the modules here is what makes them appear.
"""

from __future__ import annotations

from fundledger.cli import (  # noqa: F401 - imported for their commands
    audit,
    demo,
    keys,
    projection,
    serve,
    transfer,
)
from fundledger.cli.app import app


def main() -> None:
    app()
