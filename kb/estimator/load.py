"""Continuous batching under a closed-loop load of ``C`` concurrent requests (prompt P, output O tokens).

Symmetric steady state of vLLM with chunked prefill (every quantity per GPU group):

* ``Cr = min(C, max_num_seqs, sequences that fit the KV cache)`` requests run; the rest wait for a slot.
* ``B = Cr (O - 1) / (O - 1 + n)`` of them are in their decode phase (a request spends about ``n`` steps
  prefilling and ``O - 1`` decoding); ``Td`` - a pure decode step for ``B`` sequences at mean context ``P + O/2``.
* A prompt is prefilled in ``n = ceil(P / max_num_batched_tokens)`` chunks.  A step that carries a chunk besides
  the decodes lasts ``Tc``; ``E = Tc - Td`` is what a chunk adds to a decode step.
* Own prefill ``S = n Tc' + request_overhead (+ Td / 2 when others decode: a request arrives mid-step and waits for
  it to end)``, ``Tc'`` being the chunk step with the other ``B (Cr - 1) / Cr`` requests decoding.
* In one cycle of mine every other running request completes one cycle, so its ``n`` chunks ride on steps of my
  decode phase: ``D = (O - 1) Td + min(O - 1, (Cr - 1) n) E`` (my ``O - 1`` decode steps can carry at most one chunk
  each).  Mean ITL = ``D / (O - 1)``.
* Prefill-bound floor: the cycle cannot be shorter than the chunk steps it must hold - ``Cr n`` steps of ``Tc``, or,
  for prompts short enough that ``k = (max_num_batched_tokens - B) // P`` of them share a step, ``Cr / k`` steps
  carrying ``k P`` prompt tokens; the shortfall is time spent waiting for the prefill budget, i.e. part of TTFT.
  Past this point more concurrency only lengthens every step, so requests/s *falls* slightly with ``C``.
* Random collisions of prefills (light-traffic M/D/1): ``Ws = u Tp / 2 (Cr - 1) / Cr`` with ``Tp = n Tc'`` and
  ``u = min(1, Cr Tp / (S + D))``; heavy traffic is left to the floor, so requests/s is
  ``min(Cr / (S + D + Ws), Cr / floor)`` - rising then falling in ``Cr`` (unimodal), which the capacity search
  relies on.  The wait is ``max(floor wait, Ws)``.
* ``TTFT = S + wait``, ``E2E = TTFT + (O - 1) ITL`` and throughput ``X = Cr / E2E`` (req/s).
* Requests beyond ``Cr`` wait ``(C - Cr) / X`` for a slot (Little's law), added to TTFT and E2E; throughput stays
  at ``X(Cr)`` - this is where requests/s saturates.

Tails (documented assumptions, see constants.py):

* ITL percentiles are of the *per-request mean* inter-token latency (GuideLLM / vLLM TPOT convention).  A request
  sees ``K ~ Binomial(O - 1, f)`` chunk-carrying steps among its ``O - 1`` decode steps, ``f`` being the share the
  mean implies; so ``ITL_p = ITL_mean + z_p E sqrt(f (1 - f) / (O - 1))``, capped at ``Tc`` (a request cannot see
  more than every step carry a chunk; the cap keeps ITL_p monotone in load), times ``1 + itl_tail_jitter`` at p95
  (half of it at p90, double at p99).
* TTFT: with ``u = Cr Tp / E2E`` the prefill utilisation (capped at ``max_prefill_utilisation``), the collision
  wait is zero with probability ``1 - u`` and otherwise roughly exponential with mean ``Ws / u``, so
  ``W_p = (Ws / u) ln(u / (1 - p))`` when ``u > 1 - p`` (never below the deterministic floor wait); service time
  gets ``1 + ttft_tail_jitter`` at p95.
* E2E_p = TTFT_p + (O - 1) ITL_mean (1 + e2e_tail_jitter); per-token ITL spikes average out over a response.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from kb.domain import GPUSpec, ModelSpec, Quantization, TrafficProfile
from kb.errors import ValidationFailedError
from kb.estimator.constants import DEFAULT_CONSTANTS, EstimatorConstants
from kb.estimator.deployment import DeploymentShape, check_tokens, deployment_shape
from kb.estimator.latency import prefill_chunks, step_coefficients, step_seconds
from kb.estimator.memory import fit_for_shape, max_sequences

PERCENTILE_Z: dict[int, float] = {50: 0.0, 90: 1.2816, 95: 1.6449, 99: 2.3263}
"""Standard-normal quantiles used for the per-request ITL spread."""
TAIL_JITTER_SCALE: dict[int, float] = {50: 0.0, 90: 0.5, 95: 1.0, 99: 2.0}
"""How much of each ``*_tail_jitter`` constant a percentile receives."""


@dataclass(frozen=True, slots=True)
class Percentiles:
    """A latency distribution summary in milliseconds."""

    mean: float
    p50: float
    p90: float
    p95: float
    p99: float


@dataclass(frozen=True, slots=True)
class LoadPrediction:
    """Predicted steady state at one concurrency (latencies in ms)."""

    concurrency: int
    running: int
    requests_per_second: float
    output_tokens_per_second: float
    ttft_ms: Percentiles
    itl_ms: Percentiles
    e2e_ms: Percentiles
    decode_step_ms: float
    prefill_ms: float
    prefill_step_share: float
    concurrency_cap: int


class LoadProfile(NamedTuple):
    """Everything about (deployment, P, O) that does not depend on the concurrency; built once and cached.

    The ``*_s`` fields are :func:`kb.estimator.latency.step_seconds` pre-multiplied for this prompt/output shape, so
    a step with ``b`` decoding sequences and ``k`` prefill chunks costs
    ``fixed + max(weights(b + k chunk), b seq_gemm + k chunk_gemm) + b seq_other + k chunk_other``.
    """

    shape: DeploymentShape
    constants: EstimatorConstants
    prompt_tokens: int
    output_tokens: int
    chunks: int
    chunk_tokens: float
    decode_context: float
    concurrency_cap: int
    kv_max_sequences: int
    max_batched_tokens: int
    fixed_s: float
    weights_s: float
    moe_active_fraction: float
    seq_gemm_s: float
    seq_other_s: float
    chunk_gemm_s: float
    chunk_other_s: float
    request_overhead_s: float
    max_utilisation: float
    ttft_jitter: float
    itl_jitter: float
    e2e_jitter: float


@lru_cache(maxsize=65536)
def load_profile(
    shape: DeploymentShape, prompt_tokens: int, output_tokens: int, constants: EstimatorConstants = DEFAULT_CONSTANTS
) -> LoadProfile:
    """Concurrency-independent part of the load model (``concurrency_cap`` is 0 when nothing fits)."""
    kv_seqs = max_sequences(shape, prompt_tokens + output_tokens, constants)
    chunks = prefill_chunks(prompt_tokens, shape.max_batched_tokens)
    chunk = prompt_tokens / chunks
    ctx = prompt_tokens + output_tokens / 2.0
    coeff = step_coefficients(shape, constants)
    kv_read = coeff.kv_s_per_token
    kv_math = coeff.decode_attn_s_per_token_ctx
    return LoadProfile(
        shape=shape,
        constants=constants,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        chunks=chunks,
        chunk_tokens=chunk,
        decode_context=ctx,
        concurrency_cap=min(shape.max_num_seqs, kv_seqs),
        kv_max_sequences=kv_seqs,
        max_batched_tokens=shape.max_batched_tokens,
        fixed_s=coeff.overhead_s + coeff.allreduce_fixed_s,
        weights_s=coeff.weights_s,
        moe_active_fraction=coeff.moe_active_fraction,
        seq_gemm_s=coeff.decode_s_per_token,
        seq_other_s=ctx * (kv_read if kv_read > kv_math else kv_math) + coeff.allreduce_s_per_token,
        chunk_gemm_s=chunk * coeff.prefill_s_per_token,
        chunk_other_s=chunk * (prompt_tokens / 2.0 * coeff.prefill_attn_s_per_token_ctx + coeff.allreduce_s_per_token),
        request_overhead_s=constants.request_overhead_ms * 1e-3,
        max_utilisation=constants.max_prefill_utilisation,
        ttft_jitter=constants.ttft_tail_jitter,
        itl_jitter=constants.itl_tail_jitter,
        e2e_jitter=constants.e2e_tail_jitter,
    )


def _step(profile: LoadProfile, decoding: float, chunks: float) -> float:
    """One engine step with ``decoding`` sequences and ``chunks`` prefill chunks (== step_seconds, precomputed)."""
    weights = _weights(profile, decoding + chunks * profile.chunk_tokens)
    gemm = decoding * profile.seq_gemm_s + chunks * profile.chunk_gemm_s
    return (
        profile.fixed_s
        + (weights if weights > gemm else gemm)
        + decoding * profile.seq_other_s
        + chunks * profile.chunk_other_s
    )


class _State(NamedTuple):
    running: int
    decode_step: float
    chunk_extra: float
    service: float
    floor_wait: float
    collision_wait: float
    utilisation: float
    throughput: float
    itl: float
    step_share: float
    slot_wait: float

    @property
    def wait(self) -> float:
        return self.floor_wait if self.floor_wait > self.collision_wait else self.collision_wait


def _weights(profile: LoadProfile, tokens: float) -> float:
    r = profile.moe_active_fraction
    if r >= 1.0:
        return profile.weights_s
    touched = 1.0 - (1.0 - r) ** (tokens if tokens > 1.0 else 1.0)
    return profile.weights_s * (touched if touched > r else r)


def _solve(profile: LoadProfile, concurrency: int) -> _State:
    cap = profile.concurrency_cap
    running = concurrency if concurrency < cap else cap
    chunk = profile.chunk_tokens
    n = profile.chunks
    steps = profile.output_tokens - 1
    fixed = profile.fixed_s
    seq_gemm = profile.seq_gemm_s
    seq_other = profile.seq_other_s
    chunk_gemm = profile.chunk_gemm_s
    chunk_other = profile.chunk_other_s
    # Sequences in their decode phase: a request spends ~n steps prefilling and `steps` steps decoding.
    decoding = running * steps / (steps + n)
    others = decoding - decoding / running
    # The three steps of the model (== _step, inlined: this runs ~10 times per capacity query).
    weights = _weights(profile, decoding)
    gemm = decoding * seq_gemm
    decode = fixed + (weights if weights > gemm else gemm) + decoding * seq_other
    weights = _weights(profile, decoding + chunk)
    gemm += chunk_gemm
    with_chunk = fixed + (weights if weights > gemm else gemm) + decoding * seq_other + chunk_other
    weights = _weights(profile, others + chunk)
    gemm = others * seq_gemm + chunk_gemm
    own_chunk = fixed + (weights if weights > gemm else gemm) + others * seq_other + chunk_other
    extra = with_chunk - decode if with_chunk > decode else 0.0
    service = n * own_chunk + profile.request_overhead_s
    if running > 1:
        service += 0.5 * decode  # arrives mid-step: waits for the running step to finish
    chunks_of_others = (running - 1) * n
    carried = chunks_of_others if chunks_of_others < steps else steps
    decode_phase = steps * decode + carried * extra
    cycle = service + decode_phase
    budget = profile.max_batched_tokens - decoding
    sharing = int(budget // chunk) if n == 1 and budget > chunk else 1  # short prompts share a prefill step
    shared_step = with_chunk if sharing == 1 else _step(profile, decoding, float(sharing))
    floor = running / sharing * n * shared_step
    floor_wait = floor - cycle if floor > cycle else 0.0
    # Light-traffic collision wait (M/D/1 without the 1/(1-u) blow-up: heavy traffic is the floor's job).
    prefill = n * own_chunk
    busy = running * prefill / cycle
    collision_wait = 0.5 * (busy if busy < 1.0 else 1.0) * prefill * (running - 1) / running
    wait = floor_wait if floor_wait > collision_wait else collision_wait
    throughput = running / (cycle + wait)
    utilisation = running * prefill / (cycle + wait)
    if utilisation > profile.max_utilisation:
        utilisation = profile.max_utilisation
    slot_wait = (concurrency - running) / throughput if concurrency > running else 0.0
    return _State(
        running,
        decode,
        extra,
        service,
        floor_wait,
        collision_wait,
        utilisation,
        throughput,
        decode_phase / steps if steps > 0 else decode,
        carried / steps if steps > 0 else 0.0,
        slot_wait,
    )


def _ttft_seconds(state: _State, percentile: int, jitter: float) -> float:
    wait = 0.0
    tail = 1.0 - percentile / 100.0
    if state.utilisation > tail and state.collision_wait > 0.0:
        wait = state.collision_wait / state.utilisation * math.log(state.utilisation / tail)
    if state.floor_wait > wait:
        wait = state.floor_wait
    return state.service * (1.0 + jitter * TAIL_JITTER_SCALE[percentile]) + wait + state.slot_wait


def _itl_seconds(state: _State, output_tokens: int, percentile: int, jitter: float) -> float:
    steps = output_tokens - 1
    itl = state.itl
    if steps > 0 and 0.0 < state.step_share < 1.0:
        spread = state.chunk_extra * math.sqrt(state.step_share * (1.0 - state.step_share) / steps)
        ceiling = state.decode_step + state.chunk_extra
        upper = itl + PERCENTILE_Z[percentile] * spread
        itl = max(itl, upper if upper < ceiling else ceiling)
    return itl * (1.0 + jitter * TAIL_JITTER_SCALE[percentile])


def prefill_bound(profile: LoadProfile, concurrency: int) -> bool:
    """Whether the prefill floor, not the decode cycle plus collisions, sets the cycle at ``concurrency``.

    Requests/s is ``min(Cr / (cycle + collision wait), Cr / floor)``: the first term grows with concurrency, the
    second falls (every step carries more decodes and fewer prompts fit the token budget), so throughput peaks
    where this predicate turns true.
    """
    state = _solve(profile, concurrency)
    return state.floor_wait > state.collision_wait


def p95_point(profile: LoadProfile, concurrency: int) -> tuple[float, float, float, float, bool]:
    """(TTFT p95, ITL p95, E2E p95 in seconds, requests/s, prefill-bound?) - the cheap path for SLO search."""
    state = _solve(profile, concurrency)
    ttft = _ttft_seconds(state, 95, profile.ttft_jitter)
    itl = _itl_seconds(state, profile.output_tokens, 95, profile.itl_jitter)
    e2e = ttft + (profile.output_tokens - 1) * state.itl * (1.0 + profile.e2e_jitter)
    return ttft, itl, e2e, state.throughput, state.floor_wait > state.collision_wait


def p95_latencies(profile: LoadProfile, concurrency: int) -> tuple[float, float, float, float]:
    """(TTFT p95, ITL p95, E2E p95 in seconds, requests/s) at ``concurrency``."""
    return p95_point(profile, concurrency)[:4]


def predict_profile(profile: LoadProfile, concurrency: int) -> LoadPrediction:
    """Full prediction at ``concurrency`` for a profile whose deployment fits."""
    if concurrency <= 0:
        raise ValidationFailedError(f"concurrency must be a positive number of requests, got {concurrency}")
    if profile.concurrency_cap < 1:
        fit = fit_for_shape(profile.shape, profile.prompt_tokens + profile.output_tokens, profile.constants)
        raise ValidationFailedError(
            f"{profile.shape.model} does not fit on {profile.shape.tp} x {profile.shape.gpu}: {fit.reason}"
        )
    state = _solve(profile, concurrency)
    constants = profile.constants
    steps = profile.output_tokens - 1
    ms = 1e3

    ttft_mean = state.service + state.wait + state.slot_wait
    ttft = {p: _ttft_seconds(state, p, constants.ttft_tail_jitter) for p in PERCENTILE_Z}
    itl = {p: _itl_seconds(state, profile.output_tokens, p, constants.itl_tail_jitter) for p in PERCENTILE_Z}
    e2e = {
        p: ttft[p] + steps * state.itl * (1.0 + constants.e2e_tail_jitter * TAIL_JITTER_SCALE[p]) for p in PERCENTILE_Z
    }
    coeff = step_coefficients(profile.shape, constants)
    alone = profile.chunks * step_seconds(coeff, 0.0, 0.0, profile.chunk_tokens, profile.prompt_tokens / 2.0)
    return LoadPrediction(
        concurrency=concurrency,
        running=state.running,
        requests_per_second=state.throughput,
        output_tokens_per_second=state.throughput * profile.output_tokens,
        ttft_ms=Percentiles(ttft_mean * ms, ttft[50] * ms, ttft[90] * ms, ttft[95] * ms, ttft[99] * ms),
        itl_ms=Percentiles(state.itl * ms, itl[50] * ms, itl[90] * ms, itl[95] * ms, itl[99] * ms),
        e2e_ms=Percentiles(
            (ttft_mean + steps * state.itl) * ms, e2e[50] * ms, e2e[90] * ms, e2e[95] * ms, e2e[99] * ms
        ),
        decode_step_ms=state.decode_step * ms,
        prefill_ms=alone * ms,
        prefill_step_share=state.step_share,
        concurrency_cap=profile.concurrency_cap,
    )


def predict_load(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int,
    quantization: Quantization,
    traffic: TrafficProfile,
    concurrency: int,
    constants: EstimatorConstants = DEFAULT_CONSTANTS,
) -> LoadPrediction:
    """Predicted TTFT/ITL/E2E percentiles and throughput with ``concurrency`` requests kept in flight.

    Raises ValidationFailedError for invalid inputs and for a deployment whose weights or one full-length sequence
    do not fit in memory (the message carries the memory reason).
    """
    check_tokens(traffic.prompt_tokens, traffic.output_tokens, model.max_context)
    shape = deployment_shape(model, gpu, tp, quantization, constants)
    profile = load_profile(shape, traffic.prompt_tokens, traffic.output_tokens, constants)
    return predict_profile(profile, concurrency)
