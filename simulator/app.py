"""App factory: builds one simulator (latency model, engine, metrics registry, routes) with no global state.

`create_app(config)` returns a FastAPI app whose lifespan starts the engine (after an optional
`SIM_STARTUP_DELAY_S`, during which the server does not listen, as vLLM does while loading
weights) and, on shutdown, stops taking requests and lets in-flight ones finish for up to
`SHUTDOWN_TIMEOUT_S` before aborting them. `run_simulator(config, host, port)` serves it with
uvicorn, whose own graceful shutdown (stop accepting, wait for open responses) uses the same timeout.
"""

from __future__ import annotations

import asyncio
import gc
import math
import random
import resource
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.api import ServerState, build_router
from simulator.config import SIMULATOR_VERSION, LatencySource, SimulatorConfig
from simulator.engine import Engine
from simulator.errors import install_error_handlers
from simulator.latency import LatencyModel
from simulator.metrics import EngineMetrics, build_registry
from simulator.sources import build_latency_model


class ArrivalTimeMiddleware:
    """Stamps each request with its arrival time (before the body is read) as `request.state.arrived`,
    so TTFT and end-to-end latency start when the server received the request, as in vLLM."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["arrived"] = time.monotonic()
        await self.app(scope, receive, send)


def create_app(
    config: SimulatorConfig,
    *,
    latency_source: LatencySource | None = None,
    latency_model: LatencyModel | None = None,
) -> FastAPI:
    """A simulator app for `config`; `latency_source` (e.g. database-backed) replaces BENCHMARKS_PATH and
    `latency_model` replaces both. Raises ConfigurationError when there is no latency data to use."""
    model = latency_model if latency_model is not None else build_latency_model(config, latency_source)
    metrics = EngineMetrics(config.max_model_len)
    engine = Engine(
        model,
        max_num_seqs=config.max_num_seqs,
        kv_capacity_tokens=config.kv_capacity_tokens,
        kv_block_size=config.kv_block_size,
        time_scale=config.sim_time_scale,
        rng=random.Random(config.sim_seed),
        metrics=metrics,
        max_waiting=config.max_waiting,
        ttft_allowance_s=config.sim_client_overhead_ms / 1000.0,
    )
    cache_config = {
        "block_size": str(config.kv_block_size),
        "num_gpu_blocks": str(engine.kv_capacity_blocks),
        "gpu_memory_utilization": "0.9",
        "enable_prefix_caching": "False",
        "cache_dtype": "auto",
    }
    registry = build_registry(metrics, engine, model_name=config.served_name, cache_config=cache_config)
    state = ServerState(
        config=config,
        model=model,
        engine=engine,
        metrics=metrics,
        registry=registry,
        text_rng=random.Random(None if config.sim_seed is None else config.sim_seed + 1),
        created=int(time.time()),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if config.sim_startup_delay_s:
            await asyncio.sleep(config.sim_startup_delay_s)
        await engine.start()
        try:
            yield
        finally:
            await engine.shutdown(config.shutdown_timeout_s)

    app = FastAPI(
        title="vLLM simulator",
        version=SIMULATOR_VERSION,
        description=f"Simulated vLLM OpenAI server for {config.served_name} on "
        f"{config.tensor_parallel_size}x{config.gpu_type}: {model.description}",
        lifespan=lifespan,
    )
    app.state.simulator = state
    app.add_middleware(ArrivalTimeMiddleware)
    install_error_handlers(app)
    app.include_router(build_router(state))
    return app


def uvicorn_config(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    latency_source: LatencySource | None = None,
    log_level: str = "info",
    access_log: bool = False,
    loop: str = "auto",
) -> uvicorn.Config:
    """The uvicorn settings `run_simulator` uses (also handy for tests that run a server in a thread)."""
    return uvicorn.Config(
        create_app(config, latency_source=latency_source),
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=math.ceil(config.shutdown_timeout_s),
        backlog=4096,
        loop=loop,
    )


def _tune_process() -> None:
    """Process-wide settings for a long-running server (this process runs nothing else): more open files
    for thousands of connections, as vLLM does; and garbage collection kept off the long-lived objects
    (the app, pydantic and FastAPI internals: a full collection over them paused the loop for 160 ms)
    and run less often, since its pauses show up as inter-token latency spikes."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536) if hard > 0 else 65536, hard))
    except (ValueError, OSError):  # pragma: no cover - not permitted here
        pass
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def run_simulator(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    latency_source: LatencySource | None = None,
    log_level: str = "info",
    access_log: bool = False,
    loop: str = "auto",
) -> None:
    """Serves the simulator until SIGINT/SIGTERM (blocking)."""
    server = uvicorn.Server(
        uvicorn_config(
            config, host, port, latency_source=latency_source, log_level=log_level, access_log=access_log, loop=loop
        )
    )
    _tune_process()  # after the app exists, so its objects are frozen out of the collector's way
    server.run()
