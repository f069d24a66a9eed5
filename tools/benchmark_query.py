"""Benchmark query tool: exact-match lookup when the full key is given, filtered search otherwise."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kb.db import Database
from kb.domain import BenchmarkKey, BenchmarkRecord, BenchmarkSource, Quantization
from kb.repositories import benchmarks as bench_repo
from kb.repositories.catalog import get_gpu, get_model


class BenchmarkQuery(BaseModel):
    """Which benchmark rows to fetch. With model, hardware, count, prompt and output tokens: exact match."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="Model HF repo id or short name")
    hardware: str | None = Field(default=None, description="GPU name or alias, e.g. H100")
    hardware_count: int | None = Field(default=None, ge=1, le=64, description="GPUs per replica (TP degree)")
    prompt_tokens: int | None = Field(default=None, ge=1, le=2_000_000)
    output_tokens: int | None = Field(default=None, ge=1, le=2_000_000)
    quantization: Quantization = Quantization.BF16
    source: BenchmarkSource | None = None
    max_ttft_p95_ms: float | None = Field(default=None, gt=0)
    limit: int = Field(default=20, ge=1, le=200)


class BenchmarkQueryResult(BaseModel):
    exact: bool
    total: int
    rows: list[BenchmarkRecord]
    note: str


def query_benchmarks(database: Database, query: BenchmarkQuery) -> BenchmarkQueryResult:
    """Look up benchmark rows; names are resolved against the catalog first (typos get suggestions)."""
    with database.reader() as session:
        model = get_model(session, query.model).hf_repo if query.model else None
        hardware = get_gpu(session, query.hardware).name if query.hardware else None
        if model and hardware and query.hardware_count and query.prompt_tokens and query.output_tokens:
            key = BenchmarkKey(
                model_hf_repo=model,
                hardware=hardware,
                hardware_count=query.hardware_count,
                prompt_tokens=query.prompt_tokens,
                output_tokens=query.output_tokens,
                quantization=query.quantization,
            )
            rows = bench_repo.find_exact(session, key)
            note = (
                f"{len(rows)} load points for the exact key"
                if rows
                else "no row for this exact key; Compass never fuzzy-matches traffic profiles (the planner estimates)"
            )
            return BenchmarkQueryResult(exact=True, total=len(rows), rows=rows[: query.limit], note=note)
        page = bench_repo.search(
            session,
            bench_repo.BenchmarkFilter(
                model=model,
                hardware=hardware,
                hardware_count=query.hardware_count,
                prompt_tokens=query.prompt_tokens,
                output_tokens=query.output_tokens,
                source=query.source,
                max_ttft_p95_ms=query.max_ttft_p95_ms,
            ),
            limit=query.limit,
        )
        return BenchmarkQueryResult(
            exact=False, total=page.total, rows=page.items, note=f"{page.total} rows match; showing {len(page.items)}"
        )
