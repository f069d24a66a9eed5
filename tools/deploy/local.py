"""The `local` target: one simulator child process per deployment on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import httpx

from kb.errors import CompassError


class LocalTargetError(CompassError):
    """The local simulator could not be started or stopped."""


@dataclass(frozen=True)
class LocalProcess:
    pid: int
    port: int
    endpoint: str
    log_path: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    *,
    deployment_id: str,
    model: str,
    gpu: str,
    tensor_parallel: int,
    benchmarks_path: Path | None,
    folder: Path,
    timeout_s: float,
    time_scale: float = 1.0,
    ttft_ms: float | None = None,
    itl_ms: float | None = None,
) -> LocalProcess:
    """Start the simulator and wait until /health answers; on failure kill it and report its log's tail."""
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "simulator.log"
    port = free_port()
    command = [
        sys.executable, "-m", "simulator", "--model", model, "--gpu", gpu, "--tp", str(tensor_parallel),
        "--host", "127.0.0.1", "--port", str(port), "--time-scale", str(time_scale),
    ]  # fmt: skip
    if benchmarks_path is not None:
        command += ["--benchmarks", str(benchmarks_path)]
    if ttft_ms is not None and itl_ms is not None:
        command += ["--ttft-ms", f"{ttft_ms:.3f}", "--itl-ms", f"{itl_ms:.3f}"]
    env = {**os.environ, "COMPASS_DEPLOYMENT_ID": deployment_id, "PYTHONUNBUFFERED": "1"}
    env.pop("COMPASS_DATABASE_URL", None)  # the simulator reads its rows from the file, never the database
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LocalTargetError(
                    f"the simulator for {deployment_id} exited with code {process.returncode}: {tail(log_path, 5)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{endpoint}/health").status_code == 200:
                    return LocalProcess(pid=process.pid, port=port, endpoint=endpoint, log_path=log_path)
            time.sleep(0.05)
    stop(process.pid)
    raise LocalTargetError(f"the simulator for {deployment_id} did not answer /health within {timeout_s:g} s")


def is_running(pid: int | None, deployment_id: str) -> bool:
    """True when `pid` is alive and is this deployment's simulator (guards against PID reuse)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    environ = Path(f"/proc/{pid}/environ")
    if environ.exists():
        try:
            return f"COMPASS_DEPLOYMENT_ID={deployment_id}".encode() in environ.read_bytes()
        except OSError:
            return False
    return True


def stop(pid: int | None, *, grace_s: float = 5.0) -> None:
    """SIGTERM (graceful shutdown), then SIGKILL after the grace period; reaps the child if it is ours."""
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def tail(path: Path, lines: int = 50) -> str:
    if not path.exists():
        return ""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        return "".join(deque(handle, maxlen=lines)).rstrip()
