"""Where latency data comes from: a benchmarks JSON file, a caller's `LatencySource`, or flat figures.

`build_latency_model` picks the rows for the configured model, GPU and tensor-parallel size
(names compared case- and punctuation-insensitively; a bare model name also matches its
`org/name` form), fits a `LatencyModel` to them and applies any `TTFT_MS` / `ITL_MS` override.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import ValidationError

from kb.domain import BenchmarkRecord
from kb.errors import ConfigurationError, ImportFormatError
from simulator.config import LatencySource, SimulatorConfig
from simulator.latency import LatencyModel


def read_benchmarks_file(path: Path) -> list[BenchmarkRecord]:
    """Reads a JSON list of `BenchmarkRecord` objects; errors name the file and the JSON path."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read BENCHMARKS_PATH {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ImportFormatError(str(path), "$", "valid JSON", f"{exc.msg} at line {exc.lineno}") from exc
    if not isinstance(raw, list):
        raise ImportFormatError(str(path), "$", "a list of benchmark records", type(raw).__name__)
    records: list[BenchmarkRecord] = []
    for i, item in enumerate(raw):
        try:
            records.append(BenchmarkRecord.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            found = repr(err.get("input"))[:80]
            raise ImportFormatError(str(path), f"$[{i}]{where}", err["msg"].lower(), found) from exc
    return records


def file_latency_source(path: Path) -> LatencySource:
    """A `LatencySource` that reads `path` (once) and returns all of its rows."""
    records = read_benchmarks_file(path)

    def source(model: str, gpu: str, tp: int) -> Sequence[BenchmarkRecord]:
        return records

    return source


def database_latency_source(url: str) -> LatencySource:
    """A `LatencySource` reading the Compass database at `url` (read-only; imported lazily so the container image,
    which ships without SQLAlchemy, never needs it)."""

    def source(model: str, gpu: str, tp: int) -> Sequence[BenchmarkRecord]:
        from kb.db import Database
        from kb.repositories import benchmarks as bench_repo

        database = Database(url)
        try:
            with database.session() as session:
                page = bench_repo.search(
                    session, bench_repo.BenchmarkFilter(hardware=gpu, hardware_count=tp), limit=100_000
                )
        finally:
            database.dispose()
        return bench_repo.prefer_real(page.items)

    return source


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def select_records(records: Iterable[BenchmarkRecord], model: str, gpu: str, tp: int) -> list[BenchmarkRecord]:
    """The rows for `model` on `tp` x `gpu`; a name without an org matches `org/name` rows."""
    rows = list(records)
    want_gpu = _norm(gpu)
    on_hw = [r for r in rows if _norm(r.hardware) == want_gpu and r.hardware_count == tp]
    exact = [r for r in on_hw if _norm(r.model_hf_repo) == _norm(model)]
    if exact or "/" in model:
        return exact
    return [r for r in on_hw if _norm(r.model_hf_repo.rsplit("/", 1)[-1]) == _norm(model)]


def _available(records: Sequence[BenchmarkRecord]) -> str:
    keys = sorted({f"{r.model_hf_repo} on {r.hardware_count}x{r.hardware}" for r in records})
    if not keys:
        return "the source holds no rows"
    shown = "; ".join(keys[:8]) + (f"; and {len(keys) - 8} more" if len(keys) > 8 else "")
    return f"available: {shown}"


def build_latency_model(config: SimulatorConfig, source: LatencySource | None = None) -> LatencyModel:
    """The latency model for `config`: fitted to benchmark rows when there are any, else flat figures."""
    if source is None and config.benchmarks_path is not None:
        source = file_latency_source(config.benchmarks_path)
    elif source is None and config.compass_database_url:
        source = database_latency_source(config.compass_database_url)
    shape = {"prefill_ms_per_token": config.prefill_ms_per_token, "load_factor": config.sim_load_factor}
    seqs = config.max_num_seqs
    if source is None:
        if config.ttft_ms is None or config.itl_ms is None:
            raise ConfigurationError(
                "no latency data: set BENCHMARKS_PATH (a JSON list of benchmark records), or both TTFT_MS and "
                "ITL_MS for flat latencies"
            )
        return LatencyModel.flat(
            ttft_ms=config.ttft_ms, itl_ms=config.itl_ms, jitter=config.sim_jitter, max_num_seqs=seqs, **shape
        )
    all_rows = list(source(config.model_name, config.gpu_type, config.tensor_parallel_size))
    rows = select_records(all_rows, config.model_name, config.gpu_type, config.tensor_parallel_size)
    if not rows:
        if config.has_flat_latency:
            assert config.ttft_ms is not None and config.itl_ms is not None
            return LatencyModel.flat(
                ttft_ms=config.ttft_ms, itl_ms=config.itl_ms, jitter=config.sim_jitter, max_num_seqs=seqs, **shape
            )
        raise ConfigurationError(
            f"no benchmark rows for {config.model_name} on {config.tensor_parallel_size}x{config.gpu_type}; "
            f"{_available(all_rows)}. Pick one of those, or set TTFT_MS and ITL_MS."
        )
    model = LatencyModel.from_records(rows, jitter=config.sim_jitter, jitter_source=config.sim_jitter_source)
    if config.ttft_ms is not None or config.itl_ms is not None:
        model = model.with_overrides(ttft_ms=config.ttft_ms, itl_ms=config.itl_ms, max_num_seqs=seqs, **shape)
    return model
