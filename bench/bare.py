"""The HTTP floor: a bare FastAPI endpoint doing the plain insert, under the same uvicorn.

`python -m bench.bare PORT KIND TARGET ROW_BYTES [SYNCHRONOUS]` serves
POST /v1/funds/{fund_id}/donations, which inserts one row of ROW_BYTES bytes of state (the size
of a stored donation event) with the plain driver, one transaction per request, like the floor of
write_ratio. No validation, no auth, no event sourcing: what is left is the cost of HTTP.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import uuid
from typing import Any

import uvicorn
from fastapi import FastAPI

from bench.floor import POSTGRES_FLOOR_INDEX, POSTGRES_FLOOR_TABLE, SQLITE_FLOOR_TABLE

TOPIC = "fundledger.domain.fund:Fund.DonationReceived"


def create_app(kind: str, target: str, row_bytes: int, synchronous: int) -> FastAPI:
    app = FastAPI()
    state = b"x" * row_bytes
    local = threading.local()
    if kind == "sqlite":
        setup = sqlite3.connect(target)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute(SQLITE_FLOOR_TABLE)
        setup.commit()
        setup.close()

        def insert(fund_id: str) -> None:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = sqlite3.connect(target, isolation_level=None, timeout=30)
                conn.execute(f"PRAGMA synchronous={synchronous}")
                local.conn = conn
            conn.execute(
                "INSERT INTO floor_events VALUES (?,?,?,?)", (uuid.uuid4().hex, 1, TOPIC, state)
            )

    else:
        from psycopg_pool import ConnectionPool  # noqa: PLC0415

        pool = ConnectionPool(target, min_size=4, max_size=4, kwargs={"autocommit": True})
        with pool.connection() as conn:
            conn.execute(POSTGRES_FLOOR_TABLE)
            conn.execute(POSTGRES_FLOOR_INDEX)

        def insert(fund_id: str) -> None:
            with pool.connection() as conn:
                conn.execute(
                    "INSERT INTO floor_events (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s)",
                    (uuid.uuid4(), 1, TOPIC, state),
                    prepare=True,
                )

    @app.post("/v1/funds/{fund_id}/donations", status_code=201)
    def donate(fund_id: str, body: dict[str, Any]) -> dict[str, str]:
        insert(fund_id)
        return {"id": fund_id}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str]) -> int:
    port, kind, target, row_bytes = int(argv[0]), argv[1], argv[2], int(argv[3])
    synchronous = int(argv[4]) if len(argv) > 4 else 2
    app = create_app(kind, target, row_bytes, synchronous)
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_config=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
