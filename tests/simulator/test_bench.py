"""The bench script's helpers (the bench itself runs servers for minutes: `python -m simulator.bench`)."""

from __future__ import annotations

from simulator.bench import (
    OUTPUT_TOKENS,
    PROMPT_TOKENS,
    LevelResult,
    LowLoad,
    ladder_records,
    pct,
    prompt_of,
    render,
)
from simulator.latency import LatencyModel
from simulator.text import count_tokens


def test_prompt_has_the_profile_length() -> None:
    assert count_tokens(prompt_of(PROMPT_TOKENS)) == PROMPT_TOKENS


def test_ladder_prediction_matches_the_rows_at_their_concurrency() -> None:
    model = LatencyModel.from_records(ladder_records())
    p = model.predicted(100, PROMPT_TOKENS, OUTPUT_TOKENS, 1024)
    assert 0.015 < p.itl_p50_s < 0.021  # the row says 20 ms mean
    assert p.queue_s == 0


def test_render_has_both_tables() -> None:
    model = LatencyModel.from_records(ladder_records())
    level = LevelResult(10, requests=5, tokens=640, window_s=1.0, ttfts=[0.06] * 5, itls=[0.009] * 50, wall_s=2.0)
    low = LowLoad(10, 50.5, 10.1, 55.0, 11.0, 47.5, 10.0)
    text = render(low, (50.0, 10.0, 64), [level], model, 1024, "python -m simulator.bench", 1.0, "0.1 / 0.1 / 0.1")
    assert "| TTFT | 50 ms | 50.50 ms | +1.0% |" in text
    assert "| 10 | 5 | 0 | 640 (" in text
    assert pct([1.0, 2.0, 3.0], 0.5) == 2.0
