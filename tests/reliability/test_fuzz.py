"""A fuzzer driven by api/openapi.json (schemathesis) against a served process on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fundledger.application.ledger import FundLedger
from tests.reliability.conftest import ServerFactory, seed_funds
from tests.reliability.figures import FIGURES
from tests.reliability.harness import create_key

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

OPENAPI = Path(__file__).resolve().parents[2] / "api" / "openapi.json"
EXAMPLES_PER_OPERATION_AND_MODE = 6
# The only 5xx allowed: a GET with a `min_position` beyond the log's head waits (bounded) and
# then says so with 503 read-side-behind and Retry-After, as documented.
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _assert_no_server_error(response: Any) -> None:
    """Schemathesis' response: headers are a dict of lists, names as the server sent them."""
    if response.status_code < 500:
        return
    headers = {name.lower(): values[0] for name, values in response.headers.items()}
    url = str(response.request.url)
    assert response.status_code == 503, (url, response.text)
    assert response.json()["rule"] == "read-side-behind", (url, response.text)
    assert "min_position" in url, url
    assert int(headers["retry-after"]) >= 1, (url, headers)


def test_fuzzing_every_operation_finds_no_500_and_no_answer_off_the_schema(
    store: FundLedger, postgres_url: str, serve: ServerFactory
) -> None:
    """Valid and invalid requests to every documented operation get documented answers only."""
    seeded = seed_funds(store, (100_000,))
    key = create_key(postgres_url, "admin", "fuzzing-admin")
    server = serve(
        postgres_url, "fuzzed", read_wait_s_max="0.2", unauthorized_per_window_max="10000"
    )
    schema = schemathesis.openapi.from_path(OPENAPI)
    known_ids = {"fund_id": seeded.fund_ids[0], "party_id": seeded.party_id}
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    sent = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            known = {
                name: value
                for name, value in known_ids.items()
                if mode is GenerationMode.POSITIVE and f"{{{name}}}" in operation.path
            }
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=known or None)

            @settings(
                max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def call(case: Any) -> None:
                nonlocal sent
                response = case.call(base_url=server.base_url, session=session, timeout=30)
                sent += 1
                _assert_no_server_error(response)
                case.validate_response(response, checks=CHECKS)

            try:
                call()
            except Unsatisfiable:
                # Nothing to break in an operation without parameters or body (GET /health).
                assert mode is GenerationMode.NEGATIVE, operation.label
    FIGURES.add("fuzzed requests", sent)
    assert sent >= EXAMPLES_PER_OPERATION_AND_MODE
    assert server.process is not None
    assert server.process.poll() is None, "the fuzzed server died"
