"""Planner fixtures: the real seed catalog and synthetic load curves that make expectations exact."""

from __future__ import annotations

import functools

import pytest

from kb.domain import BenchmarkSource, Quantization, TrafficProfile
from kb.repositories.catalog import CatalogSnapshot
from kb.seed import load_bundle
from tools.curve_store import estimated_curves
from tools.curves import CurveKey, CurvePoint, LoadCurve

CHAT = TrafficProfile(prompt_tokens=512, output_tokens=256)


@functools.cache
def _catalog() -> CatalogSnapshot:
    bundle = load_bundle()
    return CatalogSnapshot(models=bundle.models, gpus=bundle.gpus, prices=bundle.prices, templates=bundle.slo_templates)


@functools.cache
def _estimated_chat_curves() -> dict[CurveKey, LoadCurve]:
    return estimated_curves(_catalog(), CHAT)


@pytest.fixture
def catalog() -> CatalogSnapshot:
    return _catalog()


@pytest.fixture
def chat_curves() -> dict[CurveKey, LoadCurve]:
    return _estimated_chat_curves()


def linear_curve(
    *,
    ttft0: float = 40,
    itl0: float = 10,
    rps_per_conc: float = 0.5,
    source: BenchmarkSource = BenchmarkSource.MEASURED,
) -> LoadCurve:
    """Latency grows with load: doubling concurrency adds 30% TTFT and 20% ITL."""
    points = []
    for i, conc in enumerate((1, 2, 4, 8, 16, 32, 64)):
        ttft, itl = ttft0 * 1.3**i, itl0 * 1.2**i
        points.append(
            CurvePoint(
                load=conc,
                rps=conc * rps_per_conc,
                ttft_p95=ttft,
                itl_p95=itl,
                e2e_p95=ttft + 255 * itl,
                tokens_per_second=conc * rps_per_conc * 256,
            )
        )
    return LoadCurve(points=tuple(points), source=source, confidence=1.0)


def synthetic_curves() -> dict[CurveKey, LoadCurve]:
    """Three configurations with known behaviour on real catalog names."""
    return {
        ("meta-llama/Llama-3.1-8B-Instruct", "H100", 1, Quantization.BF16): linear_curve(
            ttft0=30, itl0=6, rps_per_conc=1.0
        ),
        ("meta-llama/Llama-3.1-8B-Instruct", "L4", 1, Quantization.BF16): linear_curve(
            ttft0=90, itl0=20, rps_per_conc=0.2, source=BenchmarkSource.ESTIMATED
        ),
        ("Qwen/Qwen2.5-72B-Instruct", "H100", 4, Quantization.BF16): linear_curve(ttft0=80, itl0=15, rps_per_conc=0.6),
    }
