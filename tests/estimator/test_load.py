"""Specs for continuous batching under load: ITL, TTFT and throughput as concurrency grows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.domain import GPUSpec, ModelSpec, Quantization, TrafficProfile
from kb.estimator import memory_fit, predict_load

from .conftest import make_gpu, make_model

CHAT = TrafficProfile(prompt_tokens=512, output_tokens=256)


def test_itl_grows_with_concurrency(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    itl = [predict_load(dense_8b, h100, 1, Quantization.BF16, CHAT, c).itl_ms.mean for c in (1, 4, 16, 64, 256)]

    assert itl == sorted(itl)
    assert itl[-1] > 2 * itl[0]


def test_rps_grows_then_saturates(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    rps = [predict_load(dense_8b, h100, 1, Quantization.BF16, CHAT, c).requests_per_second for c in (1, 2, 4, 8, 16)]
    assert rps == sorted(rps) and rps[-1] > 10 * rps[0]

    cap = predict_load(dense_8b, h100, 1, Quantization.BF16, CHAT, 1).concurrency_cap
    at_cap = predict_load(dense_8b, h100, 1, Quantization.BF16, CHAT, cap)
    beyond = predict_load(dense_8b, h100, 1, Quantization.BF16, CHAT, 2 * cap)
    assert beyond.running == cap
    assert beyond.requests_per_second == at_cap.requests_per_second
    assert beyond.ttft_ms.mean > at_cap.ttft_ms.mean + 1000  # the extra requests queue for a slot


def test_ttft_grows_with_prompt_length_under_load(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    ttft = [
        predict_load(
            dense_8b, h100, 1, Quantization.BF16, TrafficProfile(prompt_tokens=p, output_tokens=128), 8
        ).ttft_ms.p95
        for p in (256, 1024, 4096, 16384)
    ]

    assert ttft == sorted(ttft) and len(set(ttft)) == len(ttft)


def test_single_request_is_not_slowed_by_its_own_prefill(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    lone = predict_load(dense_8b, h100, 1, Quantization.BF16, CHAT, 1)

    assert lone.itl_ms.mean == lone.decode_step_ms
    assert lone.prefill_step_share == 0.0
    assert lone.e2e_ms.mean == pytest.approx(lone.ttft_ms.mean + 255 * lone.itl_ms.mean)


def test_percentiles_are_ordered(dense_70b: ModelSpec, h100: GPUSpec) -> None:
    for concurrency in (1, 8, 64, 300):
        pred = predict_load(dense_70b, h100, 4, Quantization.FP8, CHAT, concurrency)
        for stats in (pred.ttft_ms, pred.itl_ms, pred.e2e_ms):
            assert stats.p50 <= stats.p90 <= stats.p95 <= stats.p99
            assert stats.mean <= stats.p99


def test_throughput_is_output_tokens_times_requests(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    pred = predict_load(dense_8b, h100, 1, Quantization.BF16, CHAT, 32)

    assert pred.output_tokens_per_second == pred.requests_per_second * 256


_MODELS = st.sampled_from(
    [
        make_model(),
        make_model(
            hf_repo="t/70b",
            total_params_b=70.6,
            active_params_b=70.6,
            num_layers=80,
            hidden_size=8192,
            num_attention_heads=64,
        ),
        make_model(hf_repo="t/moe", total_params_b=46.7, active_params_b=12.9, max_context=32768),
    ]
)
_GPUS = st.sampled_from(
    [
        make_gpu(),
        make_gpu(name="A100-80GB", architecture="ampere", memory_bandwidth_gbps=2039, bf16_tflops=312, fp8_tflops=None),
        make_gpu(
            name="L40S",
            architecture="ada-lovelace",
            vram_gb=48,
            memory_bandwidth_gbps=864,
            bf16_tflops=362,
            fp8_tflops=733,
            interconnect_gbps=64,
        ),
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    model=_MODELS,
    gpu=_GPUS,
    tp=st.sampled_from([2, 4, 8]),
    quant=st.sampled_from([Quantization.BF16, Quantization.FP8, Quantization.INT4]),
    prompt=st.integers(min_value=1, max_value=12000),
    output=st.integers(min_value=1, max_value=2000),
    low=st.integers(min_value=1, max_value=600),
    step=st.integers(min_value=1, max_value=600),
)
def test_p95_latencies_never_fall_as_concurrency_grows(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quant: Quantization,
    prompt: int,
    output: int,
    low: int,
    step: int,
) -> None:
    traffic = TrafficProfile(prompt_tokens=prompt, output_tokens=output)
    if not memory_fit(model, gpu, tp, quant, prompt + output).fits:
        return
    a = predict_load(model, gpu, tp, quant, traffic, low)
    b = predict_load(model, gpu, tp, quant, traffic, low + step)

    tolerance = 1e-9
    assert b.ttft_ms.p95 >= a.ttft_ms.p95 - tolerance
    assert b.itl_ms.p95 >= a.itl_ms.p95 - tolerance
    assert b.e2e_ms.p95 >= a.e2e_ms.p95 - tolerance
    assert b.itl_ms.mean >= a.itl_ms.mean - tolerance
