"""`compass simulate`: run the vLLM simulator for one model/GPU/TP, with latency rows from the database."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.context import open_database
from agent.cli.errors import friendly_errors
from kb.domain import BenchmarkRecord, Quantization
from kb.errors import NotFoundError
from kb.repositories.catalog import CatalogSnapshot, load_snapshot
from simulator import run_simulator
from simulator.config import SimulatorConfig
from tools.deploy.request import DeploymentRequest
from tools.deploy.service import DeploymentService


@friendly_errors
def simulate(
    model: Annotated[str, typer.Option(help="Model (HF repo id or short name)")],
    gpu: Annotated[str, typer.Option(help="GPU type whose benchmark rows set the latency")] = "H100",
    tp: Annotated[int, typer.Option(min=1, max=64, help="Tensor-parallel size")] = 1,
    quantization: Annotated[Quantization, typer.Option(help="Weight format")] = Quantization.BF16,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8100,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    benchmarks: Annotated[Path | None, typer.Option(help="JSON rows instead of the database")] = None,
    max_num_seqs: Annotated[int, typer.Option(min=1)] = 256,
    seed: Annotated[int | None, typer.Option(help="Seed for latency noise and text")] = None,
) -> None:
    """Serve an OpenAI-compatible simulated vLLM whose latency follows this model/GPU/TP's benchmark rows."""
    rows: Sequence[BenchmarkRecord] = []
    if benchmarks is None:
        database = open_database()
        service = DeploymentService(database)
        catalog = service_catalog(service)
        canonical = catalog.model(model).hf_repo
        request = DeploymentRequest(
            model=canonical, gpu=catalog.gpu(gpu).name, tensor_parallel=tp, quantization=quantization
        )
        rows = service.simulator_rows(request, catalog)
        if not rows:
            raise NotFoundError(f"{canonical} does not fit {tp}x {gpu}: there is nothing to simulate")
        model, gpu = canonical, request.gpu
    config = SimulatorConfig(
        model_name=model, gpu_type=gpu, tensor_parallel_size=tp, benchmarks_path=benchmarks,
        max_num_seqs=max_num_seqs, sim_seed=seed,
    )  # fmt: skip
    run_simulator(config, host, port, latency_source=(lambda *_: rows) if rows else None)


def service_catalog(service: DeploymentService) -> CatalogSnapshot:
    with service.database.session() as session:
        return load_snapshot(session)
