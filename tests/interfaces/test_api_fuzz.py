"""Fuzz the REST API from its own OpenAPI spec: no input may produce a 5xx, and every answer (status, content type
and body) is one the spec documents, so an external fuzzer or client generator can trust it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agent.api.app import create_app
from kb.db import Database
from kb.services import ensure_ready


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    database = Database(f"sqlite:///{folder / 'compass.db'}")
    ensure_ready(database)
    mp = pytest.MonkeyPatch()
    mp.setenv("COMPASS_DEPLOY_STATE_DIR", str(folder / "deployments"))
    app = create_app(database)
    with TestClient(app):  # runs the lifespan: services, checkpointer
        yield app
    mp.undo()


OPERATIONS = [
    ("POST", "/api/v1/recommendations"),
    ("POST", "/api/v1/recommendations/what-if"),
    ("POST", "/api/v1/benchmarks/query"),
    ("GET", "/api/v1/benchmarks"),
    ("GET", "/api/v1/models"),
    ("GET", "/api/v1/models/{model_id}"),
    ("GET", "/api/v1/gpus/{name}"),
    ("GET", "/api/v1/use-cases/{use_case}"),
    ("GET", "/api/v1/data/health"),
    ("POST", "/api/v1/threads"),
    ("POST", "/api/v1/threads/{thread_id}/messages"),
    ("POST", "/api/v1/threads/{thread_id}/resume"),
    ("GET", "/api/v1/threads/{thread_id}/history"),
    ("DELETE", "/api/v1/threads/{thread_id}"),
]


def test_the_spec_lists_every_fuzzed_operation(fuzz_app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    labels = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert set(OPERATIONS) <= labels


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_request_gets_a_server_error(fuzz_app: Any, method: str, path: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case: Any) -> None:
        response = case.call()
        assert response.status_code < 500, f"{method} {case.formatted_path} -> {response.status_code}: {response.text}"
        case.validate_response(
            response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
        )

    fuzz()
