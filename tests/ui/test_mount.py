"""One port for everything: the API factory mounts the chat at /chat (unless COMPASS_UI=0), with its routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.api.app import create_app
from kb.db import Database


@pytest.fixture
def client(seeded_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    monkeypatch.setenv("COMPASS_DEPLOY_STATE_DIR", str(tmp_path / "deployments"))
    monkeypatch.setenv("COMPASS_DATA_DIR", str(tmp_path))
    with TestClient(create_app(seeded_db)) as c:
        yield c


def test_the_service_serves_the_api_and_the_chat_on_one_port(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    page = client.get("/chat/")
    assert page.status_code == 200 and '<meta property="og:root_path" content="/chat">' in page.text
    assert "<title>Compass</title>" in page.text and "fonts.googleapis.com/css2" not in page.text
    assert client.get("/chat/auth/config").json()["requireLogin"] is True


def test_the_chat_is_bound_to_the_app_the_factory_built(client: TestClient) -> None:
    from ui import runtime

    assert runtime.conversation() is client.app.state.conversation  # type: ignore[attr-defined]


def test_the_frontend_bundle_is_cached_for_good_and_compressed_once(client: TestClient) -> None:
    page = client.get("/chat/").text
    bundle = page.split('src="/chat/assets/', 1)[1].split('"', 1)[0]
    response = client.get(f"/chat/assets/{bundle}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
    assert "immutable" in response.headers["cache-control"]
    assert client.get("/chat/assets/../../server.py").status_code == 404


def test_stored_chat_files_are_only_for_their_owner(client: TestClient) -> None:
    assert client.get("/chat/element-files/someone/else/chart").status_code in (401, 404)


def test_compass_ui_0_serves_the_api_alone(seeded_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.mount import mount_ui
    from ui.settings import UISettings

    monkeypatch.setenv("COMPASS_UI", "0")
    assert UISettings().enabled is False
    from fastapi import FastAPI

    app = FastAPI()
    assert mount_ui(app) is False
    assert not [r for r in app.routes if getattr(r, "path", "").startswith("/chat")]
