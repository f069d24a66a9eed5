"""Deployment figures: approve -> endpoint answering (local), 20 local deployments at once, render + validate."""

from __future__ import annotations

import socket
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kb.repositories.catalog import load_snapshot
from kb.services import ensure_ready
from tests.bench.common import fmt_ms, fresh_database, percentile, timed
from tools.deploy import local
from tools.deploy.request import DeploymentRequest
from tools.deploy.service import DeploymentService
from tools.deploy.settings import DeploySettings


def _request(i: int) -> DeploymentRequest:
    return DeploymentRequest(model="Llama-3.1-8B-Instruct", gpu="H100", use_case="chatbot_conversational",
                             deployment_id=f"bench-{i}-{int(time.time() * 1000) % 100000}")  # fmt: skip


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def run() -> list[str]:
    lines = ["| figure | p50 | p95 / total | notes |", "|---|---|---|---|"]
    with fresh_database("sqlite") as db, tempfile.TemporaryDirectory() as tmp:
        ensure_ready(db)
        service = DeploymentService(db, DeploySettings(state_dir=Path(tmp), start_timeout_s=60))
        samples = []
        for i in range(8):
            start = time.perf_counter()
            record = service.deploy(_request(i))
            samples.append((time.perf_counter() - start) * 1000)
            service.delete(record.id)
        lines.append(
            f"| local target: approve -> endpoint answering /health | {fmt_ms(statistics.median(samples))} "
            f"| **{fmt_ms(percentile(samples, 95))}** | 8 sequential deploys, each deleted after |"
        )

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=20) as pool:
            records = list(pool.map(lambda i: service.deploy(_request(100 + i)), range(20)))
        all_up = (time.perf_counter() - start) * 1000
        running = sum(1 for r in records if service.status(r.id).status == "running")
        start = time.perf_counter()
        for record in records:
            service.delete(record.id)
        deleted = (time.perf_counter() - start) * 1000
        leftovers = [r.id for r in records if local.is_running(r.pid, r.id)]
        busy_ports = [r.port for r in records if r.port is not None and not _port_free(r.port)]
        lines.append(
            f"| 20 local deployments started at once | - | **{all_up / 1000:.1f} s** | {running}/20 running; "
            f"deleting all took {deleted / 1000:.1f} s; {len(leftovers)} orphan processes, {len(busy_ports)} ports "
            "still bound afterwards |"
        )

        with db.session() as session:
            catalog = load_snapshot(session)
        request = DeploymentRequest(model="Llama-3.1-8B-Instruct", gpu="L4", use_case="chatbot_conversational",
                                    replicas=2, max_replicas=4)  # fmt: skip
        service.bundle("bench-bundle", request, catalog, simulator=False)
        t = timed(lambda: service.bundle("bench-bundle", request, catalog, simulator=False), repeat=100, warmup=3)
        lines.append(
            f"| render + validate a full bundle (GPU mode, 5 objects) | {fmt_ms(t['p50'])} | **{fmt_ms(t['p95'])}** "
            "| InferenceService, HPA, ServiceMonitor, dashboard ConfigMap |"
        )
    return lines
