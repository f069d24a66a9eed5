"""Builders for domain objects used across tests."""

from __future__ import annotations

from typing import Any

from kb.domain import BenchmarkRecord, BenchmarkSource, LatencyStats, LoadKind


def stats(p95: float) -> LatencyStats:
    return LatencyStats(mean=p95 * 0.8, p90=p95 * 0.95, p95=p95, p99=p95 * 1.2)


def benchmark(**overrides: Any) -> BenchmarkRecord:
    values: dict[str, Any] = {
        "model_hf_repo": "meta-llama/Llama-3.1-8B-Instruct",
        "hardware": "H100",
        "hardware_count": 1,
        "prompt_tokens": 512,
        "output_tokens": 256,
        "load_kind": LoadKind.CONCURRENCY,
        "load_value": 8,
        "ttft_ms": stats(45.0),
        "itl_ms": stats(12.0),
        "e2e_ms": stats(3300.0),
        "requests_per_second": 2.4,
        "tokens_per_second": 614.0,
        "source": BenchmarkSource.MEASURED,
    }
    values.update(overrides)
    return BenchmarkRecord(**values)
