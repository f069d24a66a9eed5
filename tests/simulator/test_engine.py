"""The continuous-batching engine without HTTP: admission, FIFO queueing, aborts, preemption and timing."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from simulator.engine import Engine, EngineClosedError, EngineOverloadedError, FinishReason, Generation
from simulator.latency import LatencyModel
from simulator.metrics import EngineMetrics


def _engine(**kw: object) -> Engine:
    model = LatencyModel.flat(ttft_ms=kw.pop("ttft_ms", 20.0), itl_ms=kw.pop("itl_ms", 5.0), jitter=0.0)  # type: ignore[arg-type]
    args: dict[str, object] = {
        "max_num_seqs": 4,
        "kv_capacity_tokens": 100_000,
        "kv_block_size": 16,
        "time_scale": 1.0,
        "rng": random.Random(0),
        "metrics": EngineMetrics(4096),
    }
    args.update(kw)
    return Engine(model, **args)  # type: ignore[arg-type]


async def _drain(gen: Generation) -> list[float]:
    """Waits for every token; returns the arrival time of each."""
    loop = asyncio.get_running_loop()
    seen, times = 0, []
    while True:
        produced = await gen.wait(seen)
        times.extend([loop.time()] * (produced - seen))
        seen = produced
        if gen.done:
            return times


def _submit(engine: Engine, out: int = 5, prompt: int = 10) -> Generation:
    return engine.submit(prompt_tokens=prompt, output_tokens=out, max_tokens=out, finish_reason=FinishReason.LENGTH)


async def test_tokens_follow_ttft_and_itl() -> None:
    engine = _engine(ttft_ms=40.0, itl_ms=10.0)
    await engine.start()
    start = asyncio.get_running_loop().time()
    gen = _submit(engine, out=11)
    times = await _drain(gen)
    await engine.shutdown(1)
    assert len(times) == 11
    # loose bounds: CI machines are shared; the bench measures precision
    assert 0.038 <= times[0] - start < 0.060
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 0.0095 <= sum(gaps) / len(gaps) < 0.013
    assert gen.finish_reason is FinishReason.LENGTH
    m = engine.metrics
    assert m.generation_tokens == 11 and m.prompt_tokens == 10
    assert m.itl.count == 10 and m.ttft.count == 1 and m.success["length"] == 1


async def test_fifo_queue_beyond_max_num_seqs() -> None:
    engine = _engine(max_num_seqs=2)
    await engine.start()
    gens = [_submit(engine, out=4) for _ in range(4)]
    assert (engine.num_running, engine.num_waiting) == (2, 2)
    await _drain(gens[0])
    await _drain(gens[1])
    assert engine.num_waiting == 0
    await asyncio.gather(_drain(gens[2]), _drain(gens[3]))
    assert (engine.num_running, engine.num_waiting) == (0, 0)
    assert gens[0].finished_at is not None and gens[2].first_token_at is not None
    assert gens[2].first_token_at >= gens[0].finished_at  # waited for a slot
    assert engine.metrics.queue.count == 4
    await engine.shutdown(1)


async def test_abort_frees_the_slot_at_once() -> None:
    engine = _engine(max_num_seqs=1)
    await engine.start()
    first = _submit(engine, out=1000)
    second = _submit(engine, out=2)
    await first.wait(2)
    assert (engine.num_running, engine.num_waiting) == (1, 1)
    assert engine.kv_cache_usage > 0
    engine.abort(first)
    assert first.finish_reason is FinishReason.ABORT
    assert (engine.num_running, engine.num_waiting) == (1, 0)  # the second was admitted immediately
    await _drain(second)
    assert engine.num_running == 0 and engine.kv_cache_usage == 0
    assert engine.metrics.success["abort"] == 1
    engine.abort(first)  # idempotent
    waiting = [_submit(engine) for _ in range(3)]
    engine.abort(waiting[1])
    await asyncio.gather(*(_drain(g) for g in waiting))
    assert [g.finish_reason for g in waiting] == [FinishReason.LENGTH, FinishReason.ABORT, FinishReason.LENGTH]
    await engine.shutdown(1)


async def test_kv_pressure_preempts_the_newest_sequence() -> None:
    # 4 blocks of 16 tokens; two sequences of 16-token prompts each need a 2nd block on their first decode step.
    engine = _engine(kv_capacity_tokens=48, kv_block_size=16, itl_ms=2.0, ttft_ms=5.0)
    await engine.start()
    a = _submit(engine, prompt=16, out=40)
    b = _submit(engine, prompt=16, out=40)
    c = _submit(engine, prompt=16, out=40)
    await asyncio.gather(_drain(a), _drain(b), _drain(c))
    assert engine.metrics.preemptions > 0
    assert all(g.produced == 40 and g.finish_reason is FinishReason.LENGTH for g in (a, b, c))
    assert engine.kv_cache_usage == 0
    await engine.shutdown(1)


async def test_kv_usage_counts_blocks() -> None:
    engine = _engine(kv_capacity_tokens=160, kv_block_size=16, ttft_ms=1000.0)
    await engine.start()
    _submit(engine, prompt=17)  # two blocks
    assert engine.kv_cache_usage == pytest.approx(2 / 10)
    await engine.shutdown(0)


async def test_shutdown_waits_then_aborts_and_refuses_new_work() -> None:
    engine = _engine()
    await engine.start()
    quick = _submit(engine, out=2)
    slow = _submit(engine, out=10_000)
    await engine.shutdown(0.2)
    assert quick.finish_reason is FinishReason.LENGTH
    assert slow.finish_reason is FinishReason.ABORT
    with pytest.raises(EngineClosedError):
        _submit(engine)


async def test_waiting_queue_limit() -> None:
    engine = _engine(max_num_seqs=1, max_waiting=1)
    await engine.start()
    _submit(engine)
    _submit(engine)
    with pytest.raises(EngineOverloadedError):
        _submit(engine)
    await engine.shutdown(0)


async def test_time_scale_speeds_up_but_metrics_stay_simulated() -> None:
    engine = _engine(ttft_ms=100.0, itl_ms=20.0, time_scale=0.1)
    await engine.start()
    loop = asyncio.get_running_loop()
    start = loop.time()
    await _drain(_submit(engine, out=6))
    assert 0.018 < loop.time() - start < 0.1  # 0.02 s: ten times faster than the modelled 0.2 s
    m = engine.metrics
    assert 0.09 < m.ttft.total < 0.2  # reported in simulated seconds (0.1 s), not real ones (0.01 s)
    assert 0.018 < m.itl.total / m.itl.count < 0.04
    await engine.shutdown(1)


async def test_one_thousand_sequences_in_one_batch() -> None:
    engine = _engine(max_num_seqs=1000, itl_ms=20.0, ttft_ms=10.0)
    await engine.start()
    gens = [_submit(engine, out=20) for _ in range(1000)]
    await asyncio.wait_for(asyncio.gather(*(_drain(g) for g in gens)), timeout=10)
    assert all(g.produced == 20 for g in gens)
    assert engine.metrics.generation_tokens == 20_000
    await engine.shutdown(1)
