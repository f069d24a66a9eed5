"""Exploration with an LLM: the model picks one tool by tool-calling; the result maps onto the same commands."""

from __future__ import annotations

import concurrent.futures
import logging

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from agent.commands import Command
from agent.prompts import EXPLORATION_SYSTEM

log = logging.getLogger("compass.agent")


class compare_options(BaseModel):
    """Compare two or more recommended options side by side."""

    options: list[int] = Field(min_length=2, description="Option numbers, e.g. [1, 3]")


class what_if_traffic(BaseModel):
    """Re-plan with the traffic multiplied by a factor (2 = doubles)."""

    factor: float = Field(gt=0, le=1000)


class show_yaml(BaseModel):
    """Show the validated Kubernetes manifests for one option."""

    option: int = Field(ge=1, le=50)


class explain_option(BaseModel):
    """Explain why an option is ranked where it is."""

    option: int = Field(ge=1, le=50)


class deploy_option(BaseModel):
    """Start deploying one option (the user is always asked to approve first)."""

    option: int = Field(ge=1, le=50)


class show_help(BaseModel):
    """List what the user can ask for."""


TOOLS: list[type[BaseModel]] = [compare_options, what_if_traffic, show_yaml, explain_option, deploy_option, show_help]


def _to_command(name: str, args: dict[str, object]) -> Command | None:
    try:
        if name == "compare_options":
            return Command(name="compare_options", options=compare_options.model_validate(args).options)
        if name == "what_if_traffic":
            return Command(name="what_if_traffic", factor=what_if_traffic.model_validate(args).factor)
        if name == "show_yaml":
            return Command(name="show_yaml", options=[show_yaml.model_validate(args).option])
        if name == "explain_option":
            return Command(name="why", options=[explain_option.model_validate(args).option])
        if name == "deploy_option":
            return Command(name="deploy", options=[deploy_option.model_validate(args).option])
        if name == "show_help":
            return Command(name="help")
    except ValidationError:
        return None
    return None


def choose_command(llm: BaseChatModel, text: str, *, timeout_s: float) -> Command | None:
    """The command the model chose, or None on no tool call, an invalid call, an error or a timeout."""
    bound = llm.bind_tools(TOOLS)
    messages = [SystemMessage(EXPLORATION_SYSTEM), HumanMessage(text)]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        reply = pool.submit(bound.invoke, messages).result(timeout=timeout_s)
    except Exception as exc:  # noqa: BLE001 - any LLM failure falls back to the rule-based interpreter
        log.warning("exploration LLM failed, using rules: %s", exc)
        return None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    calls = getattr(reply, "tool_calls", None) or []
    if not calls:
        return None
    return _to_command(str(calls[0]["name"]), dict(calls[0]["args"]))
