"""Calibration set, accuracy report and constant fitting for the performance estimator.

``kb/data/calibration.yaml`` holds published measurements (see its header for the schema).  Points marked
``split: calibration`` are the only ones :func:`fit_constants` looks at; ``split: holdout`` points are only ever
predicted and compared, so the holdout error is an honest out-of-sample figure.

Command line::

    python -m kb.estimator.calibration report [--split holdout|calibration|excluded|all] [--full] [--write FILE]
    python -m kb.estimator.calibration fit [--rounds 3]

``report`` prints a markdown table (predicted vs published, absolute % error) and the median absolute % error for
throughput and for latency metrics; ``fit`` runs the coordinate search and prints the constants it would commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kb.domain import GPUSpec, ModelSpec, Quantization
from kb.errors import ImportFormatError, NotFoundError
from kb.estimator.catalog import data_dir, find_gpu, load_gpus, load_models, parse_gpus, parse_models
from kb.estimator.constants import DEFAULT_CONSTANTS, FITTED_FIELDS, EstimatorConstants
from kb.estimator.deployment import check_tokens, deployment_shape
from kb.estimator.latency import offline_batch_latency_seconds
from kb.estimator.load import LoadPrediction, Percentiles, load_profile, predict_profile

MetricName = Literal["output_throughput", "request_throughput", "ttft", "itl", "tpot", "e2e"]
Stat = Literal["mean", "median", "p90", "p95", "p99"]
THROUGHPUT_METRICS: frozenset[str] = frozenset({"output_throughput", "request_throughput"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MeasuredMetric(_Frozen):
    name: MetricName
    stat: Stat = "mean"
    value: float = Field(gt=0)
    unit: str


class MeasuredLoad(_Frozen):
    kind: Literal["concurrency", "saturation", "batch"]
    value: int = Field(gt=0)


class CalibrationPoint(_Frozen):
    """One published measurement: what ran, under which load, and what was reported."""

    id: str = Field(min_length=1)
    model: str
    gpu: str
    tp: int = Field(gt=0)
    quantization: Quantization
    kv_cache_dtype: Literal["bf16", "fp8"] = "bf16"
    prompt_tokens: int = Field(gt=0)
    output_tokens: int = Field(gt=0)
    load: MeasuredLoad
    metrics: list[MeasuredMetric] = Field(min_length=1)
    framework: str
    framework_version: str = ""
    source: str = Field(min_length=1)
    source_date: dt.date
    date_kind: Literal["published", "accessed"] = "published"
    split: Literal["calibration", "holdout", "excluded"]
    exclusion_reason: str = ""
    notes: str = ""


class CalibrationSet(_Frozen):
    version: int = 1
    points: list[CalibrationPoint]
    reference_models: list[ModelSpec] = Field(default_factory=list)
    reference_gpus: list[GPUSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ResolvedPoint:
    """A calibration point with its model and GPU specs looked up."""

    point: CalibrationPoint
    model: ModelSpec
    gpu: GPUSpec


@dataclass(frozen=True, slots=True)
class Comparison:
    """Predicted vs published for one metric of one point."""

    point: CalibrationPoint
    metric: MeasuredMetric
    predicted: float

    @property
    def kind(self) -> Literal["throughput", "latency"]:
        return "throughput" if self.metric.name in THROUGHPUT_METRICS else "latency"

    @property
    def ape(self) -> float:
        """Absolute percentage error."""
        return abs(self.predicted - self.metric.value) / self.metric.value * 100.0

    @property
    def log_error(self) -> float:
        return abs(math.log(max(self.predicted, 1e-12) / self.metric.value))


def calibration_path() -> Path:
    return data_dir() / "calibration.yaml"


def load_calibration(path: Path | None = None) -> CalibrationSet:
    """Read and validate the calibration file."""
    path = path or calibration_path()
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ImportFormatError(str(path), "$", "a calibration file", "no such file") from exc
    except yaml.YAMLError as exc:
        raise ImportFormatError(str(path), "$", "valid YAML", str(exc).splitlines()[0]) from exc
    try:
        calibration = CalibrationSet.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "$" + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in first["loc"])
        raise ImportFormatError(str(path), where, first["msg"].lower()) from exc
    ids = [p.id for p in calibration.points]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ImportFormatError(str(path), "$.points", "unique point ids", ", ".join(duplicates))
    return calibration


def resolve(
    calibration: CalibrationSet,
    models: dict[str, ModelSpec] | None = None,
    gpus: dict[str, GPUSpec] | None = None,
) -> list[ResolvedPoint]:
    """Attach ModelSpec/GPUSpec to every point: the catalog first, the file's reference specs second."""
    model_table = parse_models([m.model_dump() for m in calibration.reference_models], "calibration.yaml")
    gpu_table = parse_gpus([g.model_dump() for g in calibration.reference_gpus], "calibration.yaml")
    model_table.update(load_models() if models is None else models)
    gpu_table.update(load_gpus() if gpus is None else gpus)
    resolved: list[ResolvedPoint] = []
    for point in calibration.points:
        if point.model not in model_table:
            raise NotFoundError(f"calibration point {point.id}: model {point.model} is in neither catalog")
        resolved.append(ResolvedPoint(point, model_table[point.model], find_gpu(gpu_table, point.gpu)))
    return resolved


def _pick(values: Percentiles, stat: Stat) -> float:
    return {
        "mean": values.mean,
        "median": values.p50,
        "p90": values.p90,
        "p95": values.p95,
        "p99": values.p99,
    }[stat]


TRTLLM_FRAMEWORKS: frozenset[str] = frozenset({"nvidia-nim", "tensorrt-llm"})
"""Engines whose points are mapped onto the vLLM model through the ``trtllm_*`` constants."""


def point_constants(point: CalibrationPoint, constants: EstimatorConstants) -> EstimatorConstants:
    """The constants with the point's deployment settings (KV-cache dtype, serving engine) applied."""
    update: dict[str, float] = {}
    if point.kv_cache_dtype == "fp8":
        update["kv_cache_bytes"] = 1.0
    if point.framework in TRTLLM_FRAMEWORKS:
        update["prefill_mfu"] = min(1.0, constants.prefill_mfu * constants.trtllm_compute_scale)
        update["decode_mfu"] = min(1.0, constants.decode_mfu * constants.trtllm_compute_scale)
        update["kv_bw_efficiency"] = min(1.0, constants.kv_bw_efficiency * constants.trtllm_kv_scale)
        update["request_overhead_ms"] = constants.trtllm_request_overhead_ms
    return constants.model_copy(update=update) if update else constants


def predict_point(resolved: ResolvedPoint, constants: EstimatorConstants = DEFAULT_CONSTANTS) -> list[Comparison]:
    """Predict every metric the point reports."""
    point = resolved.point
    consts = point_constants(point, constants)
    check_tokens(point.prompt_tokens, point.output_tokens, resolved.model.max_context)
    shape = deployment_shape(resolved.model, resolved.gpu, point.tp, point.quantization, consts)
    comparisons: list[Comparison] = []
    if point.load.kind == "batch":
        latency_ms = 1e3 * offline_batch_latency_seconds(
            shape, point.load.value, point.prompt_tokens, point.output_tokens, shape.max_batched_tokens, consts
        )
        for metric in point.metrics:
            if metric.name != "e2e":
                raise NotFoundError(f"calibration point {point.id}: a batch load only predicts e2e, not {metric.name}")
            comparisons.append(Comparison(point, metric, latency_ms))
        return comparisons
    profile = load_profile(shape, point.prompt_tokens, point.output_tokens, consts)
    prediction: LoadPrediction = predict_profile(profile, point.load.value)
    for metric in point.metrics:
        if metric.name == "output_throughput":
            value = prediction.output_tokens_per_second
        elif metric.name == "request_throughput":
            value = prediction.requests_per_second
        elif metric.name == "ttft":
            value = _pick(prediction.ttft_ms, metric.stat)
        elif metric.name in ("itl", "tpot"):
            value = _pick(prediction.itl_ms, metric.stat)
        else:
            value = _pick(prediction.e2e_ms, metric.stat)
        comparisons.append(Comparison(point, metric, value))
    return comparisons


def evaluate(points: Iterable[ResolvedPoint], constants: EstimatorConstants = DEFAULT_CONSTANTS) -> list[Comparison]:
    return [c for resolved in points for c in predict_point(resolved, constants)]


def median_ape(comparisons: Sequence[Comparison], kind: Literal["throughput", "latency"]) -> float | None:
    values = [c.ape for c in comparisons if c.kind == kind]
    return statistics.median(values) if values else None


def objective(comparisons: Sequence[Comparison]) -> float:
    """Mean absolute log error, each point weighted once whatever its number of metrics."""
    per_point: dict[str, list[float]] = {}
    for c in comparisons:
        per_point.setdefault(c.point.id, []).append(c.log_error)
    return statistics.fmean(statistics.fmean(v) for v in per_point.values())


SEARCH_GRID: dict[str, tuple[float, ...]] = {
    "prefill_mfu": tuple(round(0.15 + 0.05 * i, 2) for i in range(14)),
    "mem_bw_efficiency": tuple(round(0.50 + 0.05 * i, 2) for i in range(10)),
    "kv_bw_efficiency": tuple(round(0.30 + 0.05 * i, 2) for i in range(14)),
    "step_overhead_ms": (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0),
    "request_overhead_ms": (0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0),
    "allreduce_latency_us": (0.0, 5.0, 10.0, 20.0, 30.0, 50.0, 75.0, 100.0),
    "ampere_compute_scale": tuple(round(0.8 + 0.1 * i, 2) for i in range(13)),
    "trtllm_compute_scale": tuple(round(0.8 + 0.1 * i, 2) for i in range(13)),
    "trtllm_kv_scale": tuple(round(0.8 + 0.2 * i, 2) for i in range(12)),
    "trtllm_request_overhead_ms": (0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0),
}


def _coordinate_search(
    training: Sequence[ResolvedPoint], start: EstimatorConstants, rounds: int
) -> tuple[EstimatorConstants, float]:
    best = start
    best_score = objective(evaluate(training, best))
    for _ in range(rounds):
        improved = False
        for field in FITTED_FIELDS:
            for value in SEARCH_GRID[field]:
                update = {field: value}
                if field == "prefill_mfu":
                    update["decode_mfu"] = value  # tied: too few large-batch decode points to separate them
                candidate = best.model_copy(update=update)
                score = objective(evaluate(training, candidate))
                if score < best_score - 1e-12:
                    best, best_score, improved = candidate, score, True
        if not improved:
            break
    return best, best_score


def fit_constants(
    points: Sequence[ResolvedPoint],
    start: EstimatorConstants = DEFAULT_CONSTANTS,
    rounds: int = 4,
    restarts: int = 0,
    seed: int = 7,
) -> EstimatorConstants:
    """Coordinate search over :data:`SEARCH_GRID` minimising :func:`objective` on ``split: calibration`` points.

    Starts from ``start`` and from ``restarts`` further points drawn from the grid (seeded, so the fit is
    reproducible); the best local optimum wins.
    """
    training = [p for p in points if p.point.split == "calibration"]
    if not training:
        raise NotFoundError("no calibration points to fit against")
    rng = random.Random(seed)
    starts = [start]
    for _ in range(restarts):
        update = {f: rng.choice(SEARCH_GRID[f]) for f in FITTED_FIELDS}
        update["decode_mfu"] = update["prefill_mfu"]
        starts.append(start.model_copy(update=update))
    results = [_coordinate_search(training, s, rounds) for s in starts]
    return min(results, key=lambda r: r[1])[0]


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _load_label(point: CalibrationPoint) -> str:
    return {"concurrency": "C=", "saturation": "burst ", "batch": "batch "}[point.load.kind] + str(point.load.value)


def _configuration(point: CalibrationPoint) -> tuple[str, str, int, str, int, int, str]:
    return (
        point.model,
        point.gpu,
        point.tp,
        point.quantization.value,
        point.prompt_tokens,
        point.output_tokens,
        point.framework,
    )


def calibrated_configurations(points: Iterable[CalibrationPoint]) -> set[tuple[str, str, int, str, int, int, str]]:
    """(model, GPU, TP, quantisation, prompt, output, framework) of every ``split: calibration`` point."""
    return {_configuration(p) for p in points if p.split == "calibration"}


def _summary(comparisons: Sequence[Comparison], label: str) -> str:
    throughput = median_ape(comparisons, "throughput")
    latency = median_ape(comparisons, "latency")
    n_tp = sum(1 for c in comparisons if c.kind == "throughput")
    n_lat = len(comparisons) - n_tp
    tp_text = f"**{throughput:.1f}%** ({n_tp} metrics)" if throughput is not None else "n/a"
    lat_text = f"**{latency:.1f}%** ({n_lat} metrics)" if latency is not None else "n/a"
    points = len({c.point.id for c in comparisons})
    return f"| {label} | {points} | {tp_text} | {lat_text} |"


def markdown_report(
    comparisons: Sequence[Comparison],
    title: str = "Holdout points",
    calibrated: set[tuple[str, str, int, str, int, int, str]] | None = None,
) -> str:
    """Markdown table of predicted vs published with absolute % errors and the median errors.

    With ``calibrated`` (see :func:`calibrated_configurations`) points whose exact configuration also has a
    calibration point (same sweep, other load) are marked and summarised separately from the independent ones.
    """
    calibrated = calibrated or set()
    lines = [
        f"### {title}",
        "",
        "| Point | Model | GPU x TP | Quant | Prompt/Output | Load | Metric | Published | Predicted | Abs % err |",
        "|---|---|---|---|---|---|---|---:|---:|---:|",
    ]
    for c in comparisons:
        p = c.point
        metric = f"{c.metric.name} {c.metric.stat} ({c.metric.unit})"
        mark = " (s)" if _configuration(p) in calibrated else ""
        lines.append(
            f"| {p.id}{mark} | {p.model} | {p.gpu} x{p.tp} | {p.quantization.value} | "
            f"{p.prompt_tokens}/{p.output_tokens} | {_load_label(p)} | {metric} | {_fmt(c.metric.value)} | "
            f"{_fmt(c.predicted)} | {c.ape:.1f} |"
        )
    independent = [c for c in comparisons if _configuration(c.point) not in calibrated]
    lines += [
        "",
        "| Subset | Points | Median abs % error, throughput | Median abs % error, latency |",
        "|---|---:|---:|---:|",
        _summary(comparisons, "all listed"),
    ]
    if calibrated:
        sweep = [c for c in comparisons if _configuration(c.point) in calibrated]
        lines.append(_summary(independent, "configurations without any calibration point"))
        lines.append(_summary(sweep, "(s) other loads of a calibrated configuration"))
    return "\n".join(lines)


def constants_table(constants: EstimatorConstants) -> str:
    lines = ["| Constant | Value |", "|---|---:|"]
    lines += [f"| `{name}` | {getattr(constants, name)} |" for name in FITTED_FIELDS]
    lines.insert(3, f"| `decode_mfu` (tied to `prefill_mfu`) | {constants.decode_mfu} |")
    return "\n".join(lines)


def _split(points: Sequence[ResolvedPoint], split: str) -> list[ResolvedPoint]:
    if split == "all":
        return [p for p in points if p.point.split != "excluded"]
    return [p for p in points if p.point.split == split]


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb.estimator.calibration", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="predicted vs published table with median errors")
    report.add_argument("--split", choices=("holdout", "calibration", "excluded", "all"), default="holdout")
    report.add_argument(
        "--write",
        type=Path,
        default=None,
        help=f"also write the markdown to this file (between {BEGIN_MARK!r} and {END_MARK!r} when it has them)",
    )
    report.add_argument(
        "--full", action="store_true", help="holdout, calibration and excluded tables plus the fitted constants"
    )
    fit = commands.add_parser("fit", help="fit the efficiency constants on the calibration split")
    fit.add_argument("--rounds", type=int, default=4)
    fit.add_argument("--restarts", type=int, default=12, help="extra seeded random starting points")
    args = parser.parse_args(argv)

    points = resolve(load_calibration())
    if args.command == "fit":
        fitted = fit_constants(points, DEFAULT_CONSTANTS, args.rounds, args.restarts)
        training = _split(points, "calibration")
        print(constants_table(fitted))
        print(
            f"\nobjective (mean |log error|): default {objective(evaluate(training)):.4f}, "
            f"fitted {objective(evaluate(training, fitted)):.4f}"
        )
        return 0
    calibrated = calibrated_configurations(p.point for p in points)
    titles = {
        "holdout": "Holdout points (never used for fitting)",
        "calibration": "Calibration points (fitted on)",
        "excluded": "Excluded points (outside the model's scope, not in any median)",
        "all": "All points",
    }
    splits = ("holdout", "calibration", "excluded") if args.full else (args.split,)
    sections = [markdown_report(evaluate(_split(points, split)), titles[split], calibrated) for split in splits]
    if args.full:
        sections.append("### Fitted constants (kb/estimator/constants.py)\n\n" + constants_table(DEFAULT_CONSTANTS))
    text = "\n\n".join(sections)
    print(text)
    if args.write is not None:
        write_report(args.write, text)
    return 0


BEGIN_MARK = "<!-- BEGIN GENERATED: python -m kb.estimator.calibration report --full -->"
END_MARK = "<!-- END GENERATED -->"


def write_report(path: Path, text: str) -> None:
    """Write ``text`` to ``path``; when the file has the generated-section markers only that section is replaced."""
    if path.exists():
        current = path.read_text(encoding="utf-8")
        if BEGIN_MARK in current and END_MARK in current:
            head, rest = current.split(BEGIN_MARK, 1)
            _, tail = rest.split(END_MARK, 1)
            path.write_text(f"{head}{BEGIN_MARK}\n{text}\n{END_MARK}{tail}", encoding="utf-8")
            return
    path.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(_main())
