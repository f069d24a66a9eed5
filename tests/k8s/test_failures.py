"""What goes wrong, and what the user reads: refusals before any request, API errors, rollback of partial applies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s.conftest import NAMESPACE, bundle, edited, stored, writes
from tools.deploy_errors import (
    BundleMismatchError,
    ClusterAuthenticationError,
    ClusterForbiddenError,
    ClusterRequestError,
    ClusterUnreachableError,
    DryRunRejectedError,
    InvalidObjectError,
    NamespaceNotAllowedError,
    NamespaceNotFoundError,
    ReadinessTimeoutError,
    ResourceTypeNotInstalledError,
)
from tools.k8s.apply import OperationFailedError, apply_bundle
from tools.k8s.client import KubeClient
from tools.k8s.settings import KubernetesSettings
from tools.k8s.standin import BUILTIN_RESOURCES, ServedResource, StandInApiServer, StandInCluster

# --- refused before anything is written -----------------------------------------------------------------------


def test_a_namespace_off_the_allow_list_is_refused_before_any_request(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    with pytest.raises(NamespaceNotAllowedError) as caught:
        apply_bundle(
            client,
            bundle(namespace="team-a"),
            namespace="team-a",
            settings=settings,
            deployment_id="llama-chat",
            actor="alice",
        )

    assert str(caught.value) == (
        "namespace 'team-a' is not on Compass's allow-list ('compass', 'kube-system', 'missing'); deploy to an "
        "allowed namespace, or add it to COMPASS_K8S_ALLOWED_NAMESPACES if Compass may write there"
    )
    assert cluster.requests == []


def test_a_bundle_rendered_for_another_namespace_is_refused_before_any_request(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    with pytest.raises(BundleMismatchError, match="rendered for namespace 'kube-system' but the deployment targets"):
        apply_bundle(
            client,
            bundle(namespace="kube-system"),
            namespace=NAMESPACE,
            settings=settings,
            deployment_id="llama-chat",
            actor="alice",
        )

    assert cluster.requests == []


def test_a_bundle_of_another_deployment_is_refused(client: KubeClient, settings: KubernetesSettings) -> None:
    with pytest.raises(BundleMismatchError, match="rendered for deployment 'llama-chat', not 'other'"):
        apply_bundle(client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="other", actor="alice")


def test_missing_kserve_is_reported_before_anything_is_written(
    crds: list[ServedResource], settings: KubernetesSettings
) -> None:
    without_kserve = [crd for crd in crds if crd.group != "serving.kserve.io"]
    cluster = StandInCluster(resources=[*BUILTIN_RESOURCES, *without_kserve], namespaces=[NAMESPACE])
    with (
        StandInApiServer(cluster) as server,
        KubeClient.for_host(server.url, token=cluster.token) as client,
        pytest.raises(ResourceTypeNotInstalledError) as caught,
    ):
        apply_bundle(
            client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
        )

    assert str(caught.value).startswith(
        "KServe is not installed: the API server has no serving.kserve.io/v1beta1 InferenceService; "
    )
    assert writes(cluster) == []


def test_missing_keda_names_keda_and_the_alternative(crds: list[ServedResource], settings: KubernetesSettings) -> None:
    cluster = StandInCluster(resources=[*BUILTIN_RESOURCES, *(c for c in crds if c.group != "keda.sh")])
    with (
        StandInApiServer(cluster) as server,
        KubeClient.for_host(server.url, token=cluster.token) as client,
        pytest.raises(ResourceTypeNotInstalledError) as caught,
    ):
        apply_bundle(
            client,
            bundle(autoscaler="keda"),
            namespace=NAMESPACE,
            settings=settings,
            deployment_id="llama-chat",
            actor="alice",
        )

    assert str(caught.value) == (
        "KEDA is not installed: the API server has no keda.sh/v1alpha1 ScaledObject; install KEDA, or deploy with "
        "autoscaler 'hpa' or 'none'"
    )


def test_rbac_denial_names_user_verb_resource_and_namespace(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    cluster.forbid("kube-system")

    with pytest.raises(DryRunRejectedError) as caught:
        apply_bundle(
            client,
            bundle(namespace="kube-system"),
            namespace="kube-system",
            settings=settings,
            deployment_id="llama-chat",
            actor="alice",
        )

    assert len(caught.value.failures) == 4
    first = caught.value.failures[0]
    assert first.ref == "InferenceService/llama-chat"
    assert isinstance(first.error, ClusterForbiddenError)
    assert first.error.status_code == 403
    assert str(first.error).startswith(
        'Kubernetes RBAC forbids user "system:serviceaccount:compass:compass-deployer" to patch '
        'inferenceservices.serving.kserve.io in namespace "kube-system"; '
    )
    assert "kubectl auth can-i patch inferenceservices.serving.kserve.io -n kube-system" in str(first.error)
    assert 'cannot patch resource "inferenceservices" in API group "serving.kserve.io"' in first.error.api_message
    assert writes(cluster) == []


def test_rbac_denial_of_one_kind_rejects_the_whole_bundle(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    cluster.forbid(NAMESPACE, verbs=["patch"], resources=["servicemonitors.monitoring.coreos.com"])

    with pytest.raises(DryRunRejectedError) as caught:
        apply_bundle(
            client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
        )

    assert [f.ref for f in caught.value.failures] == ["ServiceMonitor/llama-chat"]
    assert str(caught.value).startswith(
        "the server-side dry run rejected 1 of 4 objects in namespace 'compass'; nothing was applied:\n"
        '  ServiceMonitor/llama-chat: Kubernetes RBAC forbids user "system:serviceaccount:compass:compass-deployer" '
        'to patch servicemonitors.monitoring.coreos.com in namespace "compass"'
    )
    assert stored(cluster) == []


def test_invalid_object_lists_every_cause_from_the_crd_schema(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    def break_predictor(document: dict[str, Any]) -> None:
        predictor = document["spec"]["predictor"]
        predictor["minReplicas"] = "two"
        del predictor["containers"][0]["name"]

    broken = edited(bundle(), "InferenceService", break_predictor)

    with pytest.raises(DryRunRejectedError) as caught:
        apply_bundle(client, broken, namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice")

    [failure] = caught.value.failures
    assert isinstance(failure.error, InvalidObjectError)
    assert failure.error.status_code == 422
    assert failure.error.causes == [
        "spec.predictor.containers[0].name: Required value",
        'spec.predictor.minReplicas: Invalid value: "string": spec.predictor.minReplicas in body must be of type '
        'integer: "string"',
    ]
    assert "the API server rejected InferenceService/llama-chat as invalid (422 Invalid):" in str(caught.value)
    assert writes(cluster) == []


def test_a_field_the_crd_does_not_declare_is_rejected(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    def add_typo(document: dict[str, Any]) -> None:
        document["spec"]["predictor"]["minReplica"] = 2

    broken = edited(bundle(), "InferenceService", add_typo)

    with pytest.raises(DryRunRejectedError) as caught:
        apply_bundle(client, broken, namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice")

    error = caught.value.failures[0].error
    assert isinstance(error, InvalidObjectError)
    assert error.status_code == 400
    assert error.causes == [
        "failed to create typed patch object (serving.kserve.io/v1beta1, Kind=InferenceService): "
        ".spec.predictor.minReplica: field not declared in schema"
    ]


def test_a_namespace_that_does_not_exist_is_named_with_the_command_that_creates_it(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    with pytest.raises(DryRunRejectedError) as caught:
        apply_bundle(
            client,
            bundle(namespace="missing"),
            namespace="missing",
            settings=settings,
            deployment_id="llama-chat",
            actor="alice",
        )

    error = caught.value.failures[0].error
    assert isinstance(error, NamespaceNotFoundError)
    assert str(error) == (
        f"namespace 'missing' does not exist on the cluster at {client.server}; create it (kubectl create namespace "
        "missing) or deploy to another allowed namespace"
    )


def test_a_wrong_token_is_reported_as_rejected_credentials(
    server: StandInApiServer, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    with (
        KubeClient.for_host(server.url, token="expired") as client,
        pytest.raises(ClusterAuthenticationError) as caught,
    ):
        apply_bundle(
            client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
        )

    assert str(caught.value).startswith(
        f"the Kubernetes API server at {server.url} rejected the credentials (401 Unauthorized): "
    )
    assert writes(cluster) == []


def test_an_unreachable_server_is_named_by_its_url(cluster: StandInCluster, settings: KubernetesSettings) -> None:
    server = StandInApiServer(cluster).start()
    url = server.url
    server.stop()

    with KubeClient.for_host(url, token=cluster.token) as client, pytest.raises(ClusterUnreachableError) as caught:
        apply_bundle(
            client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
        )

    assert str(caught.value).startswith(f"the Kubernetes API server at {url} is unreachable: connection refused; ")


# --- failures after writing began: rollback ---------------------------------------------------------------------


def test_a_dropped_connection_mid_apply_rolls_back_only_what_this_apply_created(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    source = bundle()
    cluster.seed(source.get("HorizontalPodAutoscaler").document, field_manager="compass")  # deployed earlier
    cluster.fail_writes(at=3, mode="drop")  # writes: InferenceService, HorizontalPodAutoscaler, ServiceMonitor

    with pytest.raises(OperationFailedError) as caught:
        apply_bundle(client, source, namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice")

    assert stored(cluster) == ["HorizontalPodAutoscaler/llama-chat"]
    result = caught.value.result
    assert {o.ref: o.action for o in result.outcomes} == {
        "InferenceService/llama-chat": "rolled_back",
        "HorizontalPodAutoscaler/llama-chat": "unchanged",
        "ServiceMonitor/llama-chat": "failed",
        "ConfigMap/llama-chat-dashboard": "skipped",
    }
    assert isinstance(caught.value.cause, ClusterUnreachableError)
    message = str(caught.value)
    assert "failed while applying ServiceMonitor/llama-chat: the Kubernetes API server at" in message
    assert "is unreachable: the connection was closed before a response arrived" in message
    assert "rolled back (deleted, created by this apply): InferenceService/llama-chat" in message
    assert "left in place (they existed before this apply): HorizontalPodAutoscaler/llama-chat" in message
    assert not result.succeeded and result.error == message


def test_an_object_written_before_the_connection_dropped_is_rolled_back_too(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    cluster.fail_writes(at=2, mode="drop_after_commit")  # the HorizontalPodAutoscaler is stored, the answer lost

    with pytest.raises(OperationFailedError) as caught:
        apply_bundle(
            client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
        )

    assert stored(cluster) == []
    assert caught.value.result.refs("rolled_back") == [
        "InferenceService/llama-chat",
        "HorizontalPodAutoscaler/llama-chat",
    ]
    deletes = [w for w in writes(cluster) if w.startswith("DELETE")]
    assert deletes == [
        "DELETE /apis/autoscaling/v2/namespaces/compass/horizontalpodautoscalers/llama-chat",
        "DELETE /apis/serving.kserve.io/v1beta1/namespaces/compass/inferenceservices/llama-chat",
    ]


def test_a_server_error_mid_apply_rolls_back_and_reports_the_error(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    cluster.fail_writes(at=2, mode="error")

    with pytest.raises(OperationFailedError) as caught:
        apply_bundle(
            client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
        )

    assert isinstance(caught.value.cause, ClusterRequestError)
    assert "500 InternalError: Internal error occurred: injected failure" in str(caught.value)
    assert stored(cluster) == []


def test_objects_the_rollback_cannot_delete_are_reported_with_the_command_to_delete_them(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    cluster.fail_writes(at=2, mode="error", times=None)  # the server stops accepting writes for good

    with pytest.raises(OperationFailedError) as caught:
        apply_bundle(
            client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
        )

    assert stored(cluster) == ["InferenceService/llama-chat"]
    assert caught.value.result.outcome("InferenceService", "llama-chat").action == "created"
    assert "could not roll back InferenceService/llama-chat" in str(caught.value)
    assert "kubectl delete inferenceservices.serving.kserve.io llama-chat -n compass" in str(caught.value)


def test_a_readiness_timeout_rolls_back_created_objects_and_keeps_updated_ones(
    client: KubeClient, cluster: StandInCluster
) -> None:
    source = bundle()
    older_dashboard = dict(source.get("ConfigMap").document, data={"old.json": "{}"})
    cluster.seed(older_dashboard, field_manager="compass")
    cluster.set_readiness(after_polls=None)
    impatient = KubernetesSettings(
        kubeconfig=None, allowed_namespaces=[NAMESPACE], readiness_timeout_s=0.2, poll_interval_s=0.02
    )
    messages: list[str] = []

    with pytest.raises(OperationFailedError) as caught:
        apply_bundle(
            client,
            source,
            namespace=NAMESPACE,
            settings=impatient,
            deployment_id="llama-chat",
            actor="alice",
            progress=messages.append,
        )

    assert isinstance(caught.value.cause, ReadinessTimeoutError)
    assert "InferenceService/llama-chat did not become Ready within 0.2s (PredictorReady=False" in str(caught.value)
    assert stored(cluster) == ["ConfigMap/llama-chat-dashboard"]
    assert caught.value.result.outcome("ConfigMap", "llama-chat-dashboard").action == "updated"
    assert caught.value.result.ready is False
    assert any(m.startswith("waiting for InferenceService/llama-chat") for m in messages)
    assert messages[-1] == "rolled back InferenceService/llama-chat"


def test_a_failed_apply_is_audited_with_its_rollback(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    cluster.fail_writes(at=2, mode="error")

    with pytest.raises(OperationFailedError) as caught:
        apply_bundle(
            client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
        )

    entries = caught.value.result.audit_entries()
    assert entries[0].action == "failed" and not entries[0].succeeded
    assert entries[0].message == str(caught.value)
    assert [(e.kind, e.action) for e in entries[1:]] == [
        ("InferenceService", "rolled_back"),
        ("HorizontalPodAutoscaler", "failed"),
        ("ServiceMonitor", "skipped"),
        ("ConfigMap", "skipped"),
    ]


def test_a_crd_removed_after_discovery_is_still_reported_as_not_installed(
    client: KubeClient, cluster: StandInCluster
) -> None:
    isvc = client.resource_type("serving.kserve.io/v1beta1", "InferenceService")
    cluster.uninstall("serving.kserve.io")
    manifest = bundle().get("InferenceService").yaml_text

    with pytest.raises(ResourceTypeNotInstalledError, match=r"^KServe is not installed: the API server has no"):
        client.apply(isvc, NAMESPACE, "llama-chat", manifest, field_manager="compass")
