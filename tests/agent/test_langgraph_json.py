"""`langgraph.json` points at the compiled graph, which also runs without a caller-supplied context."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from tests.conftest import REPO_ROOT


def test_langgraph_json_names_an_importable_compiled_graph() -> None:
    config = json.loads((REPO_ROOT / "langgraph.json").read_text())
    path, _, attribute = config["graphs"]["compass"].partition(":")
    module = importlib.import_module(path.removeprefix("./").removesuffix(".py").replace("/", "."))
    graph = getattr(module, attribute)
    assert set(graph.get_graph().nodes) >= {"understand", "clarify", "recommend", "explore", "deploy"}


def test_the_graph_runs_with_environment_services_when_no_context_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent import runtime
    from agent.graph import builder

    monkeypatch.setenv("COMPASS_DATABASE_URL", f"sqlite:///{tmp_path / 'compass.db'}")
    runtime.default_services.cache_clear()
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "no-context"}}
    graph.invoke({"messages": [HumanMessage("code completion for 200 developers")]}, config)  # type: ignore[arg-type]
    assert graph.get_state(config).values["recommendation"]["spec"]["use_case"] == "code_completion"  # type: ignore[arg-type]
    runtime.default_services.cache_clear()
