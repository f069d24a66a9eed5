"""The HTTP server end to end, through the official `openai` client and raw httpx, on a real uvicorn server."""

from __future__ import annotations

import itertools
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kb.errors import ConfigurationError
from simulator import SimulatorConfig, create_app
from simulator.__main__ import main
from simulator.metrics import REQUEST_LATENCY_BUCKETS, TOKEN_LATENCY_BUCKETS, TTFT_BUCKETS
from simulator.text import count_chat_tokens, count_tokens
from tests.simulator.helpers import MODEL, Server, flat_config, ladder, serve


def _client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key="none", max_retries=0, timeout=30)


# ---- happy paths -------------------------------------------------------------------------------


def test_models_health_version(server: Server) -> None:
    models = _client(server).models.list()
    assert [m.id for m in models.data] == [MODEL]
    assert models.data[0].owned_by == "vllm"
    assert httpx.get(f"{server.url}/health").status_code == 200
    assert httpx.get(f"{server.url}/version").json()["version"]


def test_completion_non_stream_usage(server: Server) -> None:
    prompt = "Write a Python function that reverses a string"
    r = _client(server).completions.create(model=MODEL, prompt=prompt, max_tokens=30, extra_body={"ignore_eos": True})
    assert r.object == "text_completion"
    assert r.choices[0].finish_reason == "length"
    assert r.usage is not None
    assert r.usage.prompt_tokens == count_tokens(prompt)
    assert r.usage.completion_tokens == 30 == count_tokens(r.choices[0].text)
    assert r.usage.total_tokens == r.usage.prompt_tokens + 30
    assert "```" in r.choices[0].text or "code" in r.choices[0].text.lower() or "implement" in r.choices[0].text


def test_chat_non_stream_usage_and_natural_stop(server: Server) -> None:
    messages = [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "What is RAM?"}]
    r = _client(server).chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
    assert r.object == "chat.completion"
    assert r.choices[0].finish_reason == "stop"  # no max_tokens: the answer ends on its own
    assert r.choices[0].message.role == "assistant"
    assert r.usage is not None
    assert r.usage.prompt_tokens == count_chat_tokens(["You are helpful.", "What is RAM?"])
    assert r.usage.completion_tokens == count_tokens(r.choices[0].message.content or "")
    short = _client(server).chat.completions.create(model=MODEL, messages=messages, max_tokens=5)  # type: ignore[arg-type]
    assert short.choices[0].finish_reason == "length"
    assert short.usage is not None and short.usage.completion_tokens == 5


def test_same_seed_same_answer_stream_matches_non_stream(server: Server) -> None:
    client = _client(server)
    kw = {"model": MODEL, "prompt": "Tell me about the ocean", "max_tokens": 40, "seed": 3}
    a = client.completions.create(**kw)  # type: ignore[call-overload]
    b = client.completions.create(**kw)  # type: ignore[call-overload]
    assert a.choices[0].text == b.choices[0].text
    chunks = list(client.completions.create(**kw, stream=True, stream_options={"include_usage": True}))  # type: ignore[call-overload]
    assert all(c.object == "text_completion" for c in chunks)
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == a.choices[0].text
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == [a.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == a.usage.completion_tokens
    assert chunks[-1].usage.prompt_tokens == a.usage.prompt_tokens


def test_chat_stream_chunks(server: Server) -> None:
    stream = _client(server).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Summarize the plot of Hamlet"}],
        max_tokens=25,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) == 25  # one event per token
    assert chunks[-2].choices[0].finish_reason == "length"
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == 25
    assert usage.completion_tokens == count_tokens("".join(c.choices[0].delta.content or "" for c in content))


def test_stream_without_usage_has_no_usage_chunk(server: Server) -> None:
    chunks = list(_client(server).completions.create(model=MODEL, prompt="hi", max_tokens=3, stream=True))
    assert all(c.choices for c in chunks)
    raw = httpx.post(f"{server.v1}/completions", json={"prompt": "hi", "max_tokens": 2, "stream": True}).text
    events = [e for e in raw.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"


@pytest.mark.parametrize("stop", ["ocean", ["zzz-never", "ocean"]])
def test_stop_sequences_truncate(server: Server, stop: str | list[str]) -> None:
    client = _client(server)
    kw = {"model": MODEL, "prompt": "Tell me about the ocean", "max_tokens": 200, "seed": 5}
    full = client.completions.create(**kw).choices[0].text  # type: ignore[call-overload]
    cut_at = full.index("ocean")
    r = client.completions.create(**kw, stop=stop)  # type: ignore[call-overload]
    assert r.choices[0].text == full[:cut_at]
    assert r.choices[0].finish_reason == "stop"
    assert "ocean" not in r.choices[0].text
    assert r.usage.completion_tokens == count_tokens(full[: cut_at + len("ocean")])
    streamed = client.completions.create(**kw, stop=stop, stream=True)  # type: ignore[call-overload]
    assert "".join(c.choices[0].text for c in streamed) == full[:cut_at]


def test_chat_stop_and_temperature_zero_is_deterministic(server: Server) -> None:
    client = _client(server)
    msgs = [{"role": "user", "content": "How do tides work?"}]
    a = client.chat.completions.create(model=MODEL, messages=msgs, temperature=0, max_tokens=60)  # type: ignore[arg-type]
    b = client.chat.completions.create(model=MODEL, messages=msgs, temperature=0, max_tokens=60)  # type: ignore[arg-type]
    assert a.choices[0].message.content == b.choices[0].message.content
    text = a.choices[0].message.content or ""
    word = text.split()[3]
    c = client.chat.completions.create(model=MODEL, messages=msgs, temperature=0, max_tokens=60, stop=[word])  # type: ignore[arg-type]
    assert c.choices[0].message.content == text[: text.index(word)]
    assert c.choices[0].finish_reason == "stop"


def test_request_id_header_is_echoed(server: Server) -> None:
    r = httpx.post(f"{server.v1}/completions", json={"prompt": "hi", "max_tokens": 1}, headers={"X-Request-Id": "abc"})
    assert r.headers["x-request-id"] == "abc"
    assert r.json()["id"] == "cmpl-abc"


def test_token_id_prompt_and_max_completion_tokens(server: Server) -> None:
    r = httpx.post(f"{server.v1}/completions", json={"prompt": [1, 2, 3, 4], "max_tokens": 2}).json()
    assert r["usage"]["prompt_tokens"] == 4
    r = httpx.post(
        f"{server.v1}/chat/completions",
        json={"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "max_completion_tokens": 3},
    ).json()
    assert r["usage"]["completion_tokens"] <= 3


# ---- errors ------------------------------------------------------------------------------------


def _error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("body", "status", "param", "message"),
    [
        ({"prompt": "hi", "max_tokens": 0}, 400, "max_tokens", "max_tokens must be at least 1, got 0"),
        ({"prompt": "hi", "max_tokens": -5}, 400, "max_tokens", "max_tokens must be at least 1, got -5"),
        ({"prompt": "hi", "max_tokens": "many"}, 400, "max_tokens", "Invalid value for 'max_tokens'"),
        ({"prompt": "hi", "n": 2}, 400, "n", "n=2 is not supported"),
        ({"prompt": "hi", "model": "gpt-4"}, 404, "model", "The model `gpt-4` does not exist"),
        ({"prompt": "hi", "max_tokens": 5000}, 400, "max_tokens", "maximum context length is 4096 tokens"),
        ({"prompt": "word " * 5000}, 400, "messages", "maximum context length is 4096 tokens"),
        ({"max_tokens": 3}, 400, "prompt", "Missing required parameter: 'prompt'"),
        ({"prompt": 42}, 400, "prompt", "Invalid value for 'prompt'"),
        ({"prompt": "hi", "stream": "sometimes"}, 400, "stream", "Invalid value for 'stream'"),
        ({"prompt": "hi", "stream_options": {"include_usage": True}}, 400, "stream_options", "only be defined"),
        ({"prompt": ""}, 400, "prompt", "The prompt is empty"),
        ({"prompt": ["a", "b"]}, 400, "prompt", "Exactly one prompt"),
        ({"prompt": "hi", "temperature": -1}, 400, "temperature", "temperature must be non-negative"),
    ],
)
def test_completion_errors(
    server: Server, body: dict[str, object], status: int, param: str | None, message: str
) -> None:
    err = _error(httpx.post(f"{server.v1}/completions", json=body), status)
    assert message in str(err["message"])
    assert err["param"] == param


def test_chat_errors(server: Server) -> None:
    err = _error(httpx.post(f"{server.v1}/chat/completions", json={"model": MODEL}), 400)
    assert err["message"] == "Missing required parameter: 'messages'."
    err = _error(httpx.post(f"{server.v1}/chat/completions", json={"messages": []}), 400)
    assert err["param"] == "messages"
    err = _error(httpx.post(f"{server.v1}/chat/completions", json={"messages": [{"content": "x"}]}), 400)
    assert err["param"] == "messages[0].role"
    body = {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 0}
    err = _error(httpx.post(f"{server.v1}/chat/completions", json=body), 400)
    assert err["message"] == "max_completion_tokens must be at least 1, got 0."


def test_malformed_and_non_object_bodies(server: Server) -> None:
    headers = {"content-type": "application/json"}
    err = _error(httpx.post(f"{server.v1}/completions", content=b'{"prompt": "x",', headers=headers), 400)
    assert err["code"] == "invalid_json" and "not valid JSON" in str(err["message"])
    err = _error(httpx.post(f"{server.v1}/completions", content=b"[1, 2]", headers=headers), 400)
    assert "JSON object" in str(err["message"])
    _error(httpx.post(f"{server.v1}/completions", content=b"", headers=headers), 400)
    _error(httpx.post(f"{server.v1}/completions", content=b"\xff\xfe", headers=headers), 400)
    err = _error(httpx.get(f"{server.url}/v1/nothing"), 404)
    assert err["code"] == "not_found"
    _error(httpx.get(f"{server.v1}/completions"), 405)


def test_openai_client_raises_typed_errors(server: Server) -> None:
    client = _client(server)
    with pytest.raises(openai.BadRequestError, match="n=3 is not supported"):
        client.completions.create(model=MODEL, prompt="x", n=3)
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="other", messages=[{"role": "user", "content": "x"}])


# ---- metrics -----------------------------------------------------------------------------------


def test_metrics_names_types_buckets_and_counters(server: Server) -> None:
    before = server.metrics()
    _client(server).completions.create(model=MODEL, prompt="count me", max_tokens=7, extra_body={"ignore_eos": True})
    after = server.metrics()
    assert after["vllm:generation_tokens_total"] - before.get("vllm:generation_tokens_total", 0) == 7
    assert after["vllm:prompt_tokens_total"] - before.get("vllm:prompt_tokens_total", 0) == count_tokens("count me")
    key = "vllm:request_success_total{finished_reason=length}"
    assert after[key] - before.get(key, 0) == 1
    assert after["vllm:e2e_request_latency_seconds_count"] == before["vllm:e2e_request_latency_seconds_count"] + 1
    assert after["vllm:inter_token_latency_seconds_count"] - before["vllm:inter_token_latency_seconds_count"] == 6

    text = httpx.get(f"{server.url}/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    expected = {
        "vllm:num_requests_running": "gauge",
        "vllm:num_requests_waiting": "gauge",
        "vllm:kv_cache_usage_perc": "gauge",
        "vllm:gpu_cache_usage_perc": "gauge",
        "vllm:prompt_tokens": "counter",
        "vllm:generation_tokens": "counter",
        "vllm:request_success": "counter",
        "vllm:num_preemptions": "counter",
        "vllm:time_to_first_token_seconds": "histogram",
        "vllm:inter_token_latency_seconds": "histogram",
        "vllm:time_per_output_token_seconds": "histogram",
        "vllm:e2e_request_latency_seconds": "histogram",
        "vllm:request_queue_time_seconds": "histogram",
    }
    for name, kind in expected.items():
        assert families[name].type == kind, name
    sample = families["vllm:num_requests_running"].samples[0]
    assert sample.labels == {"model_name": MODEL, "engine": "0"}

    def bounds(name: str) -> list[float]:
        return [float(s.labels["le"]) for s in families[name].samples if s.name.endswith("_bucket")][:-1]

    assert bounds("vllm:time_to_first_token_seconds") == list(TTFT_BUCKETS)
    assert bounds("vllm:inter_token_latency_seconds") == list(TOKEN_LATENCY_BUCKETS)
    assert bounds("vllm:e2e_request_latency_seconds") == list(REQUEST_LATENCY_BUCKETS)
    assert TTFT_BUCKETS[0] == 0.001 and TTFT_BUCKETS[-1] == 2560.0 and len(TTFT_BUCKETS) == 22
    assert "process_cpu_seconds_total" in text


def test_latencies_follow_the_model_in_simulated_seconds(server: Server) -> None:
    before = server.metrics()
    for _ in range(3):
        _client(server).completions.create(model=MODEL, prompt="hi", max_tokens=11, extra_body={"ignore_eos": True})
    after = server.metrics()

    def mean(name: str) -> float:
        n = after[f"{name}_count"] - before[f"{name}_count"]
        return (after[f"{name}_sum"] - before[f"{name}_sum"]) / n

    # the server runs at time x0.2, but reports the modelled 50 ms TTFT (less the 3 ms client allowance)
    # and 10 ms ITL, not the real 10 ms and 2 ms; loose bounds since CI machines are shared
    assert 0.040 < mean("vllm:time_to_first_token_seconds") < 0.075
    assert 0.009 < mean("vllm:inter_token_latency_seconds") < 0.015


# ---- engine behaviour through HTTP -------------------------------------------------------------


def test_disconnect_mid_stream_frees_the_slot() -> None:
    with serve(flat_config(sim_time_scale=1.0)) as srv:
        body = {"prompt": "long story", "max_tokens": 2000, "stream": True, "ignore_eos": True}
        with httpx.Client(timeout=10) as http, http.stream("POST", f"{srv.v1}/completions", json=body) as r:
            lines = r.iter_lines()
            got = [next(lines) for _ in range(6)]
            assert any(line.startswith("data: ") for line in got)
            assert srv.metrics()["vllm:num_requests_running"] == 1
        srv.wait_for("vllm:num_requests_running", 0)
        srv.wait_for("vllm:request_success_total{finished_reason=abort}", 1)
        assert srv.metrics()["vllm:kv_cache_usage_perc"] == 0


def test_disconnect_while_waiting_for_non_streamed_answer_frees_the_slot() -> None:
    with serve(flat_config(sim_time_scale=1.0)) as srv:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{srv.v1}/completions", json={"prompt": "x", "max_tokens": 2000, "ignore_eos": True}, timeout=0.3
            )
        srv.wait_for("vllm:num_requests_running", 0)
        srv.wait_for("vllm:request_success_total{finished_reason=abort}", 1)


def test_queueing_beyond_max_num_seqs() -> None:
    with serve(flat_config(sim_time_scale=1.0, max_num_seqs=2)) as srv:
        client = _client(srv)

        def call(_: int) -> str | None:
            r = client.completions.create(model=MODEL, prompt="x", max_tokens=60, extra_body={"ignore_eos": True})
            return r.choices[0].finish_reason

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(call, i) for i in range(4)]
            srv.wait_for("vllm:num_requests_waiting", 2)
            assert srv.metrics()["vllm:num_requests_running"] == 2
            assert [f.result() for f in futures] == ["length"] * 4
        m = srv.metrics()
        assert m["vllm:num_requests_running"] == 0 and m["vllm:num_requests_waiting"] == 0
        # two requests queued for about one request's duration (50 ms + 59 x 10 ms)
        queued = m["vllm:request_queue_time_seconds_sum"]
        assert 2 * 0.5 < queued < 2 * 1.5


def test_low_load_latency_measured_by_the_client() -> None:
    """Real time, no jitter: client-side TTFT and ITL medians land near 50 ms and 10 ms."""
    with serve(flat_config(sim_time_scale=1.0)) as srv:
        client = _client(srv)
        ttfts: list[float] = []
        itls: list[float] = []
        for _ in range(3):
            start = time.perf_counter()
            stamps = []
            for chunk in client.completions.create(
                model=MODEL, prompt="hello", max_tokens=21, stream=True, extra_body={"ignore_eos": True}
            ):
                if chunk.choices and chunk.choices[0].text:
                    stamps.append(time.perf_counter())
            ttfts.append(stamps[0] - start)
            itls.extend(b - a for a, b in itertools.pairwise(stamps))
        assert 0.040 < statistics.median(ttfts) < 0.075  # the bench measures precision; CI machines are shared
        assert 0.009 < statistics.median(itls) < 0.013


def test_graceful_shutdown_lets_streams_finish() -> None:
    with serve(flat_config(sim_time_scale=1.0, shutdown_timeout_s=10)) as srv:
        result: dict[str, object] = {}

        def consume() -> None:
            chunks = list(
                _client(srv).completions.create(
                    model=MODEL, prompt="x", max_tokens=50, stream=True, extra_body={"ignore_eos": True}
                )
            )
            result["finish"] = chunks[-1].choices[0].finish_reason
            result["tokens"] = len(chunks)

        t = threading.Thread(target=consume)
        t.start()
        srv.wait_for("vllm:num_requests_running", 1)
        srv.server.should_exit = True  # what SIGTERM does
        t.join(timeout=10)
        assert result == {"finish": "length", "tokens": 50}


def test_benchmark_backed_server_and_env_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps([r.model_dump(mode="json") for r in ladder()]), encoding="utf-8")
    monkeypatch.setenv("MODEL_NAME", MODEL)
    monkeypatch.setenv("GPU_TYPE", "h100")
    monkeypatch.setenv("TENSOR_PARALLEL_SIZE", "1")
    monkeypatch.setenv("BENCHMARKS_PATH", str(path))
    monkeypatch.setenv("MAX_NUM_SEQS", "8")
    monkeypatch.setenv("SIM_TIME_SCALE", "0.1")
    monkeypatch.setenv("SERVED_MODEL_NAME", "llama")
    config = SimulatorConfig()
    assert config.max_num_seqs == 8 and config.benchmarks_path == path
    with serve(config) as srv:
        client = _client(srv)
        assert [m.id for m in client.models.list().data] == ["llama"]
        r = client.chat.completions.create(model="llama", messages=[{"role": "user", "content": "hi"}], max_tokens=4)
        assert r.usage is not None and r.usage.completion_tokens == 4


def test_bad_configuration_fails_fast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMPASS_DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="no latency data"):
        create_app(SimulatorConfig(model_name="m"))
    assert main(["--model", "m", "--gpu", "H100"]) == 2
    assert "no latency data" in capsys.readouterr().err
    assert main(["--model", "m", "--ttft-ms", "-1", "--itl-ms", "5"]) == 2
    assert "ttft_ms" in capsys.readouterr().err


def test_full_waiting_queue_answers_503_and_startup_delay() -> None:
    started = time.monotonic()
    with serve(flat_config(sim_time_scale=1.0, max_num_seqs=1, max_waiting=1, sim_startup_delay_s=0.3)) as srv:
        assert time.monotonic() - started >= 0.3  # not listening while "loading weights"
        body = {"prompt": "x", "max_tokens": 100, "ignore_eos": True}
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(httpx.post, f"{srv.v1}/completions", json=body, timeout=10) for _ in range(2)]
            srv.wait_for("vllm:num_requests_waiting", 1)
            err = _error(httpx.post(f"{srv.v1}/completions", json=body), 503)
            assert err["code"] == "queue_full" and err["type"] == "server_error"
            assert [f.result().status_code for f in futures] == [200, 200]


def test_tokenize_and_ping(server: Server) -> None:
    r = httpx.post(f"{server.url}/tokenize", json={"prompt": "Hello, world"}).json()
    assert r["count"] == count_tokens("Hello, world") == len(r["tokens"])
    assert httpx.get(f"{server.url}/ping").status_code == 200
    _error(httpx.post(f"{server.url}/tokenize", json={"prompt": 5}), 400)
