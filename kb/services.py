"""Knowledge-base use cases that span repositories: readiness on start-up and report imports."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select

from kb.db import Database
from kb.domain import GPUSpec, ModelSpec, Quantization, TrafficProfile
from kb.errors import ValidationFailedError
from kb.estimator.fill import catalog_estimates
from kb.importers.guidellm import load_guidellm_report
from kb.orm import ModelRow
from kb.repositories import benchmarks as bench_repo
from kb.repositories.catalog import get_gpu, load_snapshot
from kb.seed import SeedReport, apply_bundle, load_bundle


def seed(db: Database, data_dir: Path | None = None, *, estimate: bool = True) -> SeedReport:
    """Validate the seed files and upsert them; then (re)fill estimated benchmarks when the catalog changed."""
    bundle = load_bundle(data_dir)
    with db.session() as session:
        report = apply_bundle(session, bundle)
        has_estimates = bench_repo.count_by_source(session).get("estimated", 0) > 0
    if estimate and (report.changed or not has_estimates):
        report.estimated = estimate_benchmarks(db).summary()
    return report


def estimate_benchmarks(db: Database) -> bench_repo.UpsertCounts:
    """Replace all estimated rows with fresh estimates for the catalog's models x GPUs x TP x standard profiles."""
    with db.session() as session:
        snapshot = load_snapshot(session)
    profiles = sorted({t.traffic for t in snapshot.templates}, key=lambda t: (t.prompt_tokens, t.output_tokens))
    jobs = [(snapshot.models, snapshot.gpus, profile) for profile in profiles]
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            batches = list(pool.map(_estimate_profile, jobs))
    else:
        batches = [_estimate_profile(job) for job in jobs]
    with db.session() as session:
        return bench_repo.replace_estimates(session, (row for batch in batches for row in batch))


def _estimate_profile(job: tuple[list[ModelSpec], list[GPUSpec], TrafficProfile]) -> list[dict[str, Any]]:
    """Estimated rows of one traffic profile as column values (runs in a worker process)."""
    models, gpus, profile = job
    return [bench_repo.record_to_values(r) for r in catalog_estimates(models, gpus, [profile])]


def ensure_ready(db: Database) -> SeedReport | None:
    """Bring the schema to head and seed an empty catalog; used by the server and CLI on start."""
    db.upgrade()
    with db.session() as session:
        empty = session.execute(select(func.count(ModelRow.id))).scalar_one() == 0
    return seed(db) if empty else None


class ImportResult(BaseModel):
    file: str
    layout: str
    model: str
    hardware: str
    hardware_count: int
    inserted: int
    updated: int
    unchanged: int
    model_in_catalog: bool

    def summary(self) -> str:
        text = (
            f"{self.file}: {self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged "
            f"({self.layout} layout, {self.model} on {self.hardware_count}x {self.hardware})"
        )
        if not self.model_in_catalog:
            text += f"\nwarning: {self.model} is not in the model catalog; `compass kb health` will list it"
        return text


def import_guidellm(
    db: Database,
    path: Path,
    *,
    model: str,
    hardware: str,
    hardware_count: int,
    framework_version: str = "",
    prompt_tokens: int | None = None,
    output_tokens: int | None = None,
    quantization: Quantization = Quantization.BF16,
) -> ImportResult:
    """Import a GuideLLM report in one transaction: all of its benchmarks, or none of them."""
    if hardware_count < 1:
        raise ValidationFailedError(f"--count must be at least 1 GPU, got {hardware_count}")
    with db.session() as session:
        gpu = get_gpu(session, hardware)
        in_catalog = session.execute(select(ModelRow.id).where(ModelRow.hf_repo == model)).first() is not None
    report = load_guidellm_report(
        path,
        model=model,
        hardware=gpu.name,
        hardware_count=hardware_count,
        framework_version=framework_version,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
    )
    records = [r.model_copy(update={"quantization": quantization}) for r in report.records]
    with db.session() as session:
        counts = bench_repo.upsert(session, records)
    return ImportResult(
        file=str(path),
        layout=report.layout,
        model=model,
        hardware=gpu.name,
        hardware_count=hardware_count,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        model_in_catalog=in_catalog,
    )
