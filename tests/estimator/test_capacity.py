"""Specs for max_rps_under_slo: the best rate meeting p95 TTFT/ITL/E2E targets, monotone in the SLO, fast."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.domain import GPUSpec, ModelSpec, Quantization, SLOTargets, TrafficProfile
from kb.estimator import Binding, capacity_under_slo, max_rps_under_slo, predict_load

from .conftest import make_gpu, make_model

CHAT = TrafficProfile(prompt_tokens=512, output_tokens=256)
CHAT_SLO = SLOTargets(ttft_p95_ms=500, itl_p95_ms=50, e2e_p95_ms=15000)


def test_the_point_found_meets_every_target(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    point = max_rps_under_slo(dense_8b, h100, 1, Quantization.BF16, CHAT, CHAT_SLO)

    assert point is not None
    assert point.ttft_p95_ms <= 500 and point.itl_p95_ms <= 50 and point.e2e_p95_ms <= 15000
    assert point.requests_per_second > 1
    assert point.output_tokens_per_second == point.requests_per_second * 256
    assert point.binding in (Binding.TTFT, Binding.ITL, Binding.E2E)


def test_one_more_concurrent_request_would_break_the_binding_target(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    point = max_rps_under_slo(dense_8b, h100, 1, Quantization.BF16, CHAT, CHAT_SLO)
    assert point is not None

    beyond = predict_load(dense_8b, h100, 1, Quantization.BF16, CHAT, point.concurrency + 1)
    latency = {Binding.TTFT: beyond.ttft_ms.p95, Binding.ITL: beyond.itl_ms.p95, Binding.E2E: beyond.e2e_ms.p95}
    target = {Binding.TTFT: 500, Binding.ITL: 50, Binding.E2E: 15000}
    assert latency[point.binding] > target[point.binding]


def test_none_when_even_one_request_misses_the_slo(dense_70b: ModelSpec, h100: GPUSpec) -> None:
    impossible = SLOTargets(ttft_p95_ms=1, itl_p95_ms=50, e2e_p95_ms=60000)

    assert max_rps_under_slo(dense_70b, h100, 2, Quantization.FP8, CHAT, impossible) is None
    result = capacity_under_slo(dense_70b, h100, 2, Quantization.FP8, CHAT, impossible)
    assert result.point is None and result.binding is Binding.TTFT


def test_none_with_memory_binding_when_the_model_does_not_fit(dense_70b: ModelSpec, l4: GPUSpec) -> None:
    result = capacity_under_slo(dense_70b, l4, 1, Quantization.BF16, CHAT, CHAT_SLO)

    assert result.point is None and result.binding is Binding.MEMORY


def test_a_very_loose_slo_is_bound_by_the_concurrency_limit(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    loose = SLOTargets(ttft_p95_ms=1e9, itl_p95_ms=1e9, e2e_p95_ms=1e9)
    point = max_rps_under_slo(dense_8b, h100, 1, Quantization.BF16, CHAT, loose)

    assert point is not None
    assert point.binding in (Binding.CONCURRENCY_LIMIT, Binding.PREFILL_SATURATION)
    assert point.concurrency <= point.concurrency_cap


def test_more_gpus_never_lower_capacity_for_a_memory_bound_model(dense_70b: ModelSpec, h100: GPUSpec) -> None:
    two = max_rps_under_slo(dense_70b, h100, 2, Quantization.FP8, CHAT, CHAT_SLO)
    four = max_rps_under_slo(dense_70b, h100, 4, Quantization.FP8, CHAT, CHAT_SLO)

    assert two is not None and four is not None
    assert four.requests_per_second > two.requests_per_second


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
            name="L4",
            architecture="ada-lovelace",
            vram_gb=24,
            memory_bandwidth_gbps=300,
            bf16_tflops=121,
            fp8_tflops=242.5,
            interconnect_gbps=64,
        ),
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    model=_MODELS,
    gpu=_GPUS,
    tp=st.sampled_from([1, 2, 4, 8]),
    quant=st.sampled_from([Quantization.BF16, Quantization.FP8, Quantization.INT4]),
    prompt=st.integers(min_value=1, max_value=16000),
    output=st.integers(min_value=1, max_value=2000),
    ttft=st.floats(min_value=20, max_value=20000),
    itl=st.floats(min_value=2, max_value=500),
    e2e=st.floats(min_value=100, max_value=300000),
    loosen=st.tuples(
        st.floats(min_value=1, max_value=20), st.floats(min_value=1, max_value=20), st.floats(min_value=1, max_value=20)
    ),
)
def test_a_looser_slo_never_gives_a_lower_rate(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quant: Quantization,
    prompt: int,
    output: int,
    ttft: float,
    itl: float,
    e2e: float,
    loosen: tuple[float, float, float],
) -> None:
    traffic = TrafficProfile(prompt_tokens=prompt, output_tokens=output)
    tight = SLOTargets(ttft_p95_ms=ttft, itl_p95_ms=itl, e2e_p95_ms=e2e)
    loose = SLOTargets(ttft_p95_ms=ttft * loosen[0], itl_p95_ms=itl * loosen[1], e2e_p95_ms=e2e * loosen[2])

    strict = max_rps_under_slo(model, gpu, tp, quant, traffic, tight)
    relaxed = max_rps_under_slo(model, gpu, tp, quant, traffic, loose)

    if strict is not None:
        assert relaxed is not None
        assert relaxed.requests_per_second >= strict.requests_per_second * (1 - 1e-12)


def test_max_rps_under_slo_is_fast(dense_8b: ModelSpec, dense_70b: ModelSpec, moe_47b: ModelSpec) -> None:
    """Well under a millisecond per uncached call, even on a slow CI box (measured ~0.08 ms on 2 vCPUs)."""
    gpus = [make_gpu(name=f"gpu-{i}", memory_bandwidth_gbps=1000 + 50 * i) for i in range(20)]
    calls = [(m, g, tp) for m in (dense_8b, dense_70b, moe_47b) for g in gpus for tp in (1, 2, 4, 8)]

    start = time.perf_counter()
    for model, gpu, tp in calls:
        max_rps_under_slo(model, gpu, tp, Quantization.FP8, CHAT, CHAT_SLO)
    per_call = (time.perf_counter() - start) / len(calls)

    assert per_call < 1e-3
