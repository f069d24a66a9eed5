"""Pure latency model: TTFT and ITL as functions of prompt length and running batch size, fitted to benchmark rows.

Benchmark rows (`BenchmarkRecord`) carry mean/p90/p95/p99 but no median, so each row's median and
log-normal spread are recovered from its mean and p95 (for a log-normal, p95/mean =
exp(1.645 sigma - sigma^2 / 2)). From the rows of one model, GPU and TP the model derives:

* prefill: TTFT at the lowest measured concurrency against prompt tokens, a least-squares line
  across traffic profiles; with a single prompt length, a line through that point with a fixed
  floor (`min(15 ms, half the TTFT)`), so shorter prompts are faster but never free;
* a TTFT load factor: TTFT(c) / TTFT(lowest c), piecewise-linear in concurrency, averaged over
  profiles, clamped beyond the measured range;
* ITL: per-profile piecewise-linear interpolation of median ITL against concurrency (the running
  batch size), interpolated across profiles by the batch's mean context length, clamped;
* spreads: the log-normal sigma of TTFT and ITL at each concurrency, used for jitter.

Everything here is deterministic; sampling takes a `random.Random` from the caller.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from kb.domain import BenchmarkRecord, BenchmarkSource, LatencyStats, LoadKind
from kb.errors import ConfigurationError
from simulator.config import JitterSource

Z95 = 1.6448536269514722
"""Standard-normal 95th percentile."""
MAX_Z = 3.0
"""Sampled noise is clamped to +-3 sigma so one unlucky draw cannot stall a stream."""
PREFILL_FLOOR_S = 0.015
"""Fixed TTFT floor used when only one prompt length was measured."""

_SOURCE_RANK = {BenchmarkSource.MEASURED: 0, BenchmarkSource.IMPORTED: 1, BenchmarkSource.ESTIMATED: 2}


@dataclass(frozen=True)
class Curve:
    """A piecewise-linear function through sorted points, constant beyond the first and last."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.xs or len(self.xs) != len(self.ys):
            raise ValueError("a curve needs as many ys as xs, and at least one point")
        if any(b <= a for a, b in zip(self.xs, self.xs[1:], strict=False)):
            raise ValueError("curve xs must be strictly increasing")

    @classmethod
    def constant(cls, y: float) -> Curve:
        return cls((1.0,), (y,))

    def __call__(self, x: float) -> float:
        xs, ys = self.xs, self.ys
        if x <= xs[0]:
            return ys[0]
        if x >= xs[-1]:
            return ys[-1]
        i = bisect.bisect_right(xs, x)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def lognormal_fit(stats: LatencyStats) -> tuple[float, float]:
    """(median, sigma) of the log-normal whose mean and p95 match `stats`; sigma 0 when p95 <= mean."""
    mean, p95 = stats.mean, stats.p95
    if mean <= 0:
        return 0.0, 0.0
    ratio = p95 / mean
    if ratio <= 1.0:
        return mean, 0.0
    disc = Z95 * Z95 - 2.0 * math.log(ratio)
    sigma = Z95 if disc < 0 else Z95 - math.sqrt(disc)
    return mean * math.exp(-sigma * sigma / 2.0), sigma


@dataclass(frozen=True)
class ProfilePoint:
    """Median and spread of TTFT and ITL (seconds) at one concurrency of one traffic profile."""

    concurrency: float
    ttft_s: float
    ttft_sigma: float
    itl_s: float
    itl_sigma: float


@dataclass(frozen=True)
class Profile:
    """The curves measured for one traffic profile (prompt/output token counts)."""

    prompt_tokens: int
    output_tokens: int
    points: tuple[ProfilePoint, ...]

    @property
    def context_tokens(self) -> float:
        """Mean tokens held per sequence over a request's life: the prompt plus half the output."""
        return self.prompt_tokens + self.output_tokens / 2.0

    def curve(self, field: str) -> Curve:
        return Curve(tuple(p.concurrency for p in self.points), tuple(float(getattr(p, field)) for p in self.points))


@dataclass(frozen=True)
class Prediction:
    """What the model expects a closed-loop client at `concurrency` to observe (seconds, tokens/s)."""

    concurrency: int
    running: int
    prompt_tokens: int
    output_tokens: int
    ttft_p50_s: float
    ttft_p95_s: float
    itl_p50_s: float
    itl_p95_s: float
    e2e_p50_s: float
    e2e_p95_s: float
    queue_s: float
    requests_per_s: float
    output_tokens_per_s: float


def _record_concurrency(record: BenchmarkRecord) -> float | None:
    if record.load_kind is LoadKind.CONCURRENCY and record.load_value > 0:
        return record.load_value
    if record.concurrency is not None and record.concurrency > 0:
        return record.concurrency
    return None


def profiles_from_records(records: Iterable[BenchmarkRecord]) -> list[Profile]:
    """Groups rows by traffic profile and concurrency; the best-sourced rows at a concurrency are averaged."""
    grouped: dict[tuple[int, int], dict[float, list[BenchmarkRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        conc = _record_concurrency(record)
        if conc is None:
            continue
        grouped[(record.prompt_tokens, record.output_tokens)][conc].append(record)
    profiles: list[Profile] = []
    for (prompt, output), by_conc in sorted(grouped.items()):
        points: list[ProfilePoint] = []
        for conc in sorted(by_conc):
            rows = by_conc[conc]
            best = min(_SOURCE_RANK[r.source] for r in rows)
            chosen = [r for r in rows if _SOURCE_RANK[r.source] == best]
            ttft = [lognormal_fit(r.ttft_ms) for r in chosen]
            itl = [lognormal_fit(r.itl_ms) for r in chosen]
            points.append(
                ProfilePoint(
                    concurrency=conc,
                    ttft_s=sum(m for m, _ in ttft) / len(ttft) / 1000.0,
                    ttft_sigma=sum(s for _, s in ttft) / len(ttft),
                    itl_s=sum(m for m, _ in itl) / len(itl) / 1000.0,
                    itl_sigma=sum(s for _, s in itl) / len(itl),
                )
            )
        profiles.append(Profile(prompt, output, tuple(points)))
    return profiles


def _average_curves(curves: Sequence[Curve]) -> Curve:
    xs = sorted({x for c in curves for x in c.xs})
    return Curve(tuple(xs), tuple(sum(c(x) for c in curves) / len(curves) for x in xs))


def _fit_prefill(points: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """(floor seconds, seconds per prompt token) from (prompt tokens, TTFT) points."""
    by_prompt: dict[int, list[float]] = defaultdict(list)
    for prompt, ttft in points:
        by_prompt[prompt].append(ttft)
    pts: list[tuple[float, float]] = [(float(p), sum(v) / len(v)) for p, v in by_prompt.items()]
    if len(pts) >= 2:
        n = len(pts)
        mx = sum(p for p, _ in pts) / n
        my = sum(t for _, t in pts) / n
        sxx = sum((p - mx) ** 2 for p, _ in pts)
        slope = sum((p - mx) * (t - my) for p, t in pts) / sxx
        intercept = my - slope * mx
        if slope > 0 and intercept >= 0:
            return intercept, slope
        if slope > 0:  # negative intercept: a line through the origin instead
            return 0.0, sum(p * t for p, t in pts) / sum(p * p for p, _ in pts)
        pts = [(mx, my)]  # TTFT does not grow with the prompt: treat as one profile
    base_prompt, base_ttft = pts[0]
    floor = min(PREFILL_FLOOR_S, base_ttft / 2.0)
    return floor, (base_ttft - floor) / base_prompt


@dataclass(frozen=True)
class _ItlProfile:
    context_tokens: float
    median: Curve
    sigma: Curve


@dataclass(frozen=True)
class LatencyModel:
    """Median TTFT and ITL for a prompt length and running batch size, plus the spread used to sample them."""

    prefill_floor_s: float
    prefill_per_token_s: float
    ttft_load: Curve
    ttft_sigma_curve: Curve
    itl_profiles: tuple[_ItlProfile, ...]
    jitter: float = 0.05
    jitter_source: JitterSource = JitterSource.BENCHMARKS
    description: str = ""

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    def from_records(
        cls,
        records: Sequence[BenchmarkRecord],
        *,
        jitter: float = 0.05,
        jitter_source: JitterSource = JitterSource.BENCHMARKS,
    ) -> LatencyModel:
        """Fits the model to rows of one model/GPU/TP; raises ConfigurationError when they hold no usable point."""
        profiles = profiles_from_records(records)
        ttft_profiles = [p for p in profiles if all(pt.ttft_s > 0 for pt in p.points)]
        itl_profiles = [p for p in profiles if all(pt.itl_s > 0 for pt in p.points)]
        if not ttft_profiles or not itl_profiles:
            raise ConfigurationError(
                "the benchmark rows have no usable point: each needs a concurrency (load_kind=concurrency "
                "or a concurrency figure) and positive mean TTFT and ITL"
            )
        loads = []
        for p in ttft_profiles:
            base = p.points[0].ttft_s
            loads.append(Curve(tuple(pt.concurrency for pt in p.points), tuple(pt.ttft_s / base for pt in p.points)))
        floor, per_token = _fit_prefill([(p.prompt_tokens, p.points[0].ttft_s) for p in ttft_profiles])
        itl = tuple(
            _ItlProfile(p.context_tokens, p.curve("itl_s"), p.curve("itl_sigma"))
            for p in sorted(itl_profiles, key=lambda q: q.context_tokens)
        )
        desc = ", ".join(
            f"{p.prompt_tokens}/{p.output_tokens} tokens at concurrency "
            + "/".join(f"{pt.concurrency:g}" for pt in p.points)
            for p in profiles
        )
        return cls(
            prefill_floor_s=floor,
            prefill_per_token_s=per_token,
            ttft_load=_average_curves(loads),
            ttft_sigma_curve=_average_curves([p.curve("ttft_sigma") for p in ttft_profiles]),
            itl_profiles=itl,
            jitter=jitter,
            jitter_source=jitter_source,
            description=f"fitted to {len(records)} benchmark rows ({desc})",
        )

    @classmethod
    def flat(
        cls,
        *,
        ttft_ms: float,
        itl_ms: float,
        prefill_ms_per_token: float = 0.0,
        load_factor: float = 1.0,
        max_num_seqs: int = 256,
        jitter: float = 0.05,
    ) -> LatencyModel:
        """Fixed TTFT (plus an optional per-prompt-token part) and ITL, rising linearly to
        `load_factor` times when `max_num_seqs` requests run."""
        return cls(
            prefill_floor_s=ttft_ms / 1000.0,
            prefill_per_token_s=prefill_ms_per_token / 1000.0,
            ttft_load=_load_curve(load_factor, max_num_seqs),
            ttft_sigma_curve=Curve.constant(0.0),
            itl_profiles=(_flat_itl(itl_ms, load_factor, max_num_seqs),),
            jitter=jitter,
            jitter_source=JitterSource.FIXED,
            description=f"flat TTFT {ttft_ms:g} ms (+{prefill_ms_per_token:g} ms/prompt token), ITL {itl_ms:g} ms, "
            f"x{load_factor:g} at {max_num_seqs} running",
        )

    def with_overrides(
        self,
        *,
        ttft_ms: float | None = None,
        itl_ms: float | None = None,
        prefill_ms_per_token: float = 0.0,
        load_factor: float = 1.0,
        max_num_seqs: int = 256,
    ) -> LatencyModel:
        """This model with TTFT and/or ITL replaced by flat figures."""
        model = self
        if ttft_ms is not None:
            model = replace(
                model,
                prefill_floor_s=ttft_ms / 1000.0,
                prefill_per_token_s=prefill_ms_per_token / 1000.0,
                ttft_load=_load_curve(load_factor, max_num_seqs),
                ttft_sigma_curve=Curve.constant(0.0),
                description=model.description + f"; TTFT overridden to {ttft_ms:g} ms",
            )
        if itl_ms is not None:
            model = replace(
                model,
                itl_profiles=(_flat_itl(itl_ms, load_factor, max_num_seqs),),
                description=model.description + f"; ITL overridden to {itl_ms:g} ms",
            )
        return model

    # ---- medians ------------------------------------------------------------------------------

    def ttft_seconds(self, prompt_tokens: int, running: int) -> float:
        """Median time to first token for a prompt admitted when `running` sequences (itself included) run."""
        return (self.prefill_floor_s + self.prefill_per_token_s * prompt_tokens) * self.ttft_load(max(running, 1))

    def itl_seconds(self, running: int, context_tokens: float | None = None) -> float:
        """Median decode-step time with `running` sequences whose mean context is `context_tokens`
        (None: the average over the measured profiles)."""
        return self._itl_eval(running, context_tokens, sigma=False)

    def ttft_sigma(self, running: int) -> float:
        return self._sigma(self.ttft_sigma_curve(max(running, 1)))

    def itl_sigma(self, running: int, context_tokens: float | None = None) -> float:
        return self._sigma(self._itl_eval(running, context_tokens, sigma=True))

    # ---- sampling -----------------------------------------------------------------------------

    def sample_ttft(self, prompt_tokens: int, running: int, rng: random.Random) -> float:
        return _noisy(self.ttft_seconds(prompt_tokens, running), self.ttft_sigma(running), rng)

    def sample_itl(self, running: int, rng: random.Random, context_tokens: float | None = None) -> float:
        return _noisy(self.itl_seconds(running, context_tokens), self.itl_sigma(running, context_tokens), rng)

    # ---- prediction ---------------------------------------------------------------------------

    def predicted(
        self, concurrency: int, prompt_tokens: int, output_tokens: int, max_num_seqs: int | None = None
    ) -> Prediction:
        """Steady state of `concurrency` closed-loop clients (each sends its next request when the last ends).

        Up to `max_num_seqs` run; the rest queue, so each client's cycle is concurrency/running times a
        running request's latency, and the difference is time spent waiting (added to TTFT)."""
        if concurrency < 1 or prompt_tokens < 1 or output_tokens < 1:
            raise ValueError("concurrency, prompt_tokens and output_tokens must be positive")
        running = min(concurrency, max_num_seqs) if max_num_seqs else concurrency
        context = prompt_tokens + output_tokens / 2.0
        ttft = self.ttft_seconds(prompt_tokens, running)
        itl = self.itl_seconds(running, context)
        ttft95 = ttft * math.exp(Z95 * self.ttft_sigma(running))
        itl95 = itl * math.exp(Z95 * self.itl_sigma(running, context))
        e2e_running = ttft + (output_tokens - 1) * itl
        cycle = e2e_running * concurrency / running
        queue = cycle - e2e_running
        rps = running / e2e_running
        return Prediction(
            concurrency=concurrency,
            running=running,
            prompt_tokens=prompt_tokens,
            output_tokens=output_tokens,
            ttft_p50_s=queue + ttft,
            ttft_p95_s=queue + ttft95,
            itl_p50_s=itl,
            itl_p95_s=itl95,
            e2e_p50_s=cycle,
            e2e_p95_s=queue + ttft95 + (output_tokens - 1) * itl,
            queue_s=queue,
            requests_per_s=rps,
            output_tokens_per_s=rps * output_tokens,
        )

    # ---- internals ----------------------------------------------------------------------------

    def _sigma(self, measured: float) -> float:
        if self.jitter_source is JitterSource.FIXED:
            return self.jitter
        return max(self.jitter, measured)

    def _itl_eval(self, running: int, context_tokens: float | None, *, sigma: bool) -> float:
        x = float(max(running, 1))
        profiles = self.itl_profiles
        values = [(p.context_tokens, (p.sigma if sigma else p.median)(x)) for p in profiles]
        if context_tokens is None or len(values) == 1:
            return sum(v for _, v in values) / len(values)
        # average profiles that share a context length, then interpolate between neighbours
        merged: dict[float, list[float]] = defaultdict(list)
        for ctx, v in values:
            merged[ctx].append(v)
        ctxs = sorted(merged)
        curve = Curve(tuple(ctxs), tuple(sum(merged[c]) / len(merged[c]) for c in ctxs))
        return curve(context_tokens)


def _noisy(median: float, sigma: float, rng: random.Random) -> float:
    if sigma <= 0:
        return median
    z = max(-MAX_Z, min(MAX_Z, rng.gauss(0.0, 1.0)))
    return median * math.exp(sigma * z)


def _load_curve(load_factor: float, max_num_seqs: int) -> Curve:
    if load_factor == 1.0 or max_num_seqs <= 1:
        return Curve.constant(1.0)
    return Curve((1.0, float(max_num_seqs)), (1.0, load_factor))


def _flat_itl(itl_ms: float, load_factor: float, max_num_seqs: int) -> _ItlProfile:
    load = _load_curve(load_factor, max_num_seqs)
    return _ItlProfile(0.0, Curve(load.xs, tuple(itl_ms / 1000.0 * y for y in load.ys)), Curve.constant(0.0))
