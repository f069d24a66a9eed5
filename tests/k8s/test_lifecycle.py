"""status, list_deployments and delete find a deployment's objects by its compass.io/deployment-id label."""

from __future__ import annotations

import pytest

from kb.errors import NotFoundError
from tests.k8s.conftest import NAMESPACE, bundle, stored, writes
from tools.deploy_errors import DeploymentNotFoundError, NamespaceNotAllowedError
from tools.k8s.apply import OperationFailedError, apply_bundle, delete, list_deployments, status
from tools.k8s.client import KubeClient
from tools.k8s.settings import KubernetesSettings
from tools.k8s.standin import StandInCluster


@pytest.fixture
def two_deployments(client: KubeClient, settings: KubernetesSettings) -> None:
    for scenario, deployment_id in (("gpu-hpa", "llama-chat"), ("gpu-fixed-bf16", "small-llm")):
        apply_bundle(
            client,
            bundle(scenario),
            namespace=NAMESPACE,
            settings=settings,
            deployment_id=deployment_id,
            actor="alice",
        )


@pytest.mark.usefixtures("two_deployments")
def test_status_reports_objects_readiness_url_and_model(client: KubeClient) -> None:
    report = status(client, NAMESPACE, "llama-chat")

    assert [(o.kind, o.name) for o in report.objects] == [
        ("ConfigMap", "llama-chat-dashboard"),
        ("InferenceService", "llama-chat"),
        ("HorizontalPodAutoscaler", "llama-chat"),
        ("ServiceMonitor", "llama-chat"),
    ]
    assert all(o.managers == ["compass"] for o in report.objects)
    assert report.ready is True
    assert report.url == "http://llama-chat.compass.svc.cluster.local"
    assert report.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert {c.type: c.status for c in report.conditions} == {
        "IngressReady": "True",
        "PredictorReady": "True",
        "Ready": "True",
    }


def test_status_of_a_deployment_that_is_not_ready_says_why(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    cluster.set_readiness(after_polls=1)
    apply_bundle(client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice")
    cluster.set_readiness(after_polls=None, load_failure="weights not found")
    client.get(client.resource_type("serving.kserve.io/v1beta1", "InferenceService"), NAMESPACE, "llama-chat")

    report = status(client, NAMESPACE, "llama-chat")

    assert report.ready is False
    assert "Ready=False (ModelLoadFailed: weights not found)" in report.summary


def test_status_of_an_unknown_deployment_is_not_found(client: KubeClient) -> None:
    with pytest.raises(DeploymentNotFoundError) as caught:
        status(client, NAMESPACE, "nope")

    assert isinstance(caught.value, NotFoundError)
    assert "no object carries the label compass.io/deployment-id=nope" in str(caught.value)


@pytest.mark.usefixtures("two_deployments")
def test_list_groups_objects_by_deployment_id(client: KubeClient, cluster: StandInCluster) -> None:
    cluster.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated", "namespace": NAMESPACE}})

    deployments = list_deployments(client, NAMESPACE)

    assert [(d.deployment_id, d.object_count, d.ready) for d in deployments] == [
        ("llama-chat", 4, True),
        ("small-llm", 1, True),
    ]
    assert deployments[1].kinds == ["InferenceService"]
    assert deployments[1].model == "meta-llama/Llama-3.2-1B-Instruct"


def test_list_of_an_empty_namespace_is_empty(client: KubeClient) -> None:
    assert list_deployments(client, NAMESPACE) == []


@pytest.mark.usefixtures("two_deployments")
def test_delete_removes_every_labelled_object_in_reverse_apply_order(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    cluster.clear_requests()

    result = delete(client, NAMESPACE, "llama-chat", settings=settings, actor="bob")

    assert writes(cluster) == [
        "DELETE /apis/monitoring.coreos.com/v1/namespaces/compass/servicemonitors/llama-chat",
        "DELETE /apis/autoscaling/v2/namespaces/compass/horizontalpodautoscalers/llama-chat",
        "DELETE /apis/serving.kserve.io/v1beta1/namespaces/compass/inferenceservices/llama-chat",
        "DELETE /api/v1/namespaces/compass/configmaps/llama-chat-dashboard",
    ]
    assert stored(cluster) == ["InferenceService/small-llm"]
    assert result.succeeded and {o.action for o in result.outcomes} == {"deleted"}
    assert [e.actor for e in result.audit_entries()] == ["bob"] * 5


def test_delete_refuses_a_namespace_off_the_allow_list_before_any_request(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    with pytest.raises(NamespaceNotAllowedError):
        delete(client, "team-a", "llama-chat", settings=settings)

    assert cluster.requests == []


def test_delete_of_an_unknown_deployment_is_not_found(client: KubeClient, settings: KubernetesSettings) -> None:
    with pytest.raises(DeploymentNotFoundError, match="nothing to delete"):
        delete(client, NAMESPACE, "nope", settings=settings)


@pytest.mark.usefixtures("two_deployments")
def test_delete_reports_objects_it_could_not_delete_and_deletes_the_rest(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    cluster.fail_writes(at=1, mode="error")

    with pytest.raises(OperationFailedError) as caught:
        delete(client, NAMESPACE, "llama-chat", settings=settings)

    assert caught.value.result.refs("failed") == ["ServiceMonitor/llama-chat"]
    assert str(caught.value).startswith("deleting 'llama-chat' left 1 object(s) behind: ServiceMonitor/llama-chat: ")
    assert stored(cluster) == ["InferenceService/small-llm", "ServiceMonitor/llama-chat"]
