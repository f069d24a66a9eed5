"""The inference probe against a scripted OpenAI-compatible stream: warm-up requests stay out of the figures."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tools.inference_probe import DEFAULT_PROMPT, ProbeRequest, probe, sized_prompt


def _stream(tokens: int) -> bytes:
    chunks = [{"choices": [{"delta": {"content": f"t{i} "}}]} for i in range(tokens)]
    chunks.append({"choices": [], "usage": {"completion_tokens": tokens}})
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


class ColdServer:
    """Answers every request with a short stream; the first one it ever sees takes `cold_s` longer."""

    def __init__(self, cold_s: float) -> None:
        self.cold_s = cold_s
        self.seen = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen == 1:
            await asyncio.sleep(self.cold_s)
        body = json.loads(request.content)
        assert body["stream"] is True and body["model"] == "m"
        return httpx.Response(200, content=_stream(5), headers={"content-type": "text/event-stream"})


@pytest.mark.parametrize("warmup", [0, 1, 3])
def test_warm_up_requests_are_sent_first_and_not_counted(warmup: int) -> None:
    server = ColdServer(cold_s=0.3)
    request = ProbeRequest(endpoint="http://sim", model="m", requests=4, concurrency=1, warmup=warmup)

    result = asyncio.run(probe(request, transport=httpx.MockTransport(server)))

    assert server.seen == 4 + warmup
    assert (result.requests, result.succeeded, result.errors, result.warmup) == (4, 4, 0, warmup)
    assert result.output_tokens == 20
    assert result.ttft_ms is not None
    if warmup:
        assert result.ttft_ms.p95 < 150, "the cold first request was a warm-up and is not in the figures"
    else:
        assert result.ttft_ms.p95 >= 300, "without warm-up the cold first request is measured"


def test_a_failing_endpoint_is_reported_once_per_measured_request() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503, text="overloaded"))
    request = ProbeRequest(endpoint="http://sim", model="m", requests=3, concurrency=2, warmup=2)

    result = asyncio.run(probe(request, transport=transport))

    assert (result.succeeded, result.errors) == (0, 3)
    assert result.error_messages == ["HTTP 503: overloaded"]
    assert "3/3 requests failed" in result.summary()


@pytest.mark.parametrize("tokens", [64, 512, 4096, 10240])
def test_sized_prompts_come_close_to_the_asked_token_count(tokens: int) -> None:
    from simulator.text import count_tokens

    prompt = sized_prompt(tokens)
    assert prompt.endswith(DEFAULT_PROMPT)
    assert 0.85 * tokens <= count_tokens(prompt) <= 1.05 * tokens


def test_a_tiny_size_gives_the_question_alone() -> None:
    assert sized_prompt(3) == DEFAULT_PROMPT
