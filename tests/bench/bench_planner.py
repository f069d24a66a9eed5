"""Recommendation engine figures: full-catalog recommendation latency, warm, on both databases."""

from __future__ import annotations

from kb.services import ensure_ready
from tests.bench.common import fmt_ms, fresh_database, timed
from tools.capacity_planner import parse_spec
from tools.planning_service import PlanningService

SPECS = {
    "chatbot, 1000 users, balanced": {"use_case": "chatbot_conversational", "users": 1000},
    "RAG, 50 QPS, cost, $20k budget": {
        "use_case": "document_analysis_rag",
        "qps": 50,
        "priority": "cost",
        "budget_usd_month": 20000,
    },
    "code completion, TTFT 60 ms (tight)": {"use_case": "code_completion", "users": 5000, "ttft_p95_ms": 60},
}


def run() -> list[str]:
    lines = ["| figure | database | p50 | p95 | notes |", "|---|---|---|---|---|"]
    for backend in ("sqlite", "postgresql"):
        with fresh_database(backend) as db:
            ensure_ready(db)
            service = PlanningService(db)
            for label, values in SPECS.items():
                spec = parse_spec(values)
                rec = service.recommend(spec)  # cold: fills the curve cache
                t = timed(lambda spec=spec, service=service: service.recommend(spec), repeat=100, warmup=3)
                lines.append(
                    f"| full-catalog recommendation: {label} | {backend} | {fmt_ms(t['p50'])} | **{fmt_ms(t['p95'])}** "
                    f"| {rec.considered} configurations evaluated, {rec.total_viable} viable |"
                )
    return lines
