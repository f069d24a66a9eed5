"""Runs scripted dialogues through the real Compass graph, turn by turn, exactly as a UI drives it.

Each dialogue gets its own thread on the graph compiled from `agent.graph.builder` with an in-memory (default) or
SQLite checkpointer. A turn sends new text as `{"messages": [HumanMessage]}`, or `Command(resume=text)` when an
interrupt (clarifying question or deployment approval) is pending; its latency is the wall time of that invoke.
After every turn the runner observes what a UI would show, scores the turn's expectations, and at the end of the
dialogue deletes every deployment the dialogue started, so no simulator process outlives it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel, Field, computed_field

from agent.context import AgentServices, Context
from evals.schema import Dialogue, Turn, XFail
from evals.scorers import (
    Check,
    DeploymentObservation,
    ProbeObservation,
    TurnObservation,
    intent_field_results,
    recommendation_validity,
    score_turn,
)
from kb.db import Database
from kb.errors import CompassError
from tools.deploy.service import DeploymentService
from tools.deploy.settings import DeploySettings
from tools.specs import Recommendation

Checkpoints = Literal["memory", "sqlite"]
TurnStatus = Literal["passed", "failed", "xfailed", "xpassed"]
EVAL_USER = "eval-user"


class TurnResult(BaseModel):
    """One turn as run: what was sent, what came back, how long it took, and its checks."""

    index: int = Field(description="1-based")
    user: str
    replies: list[str]
    latency_s: float
    pending_type: str | None = None
    pending_slot: str | None = None
    intent: dict[str, Any] = Field(default_factory=dict)
    has_recommendation: bool = False
    new_recommendation: bool = False
    option_count: int | None = None
    valid: bool | None = Field(default=None, description="A new recommendation's top option meets SLOs/constraints")
    validity_detail: str = ""
    deployments: list[DeploymentObservation] = Field(default_factory=list)
    intent_fields_expected: int = 0
    intent_fields_correct: int = 0
    checks: list[Check] = Field(default_factory=list)
    xfail: str | None = Field(default=None, description="Why some checks are excused (a known agent bug)")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> TurnStatus:
        """failed: a counted check failed; xfailed: only excused checks failed; xpassed: excused checks all passed."""
        if any(not c.passed for c in self.checks if not c.excused):
            return "failed"
        excused = [c for c in self.checks if c.excused]
        if not excused:
            return "passed"
        return "xpassed" if all(c.passed for c in excused) else "xfailed"


class DialogueResult(BaseModel):
    name: str
    description: str
    tags: list[str]
    source: str
    turns: list[TurnResult]
    turns_scripted: int
    duration_s: float
    error: str | None = None
    first_recommendation_turn: int | None = Field(default=None, description="1-based turn that first recommended")
    deployments_attempted: int = 0
    deployments_succeeded: int = 0
    leftover_processes: list[str] = Field(default_factory=list, description="Deployments that could not be removed")

    def _counted(self) -> list[Check]:
        return [c for t in self.turns for c in t.checks if not c.excused]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def checks_total(self) -> int:
        """Checks that count (checks excused by an xfail are reported separately)."""
        return len(self._counted())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def checks_passed(self) -> int:
        return sum(c.passed for c in self._counted())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def xfailed(self) -> int:
        return sum(t.status == "xfailed" for t in self.turns)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def xpassed(self) -> int:
        return sum(t.status == "xpassed" for t in self.turns)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        return self.error is None and not self.leftover_processes and self.checks_passed == self.checks_total

    def failures(self) -> list[str]:
        """`turn N: check: detail` for every counted failure, the error and any leftover process."""
        out = [
            f"turn {t.index} ({t.user!r}): {c.name}: {c.detail}"
            for t in self.turns
            for c in t.checks
            if not c.passed and not c.excused
        ]
        if self.error:
            out.append(f"error: {self.error}")
        out += [f"deployment {d} was not removed" for d in self.leftover_processes]
        return out


# --------------------------------------------------------------------------------------------------- setup


@contextlib.contextmanager
def open_saver(kind: Checkpoints, folder: Path | None = None) -> Iterator[BaseCheckpointSaver[Any]]:
    """An in-memory saver, or a SQLite one in `folder` (a temporary folder, removed afterwards, by default)."""
    if kind == "memory":
        yield InMemorySaver()
        return
    from agent.checkpoints import open_checkpointer

    with contextlib.ExitStack() as stack:
        where = folder or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="compass-eval-")))
        where.mkdir(parents=True, exist_ok=True)
        yield stack.enter_context(open_checkpointer(f"sqlite:///{where / 'eval-checkpoints.db'}"))


def eval_services(services: AgentServices, state_dir: Path) -> AgentServices:
    """`services` with deployments sent to the local target under `state_dir` (never a cluster)."""
    settings = DeploySettings(target="local", state_dir=state_dir, start_timeout_s=30)
    return dataclasses.replace(services, deployments=DeploymentService(services.database, settings))


# --------------------------------------------------------------------------------------------------- observing


def _content(message: Any) -> str:
    content = message.content
    return content if isinstance(content, str) else str(content)


def _pending(snapshot: Any) -> dict[str, Any] | None:
    interrupts = getattr(snapshot, "interrupts", ()) or ()
    if not interrupts:
        return None
    value = interrupts[0].value
    return value if isinstance(value, dict) else {"type": "question", "question": str(value)}


def _deployment(deployments: DeploymentService, deployment_id: str) -> DeploymentObservation:
    record = deployments.status(deployment_id)
    probes: list[ProbeObservation] = []
    outcomes = deployments.outcomes(deployment_id)
    if outcomes:
        last = outcomes[-1]
        for metric, measured in (("ttft", last.ttft_p95_ms), ("itl", last.itl_p95_ms)):
            predicted = (last.predicted or {}).get(f"predicted_{metric}_p95_ms")
            if predicted and measured is not None:
                probes.append(ProbeObservation(metric=metric, predicted_ms=predicted, measured_p95_ms=measured))
    return DeploymentObservation(
        id=record.id,
        status=record.status,
        target=record.target,
        endpoint=record.endpoint,
        message=record.message,
        probe=probes,
    )


def remove_deployments(deployments: DeploymentService, ids: list[str]) -> list[str]:
    """Delete the deployments (stopping their simulators); returns the ids whose process is still alive."""
    from tools.deploy import local

    left = []
    for deployment_id in ids:
        try:
            record = deployments.get(deployment_id)
        except CompassError:
            continue  # already deleted
        with contextlib.suppress(CompassError):
            deployments.delete(deployment_id, actor=EVAL_USER)
        if record.target == "local" and local.is_running(record.pid, record.id):
            local.stop(record.pid)
            if local.is_running(record.pid, record.id):
                left.append(deployment_id)
    return left


# --------------------------------------------------------------------------------------------------- running


def _excuse(checks: list[Check], xfail: XFail | None) -> list[Check]:
    """Mark the checks a known bug covers as excused."""
    if xfail is None:
        return checks
    return [c.model_copy(update={"excused": True}) if xfail.covers(c.name) else c for c in checks]


class _Thread:
    """One dialogue's thread on the compiled graph, driven the way a UI drives it."""

    def __init__(self, services: AgentServices, saver: BaseCheckpointSaver[Any], thread_id: str) -> None:
        from agent.graph import builder

        self.id = thread_id
        self.services = services
        self.graph = builder.compile(checkpointer=saver)
        self.config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        self.context = Context(services=services, user_id=EVAL_USER, deploy_target=services.deployments.settings.target)

    def snapshot(self) -> Any:
        return self.graph.get_state(self.config)

    def deployment_ids(self) -> set[str]:
        """Live deployments this thread started (never anyone else's, even on a shared database)."""
        records = self.services.deployments.list_deployments(owner=EVAL_USER)
        return {r.id for r in records if r.thread_id == self.id}

    def send(self, text: str) -> float:
        graph_input: Any = Command(resume=text) if _pending(self.snapshot()) else {"messages": [HumanMessage(text)]}
        started = time.perf_counter()
        self.graph.invoke(graph_input, self.config, context=self.context)
        return time.perf_counter() - started


def _play_turn(thread: _Thread, index: int, turn: Turn) -> TurnResult:
    """Send one turn, observe what a UI would show, and score it."""
    deployments = thread.services.deployments
    before = thread.snapshot()
    shown = _pending(before)
    count = len(before.values.get("messages", []))
    old_rec = before.values.get("recommendation")
    ids_before = thread.deployment_ids()
    latency = thread.send(turn.user)
    values = (after := thread.snapshot()).values
    pending = _pending(after)
    replies = [
        _content(m)
        for m in values.get("messages", [])[count:]
        if isinstance(m, AIMessage) and (shown is None or _content(m) != shown.get("question"))
    ]
    if pending is not None:
        replies.append(str(pending.get("question", "")))
    raw_rec = values.get("recommendation")
    rec = Recommendation.model_validate(raw_rec) if raw_rec else None
    intent = dict(values.get("intent") or {})
    obs = TurnObservation(
        replies=replies,
        pending_type=pending.get("type") if pending else None,
        pending_slot=pending.get("slot") if pending else None,
        pending_rank=pending.get("rank") if pending else None,
        pending_target=pending.get("target") if pending else None,
        intent=intent,
        recommendation=rec,
        recommendation_changed=bool(raw_rec) and raw_rec != old_rec,
        deployments=[_deployment(deployments, i) for i in sorted(thread.deployment_ids() - ids_before)],
        latency_s=latency,
    )
    valid, why = (None, "")
    if obs.recommendation_changed and rec is not None and rec.options:
        valid, why = recommendation_validity(rec, intent)
    fields = intent_field_results(turn.expect.intent or {}, intent)
    return TurnResult(
        index=index,
        user=turn.user,
        replies=replies,
        latency_s=latency,
        pending_type=obs.pending_type,
        pending_slot=obs.pending_slot,
        intent=intent,
        has_recommendation=rec is not None,
        new_recommendation=obs.recommendation_changed,
        option_count=len(rec.options) if rec is not None else None,
        valid=valid,
        validity_detail=why,
        deployments=obs.deployments,
        intent_fields_expected=len(fields),
        intent_fields_correct=sum(ok for _, ok, _ in fields),
        checks=_excuse(score_turn(turn.expect, obs), turn.xfail),
        xfail=turn.xfail.reason if turn.xfail else None,
    )


def run_dialogue(
    dialogue: Dialogue, services: AgentServices, *, saver: BaseCheckpointSaver[Any] | None = None
) -> DialogueResult:
    """Play every turn of `dialogue` on a new thread and score it; deployments it starts are removed at the end.

    A turn that raises ends the dialogue with a failed `error` check (the remaining turns are not played).
    """
    thread = _Thread(services, saver or InMemorySaver(), f"eval-{dialogue.name}-{uuid.uuid4().hex[:8]}")
    results: list[TurnResult] = []
    started_ids: set[str] = set()
    error: str | None = None
    started = time.perf_counter()
    try:
        for index, turn in enumerate(dialogue.turns, start=1):
            try:
                result = _play_turn(thread, index, turn)
            except Exception as exc:  # noqa: BLE001 - a crashing turn is a finding, reported as a failed check
                error = f"turn {index} ({turn.user!r}) raised {type(exc).__name__}: {exc}"
                check = Check(name="error", passed=False, detail=error)
                results.append(TurnResult(index=index, user=turn.user, replies=[], latency_s=0.0, checks=[check]))
                break
            results.append(result)
            started_ids.update(d.id for d in result.deployments)
    finally:
        with contextlib.suppress(Exception):
            started_ids |= thread.deployment_ids()
        leftover = remove_deployments(services.deployments, sorted(started_ids))
    first_rec = next((t.index for t in results if t.has_recommendation), None)
    attempted = [d for t in results for d in t.deployments]
    return DialogueResult(
        name=dialogue.name,
        description=dialogue.description,
        tags=list(dialogue.tags),
        source=dialogue.source,
        turns=results,
        turns_scripted=len(dialogue.turns),
        duration_s=time.perf_counter() - started,
        error=error,
        first_recommendation_turn=first_rec,
        deployments_attempted=len(attempted),
        deployments_succeeded=sum(d.status == "running" for d in attempted),
        leftover_processes=leftover,
    )


def run_suite(
    dialogues: list[Dialogue],
    services: AgentServices,
    *,
    checkpoints: Checkpoints = "memory",
    on_result: Callable[[DialogueResult], None] | None = None,
) -> list[DialogueResult]:
    """Run the dialogues one after another (one checkpointer for all, one thread each)."""
    results = []
    with open_saver(checkpoints) as saver:
        for dialogue in dialogues:
            result = run_dialogue(dialogue, services, saver=saver)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def seeded_database(path: Path) -> Database:
    """A SQLite database at `path`, migrated and seeded (with estimates) when empty."""
    from kb.services import ensure_ready

    database = Database(f"sqlite:///{path}")
    ensure_ready(database)
    return database
