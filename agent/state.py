"""The conversation's graph state: JSON-serialisable, versioned, with explicit reducers."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

STATE_VERSION = 1
"""Bump when the shape changes; `upgrade_state` brings older checkpoints forward."""

Phase = Literal["collect", "clarify", "recommend", "explore", "deploy"]


def keep_last(_old: Any, new: Any) -> Any:
    """Reducer: the newest write wins (explicit, so every field states its merge rule)."""
    return new


def append_unique(old: list[str] | None, new: list[str] | None) -> list[str]:
    """Reducer for sets kept as lists (questions asked): union in first-seen order; `None` resets."""
    if new is None:
        return []
    out = list(old or [])
    out.extend(item for item in new if item not in out)
    return out


class AgentState(TypedDict):
    """One thread's conversation. Pydantic values (intent, recommendation...) are stored as JSON dicts."""

    messages: Annotated[list[AnyMessage], add_messages]
    version: NotRequired[Annotated[int, keep_last]]
    phase: NotRequired[Annotated[Phase, keep_last]]
    intent: NotRequired[Annotated[dict[str, Any], keep_last]]
    asked: NotRequired[Annotated[list[str], append_unique]]
    reasked: NotRequired[Annotated[list[str], append_unique]]
    pending_command: NotRequired[Annotated[dict[str, Any] | None, keep_last]]
    recommendation: NotRequired[Annotated[dict[str, Any] | None, keep_last]]
    comparison: NotRequired[Annotated[dict[str, Any] | None, keep_last]]
    deployments: NotRequired[Annotated[list[dict[str, Any]], keep_last]]
    notices: NotRequired[Annotated[list[str], keep_last]]


class InputState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def upgrade_state(state: AgentState) -> AgentState:
    """Fill fields older checkpoints lack (version 0 had no `version`, `asked` or `deployments`)."""
    upgraded: dict[str, Any] = dict(state)
    upgraded.setdefault("phase", "collect")
    upgraded.setdefault("intent", {})
    upgraded.setdefault("asked", [])
    upgraded.setdefault("reasked", [])
    upgraded.setdefault("deployments", [])
    upgraded.setdefault("notices", [])
    upgraded["version"] = STATE_VERSION
    return upgraded  # type: ignore[return-value]
