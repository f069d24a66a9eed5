"""Importing GuideLLM reports into the database: counts, idempotence, all-or-nothing, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.db import Database
from kb.domain import BenchmarkSource
from kb.errors import ImportFormatError, NotFoundError, ValidationFailedError
from kb.repositories import benchmarks as repo
from kb.services import import_guidellm

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def test_importing_a_report_inserts_its_benchmarks_as_imported(seeded_db: Database, guidellm_samples: Path) -> None:
    result = import_guidellm(
        seeded_db, guidellm_samples / "benchmarks_stripped.json", model=MODEL, hardware="h100", hardware_count=1
    )
    assert (result.inserted, result.updated, result.unchanged) == (1, 0, 0)
    assert result.hardware == "H100" and result.model_in_catalog
    with seeded_db.session() as s:
        page = repo.search(s, repo.BenchmarkFilter(model=MODEL))
    assert page.items[0].source is BenchmarkSource.IMPORTED
    assert page.items[0].ttft_ms.p95 == pytest.approx(19.01, abs=0.01)


def test_reimporting_the_same_report_is_idempotent(seeded_db: Database, guidellm_samples: Path) -> None:
    path = guidellm_samples / "benchmarks_happy.json"
    import_guidellm(seeded_db, path, model=MODEL, hardware="L4", hardware_count=1)
    again = import_guidellm(seeded_db, path, model=MODEL, hardware="L4", hardware_count=1)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)


def test_an_unknown_gpu_is_refused_before_anything_is_read(seeded_db: Database, guidellm_samples: Path) -> None:
    with pytest.raises(NotFoundError, match="unknown GPU 'RTX-9999'"):
        import_guidellm(
            seeded_db, guidellm_samples / "benchmarks_happy.json", model=MODEL, hardware="RTX-9999", hardware_count=1
        )


def test_a_negative_gpu_count_is_refused(seeded_db: Database, guidellm_samples: Path) -> None:
    with pytest.raises(ValidationFailedError, match="--count must be at least 1 GPU, got -2"):
        import_guidellm(
            seeded_db, guidellm_samples / "benchmarks_happy.json", model=MODEL, hardware="L4", hardware_count=-2
        )


def test_a_report_broken_in_its_second_benchmark_writes_nothing(
    seeded_db: Database, guidellm_samples: Path, tmp_path: Path
) -> None:
    doc = json.loads((guidellm_samples / "benchmarks_happy.json").read_text())
    second = json.loads(json.dumps(doc["benchmarks"][0]))
    second["config"]["strategy"]["rate"] = 8.0
    del second["metrics"]["time_to_first_token_ms"]
    doc["benchmarks"].append(second)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc))
    with pytest.raises(ImportFormatError, match=r"broken.json: at benchmarks\[1\]\.metrics\.time_to_first_token_ms"):
        import_guidellm(seeded_db, broken, model=MODEL, hardware="L4", hardware_count=1)
    with seeded_db.session() as s:
        assert repo.search(s, repo.BenchmarkFilter()).total == 0


def test_latency_in_the_wrong_unit_is_refused(seeded_db: Database, guidellm_samples: Path, tmp_path: Path) -> None:
    doc = json.loads((guidellm_samples / "benchmarks_stripped.json").read_text())
    latency = doc["benchmarks"][0]["metrics"]["request_latency"]["successful"]
    for key in ("mean", "median", "min", "max"):
        latency[key] *= 1000
    latency["percentiles"] = {k: v * 1000 for k, v in latency["percentiles"].items()}
    path = tmp_path / "ms.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ImportFormatError, match="request_latency"):
        import_guidellm(seeded_db, path, model=MODEL, hardware="L4", hardware_count=1)
