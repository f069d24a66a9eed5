"""Helpers for the simulator tests: benchmark rows built in code and real uvicorn servers on free ports."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from kb.domain import BenchmarkRecord, BenchmarkSource, LatencyStats, LoadKind
from simulator import SimulatorConfig, create_app

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def stats(mean: float, spread: float = 1.2) -> LatencyStats:
    """Latency stats whose p95 is `spread` times the mean."""
    return LatencyStats(mean=mean, p90=mean * (1 + (spread - 1) * 0.8), p95=mean * spread, p99=mean * spread * 1.1)


def record(
    concurrency: float,
    ttft_ms: float,
    itl_ms: float,
    *,
    prompt: int = 512,
    output: int = 256,
    model: str = MODEL,
    hardware: str = "H100",
    count: int = 1,
    spread: float = 1.2,
    source: BenchmarkSource = BenchmarkSource.MEASURED,
) -> BenchmarkRecord:
    e2e = ttft_ms + (output - 1) * itl_ms
    return BenchmarkRecord(
        model_hf_repo=model,
        hardware=hardware,
        hardware_count=count,
        prompt_tokens=prompt,
        output_tokens=output,
        load_kind=LoadKind.CONCURRENCY,
        load_value=concurrency,
        ttft_ms=stats(ttft_ms, spread),
        itl_ms=stats(itl_ms, spread),
        e2e_ms=stats(e2e, spread),
        requests_per_second=concurrency / (e2e / 1000),
        tokens_per_second=concurrency / (e2e / 1000) * output,
        source=source,
        provenance_date=dt.date(2025, 6, 1),
    )


def ladder(prompt: int = 512, output: int = 256, **kw: object) -> list[BenchmarkRecord]:
    """TTFT 50 ms and ITL 10 ms at concurrency 1, both growing with concurrency."""
    points = [(1, 50.0, 10.0), (8, 60.0, 12.0), (32, 90.0, 16.0), (128, 200.0, 30.0)]
    return [record(c, t, i, prompt=prompt, output=output, **kw) for c, t, i in points]  # type: ignore[arg-type]


@dataclass
class Server:
    url: str
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def metrics(self) -> dict[str, float]:
        """Every sample of /metrics keyed `name{label=value,...}` (labels sorted), model/engine labels dropped."""
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                labels = {k: v for k, v in s.labels.items() if k not in ("model_name", "engine")}
                key = s.name + ("{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}" if labels else "")
                out[key] = s.value
        return out

    def wait_for(self, key: str, value: float, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            seen = self.metrics().get(key)
            if seen == value:
                return
            time.sleep(0.02)
        raise AssertionError(f"{key} stayed {seen}, expected {value}")


@contextmanager
def serve(config: SimulatorConfig, **app_kw: object) -> Iterator[Server]:
    """Runs the simulator in a uvicorn server on a free 127.0.0.1 port, in a thread."""
    app = create_app(config, **app_kw)  # type: ignore[arg-type]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=int(config.shutdown_timeout_s) or None)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("simulator did not start")
        time.sleep(0.01)
    try:
        yield Server(f"http://127.0.0.1:{port}", app, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def flat_config(**kw: object) -> SimulatorConfig:
    base: dict[str, object] = {
        "model_name": MODEL,
        "ttft_ms": 50.0,
        "itl_ms": 10.0,
        "sim_seed": 7,
        "sim_time_scale": 0.2,
        "sim_jitter": 0.0,
        "max_model_len": 4096,
        "shutdown_timeout_s": 5.0,
        "compass_database_url": None,  # hermetic: ignore a developer's COMPASS_DATABASE_URL
    }
    base.update(kw)
    return SimulatorConfig(**base)  # type: ignore[arg-type]
