"""Ranking of viable configurations by the user's priority, with sub-scores, stated tie-breaks and a Pareto frontier.

Works on arrays (one entry per viable configuration) because the planner ranks the whole catalog on every call.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tools.specs import RankingWeights

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TIE_BREAK = "Ties on total score go to the lower monthly cost, then lower p95 TTFT, then fewer GPUs, then model name"


def sub_scores(
    utilisation: FloatArray, monthly_usd: FloatArray, gpus_total: IntArray, quality: FloatArray, weights: RankingWeights
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(latency, cost, total) scores, 0-100, higher is better, each on an absolute scale so that removing or adding
    other candidates (a budget, a GPU filter) never reorders the ones that remain for the same reason.

    Latency: the margin under the tightest SLO, 100 x (1 - worst predicted/target ratio across TTFT/ITL/E2E).
    Cost: the cheapest viable monthly cost over this one's, x 100 (twice the price scores half); when nothing has a
    cost (owned hardware without a power price) the GPU count stands in the same way. Quality: the model's catalog
    score for the use case, as is.
    """
    w_latency, w_cost, w_quality = weights.normalised()
    latency: FloatArray = np.clip(100.0 * (1.0 - utilisation), 0.0, 100.0)
    if monthly_usd.size and bool((monthly_usd > 0).any()):
        basis = np.maximum(monthly_usd, 1.0)
    else:
        basis = np.maximum(gpus_total.astype(np.float64), 1.0)
    cost: FloatArray = 100.0 * float(basis.min()) / basis if basis.size else basis
    total: FloatArray = w_latency * latency + w_cost * cost + w_quality * quality
    return latency, cost, total


def order(
    total: FloatArray, monthly_usd: FloatArray, ttft: FloatArray, gpus_total: IntArray, name_rank: IntArray
) -> IntArray:
    """Indices best first: highest total, then the tie-breaks in TIE_BREAK."""
    ranked: IntArray = np.lexsort((name_rank, gpus_total, ttft, monthly_usd, -np.round(total, 9)))
    return ranked


def pareto_frontier(monthly_usd: FloatArray, ttft: FloatArray, gpus_total: IntArray) -> IntArray:
    """Indices no other configuration beats on both monthly cost and p95 TTFT, cheapest first."""
    if monthly_usd.size == 0:
        return np.zeros(0, dtype=np.int64)
    by_cost = np.lexsort((gpus_total, ttft, monthly_usd))
    sorted_ttft = ttft[by_cost]
    best_before = np.concatenate(([np.inf], np.minimum.accumulate(sorted_ttft)[:-1]))
    frontier: IntArray = by_cost[sorted_ttft < best_before]
    return frontier
