"""Fill the benchmark table with estimated rows for every catalog combination that fits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from kb.domain import BenchmarkRecord, GPUSpec, ModelSpec, TrafficProfile
from kb.errors import ValidationFailedError
from kb.estimator.rows import estimate_rows

TENSOR_PARALLEL_DEGREES = (1, 2, 4, 8)


def catalog_estimates(
    models: Sequence[ModelSpec],
    gpus: Sequence[GPUSpec],
    profiles: Sequence[TrafficProfile],
    *,
    today: dt.date | None = None,
) -> Iterator[BenchmarkRecord]:
    """Estimated rows for model x GPU x TP in {1,2,4,8} x quantisation x profile, skipping what cannot run."""
    for traffic in profiles:
        for model in models:
            if traffic.prompt_tokens + traffic.output_tokens > model.max_context:
                continue
            for gpu in gpus:
                for tp in TENSOR_PARALLEL_DEGREES:
                    if tp > gpu.max_tensor_parallel:
                        continue
                    for option in model.quantizations:
                        try:
                            yield from estimate_rows(model, gpu, tp, option.name, traffic, provenance_date=today)
                        except ValidationFailedError:
                            continue  # a shape the model cannot take, e.g. TP not dividing its heads
