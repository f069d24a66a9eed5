"""Validated, hashable description of one deployment: a model served in a quantisation on ``tp`` GPUs of one type.

``deployment_shape`` is the single entry point for input checking.  It turns the Pydantic ModelSpec/GPUSpec (which
hold lists and are therefore unhashable) into a small frozen dataclass of numbers that the cached model functions
key on.  Every rule a caller can break raises :class:`kb.errors.ValidationFailedError` with a message naming the
offending value and what would be accepted.
"""

from __future__ import annotations

from typing import NamedTuple

from kb.domain import GPUSpec, ModelSpec, Quantization
from kb.errors import ValidationFailedError
from kb.estimator.constants import DEFAULT_CONSTANTS, EstimatorConstants

ALLOWED_TP: tuple[int, ...] = (1, 2, 4, 8)
MLA_ROPE_DIM = 64
"""Width of the decoupled RoPE key that multi-head latent attention caches next to the compressed KV."""


class DeploymentShape(NamedTuple):
    """Every number the performance model needs about (model, GPU, tp, quantisation); hashable and immutable.

    A NamedTuple rather than a frozen dataclass: it is built on every public call, and tuple construction and
    hashing run in C.
    """

    model: str
    gpu: str
    tp: int
    quantization: Quantization
    total_params: float
    active_params: float
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    kv_lora_rank: int | None
    max_context: int
    bytes_per_param: float
    vram_gb: float
    bandwidth_gbps: float
    peak_tflops: float
    interconnect_gbps: float
    max_num_seqs: int
    max_batched_tokens: int
    architecture: str

    @property
    def is_moe(self) -> bool:
        return self.active_params < self.total_params


def scheduler_limits(gpu: GPUSpec, constants: EstimatorConstants = DEFAULT_CONSTANTS) -> tuple[int, int]:
    """vLLM's default (max_num_seqs, max_num_batched_tokens) for the OpenAI server on this GPU.

    vLLM (>= 0.8, ``EngineArgs._set_default_args``) uses 1024 sequences / 8192 tokens on GPUs with at least 70 GiB
    that are not A100s (H100, H200, MI300X...), and 256 / 2048 everywhere else.
    """
    if gpu.vram_gb >= 70 and "a100" not in gpu.name.lower():
        return constants.large_gpu_max_num_seqs, constants.large_gpu_max_batched_tokens
    return constants.small_gpu_max_num_seqs, constants.small_gpu_max_batched_tokens


def peak_tflops(gpu: GPUSpec, quantization: Quantization) -> float:
    """Dense tensor TFLOP/s for the dtype the GEMMs run in: FP8 where the GPU has FP8 units, else BF16.

    INT4 (AWQ/GPTQ, W4A16) dequantises to BF16, and FP8 on a GPU without FP8 units runs as W8A16, so both use the
    BF16 rate.
    """
    if quantization is Quantization.FP8 and gpu.fp8_tflops is not None:
        return gpu.fp8_tflops
    return gpu.bf16_tflops


def bytes_per_param(model: ModelSpec, quantization: Quantization) -> float:
    """Bytes per weight for ``quantization`` as the model's catalog entry lists it."""
    for option in model.quantizations:
        if option.name is quantization:
            return option.bytes_per_param
    offered = ", ".join(o.name.value for o in model.quantizations)
    raise ValidationFailedError(
        f"{model.hf_repo} is not offered in {quantization.value}; its catalog entry lists: {offered}"
    )


def check_tokens(prompt_tokens: int, output_tokens: int, max_context: int | None = None) -> None:
    """Reject non-positive token counts and requests longer than the model's context window."""
    if prompt_tokens <= 0:
        raise ValidationFailedError(f"prompt_tokens must be a positive number of tokens, got {prompt_tokens}")
    if output_tokens <= 0:
        raise ValidationFailedError(f"output_tokens must be a positive number of tokens, got {output_tokens}")
    if max_context is not None and prompt_tokens + output_tokens > max_context:
        raise ValidationFailedError(
            f"prompt_tokens + output_tokens = {prompt_tokens + output_tokens} exceeds the model's context window "
            f"of {max_context} tokens"
        )


def check_tensor_parallel(model: ModelSpec, gpu: GPUSpec, tp: int) -> None:
    """TP must be 1, 2, 4 or 8, at most what one node of this GPU offers, and divide the attention heads."""
    if tp not in ALLOWED_TP:
        raise ValidationFailedError(f"tensor parallel degree must be one of {list(ALLOWED_TP)}, got {tp}")
    if tp > gpu.max_tensor_parallel:
        raise ValidationFailedError(
            f"tensor parallel degree {tp} exceeds the {gpu.max_tensor_parallel} {gpu.name} GPUs one node offers"
        )
    if model.num_attention_heads % tp != 0:
        raise ValidationFailedError(
            f"tensor parallel degree {tp} does not divide the {model.num_attention_heads} attention heads of "
            f"{model.hf_repo}"
        )


def deployment_shape(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quantization: Quantization,
    constants: EstimatorConstants = DEFAULT_CONSTANTS,
) -> DeploymentShape:
    """Validate (TP, quantisation) for this model and GPU and return the hashable shape the model computes on."""
    check_tensor_parallel(model, gpu, tp)
    bpp = bytes_per_param(model, quantization)
    max_seqs, max_tokens = scheduler_limits(gpu, constants)
    return DeploymentShape(
        model=model.hf_repo,
        gpu=gpu.name,
        tp=tp,
        quantization=quantization,
        total_params=model.total_params_b * 1e9,
        active_params=model.active_params_b * 1e9,
        num_layers=model.num_layers,
        hidden_size=model.hidden_size,
        num_attention_heads=model.num_attention_heads,
        num_kv_heads=model.num_kv_heads,
        head_dim=model.head_dim,
        kv_lora_rank=model.kv_lora_rank,
        max_context=model.max_context,
        bytes_per_param=bpp,
        vram_gb=gpu.vram_gb,
        bandwidth_gbps=gpu.memory_bandwidth_gbps,
        peak_tflops=peak_tflops(gpu, quantization),
        interconnect_gbps=gpu.interconnect_gbps,
        max_num_seqs=max_seqs,
        max_batched_tokens=max_tokens,
        architecture=gpu.architecture.lower(),
    )
