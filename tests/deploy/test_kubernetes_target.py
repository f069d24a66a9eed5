"""The deployment service's `kubernetes` target: real client, stand-in API server, records and audit rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.db import Database
from kb.errors import CompassError
from kb.repositories import deployments as records
from tests.conftest import SHARED
from tests.k8s.conftest import NAMESPACES
from tools.deploy.request import DeploymentRequest
from tools.deploy.service import DeploymentService
from tools.deploy.settings import DeploySettings
from tools.deploy_errors import DeploymentError
from tools.k8s.client import KubeClient
from tools.k8s.settings import KubernetesSettings
from tools.k8s.standin import BUILTIN_RESOURCES, StandInApiServer, StandInCluster, load_crds
from tools.k8s_backend import kubernetes_backend_factory


@pytest.fixture
def cluster() -> StandInCluster:
    return StandInCluster(
        resources=[*BUILTIN_RESOURCES, *load_crds(SHARED / "schemas")], namespaces=NAMESPACES, ready_after_polls=1
    )


@pytest.fixture
def service(seeded_db: Database, cluster: StandInCluster, tmp_path: Path) -> Iterator[DeploymentService]:
    settings = KubernetesSettings(
        kubeconfig=None,
        allowed_namespaces=["compass"],
        readiness_timeout_s=2,
        poll_interval_s=0.01,
        request_timeout_s=5,
    )
    with StandInApiServer(cluster) as server, KubeClient.for_host(server.url, token=cluster.token) as client:
        yield DeploymentService(
            seeded_db,
            DeploySettings(state_dir=tmp_path, namespace="compass", target="kubernetes"),
            kubernetes=kubernetes_backend_factory(settings, client),
        )


def request(**values: object) -> DeploymentRequest:
    base: dict[str, object] = {
        "model": "Llama-3.1-8B-Instruct", "gpu": "L4", "use_case": "chatbot_conversational", "target": "kubernetes",
        "predicted_ttft_p95_ms": 90, "predicted_itl_p95_ms": 20, "predicted_e2e_p95_ms": 5000,
        "monthly_usd": 600, "hourly_usd": 0.82, "owner": "alice",
    }  # fmt: skip
    base.update(values)
    return DeploymentRequest.model_validate(base)


def test_apply_records_a_running_deployment_with_per_object_audit(
    service: DeploymentService, cluster: StandInCluster, seeded_db: Database
) -> None:
    record = service.deploy(request())
    assert record.status == "running" and record.namespace == "compass"
    kinds = {obj["kind"] for obj in cluster.objects("compass")}
    assert {"InferenceService", "HorizontalPodAutoscaler", "ServiceMonitor"} <= kinds
    with seeded_db.session() as s:
        actions = [e.action for e in records.audit_log(s, deployment_id=record.id)]
    assert "apply" in actions and any(a.startswith("apply:created") for a in actions)


def test_a_namespace_off_the_allow_list_is_refused_before_any_request(
    service: DeploymentService, cluster: StandInCluster
) -> None:
    with pytest.raises(DeploymentError, match="kube-system"):
        service.deploy(request(namespace="kube-system"))
    assert cluster.objects("kube-system") == []


def test_readiness_timeout_rolls_back_and_records_the_failure(
    service: DeploymentService, cluster: StandInCluster, seeded_db: Database
) -> None:
    cluster.set_readiness(None)
    with pytest.raises(CompassError, match="did not become Ready within 2s"):
        service.deploy(request(deployment_id="never-ready"))
    assert cluster.objects("compass") == []
    with seeded_db.session() as s:
        assert records.get(s, "never-ready").status == "failed"
        assert any(e.outcome == "failed" for e in records.audit_log(s, deployment_id="never-ready"))


def test_delete_removes_every_object_it_created(service: DeploymentService, cluster: StandInCluster) -> None:
    record = service.deploy(request())
    service.delete(record.id, actor="alice")
    assert cluster.objects("compass") == []
