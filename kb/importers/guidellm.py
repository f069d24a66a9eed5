"""Parse GuideLLM benchmark reports (``benchmarks.json``) into knowledge-base benchmark records.

The parser is pure: it takes an already-decoded JSON document (or a path, for ``load_guidellm_report``) and returns
records; it touches no database. It understands the four report layouts GuideLLM has written:

=========  ==========================================  =====================================================
layout     how it is recognised                        where a benchmark keeps its strategy / workload
=========  ==========================================  =====================================================
``v0.3``   only ``benchmarks`` at the top level        ``B.args.strategy`` / ``B.request_loader.data`` (str)
``v0.4``   ``args`` + ``benchmarks``, no ``metadata``  ``B.config.strategy`` / ``args.data[0]``
``v1``     ``metadata.version == 1`` (0.5 - 0.6)       ``B.config.strategy`` / ``args.data[0]``
``v2``     ``metadata.version == 2`` (0.7+)            ``B.config.strategy`` / ``config.spec.data[0]``
=========  ==========================================  =====================================================

Metrics live under ``B.metrics`` in every layout; each is a status distribution whose ``successful`` branch is used.
Metrics named ``*_ms`` are milliseconds; ``request_latency`` is seconds and is converted to milliseconds.

``BenchmarkRecord.tps`` (per-request output tokens/second) is always ``None``: no layout stores a per-request
distribution of it. ``metrics.output_tokens_per_second`` is sampled over time (v0.3: 122 samples for 46 requests) or
per token (v2: 48 samples for 6 requests x 8 tokens), so its percentiles describe something else. Only its mean, the
aggregate throughput, is imported (as ``tokens_per_second``).

Every malformed input raises ``ImportFormatError`` naming the JSON path, e.g.
``benchmarks[0].metrics.time_to_first_token_ms.successful.percentiles.p95``; invalid caller arguments raise
``ValidationFailedError``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Literal, NoReturn

from pydantic import BaseModel, ConfigDict

from kb.domain import BenchmarkRecord, BenchmarkSource, LatencyStats, LoadKind
from kb.errors import ImportFormatError, NotFoundError, ValidationFailedError

__all__ = ["GuideLLMReport", "Layout", "load_guidellm_report", "parse_guidellm_report"]

Layout = Literal["v0.3", "v0.4", "v1", "v2"]

_MS = "milliseconds"
_SECONDS = "seconds"
_STRATEGIES = "one of synchronous, concurrent, throughput, constant, poisson"
# A request that takes longer than an hour is not a plausible LLM benchmark; the number is almost surely milliseconds.
_MAX_PLAUSIBLE_REQUEST_SECONDS = 3600.0
# request_latency is measured ~= ttft + itl * (output_tokens - 1); a ratio this far off means the units are wrong.
_UNIT_MISMATCH_RATIO = 100.0


class GuideLLMReport(BaseModel):
    """What one GuideLLM report file holds: its layout, the GuideLLM version that wrote it, one record per benchmark."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layout: Layout
    guidellm_version: str | None
    records: list[BenchmarkRecord]


class _Missing:
    """The value of a key the document does not have."""


_MISSING = _Missing()


def _describe(value: object) -> str:
    """Say what was found, for the 'found ...' half of an error message."""
    if isinstance(value, _Missing):
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.10g}" if math.isfinite(value) else str(value)
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"a string {shown!r}"
    if isinstance(value, list):
        return "an empty list" if not value else f"a list of {len(value)} item{'s' if len(value) > 1 else ''}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Node:
    """A JSON value with the path it was read from, so every error message names its location the same way."""

    __slots__ = ("file", "path", "value")

    def __init__(self, value: object, path: str, file: str) -> None:
        self.value = value
        self.path = path
        self.file = file

    def fail(self, expected: str, found: str | None = None) -> NoReturn:
        raise ImportFormatError(
            self.file, self.path or "the top level", expected, _describe(self.value) if found is None else found
        )

    @property
    def present(self) -> bool:
        """True unless the key is absent or null."""
        return not isinstance(self.value, _Missing) and self.value is not None

    def _child_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def __getitem__(self, key: str) -> _Node:
        """The member `key`; this node must be an object (a missing member is reported when it is used)."""
        if not isinstance(self.value, dict):
            self.fail("an object")
        return _Node(self.value.get(key, _MISSING), self._child_path(key), self.file)

    def get(self, key: str) -> _Node:
        """Like ``[key]`` but for optional parts: an absent or null parent gives an absent child."""
        if not self.present:
            return _Node(_MISSING, self._child_path(key), self.file)
        return self[key]

    def items(self, expected: str) -> list[_Node]:
        if not isinstance(self.value, list):
            self.fail(expected)
        return [_Node(item, f"{self.path}[{i}]", self.file) for i, item in enumerate(self.value)]

    def text(self, expected: str) -> str:
        if not isinstance(self.value, str):
            self.fail(expected)
        return self.value

    def number(self, unit: str) -> float:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"a number ({unit})")
        if not math.isfinite(value):
            self.fail(f"a finite number ({unit})")
        return float(value)

    def non_negative(self, unit: str) -> float:
        value = self.number(unit)
        if value < 0:
            self.fail(f"a non-negative number ({unit})")
        return value

    def positive(self, unit: str) -> float:
        value = self.number(unit)
        if value <= 0:
            self.fail(f"a positive number ({unit})")
        return value


def _detect_layout(root: _Node) -> tuple[Layout, str | None]:
    metadata = root.get("metadata")
    if not metadata.present:
        return ("v0.4" if root.get("args").present else "v0.3"), None
    version_node = metadata["version"]
    version = version_node.value
    if isinstance(version, bool) or version not in (1, 2):
        version_node.fail("1 or 2 (the GuideLLM report layouts this importer understands)")
    guidellm_version = metadata.get("guidellm_version")
    text = guidellm_version.text("a version string") if guidellm_version.present else None
    return ("v1" if version == 1 else "v2"), text


def _latency(branch: _Node, unit: str, scale: float = 1.0) -> LatencyStats:
    """mean/p90/p95/p99 of one ``successful`` branch, multiplied by `scale`."""
    percentiles = branch["percentiles"]
    return LatencyStats(
        mean=branch["mean"].non_negative(unit) * scale,
        p90=percentiles["p90"].non_negative(unit) * scale,
        p95=percentiles["p95"].non_negative(unit) * scale,
        p99=percentiles["p99"].non_negative(unit) * scale,
    )


def _successful_count(bench: _Node, metrics: _Node) -> _Node:
    """Where this layout records how many requests succeeded."""
    for holder in (metrics, bench):
        totals = holder.get("request_totals")
        if totals.present:
            return totals["successful"]
    return metrics["request_latency"]["successful"]["count"]


def _load(strategy: _Node) -> tuple[LoadKind, float]:
    type_node = strategy["type_"]
    kind = type_node.text(_STRATEGIES)
    if kind == "synchronous":
        return LoadKind.CONCURRENCY, 1.0
    if kind == "concurrent":
        # ConcurrentStrategy stores its stream count as `streams` in every GuideLLM release; from 0.4 the scheduler
        # also fills the base-class `max_concurrency`, which is the fallback here.
        streams = strategy.get("streams")
        if not streams.present:
            streams = strategy["max_concurrency"]
        return LoadKind.CONCURRENCY, streams.positive("concurrent streams")
    if kind in ("constant", "poisson"):
        return LoadKind.RATE, strategy["rate"].positive("requests per second")
    if kind == "throughput":
        return LoadKind.SATURATION, 0.0
    return type_node.fail(_STRATEGIES)


def _data_spec(root: _Node, bench: _Node, layout: Layout) -> _Node:
    """The node holding the configured workload: a synthetic-data string or object (absent when not recorded)."""
    if layout == "v0.3":
        return bench.get("request_loader").get("data")
    holder = root.get("config").get("spec") if layout == "v2" else root.get("args")
    data = holder.get("data")
    if isinstance(data.value, list):
        entries = data.items("a list")
        return entries[0] if entries else _Node(_MISSING, f"{data.path}[0]", data.file)
    return data


def _token_setting(spec: _Node, key: str) -> int | None:
    """A configured token count (prompt_tokens / output_tokens) from a data spec, or None when it names no such count.

    Synthetic data is written as ``"prompt_tokens=256,output_tokens=128"``, as the same pairs in a JSON string, or as
    an object; anything else (a dataset path or name) carries no configured counts.
    """
    fields: dict[str, object]
    if isinstance(spec.value, dict):
        fields = spec.value
    elif isinstance(spec.value, str):
        raw = spec.value.strip()
        if raw.startswith("{"):
            try:
                decoded = json.loads(raw)
            except json.JSONDecodeError:
                return None
            if not isinstance(decoded, dict):
                return None
            fields = decoded
        else:
            pairs = [part.split("=", 1) for part in raw.split(",") if part.strip()]
            if not pairs or any(len(pair) != 2 for pair in pairs):
                return None
            fields = {name.strip(): value.strip() for name, value in pairs}
    else:
        return None
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        spec.fail(f"{key} as a positive whole number")
    return value


def _tokens(explicit: int | None, spec: _Node, key: str, measured: _Node) -> int:
    """Token count: the caller's value, else the configured one, else the measured mean rounded half up."""
    if explicit is not None:
        return explicit
    configured = _token_setting(spec, key)
    if configured is not None:
        return configured
    return max(1, math.floor(measured.positive("tokens") + 0.5))


def _check_seconds(latency: _Node, e2e: LatencyStats, ttft: LatencyStats, itl: LatencyStats, output: float) -> None:
    """Reject request_latency figures that are evidently milliseconds rather than seconds."""
    p95_seconds = e2e.p95 / 1000
    if p95_seconds > _MAX_PLAUSIBLE_REQUEST_SECONDS:
        latency["percentiles"]["p95"].fail(
            "request_latency in seconds",
            f"{p95_seconds:.10g}, which would be {p95_seconds / 3600:.1f} hours per request; "
            "the values look like milliseconds",
        )
    predicted_ms = ttft.mean + itl.mean * max(output - 1, 0)
    if predicted_ms > 0 and e2e.mean > _UNIT_MISMATCH_RATIO * predicted_ms:
        latency["mean"].fail(
            "request_latency in seconds",
            f"{e2e.mean / 1000:.10g}, about {e2e.mean / predicted_ms:.0f}x the {predicted_ms / 1000:.3g} s that "
            "time_to_first_token_ms and inter_token_latency_ms add up to; the values look like milliseconds",
        )


def _start_date(bench: _Node) -> dt.date | None:
    start = bench.get("start_time")
    if not start.present:
        return None
    seconds = start.number("a Unix timestamp in seconds")
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        start.fail("a Unix timestamp in seconds")


def _validate_arguments(
    model: str, hardware: str, hardware_count: int, prompt_tokens: int | None, output_tokens: int | None
) -> None:
    if not isinstance(model, str) or not model.strip():
        raise ValidationFailedError(
            "model must name the Hugging Face repo the benchmark ran (e.g. meta-llama/Llama-3.1-8B-Instruct); "
            f"got {model!r}"
        )
    if not isinstance(hardware, str) or not hardware.strip():
        raise ValidationFailedError(
            f"hardware must name the GPU type the benchmark ran on (e.g. H100); got {hardware!r}"
        )
    if isinstance(hardware_count, bool) or not isinstance(hardware_count, int) or hardware_count < 1:
        raise ValidationFailedError(
            f"hardware_count must be a whole number of GPUs, at least 1; got {hardware_count!r}"
        )
    for name, value in (("prompt_tokens", prompt_tokens), ("output_tokens", output_tokens)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValidationFailedError(f"{name} must be a whole number of tokens, at least 1; got {value!r}")


def parse_guidellm_report(
    document: object,
    *,
    file: str,
    model: str,
    hardware: str,
    hardware_count: int,
    framework: str = "vllm",
    framework_version: str = "",
    prompt_tokens: int | None = None,
    output_tokens: int | None = None,
) -> GuideLLMReport:
    """Turn a decoded GuideLLM report into one imported ``BenchmarkRecord`` per benchmark.

    `file` is only used in error messages and as each record's provenance. GuideLLM does not record the model's
    Hugging Face repo or the GPUs, so the caller supplies them. `prompt_tokens` / `output_tokens` override the
    workload the report was configured with (which in turn overrides the rounded measured means).
    """
    _validate_arguments(model, hardware, hardware_count, prompt_tokens, output_tokens)
    root = _Node(document, "", file)
    if not isinstance(document, dict):
        root.fail("a JSON object with a 'benchmarks' list (a GuideLLM benchmarks.json report)")
    layout, guidellm_version = _detect_layout(root)
    benchmarks = root["benchmarks"].items("a list of benchmarks")
    if not benchmarks:
        root["benchmarks"].fail("at least one benchmark")
    tool = f"guidellm {guidellm_version or layout}"

    records: list[BenchmarkRecord] = []
    seen: dict[tuple[LoadKind, float, int, int], int] = {}
    for index, bench in enumerate(benchmarks):
        bench_type = bench["type_"]
        if bench_type.present and bench_type.value != "generative_benchmark":
            bench_type.fail("'generative_benchmark' (only text-generation benchmarks can be imported)")
        metrics = bench["metrics"]

        successful = _successful_count(bench, metrics)
        if successful.non_negative("requests") == 0:
            successful.fail(
                "at least one successful request",
                "0: every request errored or was cut off, so there are no latencies to import",
            )

        load_kind, load_value = _load(bench["args" if layout == "v0.3" else "config"]["strategy"])
        spec = _data_spec(root, bench, layout)
        prompt = _tokens(prompt_tokens, spec, "prompt_tokens", metrics["prompt_token_count"]["successful"]["mean"])
        output_mean = metrics["output_token_count"]["successful"]["mean"]
        output = _tokens(output_tokens, spec, "output_tokens", output_mean)

        ttft = _latency(metrics["time_to_first_token_ms"]["successful"], _MS)
        itl = _latency(metrics["inter_token_latency_ms"]["successful"], _MS)
        latency = metrics["request_latency"]["successful"]
        e2e = _latency(latency, _SECONDS, scale=1000.0)
        _check_seconds(latency, e2e, ttft, itl, output_mean.positive("tokens"))

        key = (load_kind, load_value, prompt, output)
        if key in seen:
            bench.fail(
                "each load level and traffic shape benchmarked once",
                f"a duplicated benchmark: benchmarks[{seen[key]}] and benchmarks[{index}] both ran "
                f"{load_kind.value} {load_value:g} with {prompt} prompt -> {output} output tokens",
            )
        seen[key] = index

        records.append(
            BenchmarkRecord(
                model_hf_repo=model.strip(),
                hardware=hardware.strip(),
                hardware_count=hardware_count,
                framework=framework,
                framework_version=framework_version,
                prompt_tokens=prompt,
                output_tokens=output,
                load_kind=load_kind,
                load_value=load_value,
                ttft_ms=ttft,
                itl_ms=itl,
                e2e_ms=e2e,
                tps=None,
                requests_per_second=metrics["requests_per_second"]["successful"]["mean"].non_negative(
                    "requests per second"
                ),
                tokens_per_second=metrics["output_tokens_per_second"]["successful"]["mean"].non_negative(
                    "output tokens per second"
                ),
                concurrency=metrics["request_concurrency"]["successful"]["mean"].non_negative("requests in flight"),
                source=BenchmarkSource.IMPORTED,
                confidence=1.0,
                provenance_file=file,
                provenance_tool=tool,
                provenance_date=_start_date(bench),
            )
        )
    return GuideLLMReport(layout=layout, guidellm_version=guidellm_version, records=records)


def load_guidellm_report(
    path: Path,
    *,
    model: str,
    hardware: str,
    hardware_count: int,
    framework: str = "vllm",
    framework_version: str = "",
    prompt_tokens: int | None = None,
    output_tokens: int | None = None,
) -> GuideLLMReport:
    """Read a GuideLLM ``benchmarks.json`` file and parse it (see ``parse_guidellm_report``)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"{file}: no such GuideLLM report file") from None
    except UnicodeDecodeError as exc:
        raise ImportFormatError(file, f"byte {exc.start}", "UTF-8 JSON text", "bytes that are not UTF-8") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            file, f"line {exc.lineno}, column {exc.colno}", "valid JSON", f"a syntax error ({exc.msg})"
        ) from None
    return parse_guidellm_report(
        document,
        file=file,
        model=model,
        hardware=hardware,
        hardware_count=hardware_count,
        framework=framework,
        framework_version=framework_version,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
    )
