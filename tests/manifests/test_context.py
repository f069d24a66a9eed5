"""Bad deployment contexts are rejected before rendering, each with a message that says what to change."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from kb.errors import CompassError, ValidationFailedError
from kb.seed import load_bundle
from manifests import DeploymentContext, GPURef, render_bundle
from manifests.context import derived_names
from tests.manifests.contexts import HF_TOKEN_LOOKALIKE, base_values, context


def rejected(**overrides: Any) -> str:
    with pytest.raises(ValidationFailedError) as caught:
        context(**overrides)
    assert isinstance(caught.value, CompassError)
    return str(caught.value)


def test_a_valid_context_builds_and_derives_names() -> None:
    ctx = context()
    assert ctx.names.inference_service == "llama-chat"
    assert ctx.names.predictor == "llama-chat-predictor"
    assert ctx.effective_quantization_method == "fp8"
    assert ctx.effective_resources.cpu == "8" and ctx.effective_resources.memory == "64Gi"


def test_deployment_id_too_long_names_the_derived_name_and_the_excess() -> None:
    message = rejected(deployment_id="a" * 50)
    assert "deployment_id" in message and "(50 characters) is too long" in message
    assert "'isvc." + "a" * 50 + "-predictor'" in message
    assert "65 characters, 2 over the Kubernetes limit of 63" in message
    assert "at most 48 characters" in message


def test_deployment_id_over_63_still_reports_the_strictest_limit() -> None:
    message = rejected(deployment_id="a" * 70)
    assert "22 over the Kubernetes limit of 63" in message and "at most 48 characters" in message


def test_the_longest_accepted_id_keeps_every_derived_name_within_63() -> None:
    ctx = context(deployment_id="a" * 48)
    assert all(len(name.value) <= 63 for name in derived_names(ctx.deployment_id))


@pytest.mark.parametrize(
    ("deployment_id", "expected"),
    [
        ("Llama_Chat", "not a valid DNS-1123 label"),
        ("llama-", "not a valid DNS-1123 label"),
        ("1llama", "must start with a letter"),
        ("", "deployment_id is empty"),
    ],
)
def test_deployment_id_must_be_a_dns_name(deployment_id: str, expected: str) -> None:
    message = rejected(deployment_id=deployment_id)
    assert expected in message


def test_invalid_id_message_suggests_a_valid_one() -> None:
    assert "(e.g. 'llama-chat')" in rejected(deployment_id="Llama_Chat")


def test_zero_replicas() -> None:
    message = rejected(min_replicas=0)
    assert "min_replicas must be at least 1, got 0" in message


def test_zero_max_replicas() -> None:
    assert "max_replicas must be at least 1, got 0" in rejected(min_replicas=1, max_replicas=0)


def test_min_greater_than_max() -> None:
    message = rejected(min_replicas=5, max_replicas=2)
    assert "min_replicas (5) is greater than max_replicas (2)" in message
    assert "raise max_replicas to at least 5" in message


def test_gpu_count_over_node_capacity() -> None:
    message = rejected(gpus_per_replica=16, tensor_parallel=16)
    assert "gpus_per_replica (16) exceeds the 8 H100 GPUs one node has" in message
    assert "at most 8 GPUs per replica" in message


def test_gpu_count_over_a_smaller_node() -> None:
    message = rejected(gpus_per_replica=8, tensor_parallel=8, max_gpus_per_node=4)
    assert "gpus_per_replica (8) exceeds the 4 H100 GPUs" in message


def test_tensor_parallel_must_match_gpus_per_replica() -> None:
    message = rejected(gpus_per_replica=4, tensor_parallel=2)
    assert "tensor_parallel (2) must equal gpus_per_replica (4)" in message


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        ("LLM_Serving", "namespace 'LLM_Serving' is not a valid DNS-1123 label"),
        ("llm.serving", "namespace 'llm.serving' is not a valid DNS-1123 label"),
        ("n" * 64, "is 64 characters, 1 over the Kubernetes limit of 63"),
    ],
)
def test_bad_namespace(namespace: str, expected: str) -> None:
    message = rejected(namespace=namespace)
    assert expected in message


def test_bad_namespace_message_suggests_a_valid_one() -> None:
    assert "(e.g. 'llm-serving')" in rejected(namespace="LLM_Serving")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"resources": {"cpu": "8", "memory": "16GB"}}, "resources.memory '16GB' is not a Kubernetes quantity"),
        ({"resources": {"cpu": "8", "memory": "lots"}}, "resources.memory 'lots' is not a Kubernetes quantity"),
        ({"resources": {"cpu": "-2", "memory": "16Gi"}}, "resources.cpu '-2' must be greater than zero"),
        ({"shm_size": "16 gigs"}, "shm_size '16 gigs' is not a Kubernetes quantity"),
    ],
)
def test_invalid_quantities(overrides: dict[str, Any], expected: str) -> None:
    assert expected in rejected(**overrides)


def test_invalid_memory_quantity_suggests_the_binary_unit() -> None:
    assert "did you mean '16Gi'?" in rejected(resources={"cpu": "8", "memory": "16GB"})


def test_shm_must_fit_in_the_memory_limit() -> None:
    message = rejected(resources={"cpu": "4", "memory": "8Gi"}, shm_size="16Gi")
    assert "shm_size (16Gi) must be smaller than the container memory (8Gi)" in message


def test_every_problem_is_listed() -> None:
    message = rejected(namespace="Bad_NS", deployment_id="Bad_Id")
    assert message.startswith("invalid deployment context (2 problems):")
    assert "namespace 'Bad_NS'" in message and "deployment_id 'Bad_Id'" in message


def test_direct_construction_raises_pydantic_error_with_the_same_sentence() -> None:
    with pytest.raises(ValidationError, match="min_replicas must be at least 1"):
        DeploymentContext(**base_values(min_replicas=0))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"autoscaler": "none"}, "autoscaler 'none' keeps a fixed replica count"),
        ({"ingress": {"tls_secret": "llm-tls"}}, "ingress.tls_secret needs ingress.host"),
        ({"ingress": {"host": "localhost"}}, "not a fully qualified host name"),
        ({"ingress": {"host": "llm.example.com", "path": "llama"}}, "ingress.path 'llama' must start with '/'"),
        ({"labels": {"compass.io/deployment-id": "x"}}, "is managed by Compass"),
        ({"labels": {"team": "a b"}}, "is not a valid label value"),
        ({"vllm": {"extra_args": ["--max-model-len", "4096"]}}, "sets --max-model-len, which Compass already sets"),
        ({"vllm": {"gpu_memory_utilization": 1.5}}, "vllm.gpu_memory_utilization"),
        ({"model": {"hf_repo": "not a repo"}}, "is not a Hugging Face repo id"),
        ({"simulator_mode": True, "predicted": None}, "simulator mode needs latency data"),
        ({"quantization_method": "magic"}, "quantization_method 'magic' is not one of"),
        ({"monitoring": {"scrape_interval": "often"}}, "monitoring.scrape_interval 'often'"),
        ({"vllm_image": "not an image!"}, "is not a container image reference"),
    ],
)
def test_other_bad_inputs(overrides: dict[str, Any], expected: str) -> None:
    assert expected in rejected(**overrides)


def test_a_token_is_refused_as_secret_name_and_never_echoed() -> None:
    message = rejected(hf_token_secret=HF_TOKEN_LOOKALIKE)
    assert "must be the name of a Kubernetes Secret" in message
    assert HF_TOKEN_LOOKALIKE not in message
    with pytest.raises(ValidationError) as caught:
        DeploymentContext(**base_values(hf_token_secret=HF_TOKEN_LOOKALIKE))
    assert HF_TOKEN_LOOKALIKE not in str(caught.value)


@pytest.mark.parametrize("flag", ["--hf-token", "--api-key"])
def test_credentials_cannot_be_passed_as_vllm_flags(flag: str) -> None:
    message = rejected(vllm={"extra_args": [f"{flag}={HF_TOKEN_LOOKALIKE}"]})
    assert "secrets are passed as Secret references" in message
    assert HF_TOKEN_LOOKALIKE not in message


@pytest.mark.parametrize(
    ("quantization", "vendor_gpu", "expected"),
    [("bf16", "H100", None), ("fp8", "H100", "fp8"), ("int4", "H100", "awq_marlin"), ("int4", "MI300X", "awq")],
)
def test_quantization_flag_defaults(quantization: str, vendor_gpu: str, expected: str | None) -> None:
    from tests.manifests.contexts import H100, MI300X

    gpu = H100 if vendor_gpu == "H100" else MI300X
    assert context(quantization=quantization, gpu=gpu).effective_quantization_method == expected
    assert context(quantization="int4", quantization_method="gptq_marlin").effective_quantization_method == (
        "gptq_marlin"
    )


def test_every_catalog_gpu_renders_a_valid_bundle() -> None:
    for spec in load_bundle().gpus:
        gpu = GPURef.from_spec(spec)
        ctx = context(gpu=gpu, gpus_per_replica=1, tensor_parallel=1, max_gpus_per_node=spec.max_tensor_parallel)
        isvc = render_bundle(ctx).get("InferenceService").document["spec"]["predictor"]
        assert isvc["nodeSelector"] == {spec.node_selector_label: spec.node_selector_value}
        assert isvc["containers"][0]["resources"]["limits"][spec.resource_name] == "1"
