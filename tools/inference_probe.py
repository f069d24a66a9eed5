"""Inference probe: stream test prompts to an OpenAI-compatible endpoint and measure what users would feel."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import httpx
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from kb.errors import CompassError

DEFAULT_PROMPT = "In two sentences, what does a load balancer do?"
CHARS_PER_TOKEN = 4  # English prose in common BPE vocabularies (and in the simulator's tokenizer)
_CONTEXT = (
    "Our platform team runs several internal services behind a shared gateway. Requests arrive from web clients, "
    "batch jobs and partner integrations, and traffic peaks in the morning and again after lunch. Each service keeps "
    "its own metrics, logs and alerts, and the on-call engineer reviews them during a weekly operations meeting. "
)


def sized_prompt(tokens: int) -> str:
    """A prompt of about `tokens` tokens: repeated context, then the default question. Time to first token grows
    with prompt length, so probing with the traffic profile's prompt size keeps the comparison with the prediction
    fair; below the question's own size the question alone is returned."""
    room = tokens * CHARS_PER_TOKEN - len(DEFAULT_PROMPT) - 2
    if room <= 0:
        return DEFAULT_PROMPT
    repeats = room // len(_CONTEXT) + 1
    context = (_CONTEXT * repeats)[:room].rstrip()
    return f"{context}\n\n{DEFAULT_PROMPT}"


class ProbeRequest(BaseModel):
    """What to send: one prompt or N at a chosen concurrency."""

    endpoint: str = Field(description="Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8100")
    model: str = Field(description="Model name the server serves")
    prompt: str = Field(default=DEFAULT_PROMPT, min_length=1, max_length=100_000)
    requests: int = Field(default=8, ge=1, le=10_000)
    concurrency: int = Field(default=4, ge=1, le=1_000)
    max_tokens: int = Field(default=64, ge=1, le=32_768)
    warmup: int = Field(
        default=1,
        ge=0,
        le=100,
        description="Requests sent first and left out of the figures (connection set-up, first-request costs)",
    )
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    predicted_ttft_p95_ms: float | None = Field(default=None, gt=0)
    predicted_itl_p95_ms: float | None = Field(default=None, gt=0)
    predicted_e2e_p95_ms: float | None = Field(default=None, gt=0)
    tolerance_pct: float = Field(default=25.0, gt=0, le=1000, description="How far from predicted still counts as met")


class Percentiles(BaseModel):
    p50: float
    p95: float


class ProbeComparison(BaseModel):
    metric: str
    predicted_ms: float
    measured_p95_ms: float
    difference_pct: float
    within_tolerance: bool


class ProbeResult(BaseModel):
    endpoint: str
    requests: int
    concurrency: int
    warmup: int = 0
    succeeded: int
    errors: int
    error_messages: list[str]
    ttft_ms: Percentiles | None
    itl_ms: Percentiles | None
    e2e_ms: Percentiles | None
    output_tokens: int
    tokens_per_second: float | None
    wall_s: float
    comparisons: list[ProbeComparison]
    sample_text: str

    @property
    def within_prediction(self) -> bool | None:
        return all(c.within_tolerance for c in self.comparisons) if self.comparisons else None

    def summary(self) -> str:
        if not self.succeeded:
            return f"{self.errors}/{self.requests} requests failed: {'; '.join(self.error_messages[:3])}"
        parts = [f"{self.succeeded}/{self.requests} ok at concurrency {self.concurrency}"]
        if self.ttft_ms:
            parts.append(f"TTFT p50 {self.ttft_ms.p50:.0f} ms / p95 {self.ttft_ms.p95:.0f} ms")
        if self.itl_ms:
            parts.append(f"ITL p50 {self.itl_ms.p50:.1f} ms / p95 {self.itl_ms.p95:.1f} ms")
        if self.e2e_ms:
            parts.append(f"E2E p95 {self.e2e_ms.p95:.0f} ms")
        if self.tokens_per_second:
            parts.append(f"{self.tokens_per_second:.0f} tokens/s")
        for c in self.comparisons:
            verdict = "within" if c.within_tolerance else "outside"
            parts.append(f"{c.metric} {c.difference_pct:+.0f}% vs predicted ({verdict} tolerance)")
        return "; ".join(parts)


def _percentiles(values: list[float]) -> Percentiles | None:
    if not values:
        return None
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * (len(ordered) - 1))))]
    return Percentiles(p50=statistics.median(ordered), p95=p95)


class _One(BaseModel):
    ttft_ms: float
    gaps_ms: list[float]
    e2e_ms: float
    tokens: int
    text: str


async def _one(client: httpx.AsyncClient, request: ProbeRequest) -> _One:
    body = {
        "model": request.model,
        "messages": [{"role": "user", "content": request.prompt}],
        "max_tokens": request.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    start = time.perf_counter()
    first: float | None = None
    last = start
    gaps: list[float] = []
    tokens = 0
    usage_tokens: int | None = None
    pieces: list[str] = []
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code >= 400:
            detail = (await response.aread()).decode(errors="replace")[:300]
            raise CompassError(f"HTTP {response.status_code}: {detail}")
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            if chunk.get("usage"):
                usage_tokens = chunk["usage"].get("completion_tokens")
            for choice in chunk.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    now = time.perf_counter()
                    if first is None:
                        first = now
                    else:
                        gaps.append((now - last) * 1000)
                    last = now
                    tokens += 1
                    pieces.append(content)
    end = time.perf_counter()
    if first is None:
        raise CompassError("the stream ended without any token")
    return _One(
        ttft_ms=(first - start) * 1000,
        gaps_ms=gaps,
        e2e_ms=(end - start) * 1000,
        tokens=usage_tokens if usage_tokens is not None else tokens,
        text="".join(pieces),
    )


async def probe(request: ProbeRequest, *, transport: httpx.AsyncBaseTransport | None = None) -> ProbeResult:
    """Send the prompts with at most `concurrency` in flight; failures are counted, never raised."""
    limits = httpx.Limits(max_connections=request.concurrency, max_keepalive_connections=request.concurrency)
    semaphore = asyncio.Semaphore(request.concurrency)
    results: list[_One] = []
    errors: list[str] = []
    async with httpx.AsyncClient(
        base_url=request.endpoint.rstrip("/"), timeout=request.timeout_s, limits=limits, transport=transport
    ) as client:

        async def guarded(into: list[_One], failures: list[str]) -> None:
            async with semaphore:
                try:
                    into.append(await _one(client, request))
                except CompassError as exc:
                    failures.append(exc.message)
                except httpx.HTTPError as exc:
                    failures.append(f"{type(exc).__name__}: {exc or 'no answer'} ({request.endpoint})")
                except json.JSONDecodeError as exc:
                    failures.append(f"the server sent a malformed stream chunk: {exc}")

        # Warm-up answers and failures are dropped: a dead endpoint fails the measured requests just the same.
        await asyncio.gather(*(guarded([], []) for _ in range(request.warmup)))
        start = time.perf_counter()
        await asyncio.gather(*(guarded(results, errors) for _ in range(request.requests)))
        wall = time.perf_counter() - start
    ttft = _percentiles([r.ttft_ms for r in results])
    itl = _percentiles([g for r in results for g in r.gaps_ms])
    e2e = _percentiles([r.e2e_ms for r in results])
    output_tokens = sum(r.tokens for r in results)
    comparisons = []
    for metric, predicted, measured in (
        ("TTFT", request.predicted_ttft_p95_ms, ttft),
        ("ITL", request.predicted_itl_p95_ms, itl),
        ("E2E", request.predicted_e2e_p95_ms, e2e),
    ):
        if predicted is not None and measured is not None:
            diff = 100.0 * (measured.p95 - predicted) / predicted
            comparisons.append(
                ProbeComparison(
                    metric=metric,
                    predicted_ms=predicted,
                    measured_p95_ms=measured.p95,
                    difference_pct=diff,
                    within_tolerance=measured.p95 <= predicted * (1 + request.tolerance_pct / 100),
                )
            )
    return ProbeResult(
        endpoint=request.endpoint,
        requests=request.requests,
        concurrency=request.concurrency,
        warmup=request.warmup,
        succeeded=len(results),
        errors=len(errors),
        error_messages=sorted(set(errors))[:10],
        ttft_ms=ttft,
        itl_ms=itl,
        e2e_ms=e2e,
        output_tokens=output_tokens,
        tokens_per_second=output_tokens / wall if results and wall > 0 else None,
        wall_s=wall,
        comparisons=comparisons,
        sample_text=results[0].text[:500] if results else "",
    )


def probe_sync(request: ProbeRequest) -> ProbeResult:
    return asyncio.run(probe(request))


def build_probe_tool() -> BaseTool:
    async def run(**kwargs: Any) -> dict[str, Any]:
        return (await probe(ProbeRequest(**kwargs))).model_dump(mode="json")

    return StructuredTool.from_function(
        coroutine=run,
        name="inference_probe",
        description="Stream test prompts to a deployed endpoint; report TTFT/ITL/E2E p50/p95 vs predicted.",
        args_schema=ProbeRequest,
    )
