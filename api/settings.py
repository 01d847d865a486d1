"""One `Settings` for the API, read from FUNDLEDGER_* variables; unsafe values stop start-up."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fundledger.adapters.store import DEFAULT_DATABASE_URL, DatabaseUrlError, parse_database_url

# A command body is a few hundred bytes; 64 KiB leaves room for long notes and refuses floods.
BODY_BYTES_DEFAULT = 64 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUNDLEDGER_", extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    body_bytes_max: Annotated[int, Field(ge=1024, le=10 * 1024 * 1024)] = BODY_BYTES_DEFAULT
    # How long a GET with `min_position` may wait for the read side to catch up.
    read_wait_s_max: Annotated[float, Field(ge=0.0, le=60.0)] = 5.0
    # Failed authentications allowed per client address per window before answering 429.
    unauthorized_per_window_max: Annotated[int, Field(ge=1, le=10_000)] = 20
    unauthorized_window_s: Annotated[float, Field(ge=1.0, le=3600.0)] = 60.0
    # What a 503 tells clients to wait before retrying; for that long after the store failed,
    # requests are answered 503 at once instead of each waiting on the store again.
    retry_after_s: Annotated[int, Field(ge=1, le=300)] = 2
    # How long one try waits for a PostgreSQL connection (the library tries 10 times).
    store_connect_timeout_s: Annotated[int, Field(ge=1, le=30)] = 2
    page_limit_max: Annotated[int, Field(ge=1, le=10_000)] = 500
    # Follow new events for the read models inside the API process (else a worker does it).
    follow_events: bool = True
    # How long start-up waits for the read side to reach the head of the log.
    catch_up_s_max: Annotated[float, Field(ge=0.0, le=3600.0)] = 60.0

    @field_validator("database_url")
    @classmethod
    def _database_url_is_usable(cls, value: str) -> str:
        try:
            parse_database_url(value)
        except DatabaseUrlError as error:
            raise ValueError(str(error)) from None
        return value
