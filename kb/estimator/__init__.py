"""Analytical performance estimator: predicts vLLM serving latency and throughput for a model on a GPU type.

A roofline model of one engine step (weights + KV reads vs FLOPs, TP all-reduces, fixed step overhead) feeds a
closed-loop continuous-batching model (chunked prefill interference, queueing), with efficiency constants
calibrated against published measurements (``kb/data/calibration.yaml``).  Pure Python, memoised, cheap enough to
evaluate thousands of (model, GPU, TP) combinations per recommendation.

Public API::

    memory_fit(model, gpu, tp, quant, sequence_tokens=None) -> MemoryFit
    prefill_time_ms(model, gpu, tp, quant, prompt_tokens) -> float
    decode_time_ms(model, gpu, tp, quant, batch, context_tokens) -> float
    predict_load(model, gpu, tp, quant, traffic, concurrency) -> LoadPrediction
    max_rps_under_slo(model, gpu, tp, quant, traffic, slo) -> CapacityPoint | None
    capacity_under_slo(model, gpu, tp, quant, traffic, slo) -> CapacityResult
    estimate_rows(model, gpu, tp, quant, traffic, concurrencies=(1, ..., 256)) -> list[BenchmarkRecord]

Every function takes an optional ``constants: EstimatorConstants`` (default: the calibrated DEFAULT_CONSTANTS).
"""

from kb.estimator.capacity import Binding, CapacityPoint, CapacityResult, capacity_under_slo, max_rps_under_slo
from kb.estimator.constants import DEFAULT_CONSTANTS, ESTIMATOR_VERSION, PROVENANCE_TOOL, EstimatorConstants
from kb.estimator.deployment import ALLOWED_TP, DeploymentShape, deployment_shape
from kb.estimator.latency import decode_time_ms, prefill_time_ms
from kb.estimator.load import LoadPrediction, Percentiles, predict_load
from kb.estimator.memory import MemoryFit, memory_fit
from kb.estimator.rows import DEFAULT_CONCURRENCIES, confidence, estimate_rows

__all__ = [
    "ALLOWED_TP",
    "DEFAULT_CONCURRENCIES",
    "DEFAULT_CONSTANTS",
    "ESTIMATOR_VERSION",
    "PROVENANCE_TOOL",
    "Binding",
    "CapacityPoint",
    "CapacityResult",
    "DeploymentShape",
    "EstimatorConstants",
    "LoadPrediction",
    "MemoryFit",
    "Percentiles",
    "capacity_under_slo",
    "confidence",
    "decode_time_ms",
    "deployment_shape",
    "estimate_rows",
    "max_rps_under_slo",
    "memory_fit",
    "predict_load",
    "prefill_time_ms",
]
