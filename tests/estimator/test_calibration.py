"""Specs for the calibration set: well-formed published points, holdout accuracy targets, committed fit, report CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.estimator import DEFAULT_CONSTANTS
from kb.estimator.calibration import (
    ResolvedPoint,
    _main,
    evaluate,
    fit_constants,
    load_calibration,
    median_ape,
    objective,
    resolve,
)
from kb.estimator.catalog import data_dir

CATALOG = data_dir()
needs_catalog = pytest.mark.skipif(
    not (CATALOG / "models.yaml").exists() or not (CATALOG / "gpus.yaml").exists(),
    reason="kb/data/models.yaml and gpus.yaml are needed to resolve calibration points",
)


@pytest.fixture(scope="module")
def points() -> list[ResolvedPoint]:
    return resolve(load_calibration())


def test_calibration_points_are_sourced_and_split() -> None:
    calibration = load_calibration()

    holdout = [p for p in calibration.points if p.split == "holdout"]
    fitted = [p for p in calibration.points if p.split == "calibration"]
    assert len(holdout) >= 10 and len(fitted) >= 5
    for point in calibration.points:
        assert point.source.startswith("https://")
        assert point.metrics
        if point.split == "excluded":
            assert point.exclusion_reason


@needs_catalog
def test_every_point_resolves_against_the_catalog(points: list[ResolvedPoint]) -> None:
    for resolved in points:
        assert resolved.gpu.name == resolved.point.gpu
        assert resolved.model.hf_repo == resolved.point.model


@needs_catalog
def test_holdout_error_meets_the_targets(points: list[ResolvedPoint]) -> None:
    comparisons = evaluate([p for p in points if p.point.split == "holdout"])

    throughput = median_ape(comparisons, "throughput")
    latency = median_ape(comparisons, "latency")
    assert throughput is not None and throughput <= 25.0
    assert latency is not None and latency <= 30.0


@needs_catalog
def test_committed_constants_are_a_fitted_optimum(points: list[ResolvedPoint]) -> None:
    training = [p for p in points if p.point.split == "calibration"]

    refit = fit_constants(points, DEFAULT_CONSTANTS, rounds=1, restarts=0)

    assert objective(evaluate(training, refit)) >= objective(evaluate(training, DEFAULT_CONSTANTS)) - 1e-9


@needs_catalog
def test_report_prints_and_writes_the_holdout_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "accuracy.md"

    assert _main(["report", "--write", str(target)]) == 0

    printed = capsys.readouterr().out
    assert "| Point | Model | GPU x TP |" in printed
    assert "Median abs % error, throughput" in printed
    assert target.read_text(encoding="utf-8").strip() == printed.strip()
