"""Knowledge-base figures: exact lookup at 100k rows, empty-to-seeded time, GuideLLM import time."""

from __future__ import annotations

import copy
import json
import random
import tempfile
import time
from pathlib import Path

from kb.domain import BenchmarkKey, BenchmarkSource, LatencyStats, LoadKind
from kb.repositories import benchmarks as repo
from kb.services import ensure_ready, import_guidellm
from tests.bench.common import fmt_ms, fresh_database, timed

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "guidellm"
BACKENDS = ("sqlite", "postgresql")


def _synthetic_rows(n: int) -> list[repo.BenchmarkRecord]:
    rng = random.Random(7)
    models = [f"org/model-{i}" for i in range(50)]
    gpus = ["L4", "A10G", "L40S", "A100-40GB", "A100-80GB", "H100", "H200", "MI300X", "B200", "T4"]
    profiles = [(512, 256), (1024, 1024), (4096, 512), (10240, 1536)]
    rows = []
    for i in range(n):
        model = models[i % 50]
        gpu = gpus[(i // 50) % 10]
        count = (1, 2, 4, 8)[(i // 500) % 4]
        prompt, output = profiles[(i // 2000) % 4]
        load = float((i // 8000) + 1)
        s = LatencyStats(mean=10, p90=11, p95=12, p99=13)
        rows.append(
            repo.BenchmarkRecord(
                model_hf_repo=model,
                hardware=gpu,
                hardware_count=count,
                prompt_tokens=prompt,
                output_tokens=output,
                load_kind=LoadKind.CONCURRENCY,
                load_value=load,
                ttft_ms=s,
                itl_ms=s,
                e2e_ms=s,
                requests_per_second=rng.random() * 10,
                tokens_per_second=rng.random() * 1000,
                source=BenchmarkSource.ESTIMATED,
                confidence=0.5,
            )
        )
    return rows


def bench_exact_lookup(rows: int = 100_000) -> list[str]:
    data = _synthetic_rows(rows)
    lines = []
    for backend in BACKENDS:
        with fresh_database(backend) as db:
            db.upgrade()
            with db.session() as s:
                repo.upsert(s, data, batch_size=2000)
            keys = [r.key for r in random.Random(1).sample(data, 500)]
            cycle = iter(keys * 10)

            def lookup(db=db, cycle=cycle) -> None:
                with db.reader() as s:
                    assert repo.find_exact(s, next(cycle))

            t = timed(lookup, repeat=2000)
            miss = BenchmarkKey(
                model_hf_repo="none/none", hardware="L4", hardware_count=1, prompt_tokens=1, output_tokens=1
            )

            def lookup_miss(db=db, miss=miss) -> None:
                with db.reader() as s:
                    repo.find_exact(s, miss)

            m = timed(lookup_miss, repeat=1000)
            lines.append(
                f"| exact-match lookup, {rows:,} rows | {backend} | {fmt_ms(t['p50'])} | **{fmt_ms(t['p95'])}** "
                f"| miss p95 {fmt_ms(m['p95'])} |"
            )
    return lines


def bench_empty_to_seeded() -> list[str]:
    lines = []
    for backend in BACKENDS:
        with fresh_database(backend) as db:
            start = time.perf_counter()
            ensure_ready(db)
            elapsed = (time.perf_counter() - start) * 1000
            with db.session() as s:
                counts = repo.count_by_source(s)
            lines.append(
                f"| empty database to migrated + seeded | {backend} | - | **{elapsed / 1000:.2f} s** "
                f"| benchmark rows: {sum(counts.values()):,} |"
            )
    return lines


def _hundred_benchmark_report(directory: Path) -> Path:
    doc = json.loads((SAMPLES / "benchmarks_happy.json").read_text())
    template = doc["benchmarks"][0]
    doc["benchmarks"] = []
    for i in range(100):
        b = copy.deepcopy(template)
        b["config"]["strategy"]["rate"] = 0.5 + i * 0.25
        doc["benchmarks"].append(b)
    path = directory / "report-100.json"
    path.write_text(json.dumps(doc))
    return path


def bench_import() -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        report = _hundred_benchmark_report(Path(tmp))
        size_mb = report.stat().st_size / 1e6
        for backend in BACKENDS:
            with fresh_database(backend) as db:
                ensure_ready(db)
                start = time.perf_counter()
                result = import_guidellm(
                    db, report, model="meta-llama/Llama-3.1-8B-Instruct", hardware="L4", hardware_count=1
                )
                elapsed = (time.perf_counter() - start) * 1000
                assert result.inserted == 100
                start = time.perf_counter()
                import_guidellm(db, report, model="meta-llama/Llama-3.1-8B-Instruct", hardware="L4", hardware_count=1)
                again = (time.perf_counter() - start) * 1000
            lines.append(
                f"| import 100-benchmark GuideLLM report ({size_mb:.1f} MB) | {backend} | - | **{fmt_ms(elapsed)}** "
                f"| re-import (all unchanged) {fmt_ms(again)} |"
            )
    return lines


def run() -> list[str]:
    header = ["| figure | database | p50 | p95 / total | notes |", "|---|---|---|---|---|"]
    return header + bench_exact_lookup() + bench_empty_to_seeded() + bench_import()
