"""PlanningService caching: start-up warm-up and single-flight curve builds, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from kb.db import Database
from tools.planning_service import PlanningService
from tools.specs import DeploymentSpec


def test_warm_builds_every_use_case_profile_once(small_catalog_db: Database, matrix_builds: list[int]) -> None:
    service = PlanningService(small_catalog_db)
    profiles = {t.traffic for t in service.catalog().templates}

    assert service.warm() == len(profiles)
    assert len(matrix_builds) == len(profiles)

    recommendation = service.recommend(DeploymentSpec(use_case="chatbot_conversational", users=1000))
    assert recommendation.options, "a warmed service still plans"
    assert len(matrix_builds) == len(profiles), "the first recommendation after warm-up reuses the warmed curves"
    assert service.warm() == len(profiles)
    assert len(matrix_builds) == len(profiles), "warming twice builds nothing new"


def test_cold_profile_is_built_once_for_many_concurrent_requests(
    small_catalog_db: Database, matrix_builds: list[int]
) -> None:
    service = PlanningService(small_catalog_db)
    catalog = service.catalog()
    traffic = catalog.templates[0].traffic
    with ThreadPoolExecutor(max_workers=8) as pool:
        matrices = list(pool.map(lambda _: service.curves(catalog, traffic), range(16)))

    assert len(matrix_builds) == 1
    assert all(m is matrices[0] for m in matrices)


def test_a_benchmark_import_rebuilds_the_warmed_matrix(small_catalog_db: Database, matrix_builds: list[int]) -> None:
    from kb.repositories import benchmarks as bench_repo

    service = PlanningService(small_catalog_db)
    catalog = service.catalog()
    traffic = catalog.templates[0].traffic
    first = service.curves(catalog, traffic)
    with small_catalog_db.session() as session:
        bench_repo.bump_revision(session)
    assert service.curves(catalog, traffic) is not first
    assert len(matrix_builds) == 2
