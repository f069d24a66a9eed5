"""Ranking scores: absolute scales, so other candidates coming or going never reorder the ones that stay."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tools.ranking import order, sub_scores
from tools.specs import PRIORITY_WEIGHTS, Priority

BALANCED = PRIORITY_WEIGHTS[Priority.BALANCED]


def _score(utilisation: list[float], usd: list[float], quality: list[float]) -> np.ndarray:
    _, _, total = sub_scores(
        np.array(utilisation), np.array(usd), np.ones(len(usd), dtype=np.int64), np.array(quality), BALANCED
    )
    return total


def test_balanced_does_not_pay_twice_as_much_for_a_little_latency() -> None:
    # Same model quality; the second is 3% further under its tightest SLO but costs twice as much.
    total = _score([0.45, 0.42], [1818.0, 3643.0], [75.0, 75.0])
    assert total[0] > total[1]


def test_twice_the_price_scores_half_on_cost() -> None:
    _, cost, _ = sub_scores(
        np.array([0.5, 0.5]), np.array([1000.0, 2000.0]), np.ones(2, dtype=np.int64), np.zeros(2), BALANCED
    )
    assert cost.tolist() == [100.0, 50.0]


@given(
    st.lists(
        st.tuples(st.floats(0.01, 1.0), st.floats(100, 1e6), st.floats(0, 100)), min_size=3, max_size=30, unique=True
    )
)
def test_removing_a_dearer_candidate_keeps_the_order_of_the_rest(rows: list[tuple[float, float, float]]) -> None:
    utilisation, usd, quality = (np.array(column) for column in zip(*rows, strict=True))
    dearest = int(np.argmax(usd))
    keep = np.array([i for i in range(len(rows)) if i != dearest])

    def ranked(idx: np.ndarray) -> list[int]:
        _, _, total = sub_scores(utilisation[idx], usd[idx], np.ones(idx.size, dtype=np.int64), quality[idx], BALANCED)
        ttft, gpus, names = np.zeros(idx.size), np.ones(idx.size, dtype=np.int64), np.arange(idx.size)
        return [int(idx[i]) for i in order(total, usd[idx], ttft, gpus, names)]

    assert [i for i in ranked(np.arange(len(rows))) if i != dearest] == ranked(keep)
