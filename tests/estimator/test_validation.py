"""Specs for input checking: invalid deployments and token counts raise ValidationFailedError with a clear message."""

from __future__ import annotations

import pytest

from kb.domain import GPUSpec, ModelSpec, Quantization, SLOTargets, TrafficProfile
from kb.errors import ValidationFailedError
from kb.estimator import (
    decode_time_ms,
    estimate_rows,
    max_rps_under_slo,
    memory_fit,
    predict_load,
    prefill_time_ms,
)

from .conftest import make_gpu, make_model

CHAT = TrafficProfile(prompt_tokens=512, output_tokens=256)
SLO = SLOTargets(ttft_p95_ms=500, itl_p95_ms=50, e2e_p95_ms=15000)


@pytest.mark.parametrize("tp", [0, 3, 6, 16])
def test_tensor_parallel_must_be_a_supported_power_of_two(dense_8b: ModelSpec, h100: GPUSpec, tp: int) -> None:
    with pytest.raises(ValidationFailedError, match=r"tensor parallel degree must be one of \[1, 2, 4, 8\]"):
        memory_fit(dense_8b, h100, tp, Quantization.BF16)


def test_tensor_parallel_must_divide_the_attention_heads(h100: GPUSpec) -> None:
    model = make_model(hf_repo="test/28-heads", num_attention_heads=28, num_kv_heads=4)

    with pytest.raises(ValidationFailedError, match="does not divide the 28 attention heads of test/28-heads"):
        max_rps_under_slo(model, h100, 8, Quantization.BF16, CHAT, SLO)


def test_tensor_parallel_cannot_exceed_one_node(dense_8b: ModelSpec) -> None:
    small_node = make_gpu(name="PCIe-box", max_tensor_parallel=4)

    with pytest.raises(ValidationFailedError, match="exceeds the 4 PCIe-box GPUs one node offers"):
        estimate_rows(dense_8b, small_node, 8, Quantization.BF16, CHAT)


@pytest.mark.parametrize("prompt", [0, -5])
def test_prompt_tokens_must_be_positive(dense_8b: ModelSpec, h100: GPUSpec, prompt: int) -> None:
    with pytest.raises(ValidationFailedError, match="prompt_tokens must be a positive number of tokens"):
        prefill_time_ms(dense_8b, h100, 1, Quantization.BF16, prompt)


def test_batch_and_context_must_be_positive(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    with pytest.raises(ValidationFailedError, match="batch must be a positive number of sequences"):
        decode_time_ms(dense_8b, h100, 1, Quantization.BF16, 0, 1024)
    with pytest.raises(ValidationFailedError, match="prompt_tokens must be a positive"):
        decode_time_ms(dense_8b, h100, 1, Quantization.BF16, 8, 0)


def test_concurrency_must_be_positive(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    with pytest.raises(ValidationFailedError, match="concurrency must be a positive number of requests"):
        predict_load(dense_8b, h100, 1, Quantization.BF16, CHAT, 0)
    with pytest.raises(ValidationFailedError, match="concurrencies must be positive"):
        estimate_rows(dense_8b, h100, 1, Quantization.BF16, CHAT, concurrencies=(1, -2))


def test_requests_longer_than_the_context_window_are_rejected(h100: GPUSpec) -> None:
    model = make_model(max_context=4096)

    with pytest.raises(ValidationFailedError, match="5000 exceeds the model's context window of 4096 tokens"):
        max_rps_under_slo(
            model, h100, 1, Quantization.BF16, TrafficProfile(prompt_tokens=4000, output_tokens=1000), SLO
        )


def test_unoffered_quantisation_is_rejected(h100: GPUSpec) -> None:
    bf16_only = make_model(quantizations=[{"name": "bf16", "bytes_per_param": 2.0}])

    with pytest.raises(ValidationFailedError, match="is not offered in fp8; its catalog entry lists: bf16"):
        predict_load(bf16_only, h100, 1, Quantization.FP8, CHAT, 1)


def test_predicting_a_deployment_that_does_not_fit_explains_why(dense_70b: ModelSpec, l4: GPUSpec) -> None:
    with pytest.raises(ValidationFailedError, match=r"does not fit on 1 x L4: weights need 141.2 GB per GPU"):
        predict_load(dense_70b, l4, 1, Quantization.BF16, CHAT, 1)
