"""Simulator settings, read from the environment as the container is deployed, and the latency-data hook.

Every setting is an environment variable without prefix (`MODEL_NAME`, `GPU_TYPE`,
`TENSOR_PARALLEL_SIZE`, `BENCHMARKS_PATH`, `MAX_NUM_SEQS`, ...), so a Kubernetes manifest can set
them directly; the CLI builds the same object from flags. Latency data comes from one of:

* `BENCHMARKS_PATH`: a JSON file holding a list of `BenchmarkRecord` objects, so a container
  needs no database;
* a `LatencySource` callable passed by the caller (Compass passes one backed by its database
  when `COMPASS_DATABASE_URL` is set);
* `TTFT_MS` / `ITL_MS`: flat figures, used when no benchmark rows are given, or to override
  the benchmark-derived value of that one quantity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kb.domain import BenchmarkRecord

SIMULATOR_VERSION = "0.1.0"
SIMULATED_VLLM_VERSION = "0.11.0"
IMAGE = f"ghcr.io/compass-llm/vllm-simulator:{SIMULATOR_VERSION}"

LatencySource = Callable[[str, str, int], Sequence[BenchmarkRecord]]
"""Loads the benchmark rows for `(model, gpu, tensor_parallel_size)`; may return rows for other keys too."""


class JitterSource(StrEnum):
    """Where the spread of sampled latencies comes from."""

    BENCHMARKS = "benchmarks"
    """The p95/median spread of the benchmark rows, never narrower than `SIM_JITTER`."""
    FIXED = "fixed"
    """`SIM_JITTER` alone."""


class SimulatorConfig(BaseSettings):
    """What the simulator pretends to be and how it behaves; field names are the environment variable names."""

    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=False,
        extra="ignore",
        protected_namespaces=(),
        frozen=True,
    )

    model_name: str = Field(min_length=1, description="Model served, e.g. meta-llama/Llama-3.1-8B-Instruct")
    served_model_name: str | None = Field(
        default=None, description="Name the API accepts and lists (vLLM --served-model-name); MODEL_NAME when unset"
    )
    gpu_type: str = Field(default="H100", min_length=1, description="GPU the benchmark rows were measured on")
    tensor_parallel_size: Annotated[int, Field(ge=1, le=64)] = 1
    benchmarks_path: Path | None = Field(default=None, description="JSON file: a list of BenchmarkRecord objects")
    compass_database_url: str | None = Field(
        default=None, description="Compass database to read benchmark rows from when BENCHMARKS_PATH is not set"
    )
    max_num_seqs: Annotated[int, Field(ge=1, le=65536)] = 256
    max_model_len: Annotated[int, Field(ge=16)] = 8192
    max_waiting: Annotated[int, Field(ge=0)] = Field(
        default=0, description="Most queued requests before new ones get 503; 0 means unbounded (as vLLM)"
    )
    kv_cache_tokens: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="KV-cache capacity in tokens; MAX_NUM_SEQS x MAX_MODEL_LEN when unset"
    )
    kv_block_size: Annotated[int, Field(ge=1, le=1024)] = 16
    sim_jitter: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.05, description="Relative spread (log-normal sigma) of sampled latencies"
    )
    sim_jitter_source: JitterSource = JitterSource.BENCHMARKS
    sim_seed: int | None = Field(default=None, description="Seed for latency noise and response text")
    sim_time_scale: Annotated[float, Field(gt=0, le=100)] = Field(
        default=1.0, description="Multiplies every simulated duration; 0.1 runs ten times faster than real time"
    )
    sim_ignore_eos: bool = Field(
        default=False, description="Always generate max_tokens tokens, as if every request set ignore_eos"
    )
    sim_startup_delay_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        default=0.0, description="Seconds to wait before listening, as vLLM does while loading weights"
    )
    sim_load_factor: Annotated[float, Field(ge=1, le=100)] = Field(
        default=1.0, description="Flat model only: latency multiplier reached when MAX_NUM_SEQS requests run"
    )
    ttft_ms: Annotated[float, Field(gt=0)] | None = Field(default=None, description="Flat time to first token")
    itl_ms: Annotated[float, Field(gt=0)] | None = Field(default=None, description="Flat inter-token latency")
    prefill_ms_per_token: Annotated[float, Field(ge=0)] = Field(
        default=0.0, description="Flat model only: added to TTFT_MS per prompt token"
    )
    sim_client_overhead_ms: Annotated[float, Field(ge=0, le=1000)] = Field(
        default=3.0,
        description="Client-side share of a benchmark's TTFT (building and sending the request, parsing the "
        "first SSE event: about 3 ms for the official openai Python client, 1-2 ms for raw httpx/aiohttp); the "
        "first token is sent this much sooner so clients observe the benchmark's client-measured TTFT",
    )
    shutdown_timeout_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        default=30.0, description="How long in-flight requests may finish after SIGTERM"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.kv_cache_tokens is not None and self.kv_cache_tokens < self.max_model_len:
            raise ValueError("kv_cache_tokens must hold at least one full sequence (>= max_model_len)")
        return self

    @property
    def served_name(self) -> str:
        return self.served_model_name or self.model_name

    @property
    def kv_capacity_tokens(self) -> int:
        return self.kv_cache_tokens if self.kv_cache_tokens is not None else self.max_num_seqs * self.max_model_len

    @property
    def has_flat_latency(self) -> bool:
        return self.ttft_ms is not None and self.itl_ms is not None
