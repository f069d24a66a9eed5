"""Specs for the GuideLLM report parser: real sample reports in, benchmark records or user-facing errors out."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from kb.domain import BenchmarkSource, LoadKind
from kb.errors import ImportFormatError, NotFoundError, ValidationFailedError
from kb.importers.guidellm import (
    GuideLLMReport,
    load_guidellm_report,
    parse_guidellm_report,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "guidellm"
STRIPPED = SAMPLES / "benchmarks_stripped.json"
HAPPY = SAMPLES / "benchmarks_happy.json"
FILE = "report.json"
TTFT = "benchmarks[0].metrics.time_to_first_token_ms.successful"


def _sample(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def _stripped_doc() -> dict[str, Any]:
    return _sample(STRIPPED)


@pytest.fixture(scope="module")
def _happy_doc() -> dict[str, Any]:
    return _sample(HAPPY)


@pytest.fixture
def stripped(_stripped_doc: dict[str, Any]) -> dict[str, Any]:
    """A private deep copy of the old-layout sample, free to mutate."""
    return copy.deepcopy(_stripped_doc)


@pytest.fixture
def happy(_happy_doc: dict[str, Any]) -> dict[str, Any]:
    """A private deep copy of the v2-layout sample, free to mutate."""
    return copy.deepcopy(_happy_doc)


def parse(document: object, **overrides: Any) -> GuideLLMReport:
    kwargs: dict[str, Any] = {"model": "example/model", "hardware": "H100", "hardware_count": 1} | overrides
    return parse_guidellm_report(document, file=FILE, **kwargs)


def import_error(document: object, **overrides: Any) -> str:
    with pytest.raises(ImportFormatError) as caught:
        parse(document, **overrides)
    return str(caught.value)


# --- the real samples -------------------------------------------------------------------------------------------


def test_stripped_sample_yields_the_figures_source_md_lists() -> None:
    report = load_guidellm_report(STRIPPED, model="example/model", hardware="H100", hardware_count=1)

    [record] = report.records
    assert record.ttft_ms.mean == pytest.approx(16.79, abs=0.005)
    assert record.ttft_ms.p95 == pytest.approx(19.01, abs=0.005)
    assert record.itl_ms.mean == pytest.approx(4.94, abs=0.005)
    assert record.itl_ms.p95 == pytest.approx(5.03, abs=0.005)
    assert record.e2e_ms.p95 == pytest.approx(657, abs=0.5)
    assert record.requests_per_second == pytest.approx(1.548, abs=0.0005)
    assert (record.prompt_tokens, record.output_tokens) == (256, 128)


def test_happy_sample_yields_the_figures_source_md_lists() -> None:
    report = load_guidellm_report(HAPPY, model="example/model", hardware="H100", hardware_count=1)

    [record] = report.records
    assert record.ttft_ms.mean == pytest.approx(51.00, abs=0.005)
    assert record.ttft_ms.p95 == pytest.approx(51.11, abs=0.005)
    assert record.itl_ms.mean == pytest.approx(10.11, abs=0.005)
    assert record.itl_ms.p95 == pytest.approx(10.12, abs=0.005)
    assert record.e2e_ms.p95 == pytest.approx(122.1, abs=0.05)
    assert record.requests_per_second == pytest.approx(4.37, abs=0.005)
    assert (record.prompt_tokens, record.output_tokens) == (16, 8)


def test_request_latency_seconds_become_milliseconds(stripped: dict[str, Any]) -> None:
    latency = stripped["benchmarks"][0]["metrics"]["request_latency"]["successful"]

    record = parse(stripped).records[0]

    assert record.e2e_ms.mean == pytest.approx(latency["mean"] * 1000)
    assert record.e2e_ms.p90 == pytest.approx(latency["percentiles"]["p90"] * 1000)
    assert record.e2e_ms.p99 == pytest.approx(latency["percentiles"]["p99"] * 1000)


def test_throughput_and_concurrency_are_the_successful_means(happy: dict[str, Any]) -> None:
    record = parse(happy).records[0]

    assert record.tokens_per_second == pytest.approx(36.3087, abs=0.0001)
    assert record.concurrency == pytest.approx(0.5332, abs=0.0001)


@pytest.mark.parametrize("sample", [STRIPPED, HAPPY], ids=["stripped", "happy"])
def test_per_request_tps_is_left_empty_because_no_layout_stores_its_distribution(sample: Path) -> None:
    assert parse(_sample(sample)).records[0].tps is None


@pytest.mark.parametrize(
    ("sample", "tool", "date"),
    [(STRIPPED, "guidellm v0.3", dt.date(2025, 6, 5)), (HAPPY, "guidellm 0.7.3", dt.date(2026, 8, 9))],
    ids=["stripped", "happy"],
)
def test_records_are_imported_with_file_tool_and_run_date_as_provenance(sample: Path, tool: str, date: dt.date) -> None:
    record = parse(_sample(sample)).records[0]

    assert record.source is BenchmarkSource.IMPORTED
    assert record.confidence == 1.0
    assert (record.provenance_file, record.provenance_tool, record.provenance_date) == (FILE, tool, date)


def test_a_benchmark_without_start_time_has_no_provenance_date(happy: dict[str, Any]) -> None:
    del happy["benchmarks"][0]["start_time"]

    assert parse(happy).records[0].provenance_date is None


def test_model_hardware_and_framework_come_from_the_caller(happy: dict[str, Any]) -> None:
    record = parse(
        happy,
        model="meta-llama/Llama-3.1-8B-Instruct",
        hardware="A100",
        hardware_count=4,
        framework="sglang",
        framework_version="0.4.1",
    ).records[0]

    assert (record.model_hf_repo, record.hardware, record.hardware_count) == (
        "meta-llama/Llama-3.1-8B-Instruct",
        "A100",
        4,
    )
    assert (record.framework, record.framework_version) == ("sglang", "0.4.1")


# --- layout detection -------------------------------------------------------------------------------------------


def test_stripped_sample_is_the_v0_3_layout_with_no_version(stripped: dict[str, Any]) -> None:
    report = parse(stripped)

    assert (report.layout, report.guidellm_version) == ("v0.3", None)


def test_happy_sample_is_the_v2_layout_written_by_guidellm_0_7_3(happy: dict[str, Any]) -> None:
    report = parse(happy)

    assert (report.layout, report.guidellm_version) == ("v2", "0.7.3")


def test_top_level_args_without_metadata_is_the_v0_4_layout(happy: dict[str, Any]) -> None:
    del happy["metadata"], happy["config"]
    happy["args"] = {"data": ["prompt_tokens=512,output_tokens=64"]}

    report = parse(happy)

    assert (report.layout, report.guidellm_version) == ("v0.4", None)
    assert report.records[0].provenance_tool == "guidellm v0.4"
    assert (report.records[0].prompt_tokens, report.records[0].output_tokens) == (512, 64)


def test_metadata_version_1_is_the_v1_layout(happy: dict[str, Any]) -> None:
    happy["metadata"] = {"version": 1, "guidellm_version": "0.5.2"}
    del happy["config"]
    happy["args"] = {"data": [{"prompt_tokens": 300, "output_tokens": 30}]}

    report = parse(happy)

    assert (report.layout, report.guidellm_version) == ("v1", "0.5.2")
    assert (report.records[0].prompt_tokens, report.records[0].output_tokens) == (300, 30)


def test_an_unknown_metadata_version_is_rejected(happy: dict[str, Any]) -> None:
    happy["metadata"]["version"] = 3

    assert import_error(happy) == (
        "report.json: at metadata.version: expected 1 or 2 (the GuideLLM report layouts this importer understands), "
        "found 3"
    )


# --- strategy -> load -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "kind", "value"),
    [
        ({"type_": "synchronous"}, LoadKind.CONCURRENCY, 1.0),
        ({"type_": "concurrent", "streams": 8}, LoadKind.CONCURRENCY, 8.0),
        ({"type_": "concurrent", "max_concurrency": 16}, LoadKind.CONCURRENCY, 16.0),
        ({"type_": "constant", "rate": 4.0, "max_concurrency": 10240}, LoadKind.RATE, 4.0),
        ({"type_": "poisson", "rate": 2.5}, LoadKind.RATE, 2.5),
        ({"type_": "throughput", "max_concurrency": 512}, LoadKind.SATURATION, 0.0),
    ],
    ids=["synchronous", "concurrent-streams", "concurrent-max_concurrency", "constant", "poisson", "throughput"],
)
def test_strategy_type_maps_to_load_kind_and_value(
    happy: dict[str, Any], strategy: dict[str, Any], kind: LoadKind, value: float
) -> None:
    happy["benchmarks"][0]["config"]["strategy"] = strategy

    record = parse(happy).records[0]

    assert (record.load_kind, record.load_value) == (kind, value)


def test_old_layout_reads_the_strategy_from_args(stripped: dict[str, Any]) -> None:
    stripped["benchmarks"][0]["args"]["strategy"] = {"type_": "concurrent", "streams": 32}

    record = parse(stripped).records[0]

    assert (record.load_kind, record.load_value) == (LoadKind.CONCURRENCY, 32.0)


def test_an_unknown_strategy_type_is_rejected(happy: dict[str, Any]) -> None:
    happy["benchmarks"][0]["config"]["strategy"]["type_"] = "replay"

    assert import_error(happy) == (
        "report.json: at benchmarks[0].config.strategy.type_: expected one of synchronous, concurrent, throughput, "
        "constant, poisson, found a string 'replay'"
    )


def test_a_rate_strategy_without_a_rate_is_rejected(happy: dict[str, Any]) -> None:
    del happy["benchmarks"][0]["config"]["strategy"]["rate"]

    assert import_error(happy) == (
        "report.json: at benchmarks[0].config.strategy.rate: expected a number (requests per second), found nothing"
    )


# --- prompt / output tokens -------------------------------------------------------------------------------------


def test_caller_token_counts_override_the_configured_workload(stripped: dict[str, Any]) -> None:
    record = parse(stripped, prompt_tokens=1000, output_tokens=200).records[0]

    assert (record.prompt_tokens, record.output_tokens) == (1000, 200)


def test_old_layout_reads_a_json_workload_string(stripped: dict[str, Any]) -> None:
    stripped["benchmarks"][0]["request_loader"]["data"] = '{"prompt_tokens": 512, "output_tokens": 64}'

    record = parse(stripped).records[0]

    assert (record.prompt_tokens, record.output_tokens) == (512, 64)


def test_a_dataset_name_falls_back_to_the_rounded_measured_means(stripped: dict[str, Any]) -> None:
    stripped["benchmarks"][0]["request_loader"]["data"] = "openai/gsm8k"  # measured means 257.1 and 127.99999

    record = parse(stripped).records[0]

    assert (record.prompt_tokens, record.output_tokens) == (257, 128)


def test_measured_means_round_half_up_when_no_workload_is_configured(happy: dict[str, Any]) -> None:
    del happy["config"]["spec"]["data"]  # measured means 44.5 and 8.0

    record = parse(happy).records[0]

    assert (record.prompt_tokens, record.output_tokens) == (45, 8)


def test_a_malformed_configured_token_count_is_rejected(stripped: dict[str, Any]) -> None:
    stripped["benchmarks"][0]["request_loader"]["data"] = "prompt_tokens=abc,output_tokens=128"

    assert import_error(stripped) == (
        "report.json: at benchmarks[0].request_loader.data: expected prompt_tokens as a positive whole number, "
        "found a string 'prompt_tokens=abc,output_tokens=128'"
    )


# --- malformed documents ----------------------------------------------------------------------------------------


def test_invalid_json_is_reported_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.json"
    path.write_text('{\n  "benchmarks": [,]\n}\n', encoding="utf-8")

    with pytest.raises(ImportFormatError) as caught:
        load_guidellm_report(path, model="example/model", hardware="H100", hardware_count=1)

    assert str(caught.value) == (
        f"{path}: at line 2, column 18: expected valid JSON, found a syntax error (Expecting value)"
    )


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"

    with pytest.raises(NotFoundError) as caught:
        load_guidellm_report(path, model="example/model", hardware="H100", hardware_count=1)

    assert str(caught.value) == f"{path}: no such GuideLLM report file"


def test_a_document_that_is_not_an_object_is_rejected() -> None:
    assert import_error([1, 2]) == (
        "report.json: at the top level: expected a JSON object with a 'benchmarks' list "
        "(a GuideLLM benchmarks.json report), found a list of 2 items"
    )


def test_a_document_without_benchmarks_is_rejected(happy: dict[str, Any]) -> None:
    del happy["benchmarks"]

    assert import_error(happy) == "report.json: at benchmarks: expected a list of benchmarks, found nothing"


def test_an_empty_benchmarks_list_is_rejected(happy: dict[str, Any]) -> None:
    happy["benchmarks"] = []

    assert import_error(happy) == "report.json: at benchmarks: expected at least one benchmark, found an empty list"


def test_a_benchmark_that_is_not_an_object_is_rejected(happy: dict[str, Any]) -> None:
    happy["benchmarks"] = [42]

    assert import_error(happy) == "report.json: at benchmarks[0]: expected an object, found 42"


def test_a_non_generative_benchmark_is_rejected(happy: dict[str, Any]) -> None:
    happy["benchmarks"][0]["type_"] = "embeddings_benchmark"

    assert import_error(happy) == (
        "report.json: at benchmarks[0].type_: expected 'generative_benchmark' (only text-generation benchmarks can "
        "be imported), found a string 'embeddings_benchmark'"
    )


def test_a_missing_metric_is_named_by_its_path(happy: dict[str, Any]) -> None:
    del happy["benchmarks"][0]["metrics"]["time_to_first_token_ms"]

    assert import_error(happy) == (
        "report.json: at benchmarks[0].metrics.time_to_first_token_ms: expected an object, found nothing"
    )


def test_a_missing_percentile_is_named_by_its_path(stripped: dict[str, Any]) -> None:
    del stripped["benchmarks"][0]["metrics"]["time_to_first_token_ms"]["successful"]["percentiles"]["p95"]

    assert import_error(stripped) == (
        f"report.json: at {TTFT}.percentiles.p95: expected a number (milliseconds), found nothing"
    )


def test_a_string_where_a_number_belongs_is_rejected(happy: dict[str, Any]) -> None:
    happy["benchmarks"][0]["metrics"]["time_to_first_token_ms"]["successful"]["percentiles"]["p95"] = "abc"

    assert import_error(happy) == (
        f"report.json: at {TTFT}.percentiles.p95: expected a number (milliseconds), found a string 'abc'"
    )


def test_a_negative_latency_is_rejected(happy: dict[str, Any]) -> None:
    happy["benchmarks"][0]["metrics"]["inter_token_latency_ms"]["successful"]["mean"] = -5.0

    assert import_error(happy) == (
        "report.json: at benchmarks[0].metrics.inter_token_latency_ms.successful.mean: "
        "expected a non-negative number (milliseconds), found -5"
    )


def test_a_non_finite_latency_is_rejected(happy: dict[str, Any]) -> None:
    happy["benchmarks"][0]["metrics"]["time_to_first_token_ms"]["successful"]["mean"] = float("nan")

    assert import_error(happy) == f"report.json: at {TTFT}.mean: expected a finite number (milliseconds), found nan"


def test_request_latency_in_milliseconds_is_rejected(stripped: dict[str, Any]) -> None:
    latency = stripped["benchmarks"][0]["metrics"]["request_latency"]["successful"]
    latency["mean"] *= 1000
    latency["percentiles"] = {name: value * 1000 for name, value in latency["percentiles"].items()}

    assert import_error(stripped) == (
        "report.json: at benchmarks[0].metrics.request_latency.successful.mean: expected request_latency in seconds, "
        "found 644.4743664, about 1000x the 0.644 s that time_to_first_token_ms and inter_token_latency_ms add up to; "
        "the values look like milliseconds"
    )


def test_a_request_latency_over_an_hour_is_rejected_as_milliseconds(happy: dict[str, Any]) -> None:
    happy["benchmarks"][0]["metrics"]["request_latency"]["successful"]["percentiles"]["p95"] = 7200.0

    assert import_error(happy) == (
        "report.json: at benchmarks[0].metrics.request_latency.successful.percentiles.p95: "
        "expected request_latency in seconds, found 7200, which would be 2.0 hours per request; "
        "the values look like milliseconds"
    )


@pytest.mark.parametrize(
    ("sample", "totals_path"),
    [(STRIPPED, ("request_totals",)), (HAPPY, ("metrics", "request_totals"))],
    ids=["stripped", "happy"],
)
def test_a_benchmark_with_no_successful_requests_is_rejected(sample: Path, totals_path: tuple[str, ...]) -> None:
    document = _sample(sample)
    totals = document["benchmarks"][0]
    for key in totals_path:
        totals = totals[key]
    totals["successful"] = 0

    assert import_error(document) == (
        f"report.json: at benchmarks[0].{'.'.join(totals_path)}.successful: expected at least one successful request, "
        "found 0: every request errored or was cut off, so there are no latencies to import"
    )


def test_two_benchmarks_at_the_same_load_and_shape_are_rejected_as_duplicates(stripped: dict[str, Any]) -> None:
    stripped["benchmarks"].append(copy.deepcopy(stripped["benchmarks"][0]))

    assert import_error(stripped) == (
        "report.json: at benchmarks[1]: expected each load level and traffic shape benchmarked once, "
        "found a duplicated benchmark: benchmarks[0] and benchmarks[1] both ran concurrency 1 "
        "with 256 prompt -> 128 output tokens"
    )


def test_benchmarks_at_different_loads_each_become_a_record(happy: dict[str, Any]) -> None:
    second = copy.deepcopy(happy["benchmarks"][0])
    second["config"]["strategy"]["rate"] = 8.0
    happy["benchmarks"].append(second)

    records = parse(happy).records

    assert [(r.load_kind, r.load_value) for r in records] == [(LoadKind.RATE, 4.0), (LoadKind.RATE, 8.0)]


# --- caller arguments -------------------------------------------------------------------------------------------


def test_an_empty_model_name_is_rejected(happy: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        parse(happy, model="  ")

    assert str(caught.value) == (
        "model must name the Hugging Face repo the benchmark ran (e.g. meta-llama/Llama-3.1-8B-Instruct); got '  '"
    )


def test_an_empty_hardware_name_is_rejected(happy: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        parse(happy, hardware="")

    assert str(caught.value) == "hardware must name the GPU type the benchmark ran on (e.g. H100); got ''"


def test_a_hardware_count_of_zero_is_rejected(happy: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        parse(happy, hardware_count=0)

    assert str(caught.value) == "hardware_count must be a whole number of GPUs, at least 1; got 0"


def test_a_zero_token_override_is_rejected(happy: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        parse(happy, output_tokens=0)

    assert str(caught.value) == "output_tokens must be a whole number of tokens, at least 1; got 0"
