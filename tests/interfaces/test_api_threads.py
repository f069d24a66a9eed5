"""Conversations over REST: threads, turns, interrupts, SSE, state/history, auth and isolation between users."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agent.api.app import create_app
from kb.db import Database

ALICE = {"X-API-Key": "k-alice"}
BOB = {"Authorization": "Bearer k-bob"}


@pytest.fixture
def client(seeded_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[TestClient]:
    monkeypatch.setenv("COMPASS_API_KEYS", "k-alice:alice,k-bob:bob")
    monkeypatch.setenv("COMPASS_DEPLOY_STATE_DIR", str(tmp_path))
    with TestClient(create_app(seeded_db)) as c:
        yield c


def _thread(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/api/v1/threads", json={"title": "test"}, headers=headers)
    assert response.status_code == 201
    return str(response.json()["id"])


def test_without_a_key_the_api_refuses(client: TestClient) -> None:
    response = client.post("/api/v1/threads", json={})
    assert response.status_code == 401 and "API key" in response.json()["detail"]


def test_a_turn_returns_replies_and_the_pending_question(client: TestClient) -> None:
    thread = _thread(client, ALICE)
    body = client.post(f"/api/v1/threads/{thread}/messages", json={"text": "we need an LLM"}, headers=ALICE).json()
    assert body["pending"]["slot"] == "use_case"
    body = client.post(
        f"/api/v1/threads/{thread}/resume", json={"text": "chatbot for 1000 users"}, headers=ALICE
    ).json()
    assert body["has_recommendation"] and body["pending"] is None


def test_users_only_see_their_own_threads(client: TestClient) -> None:
    thread = _thread(client, ALICE)
    assert [t["id"] for t in client.get("/api/v1/threads", headers=ALICE).json()] == [thread]
    assert client.get("/api/v1/threads", headers=BOB).json() == []
    response = client.get(f"/api/v1/threads/{thread}", headers=BOB)
    assert response.status_code == 404
    assert client.post(f"/api/v1/threads/{thread}/messages", json={"text": "hi"}, headers=BOB).status_code == 404


def test_state_and_history_are_inspectable(client: TestClient) -> None:
    thread = _thread(client, ALICE)
    client.post(f"/api/v1/threads/{thread}/messages", json={"text": "chatbot for 500 users"}, headers=ALICE)
    state = client.get(f"/api/v1/threads/{thread}", headers=ALICE).json()
    assert state["values"]["recommendation"]["spec"]["users"] == 500
    history = client.get(f"/api/v1/threads/{thread}/history", headers=ALICE).json()
    assert len(history) >= 3 and history[0]["messages"] >= 2


def test_streaming_sends_node_progress_tokens_and_the_turn(client: TestClient) -> None:
    thread = _thread(client, ALICE)
    with client.stream(
        "POST", f"/api/v1/threads/{thread}/messages?stream=true", json={"text": "chatbot for 500 users"}, headers=ALICE
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    kinds = [e["event"] for e in events]
    assert "node" in kinds and kinds[-1] == "turn"
    assert {e["node"] for e in events if e["event"] == "node"} >= {"understand", "recommend"}
    assert events[-1]["result"]["has_recommendation"]


def test_deployment_approval_through_resume(client: TestClient) -> None:
    thread = _thread(client, ALICE)
    client.post(f"/api/v1/threads/{thread}/messages", json={"text": "chatbot for 500 users"}, headers=ALICE)
    body = client.post(f"/api/v1/threads/{thread}/messages", json={"text": "deploy option 1"}, headers=ALICE).json()
    assert body["pending"]["type"] == "approval"
    body = client.post(f"/api/v1/threads/{thread}/resume", json={"approved": False}, headers=ALICE).json()
    assert any("Not deployed" in r for r in body["replies"])


def test_empty_or_huge_messages_are_422(client: TestClient) -> None:
    thread = _thread(client, ALICE)
    assert client.post(f"/api/v1/threads/{thread}/messages", json={"text": ""}, headers=ALICE).status_code == 422
    huge = {"text": "x" * 20_001}
    assert client.post(f"/api/v1/threads/{thread}/messages", json=huge, headers=ALICE).status_code == 422
    assert client.post(f"/api/v1/threads/{thread}/resume", json={}, headers=ALICE).status_code == 422


def test_deleting_a_thread_removes_it(client: TestClient) -> None:
    thread = _thread(client, ALICE)
    assert client.delete(f"/api/v1/threads/{thread}", headers=ALICE).status_code == 204
    assert client.get(f"/api/v1/threads/{thread}", headers=ALICE).status_code == 404
