"""What the user approved: one planned option plus where to run it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from kb.domain import Quantization
from tools.specs import PlanOption, Recommendation

TargetName = Literal["local", "kubernetes", "manifests"]
MAX_ID_LENGTH = 48


class DeploymentRequest(BaseModel):
    """Everything a target needs; built from a PlanOption or from explicit model/GPU/count."""

    model: str
    gpu: str
    tensor_parallel: Annotated[int, Field(ge=1, le=64)] = 1
    quantization: Quantization = Quantization.BF16
    replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    min_replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    prompt_tokens: Annotated[int, Field(ge=1)] = 512
    output_tokens: Annotated[int, Field(ge=1)] = 256
    predicted_ttft_p95_ms: float | None = None
    predicted_itl_p95_ms: float | None = None
    predicted_e2e_p95_ms: float | None = None
    slo_ttft_p95_ms: float | None = None
    slo_itl_p95_ms: float | None = None
    slo_e2e_p95_ms: float | None = None
    monthly_usd: float | None = None
    hourly_usd: float | None = None
    use_case: str | None = None
    target: TargetName = "local"
    namespace: str | None = None
    deployment_id: str | None = Field(default=None, description="Chosen automatically when unset")
    owner: str = "local-user"
    thread_id: str | None = None
    output_dir: str | None = Field(default=None, description="Folder for the `manifests` target")

    @classmethod
    def from_option(cls, option: PlanOption, recommendation: Recommendation, **where: object) -> DeploymentRequest:
        spec = recommendation.spec
        return cls.model_validate(
            {
                "model": option.model,
                "gpu": option.gpu,
                "tensor_parallel": option.tensor_parallel,
                "quantization": option.quantization,
                "replicas": option.replicas,
                "min_replicas": option.min_replicas,
                "max_replicas": option.max_replicas,
                "prompt_tokens": spec.traffic.prompt_tokens,
                "output_tokens": spec.traffic.output_tokens,
                "predicted_ttft_p95_ms": option.predicted.ttft_p95_ms,
                "predicted_itl_p95_ms": option.predicted.itl_p95_ms,
                "predicted_e2e_p95_ms": option.predicted.e2e_p95_ms,
                "slo_ttft_p95_ms": spec.slo.ttft_p95_ms,
                "slo_itl_p95_ms": spec.slo.itl_p95_ms,
                "slo_e2e_p95_ms": spec.slo.e2e_p95_ms,
                "monthly_usd": option.cost.monthly_usd,
                "hourly_usd": option.cost.hourly_usd,
                "use_case": spec.use_case,
                **where,
            }
        )


def make_deployment_id(model: str, use_case: str | None, now: dt.datetime | None = None) -> str:
    """A DNS-1123 name like `chatbot-llama-3-1-8b-20261126-1021`, at most 48 characters."""
    now = now or dt.datetime.now(dt.UTC)
    short = model.split("/")[-1].lower()
    short = re.sub(r"-?(instruct|chat|it|hf)$", "", short)
    prefix = (use_case or "llm").split("_")[0]
    base = re.sub(r"[^a-z0-9]+", "-", f"{prefix}-{short}").strip("-")
    stamp = now.strftime("%Y%m%d-%H%M%S")
    return f"{base[: MAX_ID_LENGTH - len(stamp) - 1].rstrip('-')}-{stamp}"
