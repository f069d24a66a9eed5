"""Editing the specification field by field (the settings form) re-runs the recommendation in the graph."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import AgentServices
from agent.conversation import Conversation
from agent.graph import builder
from agent.spec_edit import describe_changes, stream_spec_update, update_spec
from kb.errors import NotFoundError, ValidationFailedError


@pytest.fixture
def conversation(ui_services: AgentServices) -> Conversation:
    return Conversation(builder.compile(checkpointer=InMemorySaver()), ui_services, deploy_target="manifests")


def test_a_changed_slo_reruns_the_recommendation_on_the_same_thread(conversation: Conversation) -> None:
    thread = conversation.create_thread("alice").id
    conversation.send(thread, "alice", "chatbot for 1000 users")
    result = update_spec(conversation, thread, "alice", {"ttft_p95_ms": 300})
    state = conversation.state(thread, "alice")
    assert state.values["recommendation"]["spec"]["slo"]["ttft_p95_ms"] == 300
    assert state.values["recommendation"]["spec"]["users"] == 1000  # what the user said before is kept
    assert result.has_recommendation and "TTFT 300 ms" in result.replies[0]
    assert state.messages[-2].content == "Changed in settings: p95 TTFT 300 ms."


def test_an_empty_list_lifts_a_gpu_filter(conversation: Conversation) -> None:
    thread = conversation.create_thread("alice").id
    conversation.send(thread, "alice", "chatbot for 1000 users, only L4s")
    update_spec(conversation, thread, "alice", {"gpus": []})
    gpus = {o["gpu"] for o in conversation.state(thread, "alice").values["recommendation"]["options"]}
    assert gpus != {"L4"}


def test_names_are_resolved_against_the_catalog(conversation: Conversation) -> None:
    thread = conversation.create_thread("alice").id
    update_spec(conversation, thread, "alice", {"use_case": "code completion", "users": 50, "gpus": ["h100"]})
    values = conversation.state(thread, "alice").values
    assert values["intent"]["use_case"] == "code_completion" and values["intent"]["gpus"] == ["H100"]
    with pytest.raises(NotFoundError, match="unknown GPU"):
        update_spec(conversation, thread, "alice", {"gpus": ["TPU"]})


def test_on_a_new_thread_the_graph_still_asks_what_it_needs(conversation: Conversation) -> None:
    thread = conversation.create_thread("alice").id
    result = update_spec(conversation, thread, "alice", {"ttft_p95_ms": 200})
    assert result.pending is not None and result.pending.slot == "use_case"


def test_invalid_values_are_refused_with_a_readable_message(conversation: Conversation) -> None:
    thread = conversation.create_thread("alice").id
    with pytest.raises(ValidationFailedError, match="users: input should be greater than or equal to 1"):
        update_spec(conversation, thread, "alice", {"users": 0})
    with pytest.raises(ValidationFailedError, match="not a field"):
        update_spec(conversation, thread, "alice", {"colour": "blue"})


def test_only_the_owner_can_edit(conversation: Conversation) -> None:
    thread = conversation.create_thread("alice").id
    with pytest.raises(NotFoundError):
        list(stream_spec_update(conversation, thread, "bob", {"users": 10}))


def test_the_stream_reports_nodes_then_the_turn(conversation: Conversation) -> None:
    thread = conversation.create_thread("alice").id
    conversation.send(thread, "alice", "chatbot for 1000 users")
    events = list(stream_spec_update(conversation, thread, "alice", {"priority": "cost"}))
    assert [e["node"] for e in events if e["event"] == "node"][-1] == "recommend"
    assert events[-1]["event"] == "turn" and events[-1]["result"]["has_recommendation"]


def test_changes_are_described_in_words() -> None:
    text = describe_changes({"budget_usd_month": 3000, "gpus": [], "users": 2000.0, "e2e_p95_ms": None})
    assert text == "Changed in settings: budget $3,000/month; GPUs any; users 2,000; p95 E2E none."
