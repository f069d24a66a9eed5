"""`python -m simulator`: serve a simulated vLLM from flags, falling back to the environment variables.

    python -m simulator --model M --gpu G --tp N --port P --host 127.0.0.1 --benchmarks FILE

Flags override the environment (MODEL_NAME, GPU_TYPE, TENSOR_PARALLEL_SIZE, BENCHMARKS_PATH, ...);
vLLM's own flag names (--tensor-parallel-size, --max-num-seqs, --max-model-len,
--served-model-name, --seed) are accepted too, so a vLLM manifest's arguments mostly carry over.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from kb.errors import CompassError
from simulator.app import run_simulator
from simulator.config import SimulatorConfig


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simulator", description="Simulated vLLM OpenAI-compatible server.")
    p.add_argument("--model", dest="model_name", help="model name (MODEL_NAME)")
    p.add_argument("--served-model-name", dest="served_model_name", help="name clients use (SERVED_MODEL_NAME)")
    p.add_argument("--gpu", dest="gpu_type", help="GPU type of the benchmark rows (GPU_TYPE)")
    p.add_argument("--tp", "--tensor-parallel-size", dest="tensor_parallel_size", type=int, help="TP size")
    p.add_argument("--benchmarks", dest="benchmarks_path", help="JSON list of benchmark records (BENCHMARKS_PATH)")
    p.add_argument("--max-num-seqs", dest="max_num_seqs", type=int)
    p.add_argument("--max-model-len", dest="max_model_len", type=int)
    p.add_argument("--kv-cache-tokens", dest="kv_cache_tokens", type=int)
    p.add_argument("--ttft-ms", dest="ttft_ms", type=float, help="flat time to first token (TTFT_MS)")
    p.add_argument("--itl-ms", dest="itl_ms", type=float, help="flat inter-token latency (ITL_MS)")
    p.add_argument("--jitter", dest="sim_jitter", type=float, help="relative latency noise (SIM_JITTER)")
    p.add_argument("--seed", dest="sim_seed", type=int, help="random seed (SIM_SEED)")
    p.add_argument("--time-scale", dest="sim_time_scale", type=float, help="duration multiplier (SIM_TIME_SCALE)")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info"))
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument("--loop", default=os.environ.get("SIM_LOOP", "auto"), choices=["auto", "asyncio", "uvloop"])
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fields = set(SimulatorConfig.model_fields)
    overrides: dict[str, Any] = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    try:
        config = SimulatorConfig(**overrides)
        run_simulator(
            config, args.host, args.port, log_level=args.log_level, access_log=args.access_log, loop=args.loop
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        print(f"simulator: invalid configuration: {problems}", file=sys.stderr)
        return 2
    except CompassError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
