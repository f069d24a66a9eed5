"""Where load curves come from: the benchmark table (cached until it changes) and the estimator for the rest."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, select

from kb.db import Database
from kb.domain import BenchmarkSource, LoadKind, Quantization, TrafficProfile
from kb.errors import ValidationFailedError
from kb.estimator.rows import estimate_rows
from kb.orm import BenchmarkRow
from kb.repositories import benchmarks as bench_repo
from kb.repositories.catalog import CatalogSnapshot
from tools.curve_matrix import CurveMatrix
from tools.curves import CurveKey, CurvePoint, LoadCurve

TENSOR_PARALLEL_DEGREES = (1, 2, 4, 8)
_TABLE = cast(Table, BenchmarkRow.__table__)
_COLUMNS = (
    _TABLE.c.model_hf_repo,
    _TABLE.c.hardware,
    _TABLE.c.hardware_count,
    _TABLE.c.quantization,
    _TABLE.c.source,
    _TABLE.c.confidence,
    _TABLE.c.load_kind,
    _TABLE.c.load_value,
    _TABLE.c.concurrency,
    _TABLE.c.requests_per_second,
    _TABLE.c.ttft_p95,
    _TABLE.c.itl_p95,
    _TABLE.c.e2e_p95,
    _TABLE.c.tokens_per_second,
)


def _curves_from_rows(rows: list[Any]) -> dict[CurveKey, LoadCurve]:
    grouped: dict[CurveKey, list[Any]] = {}
    for row in rows:
        grouped.setdefault((row[0], row[1], int(row[2]), Quantization(row[3])), []).append(row)
    curves: dict[CurveKey, LoadCurve] = {}
    for key, group in grouped.items():
        real = [r for r in group if r[4] != BenchmarkSource.ESTIMATED.value]
        chosen = real or group
        chosen.sort(key=lambda r: (r[8] or (r[7] if r[6] != LoadKind.SATURATION.value else 1e12), r[9]))
        points = tuple(
            CurvePoint(
                load=r[8] or r[7], rps=r[9], ttft_p95=r[10], itl_p95=r[11], e2e_p95=r[12], tokens_per_second=r[13]
            )
            for r in chosen
        )
        source = BenchmarkSource(chosen[0][4]) if real else BenchmarkSource.ESTIMATED
        curves[key] = LoadCurve(points=points, source=source, confidence=min(r[5] for r in chosen))
    return curves


def estimated_curves(catalog: CatalogSnapshot, traffic: TrafficProfile) -> dict[CurveKey, LoadCurve]:
    """Estimator curves for every model x GPU x TP x quantisation that fits (pure; seconds for a full catalog)."""
    curves: dict[CurveKey, LoadCurve] = {}
    for model in catalog.models:
        if traffic.prompt_tokens + traffic.output_tokens > model.max_context:
            continue
        for gpu in catalog.gpus:
            for tp in TENSOR_PARALLEL_DEGREES:
                if tp > gpu.max_tensor_parallel:
                    continue
                for option in model.quantizations:
                    try:
                        rows = estimate_rows(model, gpu, tp, option.name, traffic)
                    except ValidationFailedError:
                        continue  # shape the model cannot take (e.g. TP not dividing heads, format unsupported)
                    if rows:
                        curves[(model.hf_repo, gpu.name, tp, option.name)] = LoadCurve(
                            points=tuple(
                                CurvePoint(
                                    load=r.load_value,
                                    rps=r.requests_per_second,
                                    ttft_p95=r.ttft_ms.p95,
                                    itl_p95=r.itl_ms.p95,
                                    e2e_p95=r.e2e_ms.p95,
                                    tokens_per_second=r.tokens_per_second,
                                )
                                for r in rows
                            ),
                            source=BenchmarkSource.ESTIMATED,
                            confidence=min(r.confidence for r in rows),
                        )
    return curves


class CurveStore:
    """Per traffic profile: benchmark-table curves (real rows win), completed by estimator curves.

    Table curves are cached until the benchmark revision counter moves; estimator curves are cached per catalog
    content. One store lives as long as the service and is safe to share between threads.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._lock = threading.Lock()
        self._building: dict[tuple[int, int], threading.Lock] = {}
        self._table: dict[tuple[int, int], tuple[int, dict[CurveKey, LoadCurve]]] = {}
        self._estimated: dict[tuple[int, int, int], dict[CurveKey, LoadCurve]] = {}
        self._matrices: dict[tuple[int, int], tuple[int, int, CurveMatrix]] = {}

    def matrix(self, catalog: CatalogSnapshot, traffic: TrafficProfile, catalog_revision: int) -> CurveMatrix:
        """The profile's curves as arrays, rebuilt only when the benchmarks or the catalog changed.

        Builds are single-flight per profile: when many requests need the same cold profile at once, one builds it
        and the others wait for that result instead of each loading and estimating the same curves.
        """
        profile = (traffic.prompt_tokens, traffic.output_tokens)
        with self._lock:
            building = self._building.setdefault(profile, threading.Lock())
        with building:
            curves = self.curves(catalog, traffic)
            table_revision = self._table[profile][0]
            cached = self._matrices.get(profile)
            if cached is None or cached[:2] != (table_revision, catalog_revision):
                cached = (table_revision, catalog_revision, CurveMatrix.build(curves))
                with self._lock:
                    self._matrices[profile] = cached
        return cached[2]

    def curves(self, catalog: CatalogSnapshot, traffic: TrafficProfile) -> Mapping[CurveKey, LoadCurve]:
        profile = (traffic.prompt_tokens, traffic.output_tokens)
        with self._database.reader() as session:
            current = bench_repo.revision(session)
            cached = self._table.get(profile)
            if cached is None or cached[0] != current:
                rows = session.execute(
                    select(*_COLUMNS).where(
                        _TABLE.c.prompt_tokens == traffic.prompt_tokens, _TABLE.c.output_tokens == traffic.output_tokens
                    )
                ).all()
                cached = (current, _curves_from_rows(list(rows)))
                with self._lock:
                    self._table[profile] = cached
        table = cached[1]
        if any(c.source is BenchmarkSource.ESTIMATED for c in table.values()):
            return table  # estimates for this profile were materialised by `compass kb estimate`
        catalog_key = (*profile, hash(catalog.model_dump_json()))
        estimated = self._estimated.get(catalog_key)
        if estimated is None:
            estimated = estimated_curves(catalog, traffic)
            with self._lock:
                self._estimated[catalog_key] = estimated
        return {**estimated, **table}
