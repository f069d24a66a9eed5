"""Validation of rendered objects: each problem names the object, the JSON path and what is wrong."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from kb.errors import CompassError
from manifests import (
    DEFAULT_KUBERNETES_VERSION,
    ManifestProblem,
    ManifestValidationError,
    document_problems,
    render_bundle,
    validate_documents,
)
from manifests.render import render_objects
from manifests.validate import find_problems, kubernetes_problems, strict_schema
from tests.manifests.contexts import HF_TOKEN_LOOKALIKE, context, scenario


def documents(name: str = "gpu-keda-ingress-tls") -> dict[str, dict[str, Any]]:
    return {obj.kind: copy.deepcopy(obj.document) for obj in render_bundle(scenario(name))}


def problems_of(document: dict[str, Any]) -> list[ManifestProblem]:
    return document_problems(document)


def only(problems: list[ManifestProblem]) -> ManifestProblem:
    assert len(problems) == 1, problems
    return problems[0]


def test_every_scenario_validates_cleanly() -> None:
    for name in ("gpu-hpa", "gpu-keda-ingress-tls", "gpu-fixed-bf16", "simulator-keda-benchmarks"):
        assert find_problems(render_objects(scenario(name))) == []


def test_invalid_memory_quantity_in_a_rendered_object_is_reported_with_its_path() -> None:
    bad = context().model_copy(update={"shm_size": "16GB"})  # model_copy skips the context's own validation
    with pytest.raises(ManifestValidationError) as caught:
        render_bundle(bad)
    error = caught.value
    assert isinstance(error, CompassError)
    problem = only(list(error.problems))
    assert (problem.kind, problem.name) == ("InferenceService", "llama-chat")
    assert problem.path == "spec.predictor.volumes[0].emptyDir.sizeLimit"
    assert "'16GB' is not a Kubernetes quantity" in problem.message
    assert str(error) == (
        "rendered manifests failed validation (1 problem):\n"
        "  InferenceService/llama-chat at spec.predictor.volumes[0].emptyDir.sizeLimit: "
        "emptyDir sizeLimit '16GB' is not a Kubernetes quantity (Kubernetes has no 'B' suffix; "
        "did you mean '16Gi'?); write it like '16Gi'"
    )


def test_invalid_container_memory_is_reported_once_per_place() -> None:
    docs = documents()
    docs["InferenceService"]["spec"]["predictor"]["containers"][0]["resources"]["limits"]["memory"] = "12 GB"
    problem = only(problems_of(docs["InferenceService"]))
    assert problem.path == "spec.predictor.containers[0].resources.limits.memory"
    assert "limits memory '12 GB' is not a Kubernetes quantity" in problem.message


def test_bad_names_are_reported_for_every_object() -> None:
    bad = context().model_copy(update={"deployment_id": "Bad_Name"})
    with pytest.raises(ManifestValidationError) as caught:
        render_bundle(bad)
    kinds = {p.kind for p in caught.value.problems if p.path == "metadata.name"}
    assert kinds == {"InferenceService", "HorizontalPodAutoscaler", "ServiceMonitor", "ConfigMap"}
    isvc = next(p for p in caught.value.problems if p.kind == "InferenceService" and p.path == "metadata.name")
    assert "not a valid DNS-1123 label" in isvc.message


def test_label_value_too_long() -> None:
    docs = documents()
    docs["Ingress"]["metadata"]["labels"]["team"] = "x" * 70
    problem = only(problems_of(docs["Ingress"]))
    assert problem.path == "metadata.labels['team']"
    assert "70 characters, 7 over the label-value limit of 63" in problem.message


def test_missing_namespace() -> None:
    docs = documents()
    del docs["NetworkPolicy"]["metadata"]["namespace"]
    assert only(problems_of(docs["NetworkPolicy"])).path == "metadata.namespace"


def test_unknown_field_in_a_crd_object_is_an_error() -> None:
    docs = documents()
    docs["InferenceService"]["spec"]["predictor"]["containers"][0]["imagePullPolcy"] = "Always"
    problem = only(problems_of(docs["InferenceService"]))
    assert problem.path == "spec.predictor.containers[0]"
    assert "'imagePullPolcy' was unexpected" in problem.message


def test_wrong_type_in_a_crd_object() -> None:
    docs = documents()
    docs["ScaledObject"]["spec"]["minReplicaCount"] = "two"
    problem = only(problems_of(docs["ScaledObject"]))
    assert (problem.kind, problem.path) == ("ScaledObject", "spec.minReplicaCount")
    assert "'two' is not of type 'integer'" in problem.message


def test_crd_enum_violation() -> None:
    docs = documents()
    docs["ServiceMonitor"]["spec"]["endpoints"][0]["scheme"] = "ftp"
    problem = only(problems_of(docs["ServiceMonitor"]))
    assert problem.path == "spec.endpoints[0].scheme" and "'ftp' is not one of" in problem.message


def test_core_kind_errors_are_all_reported() -> None:
    docs = documents()
    docs["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["pathType"] = 3
    docs["Ingress"]["spec"]["defaultBakend"] = {}
    paths = {p.path: p.message for p in problems_of(docs["Ingress"])}
    assert "3 is not of type 'string'" in paths["spec.rules[0].http.paths[0].pathType"]
    assert "'defaultBakend' was unexpected" in paths["spec"]


def test_hpa_without_scale_target() -> None:
    hpa = documents("gpu-hpa")["HorizontalPodAutoscaler"]
    del hpa["spec"]["scaleTargetRef"]
    problem = only(problems_of(hpa))
    assert problem.kind == "HorizontalPodAutoscaler" and "'scaleTargetRef' is a required property" in problem.message


def test_invalid_hpa_target_quantity() -> None:
    hpa = documents("gpu-hpa")["HorizontalPodAutoscaler"]
    hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"] = "five"
    problem = only(problems_of(hpa))
    assert problem.path == "spec.metrics[0].pods.target.averageValue"
    assert "autoscaling target 'five' is not a Kubernetes quantity" in problem.message


def test_keda_threshold_must_be_a_plain_number() -> None:
    scaled = documents()["ScaledObject"]
    scaled["spec"]["triggers"][0]["metadata"]["threshold"] = "2500m"
    problem = only(problems_of(scaled))
    assert problem.path == "spec.triggers[0].metadata.threshold"
    assert "KEDA threshold '2500m' must be a decimal number" in problem.message


def test_gpu_requests_must_equal_limits() -> None:
    docs = documents()
    docs["InferenceService"]["spec"]["predictor"]["containers"][0]["resources"]["requests"]["amd.com/gpu"] = "2"
    problem = only(problems_of(docs["InferenceService"]))
    assert "extended resource amd.com/gpu must have equal requests (2) and limits (4)" in problem.message


def test_a_kind_without_a_schema_is_refused() -> None:
    document = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"}}
    problem = only(problems_of(document))
    assert "no schema for Widget example.com/v1" in problem.message


def test_unknown_core_kind_and_unsupported_version() -> None:
    document = {"apiVersion": "v1", "kind": "Gizmo", "metadata": {"name": "g", "namespace": "n"}}
    assert "Couldn't find schema for kind Gizmo" in only(problems_of(document)).message
    configmap = documents()["ConfigMap"]
    assert "does not support version 9.99" in kubernetes_problems(configmap, "9.99")[0][1]


def test_secret_values_are_caught_and_not_echoed() -> None:
    bad = context(annotations={"note": f"token {HF_TOKEN_LOOKALIKE}"})
    with pytest.raises(ManifestValidationError) as caught:
        render_bundle(bad)
    assert {p.path for p in caught.value.problems} == {"metadata.annotations.note"}
    assert "looks like a Hugging Face token" in str(caught.value)
    assert HF_TOKEN_LOOKALIKE not in str(caught.value)


def test_credential_env_with_a_literal_value_is_refused() -> None:
    docs = documents()
    env = docs["InferenceService"]["spec"]["predictor"]["containers"][0]["env"]
    env.append({"name": "VLLM_API_KEY", "value": "letmein"})
    problem = only(problems_of(docs["InferenceService"]))
    assert problem.path.endswith(".value") and "use valueFrom.secretKeyRef" in problem.message


def test_credential_flag_in_args_is_refused() -> None:
    docs = documents()
    docs["InferenceService"]["spec"]["predictor"]["containers"][0]["args"] += ["--api-key", "letmein"]
    assert "--api-key passes a credential" in only(problems_of(docs["InferenceService"])).message


def test_configmap_over_one_mebibyte() -> None:
    configmap = documents()["ConfigMap"]
    configmap["data"]["big.json"] = "x" * (1024 * 1024)
    problem = only(problems_of(configmap))
    assert problem.path == "data" and "over Kubernetes' 1 MiB limit" in problem.message


def test_duplicates_and_all_objects_reported_together() -> None:
    docs = documents()
    docs["Ingress"]["spec"]["bogus"] = 1
    docs["NetworkPolicy"]["spec"]["bogus"] = 1
    with pytest.raises(ManifestValidationError) as caught:
        validate_documents([docs["Ingress"], docs["NetworkPolicy"]])
    assert [p.kind for p in caught.value.problems] == ["Ingress", "NetworkPolicy"]
    assert str(caught.value).startswith("rendered manifests failed validation (2 problems):")

    objects = render_objects(scenario("gpu-hpa"))
    problems = find_problems([*objects, objects[0]])
    assert only(problems).message == "two objects share this kind and name"


@pytest.mark.parametrize("kind", ["Ingress", "NetworkPolicy", "HorizontalPodAutoscaler", "ConfigMap"])
def test_cached_core_validation_agrees_with_the_public_kubernetes_validate_api(kind: str) -> None:
    docs = {**documents(), **documents("gpu-hpa")}
    document = docs[kind]
    kubernetes_validate.validate(document, DEFAULT_KUBERNETES_VERSION, strict=True)
    assert kubernetes_problems(document, DEFAULT_KUBERNETES_VERSION) == []
    document["spec" if "spec" in document else "data"]["unexpectedField"] = {"a": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, DEFAULT_KUBERNETES_VERSION, strict=True)
    assert kubernetes_problems(document, DEFAULT_KUBERNETES_VERSION)


def test_strict_schema_keeps_maps_and_preserved_fields_open() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"a": {"type": "string"}}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {}},
        },
    }
    strict = strict_schema(schema)
    assert strict["additionalProperties"] is False
    assert strict["properties"]["spec"]["additionalProperties"] is False
    assert strict["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    assert "additionalProperties" not in strict["properties"]["raw"]
    assert "additionalProperties" not in schema  # the input is not modified
