"""Continuous-batching engine on asyncio: FIFO waiting queue, running batch of at most `max_num_seqs`, one step loop.

Like vLLM's scheduler, one loop task drives every sequence; no request has a timer of its own.

* Admission: while fewer than `max_num_seqs` run and the KV cache has blocks for the prompt,
  the oldest waiting request starts prefill. Its first token is due after a TTFT sampled for its
  prompt length and the running count (the loop wakes at the earliest due prefill).
* Decode: every ITL (sampled for the running count and mean context, once per step: the whole
  batch waits for the slowest sequence) each decoding sequence gets one more token. Steps are
  scheduled on an absolute timeline, so timer lateness does not accumulate into the ITL.
* KV cache: each running sequence holds ceil((prompt + generated) / block_size) blocks. When a
  step needs blocks the cache lacks, the most recently admitted sequence is preempted (its
  blocks freed, it goes back to the front of the queue and later recomputes its prefill), as
  vLLM's recompute preemption does.
* TTFT runs from the request's arrival at the server (its parsing is part of it), less
  `ttft_allowance_s`: the client-side share (request building, SSE parsing) that benchmark TTFTs,
  measured by clients, already contain.
* Consumers: `Generation.wait(seen)` returns when more tokens exist or the request ended; a
  slow consumer picks up every token produced since it last looked. `Engine.abort` (client
  disconnect, cancellation) frees the slot and its blocks at once and admits the next request.

Timestamps come from `time.monotonic()` (uvloop's `loop.time()` is cached per iteration and counts
whole milliseconds). All durations are real seconds multiplied by `time_scale`; metrics are recorded in simulated
seconds (real / time_scale), so a sped-up simulator still reports the modelled latencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import random
import time
from collections import deque
from enum import IntEnum, StrEnum

from simulator.latency import LatencyModel
from simulator.metrics import EngineMetrics

logger = logging.getLogger(__name__)

EARLY_S = 0.00002
"""Events due within this many seconds count as due."""
SPIN_S = 0.0012
"""Event-loop timers fire up to a millisecond late (epoll and libuv count whole milliseconds), so the
loop sets its timer this much before the next event and covers the rest by yielding to other tasks
(`asyncio.sleep(0)`) until the event is due: sub-millisecond accuracy for a little CPU per event."""


class EngineClosedError(Exception):
    """The engine is shutting down and takes no new requests."""


class EngineOverloadedError(Exception):
    """The waiting queue is full."""


class Phase(IntEnum):
    WAITING = 0
    PREFILL = 1
    DECODE = 2
    FINISHED = 3


class FinishReason(StrEnum):
    STOP = "stop"
    LENGTH = "length"
    ABORT = "abort"


class Generation:
    """One request's progress through the engine: how many tokens exist so far and how it ended."""

    __slots__ = (
        "_done_waiter",
        "_waiter",
        "blocks",
        "decode_started_at",
        "finish_reason",
        "finished_at",
        "first_token_at",
        "held_tokens",
        "id",
        "last_token_at",
        "max_tokens",
        "on_complete",
        "phase",
        "preemptions",
        "produced",
        "prompt_tokens",
        "queued_s",
        "received_at",
        "scheduled_at",
        "submitted_at",
        "target_tokens",
    )

    def __init__(
        self,
        gen_id: int,
        prompt_tokens: int,
        target_tokens: int,
        max_tokens: int,
        on_complete: FinishReason,
        received_at: float,
    ) -> None:
        self.id = gen_id
        self.prompt_tokens = prompt_tokens
        self.target_tokens = target_tokens
        self.max_tokens = max_tokens
        self.on_complete = on_complete
        self.received_at = received_at
        self.submitted_at = received_at
        self.produced = 0
        self.phase = Phase.WAITING
        self.held_tokens = 0
        self.blocks = 0
        self.preemptions = 0
        self.queued_s = 0.0
        self.scheduled_at: float | None = None
        self.first_token_at: float | None = None
        self.decode_started_at: float | None = None
        self.last_token_at = 0.0
        self.finished_at: float | None = None
        self.finish_reason: FinishReason | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._done_waiter: asyncio.Future[None] | None = None

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    async def wait(self, seen: int) -> int:
        """Waits until more than `seen` tokens exist or the generation ended; returns the token count."""
        while self.produced <= seen and self.finish_reason is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            await waiter
        return self.produced

    async def wait_done(self) -> None:
        """Waits until the generation has ended (without waking for each token)."""
        if self.finish_reason is None:
            if self._done_waiter is None:
                self._done_waiter = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._done_waiter)

    def _notify(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)


class Engine:
    """Schedules generations, times their tokens with a `LatencyModel` and records vLLM metrics."""

    def __init__(
        self,
        model: LatencyModel,
        *,
        max_num_seqs: int,
        kv_capacity_tokens: int,
        kv_block_size: int = 16,
        time_scale: float = 1.0,
        rng: random.Random,
        metrics: EngineMetrics,
        max_waiting: int = 0,
        ttft_allowance_s: float = 0.0,
    ) -> None:
        if max_num_seqs < 1 or kv_capacity_tokens < 1 or kv_block_size < 1 or time_scale <= 0:
            raise ValueError("max_num_seqs, kv_capacity_tokens, kv_block_size and time_scale must be positive")
        self.model = model
        self.max_num_seqs = max_num_seqs
        self.block_size = kv_block_size
        self.kv_capacity_blocks = max(1, kv_capacity_tokens // kv_block_size)
        self.time_scale = time_scale
        self.rng = rng
        self.metrics = metrics
        self.max_waiting = max_waiting
        self.ttft_allowance_s = ttft_allowance_s
        self._ids = itertools.count(1)
        self._waiting: deque[Generation] = deque()
        self._n_waiting = 0
        self._prefill: list[tuple[float, int, Generation]] = []
        self._decoding: dict[int, Generation] = {}
        self._n_running = 0
        self._kv_tokens = 0
        self._kv_blocks = 0
        self._next_step_at = math.inf
        self._last_step_at = 0.0
        self._sleep_until = math.inf
        self._wakeup: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._accepting = True
        self._idle = asyncio.Event()
        self._idle.set()

    # ---- state read by metrics and the API ----------------------------------------------------

    @property
    def num_running(self) -> int:
        return self._n_running

    @property
    def num_waiting(self) -> int:
        return self._n_waiting

    @property
    def kv_cache_usage(self) -> float:
        return self._kv_blocks / self.kv_capacity_blocks

    @property
    def accepting(self) -> bool:
        return self._accepting

    def now(self) -> float:
        return time.monotonic()

    def simulated(self, real_seconds: float) -> float:
        """Converts a real duration into the simulated seconds it stands for."""
        return real_seconds / self.time_scale

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("engine already started")
        self._loop = asyncio.get_running_loop()
        self._accepting = True
        self._task = asyncio.create_task(self._run(), name="simulator-engine")

    async def shutdown(self, timeout_s: float) -> None:
        """Stops taking requests, lets in-flight ones finish for up to `timeout_s`, then aborts the rest."""
        self._accepting = False
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=timeout_s)
        except TimeoutError:
            for gen in [*self._waiting, *self._decoding.values(), *(g for _, _, g in self._prefill)]:
                self.abort(gen)
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # ---- requests -----------------------------------------------------------------------------

    def submit(
        self,
        *,
        prompt_tokens: int,
        output_tokens: int,
        max_tokens: int,
        finish_reason: FinishReason,
        received_at: float | None = None,
    ) -> Generation:
        """Queues a request that will produce `output_tokens` tokens and then end with `finish_reason`."""
        if not self._accepting or self._task is None:
            raise EngineClosedError("the server is shutting down")
        if self.max_waiting and self._n_waiting >= self.max_waiting:
            raise EngineOverloadedError(f"the waiting queue is full ({self.max_waiting} requests)")
        if prompt_tokens < 1 or output_tokens < 1:
            raise ValueError("a request needs at least one prompt and one output token")
        now = self.now()
        gen = Generation(
            next(self._ids),
            prompt_tokens,
            output_tokens,
            max_tokens,
            finish_reason,
            now if received_at is None else min(received_at, now),
        )
        gen.submitted_at = now
        self._waiting.append(gen)
        self._n_waiting += 1
        self._idle.clear()
        self._admit(now)
        return gen

    def abort(self, gen: Generation) -> None:
        """Ends a generation now (client gone); frees its slot and KV blocks. No-op once it has ended."""
        if gen.finish_reason is not None:
            return
        phase = gen.phase
        if phase is Phase.WAITING:
            self._n_waiting -= 1  # the queue entry is skipped when reached
        elif phase is Phase.DECODE:
            del self._decoding[gen.id]
        self._finish(gen, FinishReason.ABORT, self.now())
        self._admit(self.now())

    # ---- scheduling ---------------------------------------------------------------------------

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("engine not started")
        return self._loop

    def _blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.block_size)

    def _admit(self, now: float) -> None:
        waiting = self._waiting
        while waiting and self._n_running < self.max_num_seqs:
            gen = waiting[0]
            if gen.finish_reason is not None:
                waiting.popleft()
                continue
            held = gen.prompt_tokens + gen.produced
            blocks = self._blocks_for(held)
            if self._kv_blocks + blocks > self.kv_capacity_blocks and self._n_running > 0:
                break
            waiting.popleft()
            self._n_waiting -= 1
            self._n_running += 1
            gen.phase = Phase.PREFILL
            gen.held_tokens = held
            gen.blocks = blocks
            self._kv_tokens += held
            self._kv_blocks += blocks
            ttft = self.model.sample_ttft(held, self._n_running, self.rng) * self.time_scale
            if gen.scheduled_at is None:
                gen.scheduled_at = now
                gen.queued_s = now - gen.received_at
                # TTFT counts from arrival: the API's parsing before submit is part of it, not extra; and
                # the client's own overhead, which client-measured benchmark TTFTs include, is left to it
                ttft = max(0.0, ttft - (gen.submitted_at - gen.received_at) - self.ttft_allowance_s * self.time_scale)
            due = now + ttft
            heapq.heappush(self._prefill, (due, gen.id, gen))
            if due < self._sleep_until:
                self._wake()

    def _wake(self) -> None:
        waiter = self._wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _finish(self, gen: Generation, reason: FinishReason, now: float) -> None:
        """Removes an admitted or waiting generation from the books (decoding dict handled by the caller)."""
        if gen.phase in (Phase.PREFILL, Phase.DECODE):
            self._n_running -= 1
            self._kv_tokens -= gen.held_tokens
            self._kv_blocks -= gen.blocks
        gen.phase = Phase.FINISHED
        gen.finish_reason = reason
        gen.finished_at = now
        if self._n_running == 0 and self._n_waiting == 0:
            self._idle.set()
        sim = self.simulated
        prefill_s = decode_s = None
        if gen.scheduled_at is not None and gen.first_token_at is not None:
            prefill_s = sim(gen.first_token_at - gen.scheduled_at)
            decode_s = sim(now - gen.first_token_at)
        self.metrics.on_finished(
            reason=reason.value,
            prompt_tokens=gen.prompt_tokens,
            generation_tokens=gen.produced,
            max_tokens=gen.max_tokens,
            e2e_s=sim(now - gen.received_at),
            queue_s=sim(gen.queued_s if gen.scheduled_at is not None else now - gen.received_at),
            prefill_s=prefill_s,
            decode_s=decode_s,
        )
        gen._notify()
        done = gen._done_waiter
        if done is not None and not done.done():
            done.set_result(None)

    def _complete_prefills(self, now: float) -> int:
        """Gives every due prefill its next token; returns the prompt tokens processed."""
        heap = self._prefill
        processed = 0
        while heap and heap[0][0] <= now + EARLY_S:
            _, _, gen = heapq.heappop(heap)
            if gen.phase is not Phase.PREFILL:
                continue  # aborted while in prefill
            processed += gen.held_tokens
            self._add_token(gen)
            if gen.first_token_at is None:
                gen.first_token_at = now
                self.metrics.on_prefill_done(gen.prompt_tokens, self.simulated(now - gen.received_at))
            else:
                self.metrics.on_decode_step(self.simulated(now - gen.last_token_at), 1)
            gen.last_token_at = now
            if gen.produced >= gen.target_tokens:
                self._finish(gen, gen.on_complete, now)
                continue
            gen.phase = Phase.DECODE
            if not self._decoding:
                self._next_step_at = now + self._step_seconds()
            self._decoding[gen.id] = gen
            gen._notify()
        return processed

    def _add_token(self, gen: Generation) -> None:
        gen.produced += 1
        gen.held_tokens += 1
        self._kv_tokens += 1
        if gen.held_tokens % self.block_size == 1 or self.block_size == 1:
            gen.blocks += 1
            self._kv_blocks += 1

    def _step_seconds(self) -> float:
        running = max(self._n_running, 1)
        context = self._kv_tokens / running
        return self.model.sample_itl(running, self.rng, context) * self.time_scale

    def _preempt_for(self, needed_blocks: int) -> int:
        """Preempts the newest decoding sequences until `needed_blocks` fit; returns blocks still needed."""
        while self._kv_blocks + needed_blocks > self.kv_capacity_blocks and len(self._decoding) > 1:
            gen_id = next(reversed(self._decoding))
            gen = self._decoding.pop(gen_id)
            if gen.held_tokens % self.block_size == 0 or self.block_size == 1:
                needed_blocks -= 1
            self._n_running -= 1
            self._kv_tokens -= gen.held_tokens
            self._kv_blocks -= gen.blocks
            gen.held_tokens = gen.blocks = 0
            gen.phase = Phase.WAITING
            gen.preemptions += 1
            self._waiting.appendleft(gen)
            self._n_waiting += 1
            self.metrics.on_preempted()
        return needed_blocks

    def _decode_step(self, now: float) -> int:
        """Every decoding sequence gets one token; returns how many tokens that was."""
        bs = self.block_size
        needed = sum(1 for g in self._decoding.values() if g.held_tokens % bs == 0 or bs == 1)
        if needed and self._kv_blocks + needed > self.kv_capacity_blocks:
            self._preempt_for(needed)
        prev = self._last_step_at
        sim = self.simulated
        same_gap = 0
        metrics = self.metrics
        finished: list[Generation] = []
        for gen in self._decoding.values():
            self._add_token(gen)
            if gen.last_token_at == prev:
                same_gap += 1
            else:
                metrics.on_decode_step(sim(now - gen.last_token_at), 1)
            gen.last_token_at = now
            if gen.produced >= gen.target_tokens:
                finished.append(gen)
            else:
                gen._notify()
        if same_gap:
            metrics.on_decode_step(sim(now - prev), same_gap)
        tokens = len(self._decoding)
        for gen in finished:
            del self._decoding[gen.id]
            self._finish(gen, gen.on_complete, now)
        self._last_step_at = now
        if self._decoding:
            step = self._step_seconds()
            nxt = self._next_step_at + step
            # behind by more than a step (overload): restart the timeline rather than burst to catch up
            self._next_step_at = nxt if nxt > now else now + step
        else:
            self._next_step_at = math.inf
        return tokens

    async def _run(self) -> None:
        loop = self._require_loop()
        while True:
            now = time.monotonic()
            try:
                tokens = self._complete_prefills(now)
                if self._decoding and now + EARLY_S >= self._next_step_at:
                    tokens += self._decode_step(now)
                if tokens:
                    self.metrics.on_iteration(tokens)
                self._admit(now)
            except Exception:  # pragma: no cover - a bug here must not stall every stream
                logger.exception("engine step failed")
            wake_at = self._next_step_at if self._decoding else math.inf
            if self._prefill and self._prefill[0][0] < wake_at:
                wake_at = self._prefill[0][0]
            await self._sleep(loop, wake_at)

    async def _sleep(self, loop: asyncio.AbstractEventLoop, wake_at: float) -> None:
        delay = wake_at - time.monotonic()
        if delay <= SPIN_S:
            await asyncio.sleep(0)  # due within a timer tick: let other tasks run, then look again
            return
        waiter: asyncio.Future[None] = loop.create_future()
        self._wakeup = waiter
        self._sleep_until = wake_at
        handle = None
        if not math.isinf(wake_at):
            handle = loop.call_later(delay - SPIN_S, _resolve, waiter)
        try:
            await waiter
        finally:
            self._wakeup = None
            self._sleep_until = -math.inf
            if handle is not None:
                handle.cancel()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
