"""Edit a conversation's specification field by field (a settings form) and re-run the recommendation in the graph.

A form states values exactly, so there is nothing to parse: the changed fields become an `IntentUpdate`, the graph's
state is updated as if `understand` had read them, and the graph continues from there (clarify, then recommend), on
the same thread and checkpointer as every other turn. Candidate for `Conversation.update_spec`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from pydantic import ValidationError

from agent.conversation import Conversation, TurnResult
from agent.intent.schema import LIST_FIELDS, DeploymentIntent, IntentUpdate, merge
from kb.errors import CompassError, ValidationFailedError
from kb.repositories import threads
from kb.repositories.catalog import CatalogSnapshot
from kb.repositories.threads import ThreadInfo

EDITABLE_FIELDS: Final = (
    "use_case",
    "users",
    "qps",
    "prompt_tokens",
    "output_tokens",
    "ttft_p95_ms",
    "itl_p95_ms",
    "e2e_p95_ms",
    "budget_usd_month",
    "priority",
    "gpus",
    "exclude_gpus",
    "models",
    "exclude_models",
    "quantization",
    "pricing_model",
    "deployment_model",
    "max_gpus",
)
FIELD_LABELS: Final = {
    "use_case": "use case",
    "users": "users",
    "qps": "peak requests/s",
    "prompt_tokens": "prompt tokens",
    "output_tokens": "output tokens",
    "ttft_p95_ms": "p95 TTFT",
    "itl_p95_ms": "p95 ITL",
    "e2e_p95_ms": "p95 E2E",
    "budget_usd_month": "budget",
    "priority": "priority",
    "gpus": "GPUs",
    "exclude_gpus": "excluded GPUs",
    "models": "models",
    "exclude_models": "excluded models",
    "quantization": "weight formats",
    "pricing_model": "pricing",
    "deployment_model": "deployment model",
    "max_gpus": "max GPUs",
}


def _cleared(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _canonical(name: str, value: Any, catalog: CatalogSnapshot) -> Any:
    """Catalog names in their canonical spelling (unknown names raise NotFoundError with the known ones)."""
    if name == "use_case":
        return catalog.template(str(value)).use_case
    if name in ("gpus", "exclude_gpus"):
        return [catalog.gpu(str(item)).name for item in value]
    if name in ("models", "exclude_models"):
        return [catalog.model(str(item)).hf_repo for item in value]
    return value


def canonical_changes(changes: Mapping[str, Any], catalog: CatalogSnapshot) -> dict[str, Any]:
    """The edit with catalog names spelled canonically; unknown fields or names raise a CompassError."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationFailedError(f"{unknown[0]!r} is not a field of the specification")
    return {name: value if _cleared(value) else _canonical(name, value, catalog) for name, value in changes.items()}


def intent_update(changes: Mapping[str, Any], catalog: CatalogSnapshot) -> IntentUpdate:
    """Form values as an intent edit: a value sets its field, None/empty clears it, a list replaces the old list."""
    changes = canonical_changes(changes, catalog)
    stated = {name: value for name, value in changes.items() if not _cleared(value)}
    try:
        return IntentUpdate(
            set=DeploymentIntent.model_validate(stated),
            clear=[name for name, value in changes.items() if _cleared(value)],
            replace=[name for name in changes if name in LIST_FIELDS],
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = FIELD_LABELS.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else "a value"
        raise ValidationFailedError(f"{field}: {error['msg'].lower()}") from exc


def describe_changes(changes: Mapping[str, Any]) -> str:
    """The edit in words, recorded in the conversation as what the user did."""

    def shown(name: str, value: Any) -> str:
        if _cleared(value):
            return "any" if name in LIST_FIELDS else "none"
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        if name.endswith("_ms"):
            return f"{float(value):,.0f} ms"
        if name == "budget_usd_month":
            return f"${float(value):,.0f}/month"
        if isinstance(value, float) and value.is_integer():
            return f"{value:,.0f}"
        return f"{value:,}" if isinstance(value, int | float) else str(value)

    parts = [f"{FIELD_LABELS.get(name, name)} {shown(name, value)}" for name, value in changes.items()]
    return "Changed in settings: " + "; ".join(parts) + "."


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def stream_spec_update(
    conversation: Conversation, thread_id: str, owner: str, changes: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    """Apply `changes` and re-run the recommendation; events as `Conversation.stream` yields them."""
    if not changes:
        raise ValidationFailedError("nothing changed in the specification")
    info = conversation.thread(thread_id, owner)
    with conversation.turn(thread_id):
        yield from _spec_turn(conversation, info, owner, changes)


def _spec_turn(
    conversation: Conversation, info: ThreadInfo, owner: str, changes: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    graph, config = conversation.graph, _config(info.id)
    snapshot = graph.get_state(config)
    before = len(snapshot.values.get("messages", []))
    catalog = conversation.services.planning.catalog()
    changes = canonical_changes(changes, catalog)
    update = intent_update(changes, catalog)
    intent = merge(DeploymentIntent.model_validate(snapshot.values.get("intent") or {}), update)
    # As if `understand` had read the form: its router then sends the graph to clarify/recommend. A question or
    # approval still pending is superseded by the edit, like a new message would supersede it.
    graph.update_state(
        config,
        {
            "intent": intent.model_dump(mode="json"),
            "pending_command": None,
            "messages": [HumanMessage(describe_changes(changes))],
        },
        as_node="understand",
    )
    yield from conversation.events(None, config, owner)
    state = conversation.state(info.id, owner)
    replies = [m.content for m in state.messages[before:] if m.role == "assistant"]
    if state.pending is not None:
        replies.append(state.pending.question)
    with conversation.services.database.session() as session:
        threads.touch(session, info.id, title=describe_changes(changes)[:80])
    result = TurnResult(
        thread_id=info.id,
        replies=replies,
        pending=state.pending,
        phase=state.values.get("phase"),
        has_recommendation=bool(state.values.get("recommendation")),
    )
    yield {"event": "turn", "result": result.model_dump(mode="json")}


def update_spec(conversation: Conversation, thread_id: str, owner: str, changes: Mapping[str, Any]) -> TurnResult:
    """Apply `changes` and re-run the recommendation; the turn's result."""
    result: TurnResult | None = None
    for event in stream_spec_update(conversation, thread_id, owner, changes):
        if event["event"] == "turn":
            result = TurnResult.model_validate(event["result"])
    if result is None:  # pragma: no cover - the stream always ends with a turn
        raise CompassError("the specification update did not finish")
    return result
