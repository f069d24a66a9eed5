"""Roofline timing of one vLLM engine step: decode tokens, prefill chunks, weight and KV reads, TP all-reduces.

One step processes ``d`` decoding sequences (one token each, reading ``ctx`` tokens of KV cache) plus ``p`` prompt
tokens of a prefill chunk (chunked prefill mixes both in one forward pass).  Its duration on one GPU of a
``tp``-way group is::

    step = overhead + max(weights, gemm) + attention + allreduce

    weights   = weights touched / (bandwidth x mem_bw_efficiency)
    gemm      = (d x 2 A / decode_mfu + p x 2 A / prefill_mfu) / (tp x peak)
    attention = d x ctx x max(kv_bytes_per_token / (bandwidth x kv_bw_efficiency), 4 L a / (tp x peak x decode_mfu))
              + p x ctx_p x 4 L a / (tp x peak x prefill_mfu)
    allreduce = 2 L x (latency + 2 (tp-1)/tp x (d+p) x hidden x 2 B / (interconnect x allreduce_bw_efficiency))

The linear layers are a roofline (streaming the weights overlaps their math); attention kernels run separately
from the GEMMs, so their time adds: KV-cache reads for decoding sequences, causal-attention FLOPs for the chunk.

with A the active parameters, L layers, a = heads x head_dim the attention width and ``ctx_p`` the mean position of
the chunk's tokens (P/2 over a whole prompt, so a full prefill costs ``2 A P + 2 L a P^2`` FLOPs, the causal
attention term).  Peak is the FP8 rate for FP8 on GPUs that have it, else BF16; both MFUs are multiplied by
``ampere_compute_scale`` on Ampere GPUs.

*Weights touched* is every resident weight for a dense model.  For MoE it is the experts the step's tokens
actually route to: with ``r = active / total`` and ``n`` tokens, ``total x max(r, 1 - (1 - r)^n)`` - equal to the
active parameters at one token and approaching the total as the batch grows (uniform routing assumption).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

from kb.domain import GPUSpec, ModelSpec, Quantization
from kb.errors import ValidationFailedError
from kb.estimator.constants import DEFAULT_CONSTANTS, EstimatorConstants
from kb.estimator.deployment import DeploymentShape, check_tokens, deployment_shape
from kb.estimator.memory import kv_bytes_per_token


class StepCoefficients(NamedTuple):
    """Per-deployment seconds-per-unit coefficients of :func:`step_seconds` (precomputed once, then reused)."""

    overhead_s: float
    weights_s: float
    moe_active_fraction: float
    kv_s_per_token: float
    decode_s_per_token: float
    decode_attn_s_per_token_ctx: float
    prefill_s_per_token: float
    prefill_attn_s_per_token_ctx: float
    allreduce_fixed_s: float
    allreduce_s_per_token: float

    def weights_seconds(self, tokens: float) -> float:
        """Time to stream the weights a step with ``tokens`` tokens touches."""
        r = self.moe_active_fraction
        if r >= 1.0:
            return self.weights_s
        touched = 1.0 - (1.0 - r) ** max(tokens, 1.0)
        return self.weights_s * (touched if touched > r else r)


@lru_cache(maxsize=8192)
def step_coefficients(shape: DeploymentShape, constants: EstimatorConstants = DEFAULT_CONSTANTS) -> StepCoefficients:
    """Turn a deployment shape and the constants into per-token/per-step seconds."""
    tp = shape.tp
    bandwidth = shape.bandwidth_gbps * 1e9 * constants.mem_bw_efficiency
    kv_bandwidth = shape.bandwidth_gbps * 1e9 * constants.kv_bw_efficiency
    peak = shape.peak_tflops * 1e12 * tp
    attn_width = shape.num_attention_heads * shape.head_dim
    scale = constants.ampere_compute_scale if shape.architecture == "ampere" else 1.0
    decode_flops = peak * min(constants.decode_mfu * scale, 1.0)
    prefill_flops = peak * min(constants.prefill_mfu * scale, 1.0)
    if tp > 1:
        layers_x2 = 2.0 * shape.num_layers
        ring = 2.0 * (tp - 1) / tp
        link = shape.interconnect_gbps * 1e9 * constants.allreduce_bw_efficiency
        ar_fixed = layers_x2 * constants.allreduce_latency_us * 1e-6
        ar_token = layers_x2 * ring * shape.hidden_size * 2.0 / link
    else:
        ar_fixed = 0.0
        ar_token = 0.0
    return StepCoefficients(
        overhead_s=constants.step_overhead_ms * 1e-3,
        weights_s=shape.total_params * shape.bytes_per_param / tp / bandwidth,
        moe_active_fraction=shape.active_params / shape.total_params,
        kv_s_per_token=kv_bytes_per_token(shape, constants) / kv_bandwidth,
        decode_s_per_token=2.0 * shape.active_params / decode_flops,
        decode_attn_s_per_token_ctx=4.0 * shape.num_layers * attn_width / decode_flops,
        prefill_s_per_token=2.0 * shape.active_params / prefill_flops,
        prefill_attn_s_per_token_ctx=4.0 * shape.num_layers * attn_width / prefill_flops,
        allreduce_fixed_s=ar_fixed,
        allreduce_s_per_token=ar_token,
    )


def step_seconds(
    coeff: StepCoefficients,
    decode_seqs: float,
    context_tokens: float,
    prefill_tokens: float = 0.0,
    prefill_context: float = 0.0,
) -> float:
    """Duration of one engine step (see the module docstring for the formula)."""
    tokens = decode_seqs + prefill_tokens
    weights = coeff.weights_seconds(tokens)
    gemm = decode_seqs * coeff.decode_s_per_token + prefill_tokens * coeff.prefill_s_per_token
    kv_read = coeff.kv_s_per_token
    kv_math = coeff.decode_attn_s_per_token_ctx
    attention = decode_seqs * context_tokens * (kv_read if kv_read > kv_math else kv_math)
    attention += prefill_tokens * prefill_context * coeff.prefill_attn_s_per_token_ctx
    allreduce = coeff.allreduce_fixed_s + coeff.allreduce_s_per_token * tokens
    return coeff.overhead_s + (weights if weights > gemm else gemm) + attention + allreduce


def prefill_chunks(prompt_tokens: int, max_batched_tokens: int) -> int:
    """Number of chunked-prefill steps a prompt needs when it has the whole token budget to itself."""
    return max(1, math.ceil(prompt_tokens / max_batched_tokens))


def prefill_seconds(
    shape: DeploymentShape, prompt_tokens: int, constants: EstimatorConstants = DEFAULT_CONSTANTS
) -> float:
    """Time to prefill one prompt on an otherwise idle server (the TTFT floor)."""
    coeff = step_coefficients(shape, constants)
    chunks = prefill_chunks(prompt_tokens, shape.max_batched_tokens)
    chunk = prompt_tokens / chunks
    return chunks * step_seconds(coeff, 0.0, 0.0, chunk, prompt_tokens / 2.0)


def decode_step_seconds(
    shape: DeploymentShape, batch: int, context_tokens: float, constants: EstimatorConstants = DEFAULT_CONSTANTS
) -> float:
    """Duration of a pure decode step for ``batch`` sequences of ``context_tokens`` average context."""
    return step_seconds(step_coefficients(shape, constants), float(batch), context_tokens)


def offline_batch_latency_seconds(
    shape: DeploymentShape,
    batch: int,
    prompt_tokens: int,
    output_tokens: int,
    max_batched_tokens: int,
    constants: EstimatorConstants = DEFAULT_CONSTANTS,
) -> float:
    """End-to-end latency of ``batch`` identical requests started together (vLLM ``benchmark_latency``)."""
    coeff = step_coefficients(shape, constants)
    total_prompt = batch * prompt_tokens
    chunks = max(1, math.ceil(total_prompt / max_batched_tokens))
    prefill = chunks * step_seconds(coeff, 0.0, 0.0, total_prompt / chunks, prompt_tokens / 2.0)
    decode = (output_tokens - 1) * step_seconds(coeff, float(batch), prompt_tokens + output_tokens / 2.0)
    return prefill + decode


def prefill_time_ms(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quantization: Quantization,
    prompt_tokens: int,
    constants: EstimatorConstants = DEFAULT_CONSTANTS,
) -> float:
    """Milliseconds to prefill ``prompt_tokens`` alone: 2 x active x P (+ attention) FLOPs at prefill MFU."""
    check_tokens(prompt_tokens, 1, model.max_context)
    return prefill_seconds(deployment_shape(model, gpu, tp, quantization, constants), prompt_tokens, constants) * 1e3


def decode_time_ms(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quantization: Quantization,
    batch: int,
    context_tokens: int,
    constants: EstimatorConstants = DEFAULT_CONSTANTS,
) -> float:
    """Milliseconds per output token for ``batch`` sequences decoding together at ``context_tokens`` context."""
    if batch <= 0:
        raise ValidationFailedError(f"batch must be a positive number of sequences, got {batch}")
    check_tokens(context_tokens, 1)
    shape = deployment_shape(model, gpu, tp, quantization, constants)
    return decode_step_seconds(shape, batch, float(context_tokens), constants) * 1e3
