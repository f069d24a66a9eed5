"""`compass manifests render` and the manifest_renderer tool."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agent.cli import app
from kb.db import Database
from tools.deploy.request import DeploymentRequest
from tools.deploy.service import DeploymentService
from tools.deploy.settings import DeploySettings
from tools.manifest_renderer import build_manifest_tool

runner = CliRunner()


@pytest.fixture
def env(seeded_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Database:
    monkeypatch.setenv("COMPASS_DATABASE_URL", seeded_db.url)
    monkeypatch.setenv("COMPASS_DEPLOY_STATE_DIR", str(tmp_path / "state"))
    return seeded_db


def test_render_a_saved_recommendation_option_to_files(env: Database, tmp_path: Path) -> None:
    rec = runner.invoke(app, ["recommend", "-u", "chatbot_conversational", "--qps", "3", "--gpu", "L4", "--json"])
    saved = tmp_path / "rec.json"
    saved.write_text(rec.output)
    result = runner.invoke(app, ["manifests", "render", "--recommendation", str(saved), "--option", "2",
                                 "--name", "support-bot", "--output", str(tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "kustomization.yaml" in files
    service = yaml.safe_load((tmp_path / "out" / next(f for f in files if "inferenceservice" in f)).read_text())
    assert service["kind"] == "InferenceService" and service["metadata"]["name"] == "support-bot"


def test_render_a_recorded_deployment_to_stdout_in_simulator_mode(env: Database, tmp_path: Path) -> None:
    service = DeploymentService(env, DeploySettings(state_dir=tmp_path / "state"))
    record = service.deploy(DeploymentRequest(model="Llama-3.1-8B-Instruct", gpu="L4", target="manifests",
                                              deployment_id="docs-bot", output_dir=str(tmp_path / "m")))  # fmt: skip
    result = runner.invoke(app, ["manifests", "render", "--deployment", record.id, "--simulator"])
    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.output))
    isvc = next(d for d in documents if d["kind"] == "InferenceService")
    assert "nvidia.com/gpu" not in str(isvc) and "vllm-simulator" in str(isvc)


def test_render_without_a_source_is_a_clear_error(env: Database) -> None:
    result = runner.invoke(app, ["manifests", "render"])
    assert result.exit_code == 1 and "give --deployment ID or --recommendation FILE" in result.output


def test_the_tool_reports_validation_problems_to_the_model(env: Database, tmp_path: Path) -> None:
    tool = build_manifest_tool(DeploymentService(env, DeploySettings(state_dir=tmp_path)))
    request = DeploymentRequest(model="Llama-3.1-8B-Instruct", gpu="L4").model_dump(mode="json")
    ok = tool.invoke({"request": request, "deployment_id": "tool-bot"})
    assert "InferenceService/tool-bot" in ok["objects"]
    bad = tool.invoke({"request": request, "deployment_id": "Not_A_Valid_Name"})
    assert isinstance(bad, str) and "deployment_id" in bad
