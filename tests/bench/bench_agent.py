"""Agent figures: one graph turn with checkpoint write on both databases; 50 parallel REST conversations."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

from agent.runtime import build_services, open_conversation
from kb.services import ensure_ready
from tests.bench.common import fmt_ms, fresh_database, percentile
from tools.deploy.local import free_port

TURNS = ["TTFT 200 ms", "compare 1 and 2", "TTFT 300 ms", "only L4s", "why this one?", "no H100"]


def _graph_turns() -> list[str]:
    lines = []
    for backend in ("sqlite", "postgresql"):
        with fresh_database(backend) as db:
            ensure_ready(db)
            with open_conversation(db, build_services(db, llm_enabled=False)) as conversation:
                thread = conversation.create_thread("bench").id
                conversation.send(thread, "bench", "customer support chatbot for 1000 users")
                samples = []
                for i in range(60):
                    start = time.perf_counter()
                    conversation.send(thread, "bench", TURNS[i % len(TURNS)])
                    samples.append((time.perf_counter() - start) * 1000)
            lines.append(
                f"| one graph turn (rules extraction, planner, checkpoint write) | {backend} "
                f"| {fmt_ms(statistics.median(samples))} | **{fmt_ms(percentile(samples, 95))}** "
                f"| 60 turns cycling {len(TURNS)} edits/explorations on one thread |"
            )
    return lines


async def _conversation(client: httpx.AsyncClient, users: int, samples: list[float], think_s: float) -> bool:
    thread = (await client.post("/api/v1/threads", json={})).json()["id"]
    await asyncio.sleep(think_s * (users % 10) / 10)  # users arrive spread over one think time
    for text in (f"customer support chatbot for {users} users", "TTFT 300 ms", "compare 1 and 2"):
        await asyncio.sleep(think_s)
        start = time.perf_counter()
        response = await client.post(f"/api/v1/threads/{thread}/messages", json={"text": text})
        samples.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    state = (await client.get(f"/api/v1/threads/{thread}")).json()
    return bool(state["values"]["recommendation"]["spec"]["users"] == users)


def _parallel_rest(think_s: float, workers: int, backend: str = "sqlite", *, warm: bool = True) -> list[str]:
    """Starts `compass serve` as users would (a separate process, `workers` worker processes) on a fresh database."""
    with tempfile.TemporaryDirectory() as tmp, fresh_database(backend) as db:
        ensure_ready(db)
        url = db.url
        db.dispose()
        port = free_port()
        env = {
            **os.environ,
            "COMPASS_DATABASE_URL": url,
            "COMPASS_DEPLOY_STATE_DIR": tmp,
            "COMPASS_UI": "0",
            "COMPASS_WARM_START": str(warm).lower(),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "agent.cli.main", "serve", "--port", str(port), "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            samples: list[float] = []

            async def main() -> list[bool]:
                limits = httpx.Limits(max_connections=50)
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as c:
                    return await asyncio.gather(*(_conversation(c, 1000 + i, samples, think_s) for i in range(50)))

            start = time.perf_counter()
            own = asyncio.run(main())
            wall = time.perf_counter() - start
        finally:
            server.terminate()
            server.wait(timeout=20)
    return [
        f"| 50 parallel REST conversations, 3 turns each, {think_s:g} s think time, {workers} worker(s)"
        f"{'' if warm else ', no start-up warm-up'} | {backend} "
        f"| {fmt_ms(statistics.median(samples))} | **{fmt_ms(percentile(samples, 95))}** | {sum(own)}/50 threads "
        f"saw only their own user count (no cross-talk); {wall:.1f} s wall |"
    ]


def run() -> list[str]:
    header = ["| figure | database | p50 | p95 | notes |", "|---|---|---|---|---|"]
    return (
        header
        + _graph_turns()
        + _parallel_rest(think_s=2.0, workers=2)
        + _parallel_rest(think_s=2.0, workers=1)
        + _parallel_rest(think_s=2.0, workers=1, backend="postgresql")
        + _parallel_rest(think_s=2.0, workers=1, warm=False)
        + _parallel_rest(think_s=0.0, workers=2)
    )
