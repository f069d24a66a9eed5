"""Pydantic domain types of the knowledge base: the shapes of seed files, repository results and tool I/O."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PositiveFloat = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]


class Quantization(StrEnum):
    """Weight formats a model can be served in."""

    BF16 = "bf16"
    FP8 = "fp8"
    INT4 = "int4"


class ExperienceClass(StrEnum):
    """How long a user is willing to wait, from keystroke-speed to overnight."""

    INSTANT = "instant"
    CONVERSATIONAL = "conversational"
    INTERACTIVE = "interactive"
    DEFERRED = "deferred"
    BATCH = "batch"


class BenchmarkSource(StrEnum):
    """Where a benchmark row came from; measured and imported rows outrank estimated ones."""

    MEASURED = "measured"
    IMPORTED = "imported"
    ESTIMATED = "estimated"


class PricingModel(StrEnum):
    """How GPU capacity is paid for."""

    ON_DEMAND = "on_demand"
    SPOT = "spot"
    RESERVED = "reserved"
    PURCHASE = "purchase"


class LoadKind(StrEnum):
    """What a benchmark row held constant while measuring: concurrent requests, request rate, or saturation."""

    CONCURRENCY = "concurrency"
    RATE = "rate"
    SATURATION = "saturation"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sourced(_Frozen):
    """Every seed row says where its facts come from and when they were read."""

    source: str = Field(min_length=1, description="Public URL or citation the figures come from")
    source_date: dt.date


class QuantizationOption(_Frozen):
    name: Quantization
    bytes_per_param: PositiveFloat


class QualityScore(_Frozen):
    """Relative answer quality for one use case (0-100), with the benchmark it derives from."""

    use_case: str
    score: Annotated[float, Field(ge=0, le=100)]
    source: str


class ModelSpec(Sourced):
    """An open model in the catalog, with the architecture facts the performance model needs."""

    hf_repo: str = Field(min_length=3, description="Hugging Face repo id, e.g. meta-llama/Llama-3.1-8B-Instruct")
    name: str = Field(description="Short display name, e.g. Llama 3.1 8B Instruct")
    family: str
    total_params_b: PositiveFloat = Field(description="Total parameters, billions")
    active_params_b: PositiveFloat = Field(description="Parameters active per token, billions (== total for dense)")
    num_layers: PositiveInt
    hidden_size: PositiveInt
    num_attention_heads: PositiveInt
    num_kv_heads: PositiveInt
    head_dim: PositiveInt
    vocab_size: PositiveInt
    max_context: PositiveInt
    kv_lora_rank: int | None = Field(
        default=None, description="For multi-head latent attention (DeepSeek): compressed KV width per layer"
    )
    license: str
    tasks: list[str]
    domains: list[str]
    quality: list[QualityScore]
    approved_for_production: bool = True
    quantizations: list[QuantizationOption]

    @property
    def is_moe(self) -> bool:
        return self.active_params_b < self.total_params_b

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        if self.active_params_b > self.total_params_b:
            raise ValueError("active_params_b cannot exceed total_params_b")
        if not self.quantizations:
            raise ValueError("a model needs at least one quantisation")
        return self


class GPUSpec(Sourced):
    """An accelerator type with the figures the performance model and the manifests need."""

    name: str = Field(description="Canonical short name used everywhere, e.g. H100")
    aliases: list[str] = Field(default_factory=list)
    vendor: Literal["nvidia", "amd"]
    architecture: str
    vram_gb: PositiveFloat
    memory_bandwidth_gbps: PositiveFloat = Field(description="HBM/GDDR bandwidth, GB/s")
    bf16_tflops: PositiveFloat = Field(description="Dense BF16 tensor TFLOP/s (no sparsity)")
    fp8_tflops: PositiveFloat | None = Field(default=None, description="Dense FP8 TFLOP/s; None when unsupported")
    tdp_watts: PositiveInt
    interconnect_gbps: PositiveFloat = Field(description="Per-GPU peer bandwidth (NVLink/xGMI/PCIe), GB/s")
    max_tensor_parallel: PositiveInt
    node_selector_label: str = Field(description="Label key Kubernetes nodes use for this GPU")
    node_selector_value: str = Field(description="Label value, e.g. NVIDIA-H100-80GB-HBM3")
    resource_name: str = Field(description="Extended resource name, e.g. nvidia.com/gpu")


class GPUPriceSpec(_Frozen):
    gpu: str
    provider: str
    pricing_model: PricingModel
    usd_per_gpu_hour: PositiveFloat | None = None
    purchase_price_usd: PositiveFloat | None = None
    region: str
    effective_date: dt.date
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> GPUPriceSpec:
        if self.pricing_model is PricingModel.PURCHASE:
            if self.purchase_price_usd is None:
                raise ValueError("a purchase price needs purchase_price_usd")
        elif self.usd_per_gpu_hour is None:
            raise ValueError(f"a {self.pricing_model.value} price needs usd_per_gpu_hour")
        return self


class TrafficProfile(_Frozen):
    prompt_tokens: PositiveInt
    output_tokens: PositiveInt


class SLOTargets(_Frozen):
    """p95 latency targets in milliseconds."""

    ttft_p95_ms: PositiveFloat
    itl_p95_ms: PositiveFloat
    e2e_p95_ms: PositiveFloat


class SLOTemplateSpec(Sourced):
    """A use case mapped to its traffic shape, latency targets and user-to-QPS conversion."""

    use_case: str
    display_name: str
    description: str
    experience_class: ExperienceClass
    traffic: TrafficProfile
    slo: SLOTargets
    rationale: str
    active_user_fraction: Annotated[float, Field(gt=0, le=1)] = Field(
        description="Share of named users sending requests in the busiest minute"
    )
    requests_per_active_user_per_minute: PositiveFloat
    synonyms: list[str] = Field(default_factory=list, description="Words users say for this use case")

    def qps_for_users(self, users: int) -> float:
        """Peak requests/second that `users` named users generate."""
        return users * self.active_user_fraction * self.requests_per_active_user_per_minute / 60.0


class BenchmarkKey(_Frozen):
    """The exact-match key of the reference design: which model on what, at which traffic shape."""

    model_hf_repo: str
    hardware: str
    hardware_count: PositiveInt
    prompt_tokens: PositiveInt
    output_tokens: PositiveInt
    quantization: Quantization = Quantization.BF16


class LatencyStats(_Frozen):
    mean: NonNegativeFloat
    p90: NonNegativeFloat
    p95: NonNegativeFloat
    p99: NonNegativeFloat


class BenchmarkRecord(_Frozen):
    """One measured, imported or estimated performance point (latencies in ms, throughput per second)."""

    model_hf_repo: str
    hardware: str
    hardware_count: PositiveInt
    framework: str = "vllm"
    framework_version: str = ""
    prompt_tokens: PositiveInt
    output_tokens: PositiveInt
    quantization: Quantization = Field(default=Quantization.BF16, description="Weight format the server ran")
    load_kind: LoadKind
    load_value: NonNegativeFloat = Field(
        description="Concurrency or request rate held during the run; 0 for saturation"
    )
    ttft_ms: LatencyStats
    itl_ms: LatencyStats
    e2e_ms: LatencyStats
    tps: LatencyStats | None = Field(default=None, description="Per-request output tokens/second")
    requests_per_second: NonNegativeFloat
    tokens_per_second: NonNegativeFloat = Field(description="Output tokens/second across all requests")
    concurrency: NonNegativeFloat | None = Field(default=None, description="Mean in-flight requests observed")
    source: BenchmarkSource
    confidence: Annotated[float, Field(ge=0, le=1)] = 1.0
    provenance_file: str | None = None
    provenance_tool: str | None = None
    provenance_date: dt.date | None = None

    @property
    def key(self) -> BenchmarkKey:
        return BenchmarkKey(
            model_hf_repo=self.model_hf_repo,
            hardware=self.hardware,
            hardware_count=self.hardware_count,
            prompt_tokens=self.prompt_tokens,
            output_tokens=self.output_tokens,
            quantization=self.quantization,
        )
