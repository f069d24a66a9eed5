"""The deployment specification a user edits, and the recommendation types the planner returns."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kb.domain import PricingModel, Quantization, SLOTargets, TrafficProfile


class Priority(StrEnum):
    LATENCY = "latency"
    COST = "cost"
    QUALITY = "quality"
    BALANCED = "balanced"


class DeploymentModel(StrEnum):
    """Who pays for the GPUs and how: rent them, already own them, or buy them."""

    CLOUD_RENTAL = "cloud_rental"
    OWNED_HARDWARE = "owned_hardware"
    PURCHASE = "purchase"


class RankingWeights(BaseModel):
    """Relative weight of each sub-score; normalised to sum to 1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency: Annotated[float, Field(ge=0)] = 1.0
    cost: Annotated[float, Field(ge=0)] = 1.0
    quality: Annotated[float, Field(ge=0)] = 1.0

    @model_validator(mode="after")
    def _not_all_zero(self) -> RankingWeights:
        if self.latency + self.cost + self.quality <= 0:
            raise ValueError("at least one ranking weight must be positive")
        return self

    def normalised(self) -> tuple[float, float, float]:
        total = self.latency + self.cost + self.quality
        return self.latency / total, self.cost / total, self.quality / total


PRIORITY_WEIGHTS: dict[Priority, RankingWeights] = {
    Priority.LATENCY: RankingWeights(latency=0.6, cost=0.2, quality=0.2),
    Priority.COST: RankingWeights(latency=0.15, cost=0.7, quality=0.15),
    Priority.QUALITY: RankingWeights(latency=0.15, cost=0.15, quality=0.7),
    Priority.BALANCED: RankingWeights(latency=1, cost=1, quality=1),
}


class DatacenterContext(BaseModel):
    """Running costs of owned hardware and the horizon a purchase is paid off over."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    power_cost_per_kwh: Annotated[float, Field(ge=0, le=10)] | None = None
    pue: Annotated[float, Field(ge=1.0, le=3.0)] = 1.3
    amortization_months: Annotated[int, Field(ge=1, le=120)] = 36


Users = Annotated[int, Field(ge=1, le=100_000_000, description="Named users of the application")]
QPS = Annotated[float, Field(gt=0, le=1_000_000, description="Peak requests per second")]
Millis = Annotated[float, Field(gt=0, le=3_600_000)]
Tokens = Annotated[int, Field(ge=1, le=2_000_000)]


class DeploymentSpec(BaseModel):
    """What the user wants; every field is optional except that the traffic shape and SLOs must resolve.

    A use case supplies the traffic profile, p95 SLOs and the user-to-QPS conversion; explicit fields override it.
    """

    model_config = ConfigDict(extra="forbid")

    use_case: str | None = None
    prompt_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    users: Users | None = None
    concurrent_users: Users | None = Field(
        default=None, description="Users active at the same moment, each sending the use case's request rate"
    )
    qps: QPS | None = None
    ttft_p95_ms: Millis | None = None
    itl_p95_ms: Millis | None = None
    e2e_p95_ms: Millis | None = None
    budget_usd_month: Annotated[float, Field(gt=0, le=1e9)] | None = None
    priority: Priority = Priority.BALANCED
    weights: RankingWeights | None = None
    gpus: list[str] = Field(default_factory=list, max_length=64, description="Only these GPU types (empty: all)")
    exclude_gpus: list[str] = Field(default_factory=list, max_length=64)
    models: list[str] = Field(default_factory=list, max_length=256, description="Only these models (empty: all)")
    exclude_models: list[str] = Field(default_factory=list, max_length=256)
    quantizations: list[Quantization] = Field(
        default_factory=list, max_length=8, description="Allowed formats (empty: all)"
    )
    pricing_model: PricingModel = PricingModel.ON_DEMAND
    deployment_model: DeploymentModel = DeploymentModel.CLOUD_RENTAL
    datacenter: DatacenterContext = Field(default_factory=DatacenterContext)
    headroom: Annotated[float, Field(ge=1.0, le=5.0)] = 1.2
    max_gpus: Annotated[int, Field(ge=1, le=4096)] | None = None
    approved_only: bool = False
    top_k: Annotated[int, Field(ge=1, le=50)] = 5

    @model_validator(mode="after")
    def _consistent(self) -> DeploymentSpec:
        if sum(v is not None for v in (self.users, self.concurrent_users, self.qps)) > 1:
            raise ValueError("give one of users, concurrent_users or qps (qps is derived from the others)")
        clash = {g.lower() for g in self.gpus} & {g.lower() for g in self.exclude_gpus}
        if clash:
            raise ValueError(f"GPU {sorted(clash)[0]!r} is both required and excluded")
        clash = {m.lower() for m in self.models} & {m.lower() for m in self.exclude_models}
        if clash:
            raise ValueError(f"model {sorted(clash)[0]!r} is both required and excluded")
        if (self.prompt_tokens is None) != (self.output_tokens is None):
            raise ValueError("give prompt_tokens and output_tokens together")
        return self


class ResolvedSpec(BaseModel):
    """A spec with the template applied: everything the planner needs, and where each value came from."""

    model_config = ConfigDict(frozen=True)

    use_case: str | None
    traffic: TrafficProfile
    slo: SLOTargets
    qps: float
    qps_source: Literal["explicit", "users", "concurrent", "default"]
    users: int | None
    notes: list[str] = Field(default_factory=list)


class DataSource(StrEnum):
    BENCHMARKED = "benchmarked"
    ESTIMATED = "estimated"


class PredictedLatency(BaseModel):
    """p95 latencies predicted at the planned load per replica."""

    ttft_p95_ms: float
    itl_p95_ms: float
    e2e_p95_ms: float


class SLOCompliance(BaseModel):
    ttft: bool
    itl: bool
    e2e: bool

    @property
    def all(self) -> bool:
        return self.ttft and self.itl and self.e2e


class CostEstimate(BaseModel):
    deployment_model: DeploymentModel
    pricing_model: PricingModel
    provider: str | None
    usd_per_gpu_hour: float | None = Field(description="Rental rate used, when renting")
    hourly_usd: float
    monthly_usd: float
    usd_per_1k_tokens: float | None = Field(description="At the planned load, prompt + output tokens")
    capex_usd: float | None = None
    power_monthly_usd: float | None = None
    break_even_months: float | None = Field(default=None, description="Purchase vs on-demand rental")
    notes: list[str] = Field(default_factory=list)


class SubScores(BaseModel):
    """0-100, higher is better; `total` is the weighted sum used for ranking."""

    latency: float
    cost: float
    quality: float
    total: float


class PlanOption(BaseModel):
    """One viable configuration: model on GPU x TP, replicated to carry the traffic."""

    rank: int = 0
    model: str
    model_name: str
    gpu: str
    tensor_parallel: int
    quantization: Quantization
    replicas: int
    gpus_total: int
    min_replicas: int
    max_replicas: int
    max_rps_per_replica: float
    planned_rps_per_replica: float
    headroom_pct: float
    predicted: PredictedLatency
    compliance: SLOCompliance
    binding_metric: str
    cost: CostEstimate
    within_budget: bool | None
    data_source: DataSource
    confidence: float
    quality_score: float
    scores: SubScores | None = None
    rationale: str = ""

    @property
    def label(self) -> str:
        return (
            f"{self.model_name} on {self.gpus_total}x {self.gpu} (TP{self.tensor_parallel}, {self.quantization.value})"
        )


class NearMiss(BaseModel):
    """A configuration that failed, with how far off it was."""

    model: str
    gpu: str
    tensor_parallel: int
    quantization: Quantization
    failed_metric: str
    predicted_ms: float
    target_ms: float
    monthly_usd: float | None
    summary: str


class ParetoPoint(BaseModel):
    """One configuration on the cost vs p95 TTFT frontier (enough to draw and label the chart)."""

    rank: int = Field(description="Its place in the full ranking")
    label: str
    model: str
    gpu: str
    gpus_total: int
    monthly_usd: float
    ttft_p95_ms: float
    itl_p95_ms: float
    e2e_p95_ms: float


class Recommendation(BaseModel):
    spec: ResolvedSpec
    priority: Priority
    weights: RankingWeights
    options: list[PlanOption]
    total_viable: int
    considered: int
    pareto: list[ParetoPoint] = Field(description="Cost vs p95 TTFT frontier among all viable options")
    near_misses: list[NearMiss] = Field(default_factory=list)
    relaxations: list[str] = Field(default_factory=list)
    tie_break: str
    message: str
