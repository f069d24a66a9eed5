"""The simulator reads its latency rows from the Compass database when COMPASS_DATABASE_URL is set."""

from __future__ import annotations

import pytest

from kb.db import Database
from kb.errors import ConfigurationError
from kb.repositories import benchmarks as repo
from simulator.config import SimulatorConfig
from simulator.sources import build_latency_model
from tests.factories import benchmark, stats


def test_rows_come_from_the_database(db: Database) -> None:
    with db.session() as s:
        repo.upsert(
            s, [benchmark(load_value=c, concurrency=c, itl_ms=stats(10 + c), requests_per_second=c) for c in (1, 8, 32)]
        )
    config = SimulatorConfig(
        model_name="meta-llama/Llama-3.1-8B-Instruct", gpu_type="H100", compass_database_url=db.url
    )
    model = build_latency_model(config)
    assert model.predicted(1, 512, 256).itl_p50_s < model.predicted(32, 512, 256).itl_p50_s


def test_a_database_without_rows_for_the_model_is_a_clear_error(db: Database) -> None:
    config = SimulatorConfig(model_name="acme/none", gpu_type="H100", compass_database_url=db.url)
    with pytest.raises(ConfigurationError, match="no benchmark rows for acme/none on 1xH100"):
        build_latency_model(config)
