"""Data health: cross-reference and staleness checks over the knowledge base."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.orm import BenchmarkRow, GPUPriceRow, GPURow, ModelRow, SLOTemplateRow


class HealthProblem(BaseModel):
    check: str
    subject: str
    detail: str


class HealthReport(BaseModel):
    """Problems found, grouped by check; `ok` when there are none."""

    checked_at: dt.datetime
    stale_after_days: int
    counts: dict[str, int] = Field(description="Rows per table")
    problems: list[HealthProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


CHECKS = {
    "empty_catalog": "catalogs with no rows at all (run `compass kb seed`)",
    "models_without_benchmarks": "catalog models with no benchmark rows",
    "benchmarks_unknown_model": "benchmark rows whose model is not in the catalog",
    "benchmarks_unknown_gpu": "benchmark rows whose hardware is not in the catalog",
    "gpus_without_prices": "GPU types with no price at all",
    "stale_prices": "prices older than the staleness limit",
    "profiles_without_benchmarks": "SLO templates whose traffic profile has no benchmarks",
}


def check_health(session: Session, *, stale_after_days: int = 180, today: dt.date | None = None) -> HealthReport:
    today = today or dt.date.today()
    problems: list[HealthProblem] = []

    models = set(session.scalars(select(ModelRow.hf_repo)))
    gpus = set(session.scalars(select(GPURow.name)))
    bench_models = set(session.scalars(select(BenchmarkRow.model_hf_repo).distinct()))
    bench_gpus = set(session.scalars(select(BenchmarkRow.hardware).distinct()))
    profiles = {
        tuple(row) for row in session.execute(select(BenchmarkRow.prompt_tokens, BenchmarkRow.output_tokens).distinct())
    }
    priced = set(session.scalars(select(GPUPriceRow.gpu).distinct()))

    for repo in sorted(models - bench_models):
        problems.append(HealthProblem(check="models_without_benchmarks", subject=repo, detail="no benchmark rows"))
    for repo in sorted(bench_models - models):
        problems.append(
            HealthProblem(
                check="benchmarks_unknown_model",
                subject=repo,
                detail="benchmarks exist but model is not in the catalog",
            )
        )
    for gpu in sorted(bench_gpus - gpus):
        problems.append(
            HealthProblem(
                check="benchmarks_unknown_gpu", subject=gpu, detail="benchmarks exist but GPU is not in the catalog"
            )
        )
    for gpu in sorted(gpus - priced):
        problems.append(HealthProblem(check="gpus_without_prices", subject=gpu, detail="no price of any pricing model"))
    limit = today - dt.timedelta(days=stale_after_days)
    for price in session.scalars(
        select(GPUPriceRow).where(GPUPriceRow.effective_date < limit).order_by(GPUPriceRow.gpu)
    ):
        age = (today - price.effective_date).days
        problems.append(
            HealthProblem(
                check="stale_prices",
                subject=f"{price.gpu} {price.provider} {price.pricing_model} {price.region}",
                detail=f"effective {price.effective_date.isoformat()}, {age} days old (limit {stale_after_days})",
            )
        )
    for template in session.scalars(select(SLOTemplateRow).order_by(SLOTemplateRow.id)):
        if (template.prompt_tokens, template.output_tokens) not in profiles:
            problems.append(
                HealthProblem(
                    check="profiles_without_benchmarks",
                    subject=template.use_case,
                    detail=f"no benchmarks for {template.prompt_tokens}->{template.output_tokens} tokens",
                )
            )
    counts = {
        "models": len(models),
        "gpus": len(gpus),
        "gpu_prices": session.execute(select(func.count(GPUPriceRow.id))).scalar_one(),
        "slo_templates": session.execute(select(func.count(SLOTemplateRow.id))).scalar_one(),
        "benchmarks": session.execute(select(func.count(BenchmarkRow.id))).scalar_one(),
    }
    for table in ("models", "gpus", "slo_templates"):
        if counts[table] == 0:
            problems.insert(
                0, HealthProblem(check="empty_catalog", subject=table, detail="no rows; run `compass kb seed`")
            )
    return HealthReport(
        checked_at=dt.datetime.now(dt.UTC), stale_after_days=stale_after_days, counts=counts, problems=problems
    )
