"""A tiny HTTP stand-in for the Ollama API, enough for langchain-ollama's `ChatOllama` to talk to it.

Implements, on 127.0.0.1 and a free port:

- `POST /api/chat`: answers the way Ollama does. With `"stream": true` (what ChatOllama sends) the body is NDJSON:
  chunks `{"model", "created_at", "message": {"role": "assistant", "content": <piece>}, "done": false}` and a final
  `{"done": true, "done_reason": "stop", ...counts}`; with `"stream": false` one JSON object holding the whole
  `message`. The content is whatever the test scripted (for structured output: the JSON text of the object, which
  is what Ollama returns when the request carries a `format` JSON schema); `message.tool_calls` can be scripted too
  (Ollama sends arguments as an object). Unknown models get Ollama's 404 `{"error": "model ... not found"}`.
- `GET /api/tags`, `POST /api/show`, `GET /api/version`, `GET /`: the metadata calls clients make when validating.

Failure modes for tests: `delay_s` (answer late), `status` (e.g. 500 with `{"error": ...}`), `raw_body` (send these
bytes as the response body verbatim, e.g. garbage instead of JSON). Every request is recorded in `requests`.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

CREATED_AT = "2026-11-26T12:00:00.000000Z"


@dataclass
class Script:
    """How the stand-in answers the next /api/chat calls."""

    content: str = "{}"
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    error: str = "internal server error"
    raw_body: bytes | None = None
    delay_s: float = 0.0
    chunks: int = 3


@dataclass
class Recorded:
    method: str
    path: str
    body: dict[str, Any] | None


@dataclass
class OllamaStandIn:
    models: tuple[str, ...] = ("llama3.1:8b",)
    script: Script = field(default_factory=Script)
    requests: list[Recorded] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ----- lifecycle

    def start(self) -> OllamaStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), name="ollama-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OllamaStandIn:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ----- scripting helpers

    def reply_json(self, value: Any, **script: Any) -> None:
        """Answer chats with `value` serialised as the message content (structured output)."""
        self.script = Script(content=json.dumps(value), **script)

    def chats(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path == "/api/chat" and r.body is not None]

    def record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)

    def wait(self, seconds: float) -> None:
        """Sleep, but wake up when the stand-in stops."""
        self._stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    owner: OllamaStandIn
    server_version = "ollama-standin/0.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    # ----- plumbing

    def _json_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        try:
            parsed = json.loads(self.rfile.read(length))
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.wfile.write(body)

    # ----- routes

    def do_GET(self) -> None:
        self.owner.record(Recorded("GET", self.path, None))
        if self.path == "/":
            self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
        elif self.path == "/api/version":
            self._send(200, {"version": "0.12.0"})
        elif self.path == "/api/tags":
            self._send(200, {"models": [_model_entry(name) for name in self.owner.models]})
        else:
            self._send(404, b"404 page not found", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        body = self._json_body()
        self.owner.record(Recorded("POST", self.path, body))
        if self.path == "/api/show":
            name = (body or {}).get("model") or (body or {}).get("name")
            if name not in self.owner.models:
                self._send(404, {"error": f"model '{name}' not found"})
                return
            self._send(200, _show(name))
        elif self.path == "/api/chat":
            self._chat(body)
        else:
            self._send(404, b"404 page not found", "text/plain; charset=utf-8")

    def _chat(self, body: dict[str, Any] | None) -> None:
        script = self.owner.script
        if body is None:
            self._send(400, {"error": "invalid request body"})
            return
        model = body.get("model")
        if model not in self.owner.models:
            self._send(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        if script.delay_s:
            self.owner.wait(script.delay_s)
        if script.raw_body is not None:
            self._send(script.status, script.raw_body, "application/x-ndjson")
            return
        if script.status != 200:
            self._send(script.status, {"error": script.error})
            return
        final = {
            "model": model,
            "created_at": CREATED_AT,
            "done": True,
            "done_reason": "stop",
            "total_duration": 1_000_000,
            "load_duration": 100_000,
            "prompt_eval_count": 42,
            "prompt_eval_duration": 200_000,
            "eval_count": 17,
            "eval_duration": 700_000,
        }
        message: dict[str, Any] = {"role": "assistant", "content": script.content}
        if script.tool_calls is not None:
            message["tool_calls"] = script.tool_calls
        if body.get("stream", True) is False:
            self._send(200, {**final, "message": message})
            return
        lines = [
            {
                "model": model,
                "created_at": CREATED_AT,
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            for piece in _pieces(script.content, script.chunks)
        ]
        if script.tool_calls is not None:
            lines.append(
                {
                    "model": model,
                    "created_at": CREATED_AT,
                    "message": {"role": "assistant", "content": "", "tool_calls": script.tool_calls},
                    "done": False,
                }
            )
        lines.append({**final, "message": {"role": "assistant", "content": ""}})
        self._send(200, b"".join(json.dumps(line).encode() + b"\n" for line in lines), "application/x-ndjson")


def _pieces(text: str, count: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, count)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _details() -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "8.0B",
        "quantization_level": "Q4_K_M",
    }


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": CREATED_AT,
        "size": 4_920_753_328,
        "digest": "0" * 64,
        "details": _details(),
    }


def _show(name: str) -> dict[str, Any]:
    return {
        "modelfile": f"FROM {name}",
        "parameters": "stop <|eot_id|>",
        "template": "{{ .Prompt }}",
        "details": _details(),
        "model_info": {"general.architecture": "llama"},
        "capabilities": ["completion", "tools"],
        "modified_at": CREATED_AT,
    }
