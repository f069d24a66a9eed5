"""The local target: simulator processes on free ports, recorded, probed, logged, deleted without leftovers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kb.db import Database
from kb.errors import NotFoundError, ValidationFailedError
from kb.repositories import deployments as records
from tools.deploy import local
from tools.deploy.request import DeploymentRequest, make_deployment_id
from tools.deploy.service import DeploymentService
from tools.deploy.settings import DeploySettings


@pytest.fixture
def service(seeded_db: Database, tmp_path: Path) -> Iterator[DeploymentService]:
    svc = DeploymentService(seeded_db, DeploySettings(state_dir=tmp_path / "deployments", start_timeout_s=30))
    yield svc
    for record in svc.list_deployments():
        if record.target == "local":
            local.stop(record.pid)


def request(**values: object) -> DeploymentRequest:
    base: dict[str, object] = {"model": "Llama-3.1-8B-Instruct", "gpu": "h100", "use_case": "chatbot_conversational"}
    base.update(values)
    return DeploymentRequest.model_validate(base)


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_deploy_starts_a_simulator_that_answers(service: DeploymentService) -> None:
    record = service.deploy(request())
    assert record.status == "running" and record.endpoint
    models = httpx.get(f"{record.endpoint}/v1/models").json()
    assert models["data"][0]["id"] == "meta-llama/Llama-3.1-8B-Instruct"


def test_probe_reports_latency_and_keeps_the_outcome(service: DeploymentService) -> None:
    record = service.deploy(request(predicted_ttft_p95_ms=500, predicted_itl_p95_ms=50))
    result = service.probe(record.id, requests=4, concurrency=2)
    assert result.succeeded == 4 and result.errors == 0
    assert result.ttft_ms is not None and result.itl_ms is not None
    assert [c.metric for c in result.comparisons] == ["TTFT", "ITL"]
    assert len(service.outcomes(record.id)) == 1


@pytest.mark.parametrize("prompt_tokens", [512, 4096])
def test_probe_prompts_are_sized_like_the_traffic_the_prediction_is_for(
    service: DeploymentService, prompt_tokens: int
) -> None:
    record = service.deploy(request(prompt_tokens=prompt_tokens, output_tokens=128))
    service.probe(record.id, requests=3, concurrency=1)
    metrics = httpx.get(f"{record.endpoint}/metrics").text
    total = next(
        float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("vllm:prompt_tokens_total")
    )
    per_request = total / 4  # three measured requests and the warm-up
    assert 0.85 * prompt_tokens <= per_request <= 1.15 * prompt_tokens


def test_delete_stops_the_process_and_frees_the_port(service: DeploymentService) -> None:
    record = service.deploy(request())
    assert record.pid is not None and record.port is not None
    service.delete(record.id)
    assert not local.is_running(record.pid, record.id)
    assert _port_is_free(record.port)
    with pytest.raises(NotFoundError, match="no deployment"):
        service.status(record.id)


def test_a_killed_process_is_reported_failed(service: DeploymentService) -> None:
    record = service.deploy(request())
    local.stop(record.pid, grace_s=0)
    assert service.status(record.id).status == "failed"


def test_reconcile_marks_dead_processes_after_a_restart(service: DeploymentService, seeded_db: Database) -> None:
    record = service.deploy(request())
    local.stop(record.pid, grace_s=0)
    restarted = DeploymentService(seeded_db, service.settings)
    assert restarted.reconcile() == [record.id]


def test_logs_tail_the_simulator_output(service: DeploymentService) -> None:
    record = service.deploy(request())
    assert "Uvicorn running" in service.logs(record.id, lines=20) or "startup" in service.logs(record.id)


def test_every_apply_and_delete_is_audited_with_the_actor(service: DeploymentService, seeded_db: Database) -> None:
    record = service.deploy(request(owner="alice"))
    service.delete(record.id, actor="alice")
    with seeded_db.session() as s:
        entries = records.audit_log(s, deployment_id=record.id)
    assert [(e.action, e.outcome, e.actor) for e in entries] == [("delete", "ok", "alice"), ("apply", "ok", "alice")]


def test_a_duplicate_name_is_refused(service: DeploymentService) -> None:
    service.deploy(request(deployment_id="chat-one"))
    with pytest.raises(ValidationFailedError, match="a deployment named 'chat-one' already exists"):
        service.deploy(request(deployment_id="chat-one"))


def test_more_gpus_per_replica_than_a_node_has_is_refused(service: DeploymentService) -> None:
    with pytest.raises(ValidationFailedError, match="16 GPUs per replica exceeds a H100 node's 8"):
        service.deploy(request(tensor_parallel=16))


def test_manifests_target_writes_a_validated_bundle(service: DeploymentService, tmp_path: Path) -> None:
    record = service.deploy(request(target="manifests", output_dir=str(tmp_path / "out")))
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert record.status == "written" and "kustomization.yaml" in files
    assert any("inferenceservice" in f for f in files)


def test_deployment_ids_are_dns_names_within_48_characters() -> None:
    name = make_deployment_id("meta-llama/Llama-3.1-405B-Instruct-FP8-extra-long-name", "long_document_summarization")
    assert len(name) <= 48 and name[0].isalpha() and name == name.lower()


def test_secrets_never_reach_the_records(service: DeploymentService, seeded_db: Database) -> None:
    os.environ["HF_TOKEN"] = "hf_supersecretvalue"
    try:
        record = service.deploy(request(target="manifests"))
    finally:
        del os.environ["HF_TOKEN"]
    with seeded_db.session() as s:
        dump = records.get(s, record.id).model_dump_json() + str(records.audit_log(s))
    assert "hf_supersecret" not in dump
