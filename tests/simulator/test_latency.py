"""The pure latency model: fitting to benchmark rows, interpolation, sampling and closed-loop predictions."""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path

import pytest

from kb.domain import BenchmarkSource, LatencyStats
from kb.errors import ConfigurationError, ImportFormatError
from simulator.config import JitterSource
from simulator.latency import Curve, LatencyModel, lognormal_fit
from simulator.sources import build_latency_model, read_benchmarks_file, select_records
from tests.simulator.helpers import MODEL, flat_config, ladder, record


def test_curve_interpolates_and_clamps() -> None:
    c = Curve((1.0, 10.0, 100.0), (1.0, 2.0, 11.0))
    assert c(0.5) == 1.0
    assert c(1) == 1.0
    assert c(5.5) == pytest.approx(1.5)
    assert c(55) == pytest.approx(6.5)
    assert c(1000) == 11.0
    with pytest.raises(ValueError, match="increasing"):
        Curve((2.0, 1.0), (0.0, 0.0))


def test_lognormal_fit_recovers_median_and_spread() -> None:
    median, sigma = 40.0, 0.3
    mean = median * math.exp(sigma**2 / 2)
    p95 = median * math.exp(1.6448536 * sigma)
    got_median, got_sigma = lognormal_fit(LatencyStats(mean=mean, p90=p95, p95=p95, p99=p95))
    assert got_median == pytest.approx(median, rel=1e-6)
    assert got_sigma == pytest.approx(sigma, rel=1e-6)
    assert lognormal_fit(LatencyStats(mean=10, p90=10, p95=10, p99=10)) == (10, 0.0)
    assert lognormal_fit(LatencyStats(mean=0, p90=0, p95=0, p99=0)) == (0.0, 0.0)


def _median(s: LatencyStats) -> float:
    return lognormal_fit(s)[0] / 1000


def test_single_profile_itl_is_piecewise_linear_in_concurrency() -> None:
    rows = ladder()
    model = LatencyModel.from_records(rows)
    itl = {r.load_value: _median(r.itl_ms) for r in rows}
    assert model.itl_seconds(1) == pytest.approx(itl[1])
    assert model.itl_seconds(32) == pytest.approx(itl[32])
    assert model.itl_seconds(20) == pytest.approx(itl[8] + (itl[32] - itl[8]) * 12 / 24)
    assert model.itl_seconds(1000) == pytest.approx(itl[128])  # clamped beyond the last row
    assert model.itl_seconds(0) == pytest.approx(itl[1])


def test_single_profile_ttft_scales_with_prompt_and_load() -> None:
    rows = ladder(prompt=512)
    model = LatencyModel.from_records(rows)
    base = _median(rows[0].ttft_ms)
    assert model.ttft_seconds(512, 1) == pytest.approx(base)
    # linear in prompt tokens with a fixed floor
    assert model.ttft_seconds(0, 1) == pytest.approx(0.015)
    assert model.ttft_seconds(1024, 1) == pytest.approx(0.015 + 2 * (base - 0.015))
    # load factor from the rows: TTFT(c) / TTFT(1)
    assert model.ttft_seconds(512, 32) == pytest.approx(_median(rows[2].ttft_ms))
    assert model.ttft_seconds(512, 10_000) == pytest.approx(_median(rows[3].ttft_ms))


def test_two_profiles_fit_prefill_line_and_interpolate_itl_by_context() -> None:
    short = [record(1, 40.0, 10.0, prompt=256, output=128), record(16, 60.0, 14.0, prompt=256, output=128)]
    long = [record(1, 240.0, 20.0, prompt=4096, output=128), record(16, 360.0, 28.0, prompt=4096, output=128)]
    model = LatencyModel.from_records(short + long)
    t_short, t_long = _median(short[0].ttft_ms), _median(long[0].ttft_ms)
    slope = (t_long - t_short) / (4096 - 256)
    assert model.prefill_per_token_s == pytest.approx(slope)
    assert model.ttft_seconds(256, 1) == pytest.approx(t_short)
    assert model.ttft_seconds(2176, 1) == pytest.approx((t_short + t_long) / 2)
    i_short, i_long = _median(short[0].itl_ms), _median(long[0].itl_ms)
    assert model.itl_seconds(1, context_tokens=256 + 64) == pytest.approx(i_short)
    assert model.itl_seconds(1, context_tokens=4096 + 64) == pytest.approx(i_long)
    assert model.itl_seconds(1, context_tokens=(256 + 4096) / 2 + 64) == pytest.approx((i_short + i_long) / 2)
    assert model.itl_seconds(1) == pytest.approx((i_short + i_long) / 2)  # no context: average of profiles


def test_measured_rows_win_over_estimates_at_the_same_concurrency() -> None:
    rows = [record(1, 50, 10), record(1, 500, 100, source=BenchmarkSource.ESTIMATED)]
    model = LatencyModel.from_records(rows)
    assert model.itl_seconds(1) == pytest.approx(_median(rows[0].itl_ms))


def test_rows_without_concurrency_are_rejected() -> None:
    row = record(1, 50, 10).model_copy(update={"load_kind": "saturation", "load_value": 0})
    with pytest.raises(ConfigurationError, match="no usable point"):
        LatencyModel.from_records([row])


def test_sampling_is_seeded_and_matches_benchmark_spread() -> None:
    model = LatencyModel.from_records(ladder(spread=1.3))
    a = [model.sample_itl(1, random.Random(3)) for _ in range(3)]
    b = [model.sample_itl(1, random.Random(3)) for _ in range(3)]
    assert a == b
    rng = random.Random(11)
    samples = sorted(model.sample_itl(1, rng) for _ in range(20_000))
    assert statistics.median(samples) == pytest.approx(model.itl_seconds(1), rel=0.02)
    assert samples[int(0.95 * len(samples))] == pytest.approx(0.010 * 1.3, rel=0.03)  # the rows' p95
    assert statistics.fmean(samples) == pytest.approx(0.010, rel=0.02)  # and their mean


def test_fixed_jitter_ignores_benchmark_spread() -> None:
    model = LatencyModel.from_records(ladder(spread=1.5), jitter=0.0, jitter_source=JitterSource.FIXED)
    rng = random.Random(1)
    assert {model.sample_itl(8, rng) for _ in range(10)} == {model.itl_seconds(8)}


def test_prediction_below_and_above_max_num_seqs() -> None:
    model = LatencyModel.flat(ttft_ms=50, itl_ms=10, jitter=0.0)
    p = model.predicted(1, 100, 101)
    assert p.ttft_p50_s == pytest.approx(0.05)
    assert p.itl_p50_s == pytest.approx(0.01)
    assert p.e2e_p50_s == pytest.approx(0.05 + 100 * 0.01)
    assert p.output_tokens_per_s == pytest.approx(101 / 1.05)
    assert p.queue_s == 0
    q = model.predicted(8, 100, 101, max_num_seqs=2)
    assert q.running == 2
    assert q.e2e_p50_s == pytest.approx(4 * 1.05)
    assert q.ttft_p50_s == pytest.approx(3 * 1.05 + 0.05)
    assert q.requests_per_s == pytest.approx(2 / 1.05)


def test_flat_model_load_factor() -> None:
    model = LatencyModel.flat(ttft_ms=100, itl_ms=10, load_factor=2.0, max_num_seqs=11)
    assert model.itl_seconds(1) == pytest.approx(0.010)
    assert model.itl_seconds(6) == pytest.approx(0.015)
    assert model.itl_seconds(11) == pytest.approx(0.020)
    assert model.ttft_seconds(999, 11) == pytest.approx(0.2)


def test_select_records_normalises_names() -> None:
    rows = ladder() + ladder(hardware="A100") + ladder(count=2)
    assert len(select_records(rows, MODEL, "h100", 1)) == 4
    assert len(select_records(rows, "llama-3.1-8b-instruct", "H100", 1)) == 4
    assert len(select_records(rows, MODEL, "H100", 2)) == 4
    assert select_records(rows, MODEL, "L4", 1) == []


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_build_from_benchmarks_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.json", [r.model_dump(mode="json") for r in ladder() + ladder(hardware="A100")])
    model = build_latency_model(flat_config(ttft_ms=None, itl_ms=None, benchmarks_path=path, gpu_type="A100"))
    assert model.itl_seconds(1) == pytest.approx(_median(ladder()[0].itl_ms))
    over = build_latency_model(flat_config(ttft_ms=None, itl_ms=25.0, benchmarks_path=path))
    assert over.itl_seconds(100) == pytest.approx(0.025)
    assert over.ttft_seconds(512, 1) == pytest.approx(_median(ladder()[0].ttft_ms))


def test_build_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TTFT_MS and ITL_MS"):
        build_latency_model(flat_config(ttft_ms=None, itl_ms=None))
    path = _write(tmp_path / "b.json", [r.model_dump(mode="json") for r in ladder()])
    with pytest.raises(ConfigurationError, match=r"no benchmark rows for .* on 1xL40S; available: .* on 1xH100"):
        build_latency_model(flat_config(ttft_ms=None, itl_ms=None, benchmarks_path=path, gpu_type="L40S"))
    bad = ladder()[0].model_dump(mode="json")
    bad["ttft_ms"] = "fast"
    with pytest.raises(ImportFormatError, match=r"b2.json: at \$\[1\]\.ttft_ms"):
        read_benchmarks_file(_write(tmp_path / "b2.json", [ladder()[0].model_dump(mode="json"), bad]))
    (tmp_path / "b3.json").write_text("{", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="valid JSON"):
        read_benchmarks_file(tmp_path / "b3.json")
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_benchmarks_file(tmp_path / "missing.json")


def test_latency_source_callable_is_used() -> None:
    calls: list[tuple[str, str, int]] = []

    def source(model: str, gpu: str, tp: int) -> list[object]:
        calls.append((model, gpu, tp))
        return ladder()  # type: ignore[return-value]

    model = build_latency_model(flat_config(ttft_ms=None, itl_ms=None, tensor_parallel_size=1), source)  # type: ignore[arg-type]
    assert calls == [(MODEL, "H100", 1)]
    assert model.itl_seconds(1) > 0
