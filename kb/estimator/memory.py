"""Memory fit: do the weights fit on ``tp`` GPUs, how many KV-cache tokens remain, how many sequences run at once.

Per GPU, vLLM gets ``gpu_memory_utilization x VRAM``.  From that budget come

* the weights: ``total_params x bytes_per_param / tp`` (every expert of an MoE model is resident);
* a runtime reserve (activations of the largest chunk, CUDA graphs, NCCL buffers): ``runtime_overhead_gib``;
* the KV cache: everything left.

KV bytes per token over the whole model are ``2 x layers x kv_heads x head_dim x kv_bytes`` (K and V); tensor
parallelism splits the KV heads, so a GPU holds ``1 / min(tp, kv_heads)`` of it (heads are replicated when there
are fewer KV heads than GPUs).  Multi-head latent attention (``kv_lora_rank`` set) caches
``(kv_lora_rank + 64) x layers x kv_bytes`` per token, replicated on every GPU.

The catalog's ``vram_gb`` is the marketed capacity; for HBM parts that equals GiB (an "80 GB" H100 reports
79.6 GiB), so it is read as GiB.  A sequence needs KV blocks for its full ``prompt + output`` length, rounded up to
the 16-token block size - the conservative admission vLLM itself applies to ``max_model_len``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from kb.domain import GPUSpec, ModelSpec, Quantization
from kb.errors import ValidationFailedError
from kb.estimator.constants import DEFAULT_CONSTANTS, EstimatorConstants, GiB
from kb.estimator.deployment import MLA_ROPE_DIM, DeploymentShape, deployment_shape


@dataclass(frozen=True, slots=True)
class MemoryFit:
    """Outcome of the memory check for one deployment (sizes per GPU)."""

    fits: bool
    reason: str | None
    weights_gb_per_gpu: float
    budget_gb_per_gpu: float
    kv_cache_gb_per_gpu: float
    kv_bytes_per_token_per_gpu: float
    kv_capacity_tokens: int
    sequence_tokens: int | None
    max_concurrent_sequences: int | None


def kv_bytes_per_token(shape: DeploymentShape, constants: EstimatorConstants = DEFAULT_CONSTANTS) -> float:
    """KV-cache bytes one token occupies on one GPU of the deployment."""
    if shape.kv_lora_rank is not None:
        return float((shape.kv_lora_rank + MLA_ROPE_DIM) * shape.num_layers) * constants.kv_cache_bytes
    whole = 2.0 * shape.num_layers * shape.num_kv_heads * shape.head_dim * constants.kv_cache_bytes
    return whole / min(shape.tp, shape.num_kv_heads)


def round_to_block(tokens: int, constants: EstimatorConstants = DEFAULT_CONSTANTS) -> int:
    block = constants.block_size
    return -(-tokens // block) * block


@dataclass(frozen=True, slots=True)
class _MemoryNumbers:
    weights_bytes: float
    budget_bytes: float
    kv_bytes: float
    kv_per_token: float
    capacity_tokens: int


@lru_cache(maxsize=8192)
def _memory_numbers(shape: DeploymentShape, constants: EstimatorConstants) -> _MemoryNumbers:
    weights = shape.total_params * shape.bytes_per_param / shape.tp
    budget = shape.vram_gb * GiB * constants.gpu_memory_utilization
    kv_bytes = budget - weights - constants.runtime_overhead_gib * GiB
    per_token = kv_bytes_per_token(shape, constants)
    capacity = int(kv_bytes // per_token) if kv_bytes > 0 else 0
    return _MemoryNumbers(weights, budget, max(kv_bytes, 0.0), per_token, capacity)


def kv_capacity_tokens(shape: DeploymentShape, constants: EstimatorConstants = DEFAULT_CONSTANTS) -> int:
    """Tokens of KV cache the deployment holds (0 when the weights alone do not fit)."""
    return _memory_numbers(shape, constants).capacity_tokens


def max_sequences(
    shape: DeploymentShape, sequence_tokens: int, constants: EstimatorConstants = DEFAULT_CONSTANTS
) -> int:
    """How many sequences of ``sequence_tokens`` (prompt + output) fit in the KV cache at once."""
    return kv_capacity_tokens(shape, constants) // round_to_block(sequence_tokens, constants)


def fit_for_shape(
    shape: DeploymentShape, sequence_tokens: int | None = None, constants: EstimatorConstants = DEFAULT_CONSTANTS
) -> MemoryFit:
    """The memory check on an already validated shape."""
    numbers = _memory_numbers(shape, constants)
    gb = 1e9
    reason: str | None = None
    max_seqs: int | None = None
    overhead = constants.runtime_overhead_gib * GiB
    if numbers.weights_bytes + overhead >= numbers.budget_bytes:
        reason = (
            f"weights need {numbers.weights_bytes / gb:.1f} GB per GPU (plus {overhead / gb:.1f} GB runtime reserve) "
            f"but {shape.tp} x {shape.gpu} at {constants.gpu_memory_utilization:.0%} utilisation leaves "
            f"{numbers.budget_bytes / gb:.1f} GB per GPU"
        )
    elif sequence_tokens is not None:
        max_seqs = numbers.capacity_tokens // round_to_block(sequence_tokens, constants)
        if max_seqs < 1:
            reason = (
                f"a {sequence_tokens}-token sequence needs "
                f"{round_to_block(sequence_tokens, constants) * numbers.kv_per_token / gb:.2f} GB of KV cache per GPU "
                f"but only {numbers.kv_bytes / gb:.2f} GB is left after the weights"
            )
    elif numbers.capacity_tokens < constants.block_size:
        reason = "no room for even one KV block after the weights"
    return MemoryFit(
        fits=reason is None,
        reason=reason,
        weights_gb_per_gpu=numbers.weights_bytes / gb,
        budget_gb_per_gpu=numbers.budget_bytes / gb,
        kv_cache_gb_per_gpu=numbers.kv_bytes / gb,
        kv_bytes_per_token_per_gpu=numbers.kv_per_token,
        kv_capacity_tokens=numbers.capacity_tokens,
        sequence_tokens=sequence_tokens,
        max_concurrent_sequences=max_seqs,
    )


def memory_fit(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quantization: Quantization,
    sequence_tokens: int | None = None,
    constants: EstimatorConstants = DEFAULT_CONSTANTS,
) -> MemoryFit:
    """Check whether ``model`` in ``quantization`` fits on ``tp`` x ``gpu``.

    ``sequence_tokens`` (prompt + output) additionally asks how many such sequences run concurrently; the config
    does not fit when not even one does.  Invalid inputs (TP, quantisation, token counts) raise
    ValidationFailedError; a config that is valid but too big returns ``fits=False`` with a reason.
    """
    if sequence_tokens is not None and sequence_tokens <= 0:
        raise ValidationFailedError(f"sequence_tokens must be a positive number of tokens, got {sequence_tokens}")
    shape = deployment_shape(model, gpu, tp, quantization, constants)
    return fit_for_shape(shape, sequence_tokens, constants)
