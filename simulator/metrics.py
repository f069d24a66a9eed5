"""vLLM's Prometheus metrics (names, types, labels and buckets as vLLM's V1 engine serves them) on a per-app registry.

The engine updates plain counters and histograms here (no locks: everything runs on the event
loop, and `/metrics` is served from it too); a custom collector turns them into metric families at
scrape time and reads the gauges (running, waiting, KV-cache usage) straight from the engine.
Histograms take `observe(value, count)` so a decode step records the token gap of every sequence
in the batch with one call.

Served, each labelled `model_name` and `engine` ("0"):
gauges `vllm:num_requests_running`, `vllm:num_requests_waiting`, `vllm:kv_cache_usage_perc` and
its deprecated twin `vllm:gpu_cache_usage_perc`, `vllm:cache_config_info`; counters
`vllm:prompt_tokens_total`, `vllm:generation_tokens_total`, `vllm:request_success_total`
(+ `finished_reason`: stop, length, abort), `vllm:num_preemptions_total`,
`vllm:prefix_cache_queries_total`, `vllm:prefix_cache_hits_total`; histograms
`vllm:time_to_first_token_seconds`, `vllm:inter_token_latency_seconds` and its pre-0.11 name
`vllm:time_per_output_token_seconds`, `vllm:request_time_per_output_token_seconds`,
`vllm:e2e_request_latency_seconds`, `vllm:request_{queue,prefill,decode,inference}_time_seconds`,
`vllm:request_prompt_tokens`, `vllm:request_generation_tokens`, `vllm:request_params_max_tokens`,
`vllm:request_params_n`, `vllm:iteration_tokens_total`; plus the process/GC/platform collectors.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString as _float_to_go_string

# fmt: off
TTFT_BUCKETS: tuple[float, ...] = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
    2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)
TOKEN_LATENCY_BUCKETS: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
)
REQUEST_LATENCY_BUCKETS: tuple[float, ...] = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
    120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
)
# fmt: on
ITERATION_TOKENS_BUCKETS: tuple[float, ...] = (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)
PARAMS_N_BUCKETS: tuple[float, ...] = (1, 2, 5, 10, 20)
FINISHED_REASONS = ("stop", "length", "abort")
ENGINE_LABEL = "0"


def one_two_five_buckets(max_value: int) -> tuple[float, ...]:
    """1, 2, 5, 10, 20, 50, ... up to and including `max_value` (vLLM's token-count buckets)."""
    out: list[float] = []
    exponent = 0
    while True:
        for mantissa in (1, 2, 5):
            value = mantissa * 10**exponent
            if value > max_value:
                return tuple(out)
            out.append(float(value))
        exponent += 1


def _go_float(value: float) -> str:
    """How Prometheus writes a bucket bound (`1.0`, `0.005`, `+Inf`)."""
    text: str = _float_to_go_string(value)  # type: ignore[no-untyped-call]
    return text


class Histogram:
    """Bucket counts and a sum; `observe` takes a count so one call can record a whole batch."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(float(b) for b in bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float, count: int = 1) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += count
        self.total += value * count

    @property
    def count(self) -> int:
        return sum(self.counts)

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip(self.bounds, self.counts, strict=False):
            running += n
            out.append((_go_float(bound), float(running)))
        out.append(("+Inf", float(running + self.counts[-1])))
        return out


class EngineState(Protocol):
    """What the collector reads from the engine at scrape time."""

    @property
    def num_running(self) -> int: ...

    @property
    def num_waiting(self) -> int: ...

    @property
    def kv_cache_usage(self) -> float: ...


class EngineMetrics:
    """The counters and histograms the engine updates as requests move through it (latencies in seconds)."""

    def __init__(self, max_model_len: int) -> None:
        token_buckets = one_two_five_buckets(max_model_len)
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.preemptions = 0
        self.success: dict[str, int] = dict.fromkeys(FINISHED_REASONS, 0)
        self.ttft = Histogram(TTFT_BUCKETS)
        self.itl = Histogram(TOKEN_LATENCY_BUCKETS)
        self.request_tpot = Histogram(TOKEN_LATENCY_BUCKETS)
        self.e2e = Histogram(REQUEST_LATENCY_BUCKETS)
        self.queue = Histogram(REQUEST_LATENCY_BUCKETS)
        self.prefill = Histogram(REQUEST_LATENCY_BUCKETS)
        self.decode = Histogram(REQUEST_LATENCY_BUCKETS)
        self.inference = Histogram(REQUEST_LATENCY_BUCKETS)
        self.request_prompt_tokens = Histogram(token_buckets)
        self.request_generation_tokens = Histogram(token_buckets)
        self.params_max_tokens = Histogram(token_buckets)
        self.params_n = Histogram(PARAMS_N_BUCKETS)
        self.iteration_tokens = Histogram(ITERATION_TOKENS_BUCKETS)

    def on_prefill_done(self, prompt_tokens: int, ttft_s: float) -> None:
        self.prompt_tokens += prompt_tokens
        self.generation_tokens += 1
        self.ttft.observe(ttft_s)

    def on_decode_step(self, gap_s: float, sequences: int) -> None:
        """`sequences` sequences each produced one token `gap_s` after their previous one."""
        self.generation_tokens += sequences
        self.itl.observe(gap_s, sequences)

    def on_iteration(self, tokens: int) -> None:
        self.iteration_tokens.observe(tokens)

    def on_preempted(self) -> None:
        self.preemptions += 1

    def on_finished(
        self,
        *,
        reason: str,
        prompt_tokens: int,
        generation_tokens: int,
        max_tokens: int,
        e2e_s: float,
        queue_s: float,
        prefill_s: float | None,
        decode_s: float | None,
    ) -> None:
        self.success[reason] = self.success.get(reason, 0) + 1
        self.e2e.observe(e2e_s)
        self.queue.observe(queue_s)
        self.request_prompt_tokens.observe(prompt_tokens)
        self.request_generation_tokens.observe(generation_tokens)
        self.params_max_tokens.observe(max_tokens)
        self.params_n.observe(1)
        if prefill_s is not None:
            self.prefill.observe(prefill_s)
            inference = prefill_s + (decode_s or 0.0)
            self.inference.observe(inference)
        if decode_s is not None:
            self.decode.observe(decode_s)
            if generation_tokens > 1:
                self.request_tpot.observe(decode_s / (generation_tokens - 1))


class SimulatorCollector(Collector):
    """Turns `EngineMetrics` and the engine's live state into vLLM-named metric families."""

    def __init__(
        self,
        metrics: EngineMetrics,
        state: EngineState,
        *,
        model_name: str,
        cache_config: dict[str, str],
    ) -> None:
        self.metrics = metrics
        self.state = state
        self.labels = [model_name, ENGINE_LABEL]
        self.cache_config = cache_config

    def collect(self) -> Iterator[Metric]:
        m, state, lv = self.metrics, self.state, self.labels
        names = ["model_name", "engine"]

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, doc, labels=names)
            family.add_metric(lv, value)
            return family

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            family = CounterMetricFamily(name, doc, labels=names)
            family.add_metric(lv, value)
            return family

        def histogram(name: str, doc: str, hist: Histogram) -> HistogramMetricFamily:
            family = HistogramMetricFamily(name, doc, labels=names)
            family.add_metric(lv, hist.buckets(), hist.total)
            return family

        usage = state.kv_cache_usage
        yield gauge("vllm:num_requests_running", "Number of requests in model execution batches.", state.num_running)
        yield gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", state.num_waiting)
        yield gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", usage)
        yield gauge(
            "vllm:gpu_cache_usage_perc",
            "GPU KV-cache usage. 1 means 100 percent usage. DEPRECATED: use vllm:kv_cache_usage_perc",
            usage,
        )
        info = GaugeMetricFamily(
            "vllm:cache_config_info", "Information of the LLMEngine CacheConfig", labels=[*self.cache_config, "engine"]
        )
        info.add_metric([*self.cache_config.values(), ENGINE_LABEL], 1.0)
        yield info

        yield counter("vllm:prompt_tokens", "Number of prefill tokens processed.", m.prompt_tokens)
        yield counter("vllm:generation_tokens", "Number of generation tokens processed.", m.generation_tokens)
        yield counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", m.preemptions)
        yield counter(
            "vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", m.prompt_tokens
        )
        yield counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", 0)
        success = CounterMetricFamily(
            "vllm:request_success", "Count of successfully processed requests.", labels=[*names, "finished_reason"]
        )
        for reason, count in m.success.items():
            success.add_metric([*lv, reason], count)
        yield success

        yield histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", m.ttft)
        yield histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", m.itl)
        yield histogram(
            "vllm:time_per_output_token_seconds",
            "Histogram of time per output token in seconds. DEPRECATED: use vllm:inter_token_latency_seconds",
            m.itl,
        )
        yield histogram(
            "vllm:request_time_per_output_token_seconds",
            "Histogram of time_per_output_token_seconds per request.",
            m.request_tpot,
        )
        yield histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", m.e2e)
        yield histogram(
            "vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", m.queue
        )
        yield histogram(
            "vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", m.prefill
        )
        yield histogram(
            "vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", m.decode
        )
        yield histogram(
            "vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", m.inference
        )
        yield histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", m.request_prompt_tokens)
        yield histogram(
            "vllm:request_generation_tokens", "Number of generation tokens processed.", m.request_generation_tokens
        )
        yield histogram(
            "vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", m.params_max_tokens
        )
        yield histogram("vllm:request_params_n", "Histogram of the n request parameter.", m.params_n)
        yield histogram(
            "vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", m.iteration_tokens
        )


def build_registry(
    metrics: EngineMetrics, state: EngineState, *, model_name: str, cache_config: dict[str, str]
) -> CollectorRegistry:
    """A fresh registry holding the simulator's metrics and the process, GC and platform collectors."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SimulatorCollector(metrics, state, model_name=model_name, cache_config=cache_config))
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry
