"""Efficiency constants of the analytical vLLM performance model, with the values chosen by calibration.

Every number the estimator does not read from a ModelSpec or GPUSpec lives here, in one frozen model, so that a
caller can try a variant (``DEFAULT_CONSTANTS.model_copy(update={...})``) and so that calibration can search over
them.  Two kinds of fields:

* *fitted* — ``prefill_mfu`` (``decode_mfu`` is tied to it), ``mem_bw_efficiency``, ``kv_bw_efficiency``,
  ``step_overhead_ms``, ``request_overhead_ms``, ``allreduce_latency_us`` and ``ampere_compute_scale`` (plus three
  ``trtllm_*`` adjustments that only map calibration points measured on TensorRT-LLM-based engines onto the vLLM
  model) are chosen by :func:`kb.estimator.calibration.fit_constants` against the
  ``split: calibration`` points of ``kb/data/calibration.yaml``; the defaults below are the committed result of
  ``python -m kb.estimator.calibration fit`` (see docs/estimator-accuracy.md for the run and its error figures).
* *assumed* — vLLM defaults (``gpu_memory_utilization``, block size, scheduler budgets), the runtime memory reserve
  and the tail-latency factors.  Published tail figures are too scarce to fit them, so they are documented
  engineering assumptions, not calibrated values.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ESTIMATOR_VERSION = "0.1.0"
"""Version string written into ``provenance_tool`` of every estimated row."""

PROVENANCE_TOOL = f"compass-estimator {ESTIMATOR_VERSION}"

GiB = float(1 << 30)

Fraction = Annotated[float, Field(gt=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]


class EstimatorConstants(BaseModel):
    """Knobs of the roofline + continuous-batching model (all hashable floats, so results can be cached)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- fitted -----------------------------------------------------------------------------------------------
    prefill_mfu: Fraction = Field(
        default=0.45, description="Share of dense peak FLOP/s reached by prefill (chunk) tokens in a step"
    )
    decode_mfu: Fraction = Field(
        default=0.45,
        description="Share of dense peak FLOP/s reached by the decode GEMMs of a large batch; tied to prefill_mfu in "
        "the fit (the calibration set has too few large-batch decode points to tell them apart)",
    )
    mem_bw_efficiency: Fraction = Field(
        default=0.9, description="Share of HBM/GDDR bandwidth a decode step achieves reading weights and KV cache"
    )
    kv_bw_efficiency: Fraction = Field(
        default=0.3, description="Share of memory bandwidth paged attention achieves reading the KV cache"
    )
    step_overhead_ms: NonNegative = Field(
        default=2.0, description="Fixed cost of one engine step: scheduler, sampling, Python, kernel launches"
    )
    request_overhead_ms: NonNegative = Field(
        default=50.0, description="Fixed TTFT cost of a request: HTTP, chat template, tokenisation, first-token return"
    )
    allreduce_latency_us: NonNegative = Field(
        default=30.0, description="Fixed latency of one tensor-parallel all-reduce (two per layer per step)"
    )
    ampere_compute_scale: float = Field(
        default=1.7,
        gt=0,
        description="Multiplier on both MFUs for Ampere GPUs, which sustain a larger share of their (lower) datasheet "
        "peak than Hopper does; other architectures use 1.0",
    )

    # --- fitted, calibration only: other engines --------------------------------------------------------------
    trtllm_compute_scale: float = Field(
        default=1.3,
        gt=0,
        description="Calibration only: MFU multiplier for points measured on TensorRT-LLM-based engines (NVIDIA NIM), "
        "so that they inform the shared constants without biasing the vLLM efficiencies",
    )
    trtllm_kv_scale: float = Field(
        default=2.4, gt=0, description="Calibration only: KV-read efficiency multiplier for TensorRT-LLM-based engines"
    )
    trtllm_request_overhead_ms: NonNegative = Field(
        default=50.0, description="Calibration only: request_overhead_ms for TensorRT-LLM-based engines"
    )

    # --- assumed: interconnect ----------------------------------------------------------------------------------
    allreduce_bw_efficiency: Fraction = Field(
        default=0.5, description="Share of the quoted per-GPU interconnect bandwidth a ring all-reduce achieves"
    )

    # --- assumed: vLLM memory defaults --------------------------------------------------------------------------
    gpu_memory_utilization: Fraction = Field(default=0.90, description="vLLM --gpu-memory-utilization")
    runtime_overhead_gib: NonNegative = Field(
        default=1.5,
        description="Per-GPU memory inside the utilisation budget kept for activations, CUDA graphs and NCCL buffers",
    )
    kv_cache_bytes: float = Field(default=2.0, gt=0, description="Bytes per KV element (2 = bf16/fp16 KV cache)")
    block_size: int = Field(default=16, gt=0, description="vLLM KV block size in tokens; sequences round up to it")

    # --- assumed: scheduler defaults (vLLM >= 0.8, OpenAI server) -----------------------------------------------
    large_gpu_max_num_seqs: int = Field(default=1024, gt=0, description="max_num_seqs on >= 70 GB non-A100 GPUs")
    large_gpu_max_batched_tokens: int = Field(default=8192, gt=0, description="max_num_batched_tokens, same GPUs")
    small_gpu_max_num_seqs: int = Field(default=256, gt=0, description="max_num_seqs on every other GPU")
    small_gpu_max_batched_tokens: int = Field(default=2048, gt=0, description="max_num_batched_tokens, same GPUs")

    # --- assumed: tails -----------------------------------------------------------------------------------------
    itl_tail_jitter: NonNegative = Field(
        default=0.05, description="Extra per-request ITL at p95 beyond the prefill-interference spread (p90: half)"
    )
    ttft_tail_jitter: NonNegative = Field(
        default=0.10, description="Extra TTFT service time at p95 (tokenisation, batching position; p90: half)"
    )
    e2e_tail_jitter: NonNegative = Field(default=0.03, description="Extra decode time at p95 of end-to-end latency")
    max_prefill_utilisation: Fraction = Field(
        default=0.99, description="Cap on the prefill utilisation used by the TTFT tail (exponential wait) term"
    )

    # --- confidence rule inputs ---------------------------------------------------------------------------------
    calibrated_architectures: tuple[str, ...] = Field(
        default=("hopper", "ampere"), description="GPU architectures (lower case) with calibration points"
    )
    base_confidence: Fraction = Field(default=0.75, description="Confidence of an in-distribution estimate")


DEFAULT_CONSTANTS = EstimatorConstants()
"""The committed, calibrated constants."""

FITTED_FIELDS: tuple[str, ...] = (
    "prefill_mfu",
    "mem_bw_efficiency",
    "kv_bw_efficiency",
    "step_overhead_ms",
    "request_overhead_ms",
    "allreduce_latency_us",
    "ampere_compute_scale",
    "trtllm_compute_scale",
    "trtllm_kv_scale",
    "trtllm_request_overhead_ms",
)
"""The fields :func:`kb.estimator.calibration.fit_constants` searches over."""
