"""`fundledger keys create/list/revoke`: API keys, straight on the store (no HTTP needed).

`create` is how the first admin key comes to exist. The key is printed once, alone on one line of
standard output (so `KEY=$(fundledger keys create --role admin)` works); only its hash is stored.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from eventsourcing.utils import get_topic
from rich.console import Console
from rich.table import Table

from fundledger.adapters.store import DatabaseUrlError
from fundledger.application.commands import CommandContext, IssueApiKey, RevokeApiKey
from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger
from fundledger.cli.app import fail, keys_app
from fundledger.domain.access import ApiKey, api_key_id, hash_api_key, new_api_key
from fundledger.domain.errors import DomainError

# How many notifications one scan of the log asks for.
_PAGE_SIZE = 500


def _actor() -> str:
    """Who ran the command, as the events' actor."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _open() -> FundLedger:
    try:
        return open_ledger()
    except DatabaseUrlError as error:
        raise fail(str(error)) from None


def issued_keys(ledger: FundLedger) -> list[ApiKey]:
    """Every key ever issued, in the order they were issued."""
    topic = get_topic(ApiKey.Issued)
    keys: list[ApiKey] = []
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start, _PAGE_SIZE, topics=[topic])
        for notification in page:
            keys.append(ledger.api_key(str(notification.originator_id)))
        if len(page) < _PAGE_SIZE:
            return keys
        start = page[-1].id + 1


@keys_app.command("create")
def create(
    role: Annotated[str, typer.Option(help="admin, clerk, auditor, supervisor or client.")],
    name: Annotated[
        str | None, typer.Option(help="Shown as the actor of what the key records.")
    ] = None,
    fund: Annotated[
        list[str] | None,
        typer.Option("--fund", help="A fund a supervisor or client key may see (repeat)."),
    ] = None,
) -> None:
    """Issue an API key; print it once, alone on one line."""
    key = new_api_key()
    key_hash = hash_api_key(key)
    key_name = name or f"{role}-{str(api_key_id(key_hash))[:8]}"
    command = IssueApiKey(
        key_hash=key_hash,
        role=role,
        name=key_name,
        funds=list(fund or []),
        occurred_on=datetime.now(UTC).date(),
    )
    ledger = _open()
    try:
        ledger.execute(command, CommandContext(actor=_actor()))
    except DomainError as error:
        raise fail(error.detail) from None
    finally:
        ledger.close()
    typer.echo(key)
    typer.secho(
        f"Issued a {role} key named {key_name!r} (id {api_key_id(key_hash)}). "
        "It is shown only now; keep it safe.",
        err=True,
    )


@keys_app.command("list")
def list_keys() -> None:
    """List issued keys: id, name, role, funds and whether revoked (never the keys themselves)."""
    ledger = _open()
    try:
        keys = issued_keys(ledger)
    finally:
        ledger.close()
    table = Table("name", "role", "funds", "status", "issued")
    table.add_column("id", overflow="fold", min_width=36)
    for key in keys:
        table.add_row(
            key.name,
            key.role,
            ", ".join(key.fund_ids) or "all",
            "revoked" if key.revoked else "active",
            key.created_on.date().isoformat(),
            str(key.id),
        )
    # Full ids even when piped (rich would squeeze the table into 80 columns).
    Console(width=None if sys.stdout.isatty() else 160).print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id, from `fundledger keys list`.")],
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
) -> None:
    """Revoke a key: every process refuses it from its next request on."""
    command = RevokeApiKey(key_id=key_id, reason=reason, occurred_on=datetime.now(UTC).date())
    ledger = _open()
    try:
        ledger.execute(command, CommandContext(actor=_actor()))
    except DomainError as error:
        raise fail(error.detail) from None
    finally:
        ledger.close()
    typer.echo(f"Revoked key {key_id}.")
