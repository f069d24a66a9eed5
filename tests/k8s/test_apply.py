"""apply_bundle against the stand-in through the real client: dry run, apply, idempotence, conflicts, readiness."""

from __future__ import annotations

import pytest

from tests.k8s.conftest import NAMESPACE, bundle, stored, writes
from tests.manifests.contexts import SCENARIOS
from tools.deploy_errors import DryRunRejectedError, FieldConflict, FieldManagerConflictError, WorkloadFailedError
from tools.k8s.apply import OperationFailedError, apply_bundle
from tools.k8s.client import KubeClient
from tools.k8s.settings import KubernetesSettings
from tools.k8s.standin import StandInCluster

ALL_OBJECTS = [
    "ConfigMap/llama-chat-dashboard",
    "HorizontalPodAutoscaler/llama-chat",
    "InferenceService/llama-chat",
    "ServiceMonitor/llama-chat",
]


def test_dry_run_of_every_object_precedes_the_first_write(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    apply_bundle(client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice")

    patches = [r for r in cluster.requests if r.method == "PATCH"]
    assert [r.dry_run for r in patches] == [True] * 4 + [False] * 4
    assert all(r.query["fieldManager"] == "compass" and "force" not in r.query for r in patches)


def test_apply_creates_every_object_owned_by_the_compass_field_manager(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    result = apply_bundle(
        client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
    )

    assert result.succeeded and result.ready
    assert [o.action for o in result.outcomes] == ["created"] * 4
    assert stored(cluster) == ALL_OBJECTS
    for obj in cluster.objects(NAMESPACE):
        assert [(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]] == [("compass", "Apply")]
    assert result.url == "http://llama-chat.compass.svc.cluster.local"


def test_apply_sends_the_rendered_yaml_unchanged(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    source = bundle()
    apply_bundle(client, source, namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice")

    stored_isvc = cluster.get_object("serving.kserve.io/v1beta1", "InferenceService", NAMESPACE, "llama-chat")
    assert stored_isvc is not None
    assert stored_isvc["spec"] == source.get("InferenceService").document["spec"]


def test_reapplying_the_same_bundle_changes_nothing(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    first = apply_bundle(
        client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
    )
    versions = {o["metadata"]["name"] + o["kind"]: o["metadata"]["resourceVersion"] for o in cluster.objects()}

    second = apply_bundle(
        client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
    )

    assert first.succeeded and second.succeeded
    assert [o.action for o in second.outcomes] == ["unchanged"] * 4
    assert {o["metadata"]["name"] + o["kind"]: o["metadata"]["resourceVersion"] for o in cluster.objects()} == versions


def test_reapplying_a_changed_bundle_updates_only_the_changed_objects(
    client: KubeClient, settings: KubernetesSettings
) -> None:
    apply_bundle(client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice")

    result = apply_bundle(
        client,
        bundle(max_replicas=6),
        namespace=NAMESPACE,
        settings=settings,
        deployment_id="llama-chat",
        actor="alice",
    )

    actions = {o.ref: o.action for o in result.outcomes}
    assert actions == {
        "InferenceService/llama-chat": "updated",
        "HorizontalPodAutoscaler/llama-chat": "updated",
        "ServiceMonitor/llama-chat": "unchanged",
        "ConfigMap/llama-chat-dashboard": "unchanged",
    }


def test_progress_reports_each_step_until_ready(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    cluster.set_readiness(after_polls=3)
    messages: list[str] = []

    result = apply_bundle(
        client,
        bundle(),
        namespace=NAMESPACE,
        settings=settings,
        deployment_id="llama-chat",
        actor="alice",
        progress=messages.append,
    )

    assert result.ready
    assert messages[0].startswith("dry run: 4 objects against http://127.0.0.1:")
    assert "created InferenceService/llama-chat" in messages
    waiting = [m for m in messages if m.startswith("waiting for InferenceService/llama-chat to become Ready")]
    assert len(waiting) == 2
    assert "MinimumReplicasUnavailable" in waiting[0]
    assert messages[-1] == "InferenceService/llama-chat is Ready at http://llama-chat.compass.svc.cluster.local"


def test_a_field_another_manager_changed_is_a_conflict_naming_the_manager_and_field(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    apply_bundle(client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice")
    isvc = client.resource_type("serving.kserve.io/v1beta1", "InferenceService")
    scale_by_hand = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llama-chat"},
        "spec": {"predictor": {"minReplicas": 3}},
    }
    client.apply(isvc, NAMESPACE, "llama-chat", scale_by_hand, field_manager="kubectl-edit", force=True)
    cluster.clear_requests()

    with pytest.raises(DryRunRejectedError) as caught:
        apply_bundle(
            client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
        )

    [failure] = caught.value.failures
    assert failure.ref == "InferenceService/llama-chat"
    assert isinstance(failure.error, FieldManagerConflictError)
    assert failure.error.conflicts == [FieldConflict(manager="kubectl-edit", field=".spec.predictor.minReplicas")]
    assert 'field manager "kubectl-edit" owns .spec.predictor.minReplicas' in str(caught.value)
    assert "nothing was applied" in str(caught.value)
    assert writes(cluster) == []


def test_force_takes_conflicting_fields_back_from_the_other_manager(
    client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    apply_bundle(client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice")
    isvc = client.resource_type("serving.kserve.io/v1beta1", "InferenceService")
    manifest = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llama-chat"},
        "spec": {"predictor": {"minReplicas": 3}},
    }
    client.apply(isvc, NAMESPACE, "llama-chat", manifest, field_manager="kubectl-edit", force=True)

    result = apply_bundle(
        client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice", force=True
    )

    assert result.outcome("InferenceService", "llama-chat").action == "updated"
    live = cluster.get_object("serving.kserve.io/v1beta1", "InferenceService", NAMESPACE, "llama-chat")
    assert live is not None
    assert live["spec"]["predictor"]["minReplicas"] == 1
    assert [m["manager"] for m in live["metadata"]["managedFields"]] == ["compass"]


def test_a_model_that_fails_to_load_fails_without_waiting_for_the_timeout(
    client: KubeClient, cluster: StandInCluster
) -> None:
    cluster.set_readiness(after_polls=None, load_failure="CUDA out of memory")
    patient = KubernetesSettings(
        kubeconfig=None, allowed_namespaces=[NAMESPACE], readiness_timeout_s=60, poll_interval_s=0.01
    )

    with pytest.raises(OperationFailedError) as caught:
        apply_bundle(client, bundle(), namespace=NAMESPACE, settings=patient, deployment_id="llama-chat", actor="bob")

    assert isinstance(caught.value.cause, WorkloadFailedError)
    assert "BlockedByFailedLoad (ModelLoadFailed: CUDA out of memory)" in str(caught.value)
    assert stored(cluster) == []


def test_audit_entries_record_the_actor_and_every_object(client: KubeClient, settings: KubernetesSettings) -> None:
    result = apply_bundle(
        client, bundle(), namespace=NAMESPACE, settings=settings, deployment_id="llama-chat", actor="alice"
    )

    entries = result.audit_entries()

    assert [(e.kind, e.action) for e in entries] == [
        (None, "succeeded"),
        ("InferenceService", "created"),
        ("HorizontalPodAutoscaler", "created"),
        ("ServiceMonitor", "created"),
        ("ConfigMap", "created"),
    ]
    assert {(e.actor, e.deployment_id, e.namespace, e.operation, e.field_manager) for e in entries} == {
        ("alice", "llama-chat", NAMESPACE, "apply", "compass")
    }
    assert entries[0].server == client.server


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_golden_scenario_deploys_against_the_real_crd_schemas(
    scenario: str, client: KubeClient, cluster: StandInCluster, settings: KubernetesSettings
) -> None:
    source = bundle(scenario)

    result = apply_bundle(
        client, source, namespace=NAMESPACE, settings=settings, deployment_id=source.deployment_id, actor="ci"
    )

    assert result.succeeded and result.ready
    assert stored(cluster) == sorted(obj.ref for obj in source)
