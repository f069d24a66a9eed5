"""Largest request rate a deployment sustains while p95 TTFT, ITL and E2E all meet their SLO targets.

Under the closed-loop model of :mod:`kb.estimator.load` every p95 latency is non-decreasing in the concurrency
``C`` and requests/s is non-decreasing up to the concurrency cap (min of max_num_seqs and the sequences that fit
the KV cache), after which it is flat.  So the answer is the largest ``C`` in ``[1, cap]`` meeting all three
targets, found by bisection (about log2(cap) <= 11 evaluations of a few dozen float operations), and the rate is
the throughput there.  Results are memoised on hashable inputs, so repeated queries cost a dictionary lookup.

``binding`` says what stops the rate from growing: the SLO metric that would be violated at ``C + 1`` (the one
furthest over its target), ``concurrency_limit`` when the cap is reached with all targets still met, or
``prefill_saturation`` when the deployment is prefill-bound before the SLO binds - beyond that point requests/s
falls slightly with concurrency (every step carries prompt chunks and grows with the batch), so the point of peak
throughput is returned (found by a second bisection on the onset of the prefill-bound regime).  When even
``C = 1`` misses, :func:`max_rps_under_slo` returns None and :func:`capacity_under_slo` says which metric misses
(or ``memory`` when the deployment does not fit at all).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from kb.domain import GPUSpec, ModelSpec, Quantization, SLOTargets, TrafficProfile
from kb.estimator.constants import DEFAULT_CONSTANTS, EstimatorConstants
from kb.estimator.deployment import DeploymentShape, check_tokens, deployment_shape
from kb.estimator.load import LoadProfile, load_profile, p95_point


class Binding(StrEnum):
    """What limits the sustainable rate."""

    TTFT = "ttft"
    ITL = "itl"
    E2E = "e2e"
    CONCURRENCY_LIMIT = "concurrency_limit"
    PREFILL_SATURATION = "prefill_saturation"
    MEMORY = "memory"


@dataclass(frozen=True, slots=True)
class CapacityPoint:
    """The best operating point under an SLO (latencies are predicted p95, in ms)."""

    requests_per_second: float
    concurrency: int
    output_tokens_per_second: float
    ttft_p95_ms: float
    itl_p95_ms: float
    e2e_p95_ms: float
    binding: Binding
    concurrency_cap: int


@dataclass(frozen=True, slots=True)
class CapacityResult:
    """``point`` is None when no concurrency meets the SLO; ``binding`` then names the metric that fails at C=1."""

    point: CapacityPoint | None
    binding: Binding


_METRICS = (Binding.TTFT, Binding.ITL, Binding.E2E)


class _Search:
    """Memoised evaluations of one (profile, targets) pair; ``excess(C) = log max_i latency_i / target_i``."""

    __slots__ = ("cache", "profile", "targets")

    def __init__(self, profile: LoadProfile, targets: tuple[float, float, float]) -> None:
        self.profile = profile
        self.targets = targets
        self.cache: dict[int, tuple[float, float, float, float, bool]] = {}

    def at(self, concurrency: int) -> tuple[float, float, float, float, bool]:
        hit = self.cache.get(concurrency)
        if hit is None:
            hit = p95_point(self.profile, concurrency)
            self.cache[concurrency] = hit
        return hit

    def prefill_bound(self, concurrency: int) -> bool:
        return self.at(concurrency)[4]

    def excess(self, concurrency: int) -> float:
        """log of the largest latency/target ratio: <= 0 exactly when every target is met."""
        ttft, itl, e2e, _, _ = self.at(concurrency)
        t = self.targets
        a, b, c = ttft / t[0], itl / t[1], e2e / t[2]
        worst = a if a > b and a > c else b if b > c else c
        return math.log(worst) if worst > 1e-300 else -690.0

    def worst(self, concurrency: int) -> Binding:
        ttft, itl, e2e, _, _ = self.at(concurrency)
        ratios = (ttft / self.targets[0], itl / self.targets[1], e2e / self.targets[2])
        return _METRICS[max(range(3), key=ratios.__getitem__)]

    def largest_meeting(self, cap: int) -> int:
        """Largest C in [1, cap) meeting every target, given C=1 meets and C=cap does not.

        Illinois-weighted regula falsi on the monotone log excess against log C (latencies grow roughly like powers
        of C), typically 4-7 evaluations; after 12 interpolations it falls back to plain bisection, so the worst case
        stays logarithmic.
        """
        low, high = 1, cap
        g_low, g_high = self.excess(low), self.excess(high)
        x_low, x_high = 0.0, math.log(high)
        side = 0
        rounds = 0
        while high - low > 1:
            rounds += 1
            if rounds > 12 or g_high <= g_low:
                middle = (low + high) // 2
            else:
                guess = math.exp(x_low + (x_high - x_low) * (-g_low) / (g_high - g_low))
                middle = min(max(int(guess + 0.5), low + 1), high - 1)
            g = self.excess(middle)
            if g <= 0.0:
                low, g_low, x_low = middle, g, math.log(middle)
                if side == -1:
                    g_high *= 0.5
                side = -1
            else:
                high, g_high, x_high = middle, g, math.log(middle)
                if side == 1:
                    g_low *= 0.5
                side = 1
        return low


@lru_cache(maxsize=131072)
def _capacity(
    shape: DeploymentShape,
    prompt_tokens: int,
    output_tokens: int,
    targets: tuple[float, float, float],
    constants: EstimatorConstants,
) -> CapacityResult:
    profile = load_profile(shape, prompt_tokens, output_tokens, constants)
    cap = profile.concurrency_cap
    if cap < 1:
        return CapacityResult(None, Binding.MEMORY)
    search = _Search(profile, targets)
    if search.excess(1) > 0.0:
        return CapacityResult(None, search.worst(1))
    if search.excess(cap) <= 0.0:
        best, binding = cap, Binding.CONCURRENCY_LIMIT
    else:
        best = search.largest_meeting(cap)
        binding = search.worst(best + 1)
    if search.prefill_bound(best):
        # Past the prefill-bound point more concurrency lowers requests/s: use the throughput peak instead.
        low, high = 1, best  # low: not prefill-bound, high: prefill-bound
        if search.prefill_bound(1):
            high = 1
        while high - low > 1:
            middle = (low + high) // 2
            if search.prefill_bound(middle):
                high = middle
            else:
                low = middle
        peak = max((low, high), key=lambda c: search.at(c)[3])
        if search.at(peak)[3] > search.at(best)[3]:
            best, binding = peak, Binding.PREFILL_SATURATION
    if search.at(1)[3] > search.at(best)[3]:
        # Long prompts, short answers: a second request's prefill can cost more than it adds (collisions).
        best, binding = 1, Binding.PREFILL_SATURATION
    ttft, itl, e2e, rps, _ = search.at(best)
    point = CapacityPoint(
        requests_per_second=rps,
        concurrency=best,
        output_tokens_per_second=rps * output_tokens,
        ttft_p95_ms=ttft * 1e3,
        itl_p95_ms=itl * 1e3,
        e2e_p95_ms=e2e * 1e3,
        binding=binding,
        concurrency_cap=cap,
    )
    return CapacityResult(point, binding)


def capacity_under_slo(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quantization: Quantization,
    traffic: TrafficProfile,
    slo: SLOTargets,
    constants: EstimatorConstants = DEFAULT_CONSTANTS,
) -> CapacityResult:
    """Best operating point under ``slo`` plus what binds it (or why there is none)."""
    check_tokens(traffic.prompt_tokens, traffic.output_tokens, model.max_context)
    shape = deployment_shape(model, gpu, tp, quantization, constants)
    targets = (slo.ttft_p95_ms * 1e-3, slo.itl_p95_ms * 1e-3, slo.e2e_p95_ms * 1e-3)
    return _capacity(shape, traffic.prompt_tokens, traffic.output_tokens, targets, constants)


def max_rps_under_slo(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quantization: Quantization,
    traffic: TrafficProfile,
    slo: SLOTargets,
    constants: EstimatorConstants = DEFAULT_CONSTANTS,
) -> CapacityPoint | None:
    """Largest requests/s (and its concurrency) with predicted p95 TTFT, ITL and E2E all within ``slo``.

    None when even one request at a time misses a target or the deployment does not fit in memory.  Invalid
    inputs (TP, quantisation, token counts) raise ValidationFailedError.
    """
    return capacity_under_slo(model, gpu, tp, quantization, traffic, slo, constants).point
