"""The REST API under misuse: one turn at a time per thread, answers that fit the pending interrupt, input that
cannot be rendered or stored, oversized bodies, and one error shape documented in the OpenAPI spec."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.api.app import create_app
from agent.conversation import _turn_token
from agent.settings import ServiceSettings
from kb.db import Database
from kb.repositories import deployments as deployment_records
from kb.repositories import threads

ALICE = {"X-API-Key": "k-alice"}


@pytest.fixture
def client(seeded_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    monkeypatch.setenv("COMPASS_API_KEYS", "k-alice:alice,k-bob:bob")
    monkeypatch.setenv("COMPASS_DEPLOY_STATE_DIR", str(tmp_path))
    settings = ServiceSettings(max_body_bytes=64 * 1024)
    with TestClient(create_app(seeded_db, settings)) as c:
        yield c
        for record in c.app.state.deployments.list_deployments():  # type: ignore[attr-defined]
            c.app.state.deployments.delete(record.id)  # type: ignore[attr-defined]


def _thread(client: TestClient) -> str:
    return str(client.post("/api/v1/threads", json={}, headers=ALICE).json()["id"])


def _say(client: TestClient, thread: str, text: str) -> dict[str, object]:
    response = client.post(f"/api/v1/threads/{thread}/messages", json={"text": text}, headers=ALICE)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _hold(db: Database, thread: str, token: str, started: dt.datetime | None = None) -> None:
    with db.session() as session:
        assert threads.claim_turn(session, thread, token, stale_before=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        if started is not None:
            row = session.get(threads.ThreadRow, thread)
            assert row is not None
            row.turn_started_at = started


# ----------------------------------------------------------------------------------------------- one turn at a time


def test_a_second_turn_while_one_runs_is_409_and_changes_nothing(client: TestClient, seeded_db: Database) -> None:
    thread = _thread(client)
    _say(client, thread, "chatbot for 500 users")
    before = client.get(f"/api/v1/threads/{thread}", headers=ALICE).json()
    _hold(seeded_db, thread, _turn_token())  # a live turn of this very process

    for path, body in (("messages", {"text": "only L4"}), ("resume", {"text": "yes"})):
        response = client.post(f"/api/v1/threads/{thread}/{path}", json=body, headers=ALICE)
        assert response.status_code == 409 and "still answering" in response.json()["detail"]
    streamed = client.post(f"/api/v1/threads/{thread}/messages?stream=true", json={"text": "x"}, headers=ALICE)
    assert streamed.status_code == 409 and streamed.headers["content-type"].startswith("application/json")
    assert client.delete(f"/api/v1/threads/{thread}", headers=ALICE).status_code == 409
    assert client.get(f"/api/v1/threads/{thread}", headers=ALICE).json() == before


def test_a_lease_left_by_a_killed_process_is_taken_over(client: TestClient, seeded_db: Database) -> None:
    thread = _thread(client)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    token = _turn_token().split("/")
    _hold(seeded_db, thread, f"{token[0]}/{dead.stdout.strip()}/{token[2]}")
    assert _say(client, thread, "chatbot for 500 users")["has_recommendation"]


def test_a_stale_lease_from_another_machine_is_taken_over(client: TestClient, seeded_db: Database) -> None:
    thread = _thread(client)
    _hold(seeded_db, thread, "elsewhere/1/abc", started=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    assert _say(client, thread, "chatbot for 500 users")["has_recommendation"]
    _hold(seeded_db, thread, "elsewhere/1/def")  # fresh: still presumed alive
    assert client.post(f"/api/v1/threads/{thread}/messages", json={"text": "hi"}, headers=ALICE).status_code == 409


def test_parallel_approvals_deploy_once(client: TestClient, seeded_db: Database) -> None:
    thread = _thread(client)
    _say(client, thread, "chatbot for 500 users")
    _say(client, thread, "deploy option 1")

    def approve(_: int) -> int:
        url = f"/api/v1/threads/{thread}/resume"
        return client.post(url, json={"approved": True}, headers=ALICE).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = sorted(pool.map(approve, range(5)))
    assert statuses == [200, 409, 409, 409, 409]
    with seeded_db.session() as session:
        records = deployment_records.list_records(session, owner="alice")
    assert len(records) == 1


# ------------------------------------------------------------------------------------------- answers that must fit


def test_resume_with_nothing_pending_is_409(client: TestClient) -> None:
    thread = _thread(client)
    for body in ({"approved": True}, {"text": "yes"}):
        response = client.post(f"/api/v1/threads/{thread}/resume", json=body, headers=ALICE)
        assert response.status_code == 409 and "nothing is waiting" in response.json()["detail"]


def test_a_question_needs_a_text_answer_and_not_a_blank_one(client: TestClient) -> None:
    thread = _thread(client)
    assert _say(client, thread, "we need an LLM")["pending"]
    for body in ({"approved": True}, {"text": "   "}):
        assert client.post(f"/api/v1/threads/{thread}/resume", json=body, headers=ALICE).status_code == 422
    state = client.get(f"/api/v1/threads/{thread}", headers=ALICE).json()
    assert state["pending"]["slot"] == "use_case" and all(m["content"] for m in state["messages"])


def test_an_explicit_false_never_deploys_whatever_the_text_says(client: TestClient) -> None:
    thread = _thread(client)
    _say(client, thread, "chatbot for 500 users")
    _say(client, thread, "deploy option 1")
    body = client.post(
        f"/api/v1/threads/{thread}/resume", json={"approved": False, "text": "approve"}, headers=ALICE
    ).json()
    assert any("Not deployed" in r for r in body["replies"])
    assert client.app.state.deployments.list_deployments() == []  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------- input and its limits


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/api/v1/threads/{thread}/messages", '{"text": "\\ud800 x"}'),
        ("/api/v1/threads", '{"title": "\\udc00"}'),
        ("/api/v1/recommendations", '{"use_case": "chatbot_conversational", "qps": NaN}'),
        ("/api/v1/recommendations", '{"use_case": "chatbot_conversational", "ttft_p95_ms": Infinity}'),
    ],
)
def test_unrenderable_input_is_422_not_500(client: TestClient, path: str, raw: str) -> None:
    url = path.format(thread=_thread(client))
    response = client.post(url, content=raw, headers={**ALICE, "content-type": "application/json"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationError" and body["errors"] and "input" not in body["errors"][0]


def test_bodies_over_the_limit_are_413(client: TestClient) -> None:
    thread = _thread(client)
    big = json.dumps({"text": "x" * 10, "pad": "y" * 70_000})
    response = client.post(
        f"/api/v1/threads/{thread}/messages", content=big, headers={**ALICE, "content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLarge"

    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    chunked = client.post(
        f"/api/v1/threads/{thread}/messages", content=chunks(), headers={**ALICE, "content-type": "application/json"}
    )
    assert chunked.status_code == 413


def test_unknown_fields_are_refused(client: TestClient) -> None:
    thread = _thread(client)
    response = client.post(f"/api/v1/threads/{thread}/messages", json={"text": "hi", "txet": 1}, headers=ALICE)
    assert response.status_code == 422 and response.json()["errors"][0]["loc"][-1] == "txet"
    spec = {"use_case": "chatbot_conversational", "users": 100}
    typo = {"spec": spec, "changes": [{"traffic_fctor": 2}]}
    assert client.post("/api/v1/recommendations/what-if", json=typo, headers=ALICE).status_code == 422
    clash = {"spec": spec, "changes": [{"only_gpus": ["H100"], "exclude_gpus": ["H100"]}]}
    response = client.post("/api/v1/recommendations/what-if", json=clash, headers=ALICE)
    assert response.status_code == 422 and "both in only_gpus and exclude_gpus" in response.json()["detail"]


def test_a_thread_can_be_created_without_a_body(client: TestClient) -> None:
    response = client.post("/api/v1/threads", headers=ALICE)
    assert response.status_code == 201
    assert response.json()["created_at"].endswith(("+00:00", "Z"))


# ---------------------------------------------------------------------------------------------------- auth and docs


def test_every_api_call_needs_a_key_when_keys_are_configured(client: TestClient) -> None:
    assert client.get("/api/v1/models").status_code == 401
    spec = {"use_case": "chatbot_conversational", "users": 100}
    assert client.post("/api/v1/recommendations", json=spec).status_code == 401
    assert client.get("/api/v1/models", headers={"Authorization": "Bearer k-bob"}).status_code == 200
    assert client.get("/health").status_code == 200


def test_the_openapi_spec_documents_auth_and_every_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"apiKey", "http"}
    messages = spec["paths"]["/api/v1/threads/{thread_id}/messages"]["post"]
    assert {"401", "404", "409", "413", "422", "503"} <= set(messages["responses"])
    error = messages["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/ErrorBody")
    assert "text/event-stream" in messages["responses"]["200"]["content"]
