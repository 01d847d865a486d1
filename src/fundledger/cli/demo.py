"""`fundledger demo`: load the seed scenario into the configured store and show what is there."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from fundledger.adapters.store import (
    DatabaseUrlError,
    configured_database_url,
    parse_database_url,
)
from fundledger.application.ledger import FundLedger
from fundledger.bootstrap import open_ledger
from fundledger.cli.app import app, fail
from fundledger.demo.loader import DemoLoad, command_count, load_demo
from fundledger.demo.scenario import CATTLE_FUND_KEY
from fundledger.domain.errors import DomainError, IdempotencyKeyReused
from fundledger.domain.money import format_fen

NEXT_STEPS = """\
[bold]What to run next[/bold]
  fundledger keys create --role admin --name me     # prints an API key once
  fundledger serve                                  # the HTTP API on http://127.0.0.1:8000
  export KEY=<the key printed above>
  curl -H "Authorization: Bearer $KEY" http://127.0.0.1:8000/v1/funds
  curl -H "Authorization: Bearer $KEY" http://127.0.0.1:8000/v1/funds/{cattle}/cohorts
  curl -H "Authorization: Bearer $KEY" http://127.0.0.1:8000/v1/audit/verify"""


@app.command("demo")
def demo() -> None:
    """Load the seed scenario (programmes A, B and C) into FUNDLEDGER_DATABASE_URL."""
    console = Console()
    try:
        location = parse_database_url(configured_database_url())
    except DatabaseUrlError as error:
        raise fail(str(error)) from None
    console.print(f"Loading the seed scenario into {location.describe()}")
    ledger = open_ledger()
    try:
        started = time.perf_counter()
        loaded = _load_with_progress(ledger, console)
        elapsed_s = time.perf_counter() - started
        _print_summary(ledger, loaded, console)
    except IdempotencyKeyReused:
        raise fail(
            "this store holds a different version of the demo; load it into a fresh store "
            "(set FUNDLEDGER_DATABASE_URL to a new file or database)"
        ) from None
    except DomainError as error:
        raise fail(f"the demo could not be loaded: {error.detail}") from None
    finally:
        ledger.close()
    if loaded.already_loaded:
        console.print("The store already held the demo: nothing new was recorded.")
    else:
        console.print(
            f"Recorded {loaded.recorded} commands in {elapsed_s:.2f} s "
            f"({loaded.replayed} were already in the store)."
        )
    next_steps = NEXT_STEPS.format(cattle=loaded.fund_ids[CATTLE_FUND_KEY])
    console.print(next_steps, soft_wrap=True, highlight=False)


def _load_with_progress(ledger: FundLedger, console: Console) -> DemoLoad:
    columns = (TextColumn("commands"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("demo", total=command_count())
        return load_demo(ledger, on_command=lambda: progress.advance(task))


def _print_summary(ledger: FundLedger, loaded: DemoLoad, console: Console) -> None:
    table = Table(title="Funds of the seed scenario")
    table.add_column("programme")
    table.add_column("fund")
    table.add_column("balance", justify="right")
    table.add_column("in kind (valued)", justify="right")
    for key, fund_id in loaded.fund_ids.items():
        fund = ledger.fund(fund_id)
        table.add_row(
            loaded.fund_programmes[key],
            fund.name,
            f"{fund.balance.format()} {fund.currency}",
            format_fen(fund.in_kind_value_fen) if fund.in_kind_value_fen else "",
        )
    console.print(table)
    cattle = ledger.fund(loaded.fund_ids[CATTLE_FUND_KEY])
    cohorts = ", ".join(
        f"cohort {cohort}: {len(loan_ids)} households"
        for cohort, loan_ids in cattle.cohorts.items()
    )
    console.print(f"Cattle fund: {cohorts}; balance {cattle.balance.format()} {cattle.currency}")
