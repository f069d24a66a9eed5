"""Run every benchmark script and print markdown tables (copied into docs/PERFORMANCE.md)."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys

SUITES = {
    "kb": "tests.bench.bench_kb",
    "planner": "tests.bench.bench_planner",
    "deploy": "tests.bench.bench_deploy",
    "agent": "tests.bench.bench_agent",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    names = [*SUITES, "simulator"]
    parser.add_argument("suites", nargs="*", default=names, choices=names, help=f"any of {', '.join(names)}")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    for name in args.suites:
        if name == "simulator":
            from simulator.bench import main as simulator_bench

            simulator_bench([])
            continue
        module = importlib.import_module(SUITES[name])
        print(f"\n## {name}\n")
        for line in module.run():
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
