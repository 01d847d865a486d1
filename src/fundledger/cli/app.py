"""The shared Typer applications every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="fundledger",
    help="Event-sourced ledger of poverty-alleviation funds, run three-specialized-and-closed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="API keys (and the checkpoint signing key).", no_args_is_help=True)
export_app = typer.Typer(help="Exports for auditors.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(export_app, name="export")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error and return the Exit to raise: bad input changes nothing."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)
