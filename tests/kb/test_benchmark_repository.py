"""Benchmark repository: exact matching, SLO-bounded search, paging and precedence of real rows."""

from __future__ import annotations

import pytest

from kb.db import Database
from kb.domain import BenchmarkKey, BenchmarkSource, SLOTargets
from kb.repositories import benchmarks as repo
from tests.factories import benchmark, stats

KEY = BenchmarkKey(
    model_hf_repo="meta-llama/Llama-3.1-8B-Instruct",
    hardware="H100",
    hardware_count=1,
    prompt_tokens=512,
    output_tokens=256,
)


def test_exact_lookup_returns_every_load_point_lowest_rate_first(db: Database) -> None:
    with db.session() as s:
        repo.upsert(s, [benchmark(load_value=c, requests_per_second=c * 0.3) for c in (16, 1, 4)])
    with db.session() as s:
        rows = repo.find_exact(s, KEY)
    assert [r.load_value for r in rows] == [1, 4, 16]


def test_exact_lookup_never_fuzzy_matches_a_near_traffic_profile(db: Database) -> None:
    with db.session() as s:
        repo.upsert(s, [benchmark(prompt_tokens=500)])
    with db.session() as s:
        assert repo.find_exact(s, KEY) == []


def test_real_rows_hide_estimates_for_the_same_key(db: Database) -> None:
    with db.session() as s:
        repo.upsert(s, [benchmark(load_value=1, source=BenchmarkSource.ESTIMATED, confidence=0.6)])
        repo.upsert(s, [benchmark(load_value=8, source=BenchmarkSource.IMPORTED)])
    with db.session() as s:
        rows = repo.find_exact(s, KEY)
    assert [r.source for r in rows] == [BenchmarkSource.IMPORTED]


def test_an_estimate_never_overwrites_a_measured_row(db: Database) -> None:
    with db.session() as s:
        repo.upsert(s, [benchmark(ttft_ms=stats(40.0))])
    with db.session() as s:
        counts = repo.upsert(s, [benchmark(ttft_ms=stats(99.0), source=BenchmarkSource.ESTIMATED)])
    assert counts.kept_real == 1 and counts.inserted == counts.updated == 0
    with db.session() as s:
        assert repo.find_exact(s, KEY)[0].ttft_ms.p95 == 40.0


def test_an_import_replaces_an_estimate_with_the_same_full_key(db: Database) -> None:
    with db.session() as s:
        repo.upsert(s, [benchmark(source=BenchmarkSource.ESTIMATED, ttft_ms=stats(80.0))])
    with db.session() as s:
        counts = repo.upsert(s, [benchmark(source=BenchmarkSource.IMPORTED, ttft_ms=stats(50.0))])
    assert counts.updated == 1
    with db.session() as s:
        assert repo.find_exact(s, KEY)[0].source is BenchmarkSource.IMPORTED


def test_upserting_the_same_rows_twice_reports_them_unchanged(db: Database) -> None:
    rows = [benchmark(load_value=c) for c in (1, 2, 4)]
    with db.session() as s:
        first = repo.upsert(s, rows)
    with db.session() as s:
        second = repo.upsert(s, rows)
    assert (first.inserted, second.inserted, second.unchanged) == (3, 0, 3)


def test_duplicated_rows_in_one_upsert_keep_the_last(db: Database) -> None:
    with db.session() as s:
        counts = repo.upsert(s, [benchmark(ttft_ms=stats(10.0)), benchmark(ttft_ms=stats(20.0))])
    assert counts.inserted == 1
    with db.session() as s:
        assert repo.find_exact(s, KEY)[0].ttft_ms.p95 == 20.0


def test_slo_search_keeps_only_rows_meeting_every_target(db: Database) -> None:
    with db.session() as s:
        repo.upsert(
            s,
            [
                benchmark(load_value=1, ttft_ms=stats(40), itl_ms=stats(10)),
                benchmark(load_value=8, ttft_ms=stats(140), itl_ms=stats(20)),
                benchmark(load_value=32, ttft_ms=stats(400), itl_ms=stats(30)),
            ],
        )
    slo = SLOTargets(ttft_p95_ms=150, itl_p95_ms=25, e2e_p95_ms=7000)
    with db.session() as s:
        rows = repo.find_within_slo(s, prompt_tokens=512, output_tokens=256, slo=slo)
    assert sorted(r.load_value for r in rows) == [1, 8]


@pytest.mark.parametrize(("percentile", "expected"), [("p95", [1]), ("mean", [1, 8])])
def test_slo_search_uses_the_chosen_percentile(db: Database, percentile: repo.Percentile, expected: list[int]) -> None:
    with db.session() as s:
        repo.upsert(s, [benchmark(load_value=1, ttft_ms=stats(40)), benchmark(load_value=8, ttft_ms=stats(170))])
    slo = SLOTargets(ttft_p95_ms=150, itl_p95_ms=100, e2e_p95_ms=70000)
    with db.session() as s:
        rows = repo.find_within_slo(s, prompt_tokens=512, output_tokens=256, slo=slo, percentile=percentile)
    assert sorted(r.load_value for r in rows) == expected


def test_search_pages_are_stable_and_counted(db: Database) -> None:
    with db.session() as s:
        repo.upsert(s, [benchmark(load_value=c) for c in range(1, 26)])
    with db.session() as s:
        first = repo.search(s, repo.BenchmarkFilter(hardware="H100"), offset=0, limit=10)
        last = repo.search(s, repo.BenchmarkFilter(hardware="H100"), offset=20, limit=10)
    assert first.total == 25 and len(first.items) == 10 and len(last.items) == 5
    assert first.items[0].load_value == 1 and last.items[-1].load_value == 25


def test_search_filters_by_source(db: Database) -> None:
    with db.session() as s:
        repo.upsert(s, [benchmark(load_value=1), benchmark(load_value=2, source=BenchmarkSource.ESTIMATED)])
    with db.session() as s:
        page = repo.search(s, repo.BenchmarkFilter(source=BenchmarkSource.ESTIMATED))
    assert [r.load_value for r in page.items] == [2]


def test_a_failed_upsert_writes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        repo.upsert(s, [benchmark(load_value=1)])
        raise RuntimeError("boom")
    with db.session() as s:
        assert repo.find_exact(s, KEY) == []


def test_replacing_estimates_keeps_measured_rows_and_drops_old_estimates(db: Database) -> None:
    with db.session() as s:
        repo.upsert(s, [benchmark(load_value=1, ttft_ms=stats(40.0))])
        repo.upsert(s, [benchmark(load_value=99, source=BenchmarkSource.ESTIMATED)])
    fresh = [
        benchmark(load_value=1, source=BenchmarkSource.ESTIMATED, ttft_ms=stats(70.0)),
        benchmark(load_value=2, source=BenchmarkSource.ESTIMATED),
    ]
    with db.session() as s:
        counts = repo.replace_estimates(s, [repo.record_to_values(r) for r in fresh])
    assert (counts.inserted, counts.kept_real) == (1, 1)
    with db.session() as s:
        page = repo.search(s, repo.BenchmarkFilter())
    assert {(r.load_value, r.source) for r in page.items} == {
        (1, BenchmarkSource.MEASURED),
        (2, BenchmarkSource.ESTIMATED),
    }


def test_every_write_moves_the_revision_counter(db: Database) -> None:
    with db.session() as s:
        before = repo.revision(s)
        repo.upsert(s, [benchmark()])
    with db.session() as s:
        assert repo.revision(s) == before + 1
        repo.upsert(s, [benchmark()])  # unchanged: no new revision
    with db.session() as s:
        assert repo.revision(s) == before + 1
