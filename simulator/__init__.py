"""vLLM stand-in: an OpenAI-compatible server whose latencies follow benchmark data.

Compass deploys it as a child process for local runs and as a container ("simulator mode") on
CPU-only Kubernetes clusters. It serves the vLLM OpenAI API (`/v1/completions`,
`/v1/chat/completions`, `/v1/models`), `/health`, `/version` and vLLM's Prometheus metrics, and
times every token from a latency model fitted to `BenchmarkRecord` rows for one model, GPU and
tensor-parallel size.
"""

from __future__ import annotations

from simulator.app import create_app, run_simulator
from simulator.config import SIMULATOR_VERSION, LatencySource, SimulatorConfig

__all__ = ["LatencySource", "SimulatorConfig", "__version__", "create_app", "run_simulator"]

__version__ = SIMULATOR_VERSION
