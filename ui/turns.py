"""The adapter between Chainlit and the conversation: run a turn with streamed text and tool steps, then show what
it produced (question buttons, approval, recommendation chart and card, comparison, manifests), plus the
deployment dashboard. No planning logic: everything shown comes from the graph's state or the services' records."""

# Chainlit ships type hints, but many of its methods (Message.send, user_session.get...) are unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, ParamSpec, TypeVar

import chainlit as cl
from chainlit.context import context
from chainlit.types import CommandDict
from chainlit.utils import utc_now

from agent.api.auth import LOCAL_USER
from agent.conversation import PendingQuestion, TurnResult
from agent.replies import option_by_rank
from agent.spec_edit import describe_changes, stream_spec_update
from kb.errors import CompassError, DatabaseUnavailableError, NotFoundError, ValidationFailedError
from tools.specs import Recommendation
from tools.whatif import ScenarioComparison
from ui import runtime, spec_form, views

AUTHOR = "Compass"
HOLD_TEXT_S = 0.25
log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

ANSWER, APPROVAL, SAY, DASHBOARD, PROBE, DELETE = (
    "compass_answer",
    "compass_approval",
    "compass_say",
    "compass_dashboard",
    "compass_probe",
    "compass_delete",
)
COMMANDS: list[CommandDict] = [
    CommandDict(
        id="deployments",
        icon="server",
        description="Your deployments: status, probe, delete",
        button=True,
        persistent=False,
        selected=False,
    ),
    CommandDict(
        id="help", icon="circle-help", description="What you can ask", button=False, persistent=False, selected=False
    ),
]
GREETING_TIPS = (
    "_The settings button (gear) by the message box edits the specification; type **/deployments** for your "
    "deployments._"
)


# --- who, where, errors ---------------------------------------------------------------------------------------


def owner() -> str:
    """The logged-in user's name: the owner of conversations and deployments."""
    user = context.session.user
    return str(user.identifier) if user is not None else LOCAL_USER


def thread_id() -> str:
    """The Chainlit thread id, which is also the LangGraph thread id."""
    return str(context.session.thread_id)


async def show_error(text: str) -> None:
    await cl.ErrorMessage(content=text, author=AUTHOR).send()


def friendly(handler: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T | None]]:
    """Errors become a chat message a user can act on, never a stack trace; the conversation carries on."""

    @functools.wraps(handler)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T | None:
        try:
            return await handler(*args, **kwargs)
        except DatabaseUnavailableError as exc:
            log.warning("database unavailable: %s", exc.message)
            await show_error(
                f"I can't reach the database right now ({exc.message}). Nothing was lost: try again in a moment."
            )
        except CompassError as exc:
            await show_error(exc.message)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("chat handler %s failed (reference %s)", handler.__name__, reference)
            await show_error(
                f"Something went wrong on my side (reference `{reference}`). Your conversation is saved; "
                "please try again."
            )
        return None

    return guarded


_background: set[asyncio.Task[Any]] = set()


def in_background(work: Awaitable[Any], *, delay_s: float = 0.0) -> None:
    """Run `work` after the current handler returns (same Chainlit context), errors shown like a handler's."""

    @friendly
    async def later() -> None:
        await asyncio.sleep(delay_s)
        await work

    task = asyncio.ensure_future(later())
    _background.add(task)
    task.add_done_callback(_background.discard)


_turn_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def _turn_lock(thread: str) -> asyncio.Lock:
    """One turn at a time per thread: a button clicked while a turn runs waits for it (checkpoints stay linear)."""
    lock = _turn_locks.get(thread)
    if lock is None:
        lock = _turn_locks[thread] = asyncio.Lock()
    return lock


@asynccontextmanager
async def busy() -> AsyncIterator[None]:
    """The UI's running indicator (and stop button) for work started by a button rather than a message."""
    await context.emitter.task_start()
    try:
        yield
    finally:
        await context.emitter.task_end()


async def thread_values(user: str, thread: str) -> tuple[dict[str, Any], PendingQuestion | None]:
    """The graph state's values and pending question; empty for a thread the graph has not seen yet."""
    conversation = runtime.conversation()
    try:
        state = await runtime.call(conversation.state, thread, user)
    except NotFoundError:
        return {}, None
    return state.values, state.pending


# --- settings -------------------------------------------------------------------------------------------------


async def send_settings(values: Mapping[str, Any]) -> None:
    """Fill the settings form from the state, and remember what it showed to tell what a submit changes."""
    catalog = await runtime.call(runtime.conversation().services.planning.catalog)
    current = spec_form.form_values(values, catalog)
    cl.user_session.set("form_values", current)
    await cl.ChatSettings(spec_form.widgets(current, catalog)).send()


async def settings_changed(submitted: Mapping[str, Any]) -> None:
    before: Mapping[str, Any] = cl.user_session.get("form_values") or {}
    try:
        changes = spec_form.changed_values(before, submitted)
    except ValueError as exc:
        raise ValidationFailedError(f"That value doesn't work: {exc}") from exc
    if not changes:
        return
    values, _ = await thread_values(owner(), thread_id())
    if not values.get("recommendation"):
        # Nothing planned yet: the form's visible use case and load are what the user means.
        changes = {"use_case": submitted.get("use_case"), "users": before.get("users"), **changes}
    await run_turn(changes=changes, shown_as=describe_changes(changes))


# --- turns ----------------------------------------------------------------------------------------------------


def _action(name: str, label: str, payload: dict[str, Any], tooltip: str = "", icon: str | None = None) -> cl.Action:
    return cl.Action(name=name, label=label, payload=payload, tooltip=tooltip or label, icon=icon)


async def _clear_question_buttons() -> None:
    """A question is answered by a button or by typing; either way its buttons go."""
    for data in cl.user_session.get("question_actions") or []:
        await cl.Action(**data).remove()
    cl.user_session.set("question_actions", [])


async def send_pending(pending: PendingQuestion, *, reminder: bool = False) -> None:
    """The graph's question (clarifying, with its options) or the deployment approval, as buttons."""
    if pending.type == "approval":
        actions = [
            _action(
                APPROVAL, "Approve and deploy", {"decision": "approve", "question": pending.question}, icon="rocket"
            ),
            _action(APPROVAL, "Reject", {"decision": "reject", "question": pending.question}, icon="x"),
        ]
    else:
        actions = [
            _action(ANSWER, option, {"answer": option, "question": pending.question}) for option in pending.options
        ]
    prefix = "_Still waiting for your answer:_ " if reminder else ""
    hint = "" if pending.type == "approval" else "\n\n_Pick one or type your own answer._"
    message = cl.Message(content=prefix + pending.question + hint, author=AUTHOR, actions=actions)
    await message.send()
    cl.user_session.set("question_actions", [a.to_dict() for a in actions])


def _events(
    user: str, thread: str, text: str | None, resume: Any, changes: Mapping[str, Any] | None
) -> Callable[[], Iterator[dict[str, Any]]]:
    conversation = runtime.conversation()
    if changes is not None:
        return lambda: stream_spec_update(conversation, thread, user, changes)
    return lambda: conversation.stream(thread, user, text, resume=resume)


async def run_turn(
    *,
    text: str | None = None,
    resume: Any = None,
    changes: Mapping[str, Any] | None = None,
    shown_as: str | None = None,
) -> TurnResult | None:
    """One graph turn: tool steps and streamed text while it runs, then everything it produced."""
    async with _turn_lock(thread_id()):
        return await _run_turn(text=text, resume=resume, changes=changes, shown_as=shown_as)


async def _run_turn(
    *, text: str | None, resume: Any, changes: Mapping[str, Any] | None, shown_as: str | None
) -> TurnResult | None:
    user, thread = owner(), thread_id()
    conversation = runtime.conversation()
    await runtime.call(conversation.create_thread, user, thread_id=thread, title=(text or shown_as or "")[:80])
    before, pending_before = await thread_values(user, thread)
    await _clear_question_buttons()
    if shown_as:
        await cl.Message(content=shown_as, type="user_message", author=user).send()
    said = text if text is not None else (json.dumps(resume) if resume is not None else shown_as)

    live = cl.Message(content="", author=AUTHOR)
    steps: list[tuple[str, cl.Step]] = []
    started = utc_now()
    result: TurnResult | None = None
    shown_question = pending_before.question if pending_before else None
    # A node's text arrives just before its "done" event: holding it briefly shows the tool step first. Text that
    # keeps coming (an LLM streaming) is shown as it arrives. The turn's replies replace it at the end.
    held: list[str] = []
    held_since = 0.0

    async def release() -> None:
        if held and not live.streaming:
            live.created_at = utc_now()  # placed after the steps sent so far
        for piece in held:
            await live.stream_token(piece)
        held.clear()

    async for event in runtime.iterate(_events(user, thread, text, resume, changes)):
        if event["event"] == "node":
            name = views.NODE_LABELS.get(event["node"], event["node"])
            # Siblings of the reply (under on_message's run when there is one), so they show in order.
            step = cl.Step(name=name, type="tool", show_input="json", parent_id=live.parent_id)
            step.start, step.end = started, utc_now()
            started = step.end
            step.input = json.dumps({"message": said})
            await step.send()
            steps.append((event["node"], step))
            await release()
        elif event["event"] == "token" and event["text"] != shown_question:
            if not held:
                held_since = time.monotonic()
            held.append(event["text"])
            if live.streaming or time.monotonic() - held_since > HOLD_TEXT_S:
                await release()
        elif event["event"] == "turn":
            result = TurnResult.model_validate(event["result"])
    if result is None:  # pragma: no cover - every stream ends with a turn
        return None

    after, pending = await thread_values(user, thread)
    for node, step in steps:
        step.input, step.output = views.step_details(node, after, said, result.model_dump(mode="json"))
        await step.update()
    await _show_turn(live, result, before, after, [node for node, _ in steps])
    if pending is not None:
        await send_pending(pending)
    return result


async def _show_turn(
    live: cl.Message,
    result: TurnResult,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    nodes: list[str],
) -> None:
    replies = result.replies[:-1] if result.pending is not None else result.replies
    body = "\n\n".join(replies)
    new_recommendation = "recommend" in nodes and after.get("recommendation") != before.get("recommendation")
    extras: list[cl.Message] = []
    elements: list[Any] = []
    if new_recommendation and after.get("recommendation"):
        rec = Recommendation.model_validate(after["recommendation"])
        if rec.options:
            elements.append(
                cl.Plotly(
                    name="cost-vs-latency", figure=views.recommendation_chart(rec), display="inline", size="large"
                )
            )
            live.actions.extend(_recommendation_actions(rec))
        catalog = await runtime.call(runtime.conversation().services.planning.catalog)
        card = views.spec_card(after, catalog)
        if card:
            extras.append(cl.Message(content=card, author=AUTHOR))
    if "explore" in nodes and after.get("comparison") and after.get("comparison") != before.get("comparison"):
        comparison = ScenarioComparison.model_validate(after["comparison"])
        extras.append(
            cl.Message(
                content=views.comparison_table(comparison),
                author=AUTHOR,
                elements=[cl.Plotly(name="scenarios", figure=views.comparison_chart(comparison), display="inline")],
            )
        )
    manifest = views.yaml_in(body)
    if manifest is not None:
        elements.append(
            cl.File(name="compass-manifests.yaml", content=manifest.encode(), mime="text/yaml", display="inline")
        )
    deployed = len(after.get("deployments") or []) > len(before.get("deployments") or [])
    if deployed:
        record = (after.get("deployments") or [])[-1]
        live.actions.append(_action(PROBE, "Probe it", {"deployment": record["id"]}, icon="activity"))
        live.actions.append(_action(DASHBOARD, "My deployments", {}, icon="server"))
    live.elements = elements
    if body or live.elements or live.actions:
        live.content = body
        if not live.streaming:
            live.created_at = utc_now()
        await live.send()
    elif live.streaming:
        await live.remove()
    for message in extras:
        await message.send()
    if new_recommendation:
        await send_settings(after)


def _recommendation_actions(rec: Recommendation) -> list[cl.Action]:
    actions = [
        _action(SAY, f"Deploy #{o.rank}", {"text": f"deploy option {o.rank}", "rank": o.rank, "label": o.label},
                tooltip=f"{o.label}, ${o.cost.monthly_usd:,.0f}/month", icon="rocket")
        for o in rec.options[:3]
    ]  # fmt: skip
    actions.append(_action(SAY, "YAML #1", {"text": "show the YAML for option 1"}, icon="file-code"))
    if len(rec.options) >= 2:
        actions.append(_action(SAY, "Compare #1 and #2", {"text": "compare 1 and 2"}, icon="columns-2"))
    actions.append(_action(SAY, "What if traffic doubles?", {"text": "what if traffic doubles?"}, icon="trending-up"))
    return actions


# --- buttons --------------------------------------------------------------------------------------------------


async def answer(action: cl.Action) -> None:
    """A clarifying-question button: the option's text resumes the graph's interrupt."""
    _, pending = await thread_values(owner(), thread_id())
    if pending is None or pending.type != "question" or pending.question != action.payload.get("question"):
        await action.remove()
        await cl.Message(content="That question has already been answered.", author=AUTHOR).send()
        return
    value = str(action.payload["answer"])
    async with busy():
        await run_turn(resume=value, shown_as=value)


async def approve(action: cl.Action) -> None:
    """The approval buttons: an explicit decision resumes the deploy node's interrupt."""
    _, pending = await thread_values(owner(), thread_id())
    if pending is None or pending.type != "approval" or pending.question != action.payload.get("question"):
        await action.remove()
        await cl.Message(content="That approval is no longer pending.", author=AUTHOR).send()
        return
    approved = action.payload.get("decision") == "approve"
    decision = {"approved": approved, "text": "approve" if approved else "reject"}
    async with busy():
        await run_turn(resume=decision, shown_as="Approve" if approved else "Reject")


async def say(action: cl.Action) -> None:
    """Buttons that stand for a sentence ("deploy option 2"): sent to the graph like typed text."""
    text = str(action.payload["text"])
    if "rank" in action.payload:
        values, _ = await thread_values(owner(), thread_id())
        raw = values.get("recommendation")
        option = option_by_rank(Recommendation.model_validate(raw), int(action.payload["rank"])) if raw else None
        if option is None or option.label != action.payload.get("label"):
            await cl.Message(
                content="The options changed since that button was shown; use the buttons under the latest "
                "recommendation.",
                author=AUTHOR,
            ).send()
            return
    async with busy():
        await run_turn(text=text, shown_as=text)


# --- deployments ----------------------------------------------------------------------------------------------


async def dashboard() -> None:
    """The user's deployments: status, endpoint, predicted vs probed latency, and probe/delete buttons."""
    user = owner()
    service = runtime.deployments()
    records = await runtime.call(service.list_deployments, owner=user)
    if not records:
        await cl.Message(
            content="You have no deployments yet. Deploy an option from a recommendation (you'll be asked to "
            "approve it).",
            author=AUTHOR,
        ).send()
        return
    await cl.Message(content=f"## Your deployments ({len(records)})", author=AUTHOR).send()
    for listed in records:
        record = await runtime.call(service.status, listed.id, owner=user)
        outcomes = await runtime.call(service.outcomes, record.id)
        actions = [_action(DELETE, "Delete", {"deployment": record.id}, icon="trash-2")]
        if record.status == "running":
            actions.insert(0, _action(PROBE, "Probe with a test prompt", {"deployment": record.id}, icon="activity"))
        await cl.Message(content=views.deployment_card(record, outcomes), author=AUTHOR, actions=actions).send()


async def probe(action: cl.Action) -> None:
    """Ask for a test prompt, send it to the endpoint a few times, and compare the latency with the prediction."""
    deployment = str(action.payload["deployment"])
    reply = await cl.AskUserMessage(
        content=f"Type a test prompt for **{deployment}** (or *default* for the standard one).",
        author=AUTHOR,
        timeout=300,
    ).send()
    if not reply:
        return
    prompt = str(reply.get("output", "")).strip()
    service = runtime.deployments()
    step = cl.Step(name="Inference probe", type="tool", show_input="json")
    step.input = json.dumps({"deployment": deployment, "prompt": prompt or "default", "requests": 4})
    async with busy():
        await step.send()
        try:
            result = await runtime.call(
                service.probe,
                deployment,
                owner=owner(),
                requests=4,
                concurrency=2,
                prompt=None if prompt.lower() in ("", "default") else prompt,
            )
        except CompassError as exc:
            step.output, step.is_error = exc.message, True
            raise
        else:
            step.output = result.summary()
        finally:
            step.end = utc_now()
            await step.update()
    await cl.Message(content=views.probe_report(deployment, result), author=AUTHOR).send()


async def delete(action: cl.Action) -> None:
    """Delete a deployment after an explicit confirmation."""
    deployment = str(action.payload["deployment"])
    choice = await cl.AskActionMessage(
        content=f"Delete **{deployment}**? Its endpoint stops answering.",
        actions=[
            _action("confirm", "Delete", {"delete": True}, icon="trash-2"),
            _action("confirm", "Keep it", {"delete": False}),
        ],
        author=AUTHOR,
        timeout=120,
    ).send()
    if not choice or not choice.get("payload", {}).get("delete"):
        return
    async with busy():
        record = await runtime.call(runtime.deployments().delete, deployment, owner=owner(), actor=owner())
    await action.remove()
    await cl.Message(content=f"Deleted **{record.id}**.", author=AUTHOR).send()
