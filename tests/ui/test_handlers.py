"""Chat handlers with a stand-in Chainlit context: what the browser is sent for each thing a user does.

The conversation is the real graph (in-memory checkpointer) over a seeded database; deployments only write
manifests. Chainlit's data layer is off here (tests/ui/test_data_layer.py covers persistence).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import chainlit as cl
import pytest
from chainlit.context import ChainlitContext, context_var
from chainlit.session import HTTPSession
from chainlit.user import PersistedUser
from fastapi import FastAPI
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import AgentServices
from agent.conversation import Conversation
from agent.graph import builder
from kb.errors import DatabaseUnavailableError
from tests.ui.conftest import RecordingEmitter
from ui import app as chat_app
from ui import runtime, turns


class Harness:
    """A logged-in browser session on one thread, as the handlers see it through `chainlit.context`."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.emitter: RecordingEmitter | None = None
        self.session: HTTPSession | None = None

    def open(self, user: str = "alice", thread_id: str | None = None) -> RecordingEmitter:
        persisted = PersistedUser(id=str(uuid.uuid4()), createdAt="2026-01-01T00:00:00Z", identifier=user)
        self.session = HTTPSession(
            id=str(uuid.uuid4()), client_type="webapp", thread_id=thread_id or str(uuid.uuid4()), user=persisted
        )
        self.emitter = RecordingEmitter(self.session)
        context_var.set(ChainlitContext(self.session, self.emitter))  # type: ignore[arg-type]
        return self.emitter

    @property
    def thread_id(self) -> str:
        assert self.session is not None
        return str(self.session.thread_id)

    def state(self, user: str = "alice") -> dict[str, Any]:
        return dict(self.conversation.state(self.thread_id, user).values)

    async def say(self, text: str) -> None:
        await chat_app.message(cl.Message(content=text, type="user_message", author="alice"))

    def action(self, label: str) -> cl.Action:
        assert self.emitter is not None
        found = [a for a in self.emitter.actions() if a["label"] == label]
        assert found, f"no button {label!r}: {[a['label'] for a in self.emitter.actions()]}"
        data = found[-1]
        return cl.Action(name=data["name"], payload=data["payload"], label=data["label"], id=data["id"])


@pytest.fixture
def harness(ui_services: AgentServices, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    import chainlit.data as chainlit_data

    monkeypatch.setattr(chainlit_data, "_data_layer", None)
    monkeypatch.setattr(chainlit_data, "_data_layer_initialized", True)
    conversation = Conversation(builder.compile(checkpointer=InMemorySaver()), ui_services, deploy_target="manifests")
    app = FastAPI()
    app.state.conversation, app.state.database = conversation, ui_services.database
    runtime.bind(app)
    yield Harness(conversation)


async def _settled() -> None:
    await asyncio.gather(*turns._background)


async def _recommendation(h: Harness) -> RecordingEmitter:
    sent = h.open()
    await h.say("customer-support chatbot for 1000 users")
    return sent


# --- start and resume -----------------------------------------------------------------------------------------


async def test_the_greeting_comes_before_anything_that_reads_the_database(harness: Harness) -> None:
    sent = harness.open()
    await chat_app.start()
    assert sent.of("new_message")[0]["output"].startswith("Hi, I'm Compass")
    assert sent.of("set_commands") == []
    await _settled()
    assert [c["id"] for c in sent.of("set_commands")[0]] == ["deployments", "help"]
    widgets = {w["id"]: w for w in sent.of("chat_settings")[0]}
    assert widgets["use_case"]["initial"] == "chatbot_conversational" and widgets["ttft_p95_ms"]["initial"] == 150


async def test_resuming_a_thread_restores_its_settings_and_the_pending_buttons(harness: Harness) -> None:
    harness.open()
    await harness.say("We need an LLM for our team")
    thread = harness.thread_id
    sent = harness.open(thread_id=thread)
    await chat_app.resume({"id": thread, "name": "x", "steps": [], "elements": []})  # type: ignore[typeddict-item]
    assert sent.of("chat_settings")
    await _settled()
    assert any(t.startswith("_Still waiting for your answer:_ What will the model do?") for t in sent.texts())
    assert "code completion" in [a["label"] for a in sent.actions()]


# --- turns ----------------------------------------------------------------------------------------------------


async def test_a_message_shows_each_node_as_a_tool_step_with_inputs_and_results(harness: Harness) -> None:
    sent = await _recommendation(harness)
    steps = [s for s in sent.of("update_message") if s["type"] == "tool"]
    assert [s["name"] for s in steps] == ["Understand the request", "Clarify", "Capacity planner"]
    planner = steps[-1]
    assert '"use_case": "chatbot_conversational"' in planner["input"] and '"viable"' in planner["output"]


async def test_a_recommendation_brings_the_table_chart_card_buttons_and_new_settings(harness: Harness) -> None:
    sent = await _recommendation(harness)
    reply = next(m for m in sent.messages() if "| # | model | GPU x count |" in m["output"])
    assert "TTFT p95 (≤150 ms)" in reply["output"]
    elements = {e["type"]: e for e in sent.of("element")}
    assert elements["plotly"]["forId"] == reply["id"]
    assert any(t.startswith("| Deployment specification |") for t in sent.texts())
    assert {"Deploy #1", "Deploy #2", "YAML #1", "What if traffic doubles?"} <= {a["label"] for a in sent.actions()}
    widgets = {w["id"]: w for w in sent.of("chat_settings")[-1]}
    assert widgets["users"]["initial"] == 1000


async def test_clarifying_questions_are_buttons_that_resume_the_graph(harness: Harness) -> None:
    sent = harness.open()
    await harness.say("We need an LLM for our team")
    assert "code completion" in [a["label"] for a in sent.actions()]
    await turns.answer(harness.action("chatbot"))
    assert harness.state()["intent"]["use_case"] == "chatbot_conversational"
    assert "code completion" not in [a["label"] for a in sent.actions()]  # the answered question's buttons went
    await turns.answer(harness.action("1,000 users"))
    assert harness.state()["recommendation"]["spec"]["users"] == 1000


async def test_a_typed_answer_also_answers_the_question(harness: Harness) -> None:
    harness.open()
    await harness.say("We need an LLM for our team")
    await harness.say("code completion")
    assert harness.state()["intent"]["use_case"] == "code_completion"


async def test_a_button_for_a_question_already_answered_does_nothing(harness: Harness) -> None:
    sent = harness.open()
    await harness.say("We need an LLM for our team")
    stale = harness.action("chatbot")
    await harness.say("code completion")
    await turns.answer(stale)
    assert harness.state()["intent"]["use_case"] == "code_completion"
    assert "That question has already been answered." in sent.texts()


async def test_changing_a_setting_reruns_the_recommendation(harness: Harness) -> None:
    sent = await _recommendation(harness)
    form = dict(cl.user_session.get("form_values"))
    await chat_app.settings_update({**form, "ttft_p95_ms": "300", "gpus": ["L4"]})
    rec = harness.state()["recommendation"]
    assert rec["spec"]["slo"]["ttft_p95_ms"] == 300 and {o["gpu"] for o in rec["options"]} == {"L4"}
    assert "Changed in settings: p95 TTFT 300 ms; GPUs L4." in sent.texts()
    assert harness.state()["intent"]["itl_p95_ms"] is None  # untouched fields stay the use case's defaults


async def test_a_setting_that_is_not_a_number_is_reported(harness: Harness) -> None:
    sent = await _recommendation(harness)
    form = dict(cl.user_session.get("form_values"))
    await chat_app.settings_update({**form, "users": "lots"})
    assert any("That value doesn't work" in t for t in sent.texts())


async def test_deploying_needs_the_approval_button(harness: Harness) -> None:
    sent = await _recommendation(harness)
    await turns.say(harness.action("Deploy #1"))
    assert harness.conversation.services.deployments.list_deployments() == []
    await turns.approve(harness.action("Approve and deploy"))
    [record] = harness.conversation.services.deployments.list_deployments(owner="alice")
    assert record.status == "written"
    assert {"Probe it", "My deployments"} <= {a["label"] for a in sent.actions()}


async def test_rejecting_deploys_nothing(harness: Harness) -> None:
    await _recommendation(harness)
    await turns.say(harness.action("Deploy #2"))
    await turns.approve(harness.action("Reject"))
    assert harness.conversation.services.deployments.list_deployments() == []
    assert harness.state()["phase"] == "explore"


async def test_a_deploy_button_from_an_older_recommendation_is_refused(harness: Harness) -> None:
    sent = await _recommendation(harness)
    old = harness.action("Deploy #1")
    await harness.say("only L4s")
    await turns.say(old)
    assert any(t.startswith("The options changed since that button was shown") for t in sent.texts())
    assert harness.conversation.state(harness.thread_id, "alice").pending is None


async def test_manifests_come_as_a_downloadable_yaml_file(harness: Harness) -> None:
    sent = await _recommendation(harness)
    await turns.say(harness.action("YAML #1"))
    files = [e for e in sent.of("element") if e["type"] == "file"]
    assert files and files[-1]["name"] == "compass-manifests.yaml" and files[-1]["mime"] == "text/yaml"


async def test_a_what_if_shows_the_scenarios_side_by_side(harness: Harness) -> None:
    sent = await _recommendation(harness)
    await turns.say(harness.action("What if traffic doubles?"))
    table = next(t for t in sent.texts() if t.startswith("### Scenarios side by side"))
    assert "**baseline**" in table and "**traffic x2**" in table
    assert [e for e in sent.of("element") if e["type"] == "plotly" and e["name"] == "scenarios"]


# --- deployments ----------------------------------------------------------------------------------------------


async def test_the_dashboard_lists_only_the_users_own_deployments(harness: Harness) -> None:
    await _recommendation(harness)
    await turns.say(harness.action("Deploy #1"))
    await turns.approve(harness.action("Approve and deploy"))
    sent = harness.open()
    await chat_app.message(cl.Message(content="list", command="deployments"))
    assert "## Your deployments (1)" in sent.texts()
    card = next(t for t in sent.texts() if t.startswith("### "))
    assert "manifests written" in card and "| TTFT |" in card
    bob = harness.open(user="bob")
    await chat_app.message(cl.Message(content="/deployments"))
    assert any(t.startswith("You have no deployments yet") for t in bob.texts())


async def test_deleting_a_deployment_asks_for_confirmation(harness: Harness) -> None:
    await _recommendation(harness)
    await turns.say(harness.action("Deploy #1"))
    await turns.approve(harness.action("Approve and deploy"))
    sent = harness.open()
    await turns.dashboard()
    delete = harness.action("Delete")
    sent.answers = [{"name": "confirm", "payload": {"delete": False}, "label": "Keep it"}]
    await turns.delete(delete)
    assert len(harness.conversation.services.deployments.list_deployments()) == 1
    sent.answers = [{"name": "confirm", "payload": {"delete": True}, "label": "Delete"}]
    await turns.delete(delete)
    assert harness.conversation.services.deployments.list_deployments() == []


# --- errors ---------------------------------------------------------------------------------------------------


def _errors(sent: RecordingEmitter) -> list[str]:
    return [str(m["output"]) for m in sent.messages() if m.get("isError")]


async def test_a_database_outage_is_a_message_and_the_conversation_carries_on(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = harness.open()

    def unavailable(*_args: Any, **_kwargs: Any) -> Any:
        raise DatabaseUnavailableError("database compass.db is unavailable: disk I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(harness.conversation, "stream", unavailable)
        await harness.say("chatbot for 1000 users")
    [error] = _errors(sent)
    assert error.startswith("I can't reach the database right now") and "Traceback" not in error
    await harness.say("chatbot for 1000 users")
    assert harness.state()["recommendation"]["spec"]["users"] == 1000


async def test_an_unexpected_failure_shows_a_reference_not_a_stack_trace(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = harness.open()

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internals: /srv/compass/agent/nodes.py line 42")

    monkeypatch.setattr(harness.conversation, "stream", broken)
    await harness.say("chatbot for 1000 users")
    [error] = _errors(sent)
    assert error.startswith("Something went wrong on my side (reference `") and "secret internals" not in error


async def test_a_failed_deployment_is_explained_in_the_chat(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from kb.errors import CompassError

    sent = await _recommendation(harness)
    await turns.say(harness.action("Deploy #1"))

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise CompassError("the target refused the manifests")

    monkeypatch.setattr(harness.conversation.services.deployments, "deploy", refuse)
    await turns.approve(harness.action("Approve and deploy"))
    assert any("The deployment failed: the target refused the manifests" in t for t in sent.texts())
    assert _errors(sent) == []


async def test_an_unreachable_llm_is_a_notice_and_the_rules_answer(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.intent.llm import make_chat_model
    from agent.intent.settings import LLMSettings

    down = LLMSettings(backend="ollama", ollama_host="http://127.0.0.1:9", timeout_s=2)
    monkeypatch.setattr(harness.conversation.services, "llm", make_chat_model(down))
    sent = harness.open()
    await harness.say("customer-support chatbot for 1000 users")
    reply = next(t for t in sent.texts() if "| # | model |" in t)
    assert "The language model" in reply and harness.state()["recommendation"]["spec"]["users"] == 1000
    assert _errors(sent) == []


async def test_before_the_service_is_ready_the_user_is_told_to_wait(harness: Harness) -> None:
    runtime.bind(FastAPI())
    sent = harness.open()
    await harness.say("hello")
    assert _errors(sent) == ["Compass is still starting up; try again in a few seconds."]


# --- login ----------------------------------------------------------------------------------------------------


async def test_password_login_returns_a_chainlit_user(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.auth import LoginPolicy, UserDirectory

    monkeypatch.setattr(chat_app, "policy", LoginPolicy(UserDirectory.from_config("alice:secret")))
    user = await chat_app.password_login("alice", "secret")
    assert user is not None and user.identifier == "alice"
    assert await chat_app.password_login("alice", "nope") is None
    assert await chat_app.password_login("mallory", "secret") is None


async def test_header_login_trusts_only_the_configured_header(monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.datastructures import Headers

    from ui.auth import LoginPolicy, UserDirectory

    monkeypatch.setattr(chat_app, "policy", LoginPolicy(UserDirectory({}), header="X-Forwarded-User"))
    user = await chat_app.header_login(Headers({"x-forwarded-user": "carol"}))
    assert user is not None and user.identifier == "carol"
    assert await chat_app.header_login(Headers({"x-user": "carol"})) is None
