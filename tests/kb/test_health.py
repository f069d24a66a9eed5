"""Data health reports gaps and staleness across the knowledge base."""

from __future__ import annotations

import datetime as dt

from kb.db import Database
from kb.health import check_health
from kb.repositories import benchmarks as repo
from tests.factories import benchmark


def _checks(db: Database, **kwargs: object) -> dict[str, set[str]]:
    with db.session() as s:
        report = check_health(s, **kwargs)  # type: ignore[arg-type]
    found: dict[str, set[str]] = {}
    for p in report.problems:
        found.setdefault(p.check, set()).add(p.subject)
    return found


def test_models_without_benchmarks_are_listed(seeded_db: Database) -> None:
    found = _checks(seeded_db)
    assert "meta-llama/Llama-3.1-8B-Instruct" in found["models_without_benchmarks"]


def test_benchmarks_for_unknown_models_and_gpus_are_listed(seeded_db: Database) -> None:
    with seeded_db.session() as s:
        repo.upsert(s, [benchmark(model_hf_repo="acme/secret-model", hardware="TPU-v9")])
    found = _checks(seeded_db)
    assert found["benchmarks_unknown_model"] == {"acme/secret-model"}
    assert found["benchmarks_unknown_gpu"] == {"TPU-v9"}


def test_profiles_with_benchmarks_are_not_reported(seeded_db: Database) -> None:
    with seeded_db.session() as s:
        repo.upsert(s, [benchmark()])
    found = _checks(seeded_db)
    assert "chatbot_conversational" not in found["profiles_without_benchmarks"]
    assert "translation" in found["profiles_without_benchmarks"]


def test_prices_older_than_the_limit_are_stale(seeded_db: Database) -> None:
    far_future = dt.date.today() + dt.timedelta(days=5000)
    assert _checks(seeded_db, today=far_future, stale_after_days=30).get("stale_prices")
    assert not _checks(seeded_db, stale_after_days=100000).get("stale_prices")


def test_an_empty_catalog_is_not_falsely_healthy(db: Database) -> None:
    with db.session() as s:
        report = check_health(s)
    assert not report.ok
    assert {p.subject for p in report.problems if p.check == "empty_catalog"} == {"models", "gpus", "slo_templates"}
