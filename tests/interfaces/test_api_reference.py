"""The reference REST endpoints: filters, pagination, errors as JSON with a readable detail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agent.api.app import create_app
from kb.db import Database
from kb.repositories import benchmarks as repo
from tests.factories import benchmark


@pytest.fixture
def client(seeded_db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(seeded_db)) as c:
        yield c


def test_health_reports_the_database(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["schema_revision"]


def test_models_filter_by_moe(client: TestClient) -> None:
    models = client.get("/api/v1/models", params={"moe": True}).json()
    assert models and all(m["active_params_b"] < m["total_params_b"] for m in models)


def test_model_by_repo_id_with_a_slash(client: TestClient) -> None:
    assert client.get("/api/v1/models/meta-llama/Llama-3.1-8B-Instruct").json()["family"]


def test_unknown_gpu_is_a_404_with_suggestions(client: TestClient) -> None:
    response = client.get("/api/v1/gpus/H1OO")
    assert response.status_code == 404
    assert "did you mean H100" in response.json()["detail"]


def test_use_cases_list_all_nine(client: TestClient) -> None:
    assert len(client.get("/api/v1/use-cases").json()) == 9


def test_benchmarks_paginate(client: TestClient, seeded_db: Database) -> None:
    with seeded_db.session() as s:
        repo.upsert(s, [benchmark(load_value=c) for c in range(1, 8)])
    page = client.get("/api/v1/benchmarks", params={"hardware": "H100", "limit": 5, "offset": 5}).json()
    assert page["total"] == 7 and len(page["items"]) == 2


def test_bad_query_values_are_422_not_500(client: TestClient) -> None:
    assert client.get("/api/v1/benchmarks", params={"limit": -1}).status_code == 422
    assert client.get("/api/v1/benchmarks", params={"hardware_count": "many"}).status_code == 422


def test_data_health_endpoint_lists_problems(client: TestClient) -> None:
    body = client.get("/api/v1/data/health").json()
    assert any(p["check"] == "models_without_benchmarks" for p in body["problems"])


def test_database_down_is_a_503_with_a_message() -> None:
    app = create_app(Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"), prepare_database=False)
    with TestClient(app) as c:
        response = c.get("/api/v1/models")
        thread = c.post("/api/v1/threads", json={})
    assert response.status_code == 503
    assert "is unavailable" in response.json()["detail"]
    assert thread.status_code == 503 and "conversations are unavailable" in thread.json()["detail"]


def test_recommendations_endpoint_returns_ranked_options(client: TestClient) -> None:
    body = client.post(
        "/api/v1/recommendations",
        json={"use_case": "chatbot_conversational", "users": 1000, "gpus": ["L4"], "models": ["Llama-3.1-8B-Instruct"]},
    ).json()
    assert body["options"][0]["gpu"] == "L4" and body["options"][0]["rank"] == 1


def test_recommendations_reject_contradictions_with_422(client: TestClient) -> None:
    response = client.post("/api/v1/recommendations", json={"use_case": "chatbot_conversational", "users": 5, "qps": 3})
    assert response.status_code == 422
    assert "give one of users, concurrent_users or qps" in response.text


def test_what_if_endpoint_compares_scenarios(client: TestClient) -> None:
    body = client.post(
        "/api/v1/recommendations/what-if",
        json={
            "spec": {"use_case": "chatbot_conversational", "qps": 2, "gpus": ["L4"]},
            "changes": [{"traffic_factor": 2}],
        },
    ).json()
    assert [s["label"] for s in body["scenarios"]] == ["baseline", "traffic x2"]
