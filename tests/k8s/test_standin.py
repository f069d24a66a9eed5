"""The stand-in API server keeps the API semantics the client depends on (checked with the real client and raw HTTP)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.k8s.conftest import NAMESPACE
from tools.deploy_errors import (
    ClusterRequestError,
    ClusterUnreachableError,
    FieldManagerConflictError,
    InvalidObjectError,
)
from tools.k8s.client import KubeClient, ResourceType
from tools.k8s.standin import StandInApiServer, StandInCluster, parse_label_selector

CONFIG_MAP = ResourceType(group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True)


def config_map(name: str = "settings", *, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def raw(server: StandInApiServer, cluster: StandInCluster) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {cluster.token}"})


# --- discovery ------------------------------------------------------------------------------------------------


def test_discovery_resolves_plurals_and_scope(client: KubeClient) -> None:
    assert client.resource_type("networking.k8s.io/v1", "NetworkPolicy").plural == "networkpolicies"
    assert client.resource_type("networking.k8s.io/v1", "Ingress").plural == "ingresses"
    isvc = client.resource_type("serving.kserve.io/v1beta1", "InferenceService")
    assert (isvc.plural, isvc.namespaced) == ("inferenceservices", True)


def test_an_uninstalled_crd_group_disappears_from_discovery(
    server: StandInApiServer, cluster: StandInCluster, client: KubeClient
) -> None:
    cluster.uninstall("keda.sh")

    with raw(server, cluster) as http:
        groups = [g["name"] for g in http.get("/apis").json()["groups"]]
        missing = http.get("/apis/keda.sh/v1alpha1")

    assert "keda.sh" not in groups and "serving.kserve.io" in groups
    assert (missing.status_code, missing.text) == (404, "404 page not found\n")
    assert client.find_resource_type("keda.sh/v1alpha1", "ScaledObject") is None


# --- server-side apply ----------------------------------------------------------------------------------------


def test_apply_creates_then_updates_with_increasing_resource_versions(client: KubeClient) -> None:
    created = client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(a="1"), field_manager="compass")
    updated = client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(a="2"), field_manager="compass")

    assert created.created and not updated.created
    assert int(updated.resource_version or 0) > int(created.resource_version or 0)
    assert updated.uid == created.uid
    assert updated.object["metadata"]["creationTimestamp"] == created.object["metadata"]["creationTimestamp"]


def test_an_identical_apply_keeps_the_resource_version(client: KubeClient) -> None:
    first = client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(a="1"), field_manager="compass")
    again = client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(a="1"), field_manager="compass")

    assert again.resource_version == first.resource_version


def test_generation_counts_spec_changes_not_metadata_changes(client: KubeClient) -> None:
    isvc = client.resource_type("serving.kserve.io/v1beta1", "InferenceService")
    manifest: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "m"},
        "spec": {"predictor": {"minReplicas": 1, "containers": [{"name": "kserve-container", "image": "x/y:1"}]}},
    }
    first = client.apply(isvc, NAMESPACE, "m", manifest, field_manager="compass")
    manifest["metadata"]["labels"] = {"team": "a"}
    relabelled = client.apply(isvc, NAMESPACE, "m", manifest, field_manager="compass")
    manifest["spec"]["predictor"]["minReplicas"] = 2
    rescaled = client.apply(isvc, NAMESPACE, "m", manifest, field_manager="compass")

    assert [r.object["metadata"]["generation"] for r in (first, relabelled, rescaled)] == [1, 1, 2]


def test_dry_run_answers_like_a_write_but_stores_nothing(client: KubeClient, cluster: StandInCluster) -> None:
    answer = client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(a="1"), field_manager="compass", dry_run=True)

    assert answer.created and answer.object["data"] == {"a": "1"}
    assert cluster.objects(NAMESPACE) == []


def test_a_field_the_manager_stops_applying_is_removed(client: KubeClient) -> None:
    client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(labels={"a": "1", "b": "2"}), field_manager="compass")

    applied = client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(labels={"a": "1"}), field_manager="compass")

    assert applied.object["metadata"]["labels"] == {"a": "1"}


def test_a_field_another_manager_also_sets_is_kept_when_one_stops_applying_it(client: KubeClient) -> None:
    client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(labels={"a": "1"}), field_manager="compass")
    client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(labels={"a": "1"}), field_manager="argocd")

    applied = client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(labels={}), field_manager="compass")

    assert applied.object["metadata"]["labels"] == {"a": "1"}
    assert [m["manager"] for m in applied.object["metadata"]["managedFields"]] == ["argocd", "compass"]


def test_a_conflict_is_a_409_status_with_field_manager_causes(
    server: StandInApiServer, cluster: StandInCluster
) -> None:
    cluster.seed({**config_map(a="1"), "metadata": {"name": "settings", "namespace": NAMESPACE}}, field_manager="helm")

    with raw(server, cluster) as http:
        answer = http.patch(
            f"/api/v1/namespaces/{NAMESPACE}/configmaps/settings",
            params={"fieldManager": "compass"},
            content="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '2'\n",
            headers={"Content-Type": "application/apply-patch+yaml"},
        )

    assert answer.status_code == 409
    assert answer.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "helm" using v1: .data.a',
        "reason": "Conflict",
        "code": 409,
        "details": {
            "name": "settings",
            "group": "",
            "kind": "configmaps",
            "causes": [
                {"type": "FieldManagerConflict", "message": 'conflict with "helm" using v1', "field": ".data.a"}
            ],
        },
    }


def test_a_merge_patch_makes_its_manager_own_the_changed_fields(
    server: StandInApiServer, cluster: StandInCluster, client: KubeClient
) -> None:
    client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(a="1", b="1"), field_manager="compass")
    with raw(server, cluster) as http:
        http.patch(
            f"/api/v1/namespaces/{NAMESPACE}/configmaps/settings",
            params={"fieldManager": "kubectl-edit"},
            json={"data": {"a": "9"}},
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()

    with pytest.raises(FieldManagerConflictError) as caught:
        client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(a="1", b="1"), field_manager="compass")

    assert [(c.manager, c.field) for c in caught.value.conflicts] == [("kubectl-edit", ".data.a")]


def test_apply_without_a_field_manager_is_invalid(server: StandInApiServer, cluster: StandInCluster) -> None:
    with raw(server, cluster) as http:
        answer = http.patch(
            f"/api/v1/namespaces/{NAMESPACE}/configmaps/settings",
            content="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
            headers={"Content-Type": "application/apply-patch+yaml"},
        )

    assert answer.status_code == 422
    assert answer.json()["message"].endswith("fieldManager: Required value: is required for apply patch")


def test_a_name_that_differs_from_the_url_is_a_bad_request(client: KubeClient) -> None:
    with pytest.raises(
        InvalidObjectError, match=r"the name of the object \(other\) does not match the name on the URL"
    ):
        client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map("other"), field_manager="compass")


# --- reads and deletes ----------------------------------------------------------------------------------------


def test_list_filters_by_label_selector(client: KubeClient) -> None:
    for name, labels in (("a", {"app": "x", "tier": "web"}), ("b", {"app": "x"}), ("c", {"app": "y"})):
        client.apply(CONFIG_MAP, NAMESPACE, name, config_map(name, labels=labels), field_manager="compass")

    def names(selector: str) -> list[str]:
        return [o["metadata"]["name"] for o in client.list_objects(CONFIG_MAP, NAMESPACE, label_selector=selector)]

    assert names("app=x") == ["a", "b"]
    assert names("app in (x,y),!tier") == ["b", "c"]
    assert names("app!=x") == ["c"]
    assert names("tier") == ["a"]


def test_label_selectors_parse_every_operator() -> None:
    requirements = parse_label_selector("a=1,b==2,c!=3,d in (4, 5),e notin (6),f,!g")

    assert [(r.key, r.operator, r.values) for r in requirements] == [
        ("a", "=", ("1",)),
        ("b", "=", ("2",)),
        ("c", "!=", ("3",)),
        ("d", "in", ("4", "5")),
        ("e", "notin", ("6",)),
        ("f", "exists", ()),
        ("g", "!", ()),
    ]


def test_get_of_a_missing_object_is_a_not_found_status(server: StandInApiServer, cluster: StandInCluster) -> None:
    with raw(server, cluster) as http:
        answer = http.get(f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/nope")

    assert answer.status_code == 404
    assert answer.json()["reason"] == "NotFound"
    assert answer.json()["message"] == 'inferenceservices.serving.kserve.io "nope" not found'


def test_delete_honours_the_uid_precondition(client: KubeClient, cluster: StandInCluster) -> None:
    client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(), field_manager="compass")

    with pytest.raises(ClusterRequestError, match="Precondition failed: UID in precondition: not-the-uid"):
        client.delete(CONFIG_MAP, NAMESPACE, "settings", uid="not-the-uid")

    assert len(cluster.objects(NAMESPACE)) == 1
    assert client.delete(CONFIG_MAP, NAMESPACE, "settings") is True
    assert client.delete(CONFIG_MAP, NAMESPACE, "settings") is False


# --- readiness and faults -------------------------------------------------------------------------------------


def test_an_inference_service_becomes_ready_on_the_configured_poll(client: KubeClient, cluster: StandInCluster) -> None:
    cluster.set_readiness(after_polls=3)
    isvc = client.resource_type("serving.kserve.io/v1beta1", "InferenceService")
    manifest = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "m"},
        "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "x/y:1"}]}},
    }
    client.apply(isvc, NAMESPACE, "m", manifest, field_manager="compass")

    ready = []
    for _ in range(3):
        obj = client.get(isvc, NAMESPACE, "m") or {}
        ready.append({c["type"]: c["status"] for c in obj["status"]["conditions"]}["Ready"])

    assert ready == ["False", "False", "True"]


def test_a_dropped_write_gets_no_answer(client: KubeClient, cluster: StandInCluster) -> None:
    cluster.fail_writes(at=1, mode="drop")

    with pytest.raises(ClusterUnreachableError, match="the connection was closed before a response arrived"):
        client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(), field_manager="compass")

    assert cluster.objects(NAMESPACE) == []
    assert cluster.requests[-1].status is None


def test_a_stopped_server_refuses_even_pooled_connections(server: StandInApiServer, client: KubeClient) -> None:
    client.apply(CONFIG_MAP, NAMESPACE, "settings", config_map(), field_manager="compass")  # opens a pooled connection

    server.stop()

    with pytest.raises(ClusterUnreachableError):
        client.get(CONFIG_MAP, NAMESPACE, "settings")
