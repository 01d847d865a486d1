"""`fundledger serve`: the HTTP API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from fundledger.cli.app import app, fail


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
) -> None:
    """Serve the HTTP API on FUNDLEDGER_DATABASE_URL (settings: FUNDLEDGER_* variables)."""
    from pydantic import ValidationError  # noqa: PLC0415 - only needed to report bad settings

    from api.app import create_app  # noqa: PLC0415 - the API loads only when serving
    from api.settings import Settings  # noqa: PLC0415

    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        variable = "FUNDLEDGER_" + "_".join(str(part) for part in first["loc"]).upper()
        raise fail(f"bad settings: {variable}: {first['msg']}") from None
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        access_log=False,  # the API logs one line per request itself
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )
