"""HTTP routes of the vLLM OpenAI server: completions and chat (streaming and not), models, health, version, metrics.

Each generation request is validated like vLLM validates it (served model name, `n == 1`,
`max_tokens >= 1`, prompt plus `max_tokens` within `MAX_MODEL_LEN`, `stream_options` only with
`stream`), then its whole answer is composed up front (`simulator.text`), cut at any stop string,
and handed to the engine as a token count. Streams send one SSE event per token as the engine
produces it (several events in one write when the client falls behind), the finish reason on the
last token's event, an optional usage chunk and `data: [DONE]`. A client that disconnects, from a
stream or while waiting for a non-streamed answer, aborts its generation and frees its slot.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.types import Receive, Scope, Send

from simulator.config import SIMULATED_VLLM_VERSION, SIMULATOR_VERSION, SimulatorConfig
from simulator.engine import Engine, EngineClosedError, EngineOverloadedError, FinishReason, Generation
from simulator.errors import APIError
from simulator.latency import LatencyModel
from simulator.metrics import EngineMetrics
from simulator.protocol import (
    ChatChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessageOut,
    CompletionChoice,
    CompletionRequest,
    CompletionResponse,
    ErrorResponse,
    GenerationRequest,
    ModelCard,
    ModelList,
    ModelPermission,
    Usage,
    VersionResponse,
)
from simulator.text import apply_stop, compose, count_chat_tokens, count_tokens, tokenize

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorResponse, "description": "Invalid request"},
    404: {"model": ErrorResponse, "description": "Unknown model"},
    503: {"model": ErrorResponse, "description": "Shutting down or queue full"},
}


@dataclass
class ServerState:
    """Everything one simulator app owns; built by `create_app`, shared by its routes."""

    config: SimulatorConfig
    model: LatencyModel
    engine: Engine
    metrics: EngineMetrics
    registry: CollectorRegistry
    text_rng: random.Random
    created: int


@dataclass(frozen=True)
class Plan:
    """What a validated request will produce: token count, visible text per token, and why it ends."""

    prompt_tokens: int
    pieces: list[str]
    max_tokens: int
    finish_reason: FinishReason
    stop_reason: str | None

    @property
    def output_tokens(self) -> int:
        return len(self.pieces)

    def usage(self, completion_tokens: int | None = None) -> Usage:
        done = self.output_tokens if completion_tokens is None else completion_tokens
        return Usage(prompt_tokens=self.prompt_tokens, completion_tokens=done, total_tokens=self.prompt_tokens + done)


def _check_common(state: ServerState, req: GenerationRequest) -> None:
    cfg = state.config
    if req.model is not None and req.model not in (cfg.served_name, cfg.model_name):
        raise APIError(
            f"The model `{req.model}` does not exist. This server serves `{cfg.served_name}`.",
            status=404,
            param="model",
            code="model_not_found",
        )
    if req.n != 1:
        raise APIError(
            f"n={req.n} is not supported: the simulator returns exactly one choice (n=1).",
            param="n",
            code="unsupported_value",
        )
    best_of = getattr(req, "best_of", None)
    if best_of not in (None, 1):
        raise APIError("best_of is not supported by the simulator; use 1.", param="best_of", code="unsupported_value")
    if req.stream_options is not None and not req.stream:
        raise APIError(
            "Stream options can only be defined when `stream=True`.", param="stream_options", code="invalid_value"
        )
    if req.temperature is not None and req.temperature < 0:
        raise APIError(
            f"temperature must be non-negative, got {req.temperature}.", param="temperature", code="invalid_value"
        )


def _plan(
    state: ServerState,
    req: GenerationRequest,
    *,
    prompt_text: str,
    prompt_tokens: int,
    max_tokens: int | None,
    max_tokens_param: str,
) -> Plan:
    cfg = state.config
    if max_tokens is not None and max_tokens < 1:
        raise APIError(
            f"{max_tokens_param} must be at least 1, got {max_tokens}.", param=max_tokens_param, code="invalid_value"
        )
    room = cfg.max_model_len - prompt_tokens
    if room < 1 or (max_tokens is not None and max_tokens > room):
        asked = prompt_tokens + (max_tokens or 1)
        raise APIError(
            f"This model's maximum context length is {cfg.max_model_len} tokens. However, you requested "
            f"{asked} tokens ({prompt_tokens} in the messages, {max_tokens or 1} in the completion). "
            "Please reduce the length of the messages or completion.",
            param=max_tokens_param if max_tokens is not None and room >= 1 else "messages",
            code="context_length_exceeded",
        )
    seed = req.seed if req.seed is not None else cfg.sim_seed
    if seed is not None or req.temperature == 0:
        rng = random.Random(f"{seed}|{prompt_text}")
    else:
        rng = random.Random(state.text_rng.getrandbits(64))
    cap = room if max_tokens is None else max_tokens
    if max_tokens is not None and (req.ignore_eos or cfg.sim_ignore_eos):
        answer = compose(prompt_text, rng, length=max_tokens)
        reason = FinishReason.LENGTH
    else:
        answer = compose(prompt_text, rng, cap=cap)
        reason = FinishReason.STOP if answer.natural_tokens <= cap else FinishReason.LENGTH
    cut = apply_stop(answer.tokens, req.stop_list)
    if cut.stop is not None:
        reason = FinishReason.STOP
    return Plan(prompt_tokens, cut.pieces, cap, reason, cut.stop)


def _submit(state: ServerState, plan: Plan, received_at: float) -> Generation:
    try:
        return state.engine.submit(
            prompt_tokens=plan.prompt_tokens,
            output_tokens=plan.output_tokens,
            max_tokens=plan.max_tokens,
            finish_reason=plan.finish_reason,
            received_at=received_at,
        )
    except EngineClosedError as exc:
        raise APIError(str(exc), status=503, type="server_error", code="server_shutting_down") from exc
    except EngineOverloadedError as exc:
        raise APIError(str(exc), status=503, type="server_error", code="queue_full") from exc


async def _wait_done_or_disconnect(state: ServerState, request: Request, gen: Generation) -> bool:
    """Waits for the whole generation; aborts it and returns False if the client goes away first."""

    async def disconnected() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return

    if gen.done:
        return True
    watcher = asyncio.ensure_future(disconnected())
    finished = asyncio.ensure_future(gen.wait_done())
    try:
        await asyncio.wait((watcher, finished), return_when=asyncio.FIRST_COMPLETED)
        completed = finished.done()
    finally:
        watcher.cancel()
        finished.cancel()
        if not gen.done:
            state.engine.abort(gen)
    return completed


def _completion_prompt(prompt: str | list[int] | list[str] | list[list[int]]) -> tuple[str, int]:
    """(text used to pick the answer, prompt tokens) of a completion prompt: text, token ids, or a list of one."""
    if isinstance(prompt, str):
        text, tokens = prompt, count_tokens(prompt)
    elif prompt and all(isinstance(x, int) for x in prompt):
        text, tokens = "", len(prompt)
    elif len(prompt) == 1 and isinstance(prompt[0], str):
        text, tokens = prompt[0], count_tokens(prompt[0])
    elif len(prompt) == 1 and isinstance(prompt[0], list):
        text, tokens = "", len(prompt[0])
    else:
        raise APIError(
            "Exactly one prompt per request is supported by the simulator.", param="prompt", code="unsupported_value"
        )
    if tokens == 0:
        raise APIError("The prompt is empty.", param="prompt", code="invalid_value")
    return text, tokens


def _arrival(request: Request, engine: Engine) -> float:
    arrived = getattr(request.state, "arrived", None)
    return arrived if isinstance(arrived, float) else engine.now()


def _request_id(request: Request, prefix: str) -> tuple[str, dict[str, str]]:
    given = request.headers.get("x-request-id")
    if given:
        return f"{prefix}-{given}", {"X-Request-Id": given}
    return f"{prefix}-{uuid.uuid4().hex}", {}


def _finish_value(gen: Generation, plan: Plan) -> tuple[str, str | None]:
    reason = gen.finish_reason or plan.finish_reason
    if reason is FinishReason.ABORT:
        return "abort", None
    return reason.value, plan.stop_reason


async def _sse(
    state: ServerState,
    gen: Generation,
    plan: Plan,
    *,
    head: str,
    token_tpl: tuple[str, str],
    finish_tpl: tuple[str, str, str],
    first: str = "",
    include_usage: bool,
) -> AsyncIterator[bytes]:
    """SSE events for one generation; `token_tpl` wraps a JSON string, `finish_tpl` also a finish reason."""
    pieces = plan.pieces
    pre, post = token_tpl
    fpre, fmid, fpost = finish_tpl
    seen = 0
    dumps = json.dumps
    try:
        while True:
            produced = await gen.wait(seen)
            if produced > seen:
                parts = [first] if first and seen == 0 else []
                last = produced - 1 if gen.done else -1
                for i in range(seen, produced):
                    piece = pieces[i]
                    if i == last:
                        reason, stop = _finish_value(gen, plan)
                        parts.append(f"{fpre}{dumps(piece)}{fmid}{dumps(reason)}{fpost}{dumps(stop)}}}]}}\n\n")
                    elif piece:
                        parts.append(f"{pre}{dumps(piece)}{post}")
                seen = produced
                if parts:
                    yield "".join(parts).encode()
                if last >= 0:
                    break
            elif gen.done:  # ended without a new token: aborted by shutdown
                reason, stop = _finish_value(gen, plan)
                yield f'{fpre}""{fmid}{dumps(reason)}{fpost}{dumps(stop)}}}]}}\n\n'.encode()
                break
        tail = ""
        if include_usage:
            usage = plan.usage(gen.produced).model_dump_json()
            tail = f'data: {{{head},"choices":[],"usage":{usage}}}\n\n'
        yield f"{tail}data: [DONE]\n\n".encode()
    finally:
        if not gen.done:
            state.engine.abort(gen)


class SSEResponse(Response):
    """A `text/event-stream` response that writes each chunk straight to the server, and calls `on_disconnect`
    as soon as the client goes away (uvicorn silently drops writes to a closed connection).

    Leaner than Starlette's StreamingResponse (no task group per response): one idle watcher task."""

    media_type = "text/event-stream"

    def __init__(
        self, events: AsyncIterator[bytes], *, on_disconnect: Callable[[], None], headers: dict[str, str]
    ) -> None:
        # like StreamingResponse: no `body`, so no content-length header (the body is chunked)
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", **headers})
        self.events = events
        self.on_disconnect = on_disconnect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            self.on_disconnect()

        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        watcher = asyncio.ensure_future(watch())
        try:
            async for chunk in self.events:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            aclose = getattr(self.events, "aclose", None)
            if aclose is not None:
                await aclose()


def build_router(state: ServerState) -> APIRouter:
    """The simulator's routes, bound to one app's state."""
    router = APIRouter()
    cfg = state.config
    engine = state.engine
    name = cfg.served_name
    name_json = json.dumps(name)

    @router.get("/health", tags=["operations"])
    async def health() -> Response:
        """200 while serving; 503 once shutdown has begun."""
        return Response(status_code=200 if engine.accepting else 503)

    @router.get("/ping", tags=["operations"])
    async def ping() -> Response:
        return Response(status_code=200 if engine.accepting else 503)

    @router.get("/version", tags=["operations"])
    async def version() -> VersionResponse:
        return VersionResponse(version=SIMULATED_VLLM_VERSION, simulator=SIMULATOR_VERSION)

    @router.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/v1/models", tags=["openai"])
    async def models() -> ModelList:
        perm = ModelPermission(id=f"modelperm-{zlib.crc32(name.encode()):08x}", created=state.created)
        card = ModelCard(
            id=name, created=state.created, root=cfg.model_name, max_model_len=cfg.max_model_len, permission=[perm]
        )
        return ModelList(data=[card])

    @router.post("/tokenize", tags=["vllm"])
    async def tokenize_route(body: dict[str, object]) -> dict[str, object]:
        """vLLM's /tokenize with the simulator's approximate tokenizer (token ids are stable hashes)."""
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            raise APIError("prompt must be a string.", param="prompt", code="invalid_type")
        ids = [zlib.crc32(t.encode()) % 128_000 for t in tokenize(prompt)]
        return {"count": len(ids), "max_model_len": cfg.max_model_len, "tokens": ids}

    @router.post("/v1/completions", tags=["openai"], responses=_ERRORS, response_model=None)
    async def completions(body: CompletionRequest, request: Request) -> Response:
        received = _arrival(request, engine)
        _check_common(state, body)
        text, n_prompt = _completion_prompt(body.prompt)
        plan = _plan(
            state,
            body,
            prompt_text=text,
            prompt_tokens=n_prompt,
            max_tokens=body.max_tokens,
            max_tokens_param="max_tokens",
        )
        echo = text if body.echo else ""
        gen = _submit(state, plan, received)
        req_id, headers = _request_id(request, "cmpl")
        created = int(time.time())
        if body.stream:
            head = f'"id":{json.dumps(req_id)},"object":"text_completion","created":{created},"model":{name_json}'
            first = (
                f'data: {{{head},"choices":[{{"index":0,"text":{json.dumps(echo)},"logprobs":null,'
                '"finish_reason":null,"stop_reason":null}]}\n\n'
                if echo
                else ""
            )
            stream = _sse(
                state,
                gen,
                plan,
                head=head,
                token_tpl=(
                    f'data: {{{head},"choices":[{{"index":0,"text":',
                    ',"logprobs":null,"finish_reason":null,"stop_reason":null}]}\n\n',
                ),
                finish_tpl=(
                    f'data: {{{head},"choices":[{{"index":0,"text":',
                    ',"logprobs":null,"finish_reason":',
                    ',"stop_reason":',
                ),
                first=first,
                include_usage=bool(body.stream_options and body.stream_options.include_usage),
            )
            return SSEResponse(stream, on_disconnect=partial(engine.abort, gen), headers=headers)
        if not await _wait_done_or_disconnect(state, request, gen):
            return Response(status_code=499)
        reason, stop = _finish_value(gen, plan)
        out = CompletionResponse(
            id=req_id,
            created=created,
            model=name,
            choices=[CompletionChoice(text=echo + "".join(plan.pieces), finish_reason=reason, stop_reason=stop)],
            usage=plan.usage(gen.produced),
        )
        return JSONResponse(out.model_dump(), headers=headers)

    @router.post("/v1/chat/completions", tags=["openai"], responses=_ERRORS, response_model=None)
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
        received = _arrival(request, engine)
        _check_common(state, body)
        texts = [m.text for m in body.messages]
        n_prompt = count_chat_tokens(texts)
        users = [m.text for m in body.messages if m.role == "user"]
        prompt_text = users[-1] if users else texts[-1]
        max_tokens: int | None = body.max_tokens
        param = "max_tokens"
        if body.max_completion_tokens is not None:
            max_tokens, param = body.max_completion_tokens, "max_completion_tokens"
        plan = _plan(
            state, body, prompt_text=prompt_text, prompt_tokens=n_prompt, max_tokens=max_tokens, max_tokens_param=param
        )
        gen = _submit(state, plan, received)
        req_id, headers = _request_id(request, "chatcmpl")
        created = int(time.time())
        if body.stream:
            head = f'"id":{json.dumps(req_id)},"object":"chat.completion.chunk","created":{created},"model":{name_json}'
            first = (
                f'data: {{{head},"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},'
                '"logprobs":null,"finish_reason":null}]}\n\n'
            )
            stream = _sse(
                state,
                gen,
                plan,
                head=head,
                token_tpl=(
                    f'data: {{{head},"choices":[{{"index":0,"delta":{{"content":',
                    '},"logprobs":null,"finish_reason":null}]}\n\n',
                ),
                finish_tpl=(
                    f'data: {{{head},"choices":[{{"index":0,"delta":{{"content":',
                    '},"logprobs":null,"finish_reason":',
                    ',"stop_reason":',
                ),
                first=first,
                include_usage=bool(body.stream_options and body.stream_options.include_usage),
            )
            return SSEResponse(stream, on_disconnect=partial(engine.abort, gen), headers=headers)
        if not await _wait_done_or_disconnect(state, request, gen):
            return Response(status_code=499)
        reason, stop = _finish_value(gen, plan)
        out = ChatCompletionResponse(
            id=req_id,
            created=created,
            model=name,
            choices=[
                ChatChoice(message=ChatMessageOut(content="".join(plan.pieces)), finish_reason=reason, stop_reason=stop)
            ],
            usage=plan.usage(gen.produced),
        )
        return JSONResponse(out.model_dump(), headers=headers)

    return router
