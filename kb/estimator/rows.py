"""Estimated benchmark rows: the load model's predictions written as BenchmarkRecords with a confidence.

Confidence rule (multiplicative, clamped to [0.05, 0.95]), starting from ``constants.base_confidence`` (0.75 - an
estimate is never worth a measurement):

* x 0.80 when the GPU's architecture has no calibration point (``constants.calibrated_architectures``);
* x 0.90 for AMD GPUs (the calibration set is NVIDIA only);
* x 0.85 for MoE models (expert routing and fused-MoE kernels are only approximated);
* x 0.85 for multi-head latent attention (``kv_lora_rank`` set);
* x 0.90 for INT4 weights (no INT4 calibration point; dequantisation cost not modelled);
* x 0.90 when prompt + output exceeds 8k tokens, x 0.75 instead beyond 32k (long-context attention);
* x 0.90 when tensor parallel degree is 8 (all-reduce costs dominate and are fitted on little data);
* x 0.85 when the concurrency exceeds what runs at once (queueing regime: the steady-state model is crude there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from kb.domain import (
    BenchmarkRecord,
    BenchmarkSource,
    GPUSpec,
    LatencyStats,
    LoadKind,
    ModelSpec,
    Quantization,
    TrafficProfile,
)
from kb.errors import ValidationFailedError
from kb.estimator.constants import DEFAULT_CONSTANTS, PROVENANCE_TOOL, EstimatorConstants
from kb.estimator.deployment import check_tokens, deployment_shape
from kb.estimator.load import Percentiles, load_profile, predict_profile

DEFAULT_CONCURRENCIES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
FRAMEWORK = "vllm"


def confidence(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quantization: Quantization,
    traffic: TrafficProfile,
    concurrency: int,
    running: int,
    constants: EstimatorConstants = DEFAULT_CONSTANTS,
) -> float:
    """Confidence in [0, 1] of one estimated row (see the module docstring for the rule)."""
    value = constants.base_confidence
    if gpu.architecture.lower() not in constants.calibrated_architectures:
        value *= 0.80
    if gpu.vendor == "amd":
        value *= 0.90
    if model.is_moe:
        value *= 0.85
    if model.kv_lora_rank is not None:
        value *= 0.85
    if quantization is Quantization.INT4:
        value *= 0.90
    length = traffic.prompt_tokens + traffic.output_tokens
    if length > 32768:
        value *= 0.75
    elif length > 8192:
        value *= 0.90
    if tp >= 8:
        value *= 0.90
    if concurrency > running:
        value *= 0.85
    return min(0.95, max(0.05, value))


def _stats(values: Percentiles) -> LatencyStats:
    return LatencyStats(mean=values.mean, p90=values.p90, p95=values.p95, p99=values.p99)


def estimate_rows(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quantization: Quantization,
    traffic: TrafficProfile,
    concurrencies: Sequence[int] = DEFAULT_CONCURRENCIES,
    constants: EstimatorConstants = DEFAULT_CONSTANTS,
    provenance_date: dt.date | None = None,
) -> list[BenchmarkRecord]:
    """One estimated BenchmarkRecord per concurrency whose sequences fit the KV cache (others are skipped).

    Returns an empty list when the deployment does not fit at all.  Invalid inputs raise ValidationFailedError.
    """
    check_tokens(traffic.prompt_tokens, traffic.output_tokens, model.max_context)
    for value in concurrencies:
        if value <= 0:
            raise ValidationFailedError(f"concurrencies must be positive numbers of requests, got {value}")
    shape = deployment_shape(model, gpu, tp, quantization, constants)
    profile = load_profile(shape, traffic.prompt_tokens, traffic.output_tokens, constants)
    when = provenance_date or dt.date.today()
    rows: list[BenchmarkRecord] = []
    for concurrency in sorted(set(concurrencies)):
        if concurrency > profile.kv_max_sequences:
            continue
        prediction = predict_profile(profile, concurrency)
        rows.append(
            BenchmarkRecord(
                model_hf_repo=model.hf_repo,
                hardware=gpu.name,
                hardware_count=tp,
                framework=FRAMEWORK,
                framework_version="",
                prompt_tokens=traffic.prompt_tokens,
                output_tokens=traffic.output_tokens,
                quantization=quantization,
                load_kind=LoadKind.CONCURRENCY,
                load_value=float(concurrency),
                ttft_ms=_stats(prediction.ttft_ms),
                itl_ms=_stats(prediction.itl_ms),
                e2e_ms=_stats(prediction.e2e_ms),
                requests_per_second=prediction.requests_per_second,
                tokens_per_second=prediction.output_tokens_per_second,
                concurrency=float(concurrency),
                source=BenchmarkSource.ESTIMATED,
                confidence=confidence(
                    model, gpu, tp, quantization, traffic, concurrency, prediction.running, constants
                ),
                provenance_tool=PROVENANCE_TOOL,
                provenance_date=when,
            )
        )
    return rows
