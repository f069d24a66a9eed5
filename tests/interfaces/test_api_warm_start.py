"""`compass serve` warms the planner's curve cache before serving, so the first turns are not the slow ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.api.app import create_app
from agent.settings import ServiceSettings
from kb.db import Database
from kb.seed import load_bundle


@pytest.mark.parametrize("warm", [True, False])
def test_start_up_builds_each_use_case_profile_before_the_first_turn(
    small_catalog_db: Database, matrix_builds: list[int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, warm: bool
) -> None:
    monkeypatch.setenv("COMPASS_DEPLOY_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("COMPASS_API_KEYS", raising=False)
    profiles = len({t.traffic for t in load_bundle().slo_templates})
    with TestClient(create_app(small_catalog_db, ServiceSettings(warm_start=warm))) as client:
        assert len(matrix_builds) == (profiles if warm else 0)
        thread = client.post("/api/v1/threads", json={}).json()["id"]
        body = client.post(f"/api/v1/threads/{thread}/messages", json={"text": "chatbot for 1000 users"}).json()
        assert body["has_recommendation"]
        assert len(matrix_builds) == (profiles if warm else 1), "a warmed service builds nothing on the first turn"
