"""Specs for estimate_rows: estimated BenchmarkRecords with provenance and an extrapolation-aware confidence."""

from __future__ import annotations

import datetime as dt

from kb.domain import BenchmarkSource, GPUSpec, LoadKind, ModelSpec, Quantization, TrafficProfile
from kb.estimator import PROVENANCE_TOOL, confidence, estimate_rows

from .conftest import make_gpu

CHAT = TrafficProfile(prompt_tokens=512, output_tokens=256)


def test_rows_are_marked_estimated_with_provenance_and_confidence(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    rows = estimate_rows(dense_8b, h100, 1, Quantization.BF16, CHAT, provenance_date=dt.date(2026, 11, 26))

    assert [r.load_value for r in rows] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    for row in rows:
        assert row.source is BenchmarkSource.ESTIMATED
        assert row.load_kind is LoadKind.CONCURRENCY
        assert row.hardware == "H100" and row.hardware_count == 1
        assert row.framework == "vllm"
        assert row.provenance_tool == PROVENANCE_TOOL and PROVENANCE_TOOL.startswith("compass-estimator ")
        assert row.provenance_date == dt.date(2026, 11, 26)
        assert 0 < row.confidence <= 1
        assert row.model_hf_repo == dense_8b.hf_repo
        assert row.prompt_tokens == 512 and row.output_tokens == 256
        assert row.ttft_ms.p90 <= row.ttft_ms.p95 <= row.ttft_ms.p99
        assert row.tokens_per_second == row.requests_per_second * 256


def test_rows_follow_the_load_curve(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    rows = estimate_rows(dense_8b, h100, 1, Quantization.BF16, CHAT)

    itl = [r.itl_ms.mean for r in rows]
    rps = [r.requests_per_second for r in rows]
    assert itl == sorted(itl)
    assert rps[:6] == sorted(rps[:6])


def test_concurrencies_that_do_not_fit_the_kv_cache_are_skipped(dense_70b: ModelSpec, h100: GPUSpec) -> None:
    long_prompts = TrafficProfile(prompt_tokens=8000, output_tokens=1000)

    rows = estimate_rows(dense_70b, h100, 2, Quantization.FP8, long_prompts)

    assert rows, "some concurrencies fit"
    assert max(r.load_value for r in rows) < 256
    assert [r.load_value for r in rows] == [1, 2, 4, 8, 16, 32][: len(rows)]


def test_no_rows_when_the_model_does_not_fit(dense_70b: ModelSpec, l4: GPUSpec) -> None:
    assert estimate_rows(dense_70b, l4, 1, Quantization.BF16, CHAT) == []


def test_confidence_is_lower_far_from_the_calibration_set(
    dense_8b: ModelSpec, moe_47b: ModelSpec, h100: GPUSpec, l4: GPUSpec
) -> None:
    home = confidence(dense_8b, h100, 1, Quantization.BF16, CHAT, 8, 8)
    other_family = confidence(dense_8b, l4, 1, Quantization.BF16, CHAT, 8, 8)
    moe = confidence(moe_47b, h100, 1, Quantization.BF16, CHAT, 8, 8)
    long_prompt = confidence(
        dense_8b, h100, 1, Quantization.BF16, TrafficProfile(prompt_tokens=60000, output_tokens=500), 8, 8
    )
    amd = confidence(
        dense_8b, make_gpu(name="MI300X", vendor="amd", architecture="cdna3"), 1, Quantization.BF16, CHAT, 8, 8
    )
    queued = confidence(dense_8b, h100, 1, Quantization.BF16, CHAT, 2000, 1024)

    assert home == 0.75
    for lower in (other_family, moe, long_prompt, amd, queued):
        assert 0.05 <= lower < home
    assert amd < other_family


def test_row_confidence_reflects_the_moe_rule(moe_47b: ModelSpec, dense_8b: ModelSpec, h100: GPUSpec) -> None:
    dense = estimate_rows(dense_8b, h100, 1, Quantization.BF16, CHAT, concurrencies=(8,))
    moe = estimate_rows(moe_47b, h100, 2, Quantization.BF16, CHAT, concurrencies=(8,))

    assert moe[0].confidence < dense[0].confidence
