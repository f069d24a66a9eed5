"""Specs for the per-step roofline: prefill time, decode time, tensor-parallel all-reduce, bandwidth and FP8."""

from __future__ import annotations

import pytest

from kb.domain import GPUSpec, ModelSpec, Quantization
from kb.estimator import DEFAULT_CONSTANTS, decode_time_ms, prefill_time_ms
from kb.estimator.deployment import deployment_shape
from kb.estimator.latency import step_coefficients, step_seconds

from .conftest import make_gpu, make_model


def test_tensor_parallel_all_reduce_adds_cost(dense_70b: ModelSpec, h100: GPUSpec) -> None:
    free_links = DEFAULT_CONSTANTS.model_copy(update={"allreduce_latency_us": 0.0, "allreduce_bw_efficiency": 1e9})

    for batch in (1, 64):
        with_allreduce = decode_time_ms(dense_70b, h100, 4, Quantization.FP8, batch, 2048)
        without = decode_time_ms(dense_70b, h100, 4, Quantization.FP8, batch, 2048, constants=free_links)
        # Two all-reduces per layer: 160 x the fixed latency at least.
        assert with_allreduce - without >= 160 * DEFAULT_CONSTANTS.allreduce_latency_us * 1e-3 - 1e-9

    coeff = step_coefficients(deployment_shape(dense_70b, h100, 4, Quantization.FP8))
    assert coeff.allreduce_fixed_s > 0 and coeff.allreduce_s_per_token > 0
    single = step_coefficients(deployment_shape(dense_70b, h100, 1, Quantization.FP8))
    assert single.allreduce_fixed_s == 0 and single.allreduce_s_per_token == 0


def test_all_reduce_cost_grows_with_the_message(dense_70b: ModelSpec, h100: GPUSpec) -> None:
    shape = deployment_shape(dense_70b, h100, 8, Quantization.BF16)
    coeff = step_coefficients(shape)
    no_links = step_coefficients(shape, DEFAULT_CONSTANTS.model_copy(update={"allreduce_bw_efficiency": 1e9}))

    small = step_seconds(coeff, 1, 1024) - step_seconds(no_links, 1, 1024)
    large = step_seconds(coeff, 512, 1024) - step_seconds(no_links, 512, 1024)
    assert large > small > 0


def test_ttft_grows_with_prompt_length(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    times = [prefill_time_ms(dense_8b, h100, 1, Quantization.BF16, p) for p in (128, 512, 2048, 8192, 32768)]

    assert times == sorted(times) and len(set(times)) == len(times)
    # Causal attention makes long prompts superlinear: 4x the tokens costs more than 4x the time.
    assert times[4] > 4 * times[3]


def test_more_memory_bandwidth_gives_lower_inter_token_latency(dense_8b: ModelSpec) -> None:
    slow = make_gpu(name="slow", memory_bandwidth_gbps=2000)
    fast = make_gpu(name="fast", memory_bandwidth_gbps=4000)

    for batch in (1, 16, 128):
        assert decode_time_ms(dense_8b, fast, 1, Quantization.BF16, batch, 1024) < decode_time_ms(
            dense_8b, slow, 1, Quantization.BF16, batch, 1024
        )


def test_fp8_is_faster_than_bf16_where_supported(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    assert prefill_time_ms(dense_8b, h100, 1, Quantization.FP8, 4096) < prefill_time_ms(
        dense_8b, h100, 1, Quantization.BF16, 4096
    )
    assert decode_time_ms(dense_8b, h100, 1, Quantization.FP8, 8, 1024) < decode_time_ms(
        dense_8b, h100, 1, Quantization.BF16, 8, 1024
    )


def test_fp8_without_fp8_units_saves_bandwidth_but_not_compute(dense_8b: ModelSpec, a100: GPUSpec) -> None:
    # A100 runs FP8 weights as W8A16: prefill stays at the BF16 rate, decode reads half the bytes.
    assert prefill_time_ms(dense_8b, a100, 1, Quantization.FP8, 4096) == pytest.approx(
        prefill_time_ms(dense_8b, a100, 1, Quantization.BF16, 4096), rel=0.05
    )
    assert decode_time_ms(dense_8b, a100, 1, Quantization.FP8, 1, 1024) < 0.7 * decode_time_ms(
        dense_8b, a100, 1, Quantization.BF16, 1, 1024
    )


def test_moe_decode_reads_only_the_routed_experts_at_small_batch(moe_47b: ModelSpec, h100: GPUSpec) -> None:
    dense_13b = make_model(hf_repo="test/dense-13b", total_params_b=12.9, active_params_b=12.9)
    dense_47b = make_model(hf_repo="test/dense-47b", total_params_b=46.7, active_params_b=46.7)

    moe_one = decode_time_ms(moe_47b, h100, 1, Quantization.BF16, 1, 512)
    assert moe_one == pytest.approx(decode_time_ms(dense_13b, h100, 1, Quantization.BF16, 1, 512), rel=0.01)
    assert moe_one < 0.5 * decode_time_ms(dense_47b, h100, 1, Quantization.BF16, 1, 512)
    # A large batch touches (almost) every expert.
    assert decode_time_ms(moe_47b, h100, 1, Quantization.BF16, 64, 512) > 2.5 * moe_one


def test_decode_time_grows_with_context_and_batch(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    short = decode_time_ms(dense_8b, h100, 1, Quantization.BF16, 32, 512)
    long = decode_time_ms(dense_8b, h100, 1, Quantization.BF16, 32, 8192)
    bigger = decode_time_ms(dense_8b, h100, 1, Quantization.BF16, 128, 512)

    assert long > short and bigger > short
