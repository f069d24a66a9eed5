"""Graph nodes: understand the message, ask what is missing, recommend, explore, deploy on approval."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from agent import prompts, replies
from agent.commands import Command as UserCommand
from agent.commands import interpret
from agent.context import Context, services_of
from agent.intent.rules import extract
from agent.intent.schema import LOAD_FIELDS, DeploymentIntent, merge, to_spec_values
from agent.state import AgentState, upgrade_state
from kb.errors import CompassError, ValidationFailedError
from tools.capacity_planner import parse_spec
from tools.deploy.request import DeploymentRequest
from tools.manifest_renderer import RenderRequest, render_manifests
from tools.specs import Recommendation
from tools.whatif import MAX_TRAFFIC_FACTOR, WhatIf

MAX_QUESTIONS = 3
DEFAULT_USE_CASE = "chatbot_conversational"
DEFAULT_USERS = 100
SLOT_FIELDS = {"use_case": "use_case", "scale": "users"}


def _text(message: AnyMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


def _last_user_text(state: AgentState) -> str:
    for message in reversed(state["messages"]):
        if isinstance(message, HumanMessage):
            return _text(message)
    return ""


def _intent(state: AgentState) -> DeploymentIntent:
    return DeploymentIntent.model_validate(state.get("intent") or {})


def _answer_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("text") or value.get("answer") or value.get("value") or "")
    return str(value)


# --- understand -------------------------------------------------------------------------------------------------


def understand(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Fold the newest message into the intent and note any exploration command it carries."""
    state = upgrade_state(state)
    services = services_of(runtime.context)
    text = _last_user_text(state)
    command = interpret(text)
    if command is not None and command.name == "start_over":
        # "start over with a translation service for 3000 users": the rest of the message is the new request.
        fresh = extract(text, services.planning.catalog())
        reset = {
            "version": state["version"],
            "phase": "collect",
            "intent": fresh.intent.model_dump(mode="json") if fresh.findings else {},
            "asked": None,
            "reasked": None,
            "recommendation": None,
            "comparison": None,
            "notices": list(fresh.notes),
        }
        if fresh.findings:
            return {**reset, "pending_command": None, "messages": [AIMessage("Starting over.")]}
        return {
            **reset,
            "pending_command": command.model_dump(),
            "messages": [AIMessage("Starting over. " + prompts.GREETING)],
        }
    catalog = services.planning.catalog()
    extraction = extract(text, catalog)
    update = extraction.update()
    notices: list[str] = list(extraction.notes)
    if services.llm is not None and command is None:
        from agent.intent.llm import extract_with_llm

        llm_result = extract_with_llm(text, catalog, services.llm, extraction)
        update = llm_result.update()
        if llm_result.notice:
            notices.append(llm_result.notice)
    if command is not None and command.pick is not None and update.set.priority is not None:
        # "deploy the cheapest one" chooses among the shown options; it does not re-rank them by cost.
        update = update.model_copy(update={"set": update.set.model_copy(update={"priority": None})})
    changed = bool(extraction.findings or update.clear) or update.set != extraction.intent
    old = _intent(state)
    merged = merge(old, update)
    if command is not None and command.name in prompts.COMMAND_WORDS and state.get("recommendation") and merged != old:
        # "compare 1 and 3 for 2000 users": the numbers would name options of a list that is about to change.
        notices.append(prompts.CHANGE_FIRST.format(what=prompts.COMMAND_WORDS[command.name]))
        command = None
    return {
        "version": state["version"],
        "intent": merged.model_dump(mode="json"),
        "pending_command": command.model_dump() if command else ({"name": "nothing_new"} if not changed else None),
        "notices": notices,
    }


def route_after_understand(state: AgentState) -> Literal["clarify", "explore", "__end__"]:
    command = state.get("pending_command") or {}
    name = command.get("name")
    if name == "start_over":
        return "__end__"
    if state.get("recommendation") and name is not None:
        return "explore"
    if name == "help":
        return "explore"
    return "clarify"


# --- clarify ----------------------------------------------------------------------------------------------------


def missing_slot(intent: DeploymentIntent, asked: list[str]) -> str | None:
    """The next thing worth asking: what the recommendation cannot be made without, never asked twice."""
    if len(asked) >= MAX_QUESTIONS:
        return None
    knows_shape = intent.use_case is not None or (intent.prompt_tokens is not None and intent.ttft_p95_ms is not None)
    if not knows_shape and "use_case" not in asked and "use_case" not in intent.unknown_fields:
        return "use_case"
    if not intent.knows_load() and "scale" not in asked and "users" not in intent.unknown_fields:
        return "scale"
    return None


def _fills(slot: str, intent: DeploymentIntent) -> bool:
    if slot == "use_case":
        return intent.use_case is not None or intent.prompt_tokens is not None
    return intent.knows_load()


def clarify(state: AgentState, runtime: Runtime[Context]) -> Command[Literal["recommend", "clarify", "understand"]]:
    """Ask one targeted question through an interrupt; an "I don't know" leads to defaults.

    An answer that does not answer (a counter-question, only other facts) gets the question once more with why it
    matters, as long as that stays within three questions; "start over" in an answer starts over.
    """
    intent = _intent(state)
    asked = list(state.get("asked") or [])
    reasked = list(state.get("reasked") or [])
    slot = missing_slot(intent, asked)
    if slot is None:
        return Command(goto="recommend")
    question, options = prompts.QUESTIONS[slot]
    shown = f"{prompts.REASK[slot]}\n\n{question}" if slot in reasked else question
    notices = list(state.get("notices") or [])  # what the last message could not be used for, said before asking
    if notices:
        shown = "\n\n".join([*(f"_{n}_" for n in notices), shown])
    answer = _answer_text(interrupt({"type": "question", "slot": slot, "question": shown, "options": options}))
    turn: list[AnyMessage] = [AIMessage(shown), HumanMessage(answer)]
    command = interpret(answer)
    if command is not None and command.name == "start_over":
        return Command(goto="understand", update={"messages": turn})
    catalog = services_of(runtime.context).planning.catalog()
    extraction = extract(answer, catalog, expecting=SLOT_FIELDS[slot])
    found = extraction.intent
    update = extraction.update()
    merged = merge(intent, update.model_copy(update={"set": found}))
    if not extraction.dont_know and not _fills(slot, found):
        others = [s for s in ("use_case", "scale") if s != slot and missing_slot(merged, [*asked, slot]) == s]
        questions_shown = len(asked) + len(reasked) + 1
        if slot not in reasked and questions_shown + 1 + len(others) <= MAX_QUESTIONS:
            update_state = {
                "intent": merged.model_dump(mode="json"),
                "reasked": [slot],
                "phase": "clarify",
                "notices": [],
            }
            return Command(goto="clarify", update={**update_state, "messages": turn})
    if (extraction.dont_know or not _fills(slot, found)) and not _fills(slot, merged):
        unknown = "users" if slot == "scale" else "use_case"
        found = found.model_copy(update={"unknown_fields": [*found.unknown_fields, unknown]})
        merged = merge(intent, update.model_copy(update={"set": found}))
    return Command(
        goto="clarify",
        update={
            "intent": merged.model_dump(mode="json"),
            "asked": [slot],
            "phase": "clarify",
            "notices": [],
            "messages": turn,
        },
    )


# --- recommend --------------------------------------------------------------------------------------------------


def recommend(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Turn the intent into a spec (defaults for what the user could not say) and run the capacity planner."""
    services = services_of(runtime.context)
    intent = _intent(state)
    catalog = services.planning.catalog()
    values = to_spec_values(intent, catalog=catalog)
    notes = list(state.get("notices") or [])
    if "use_case" not in values and "prompt_tokens" not in values:
        values["use_case"] = DEFAULT_USE_CASE
        notes.append(prompts.DEFAULTS_NOTE["use_case"])
    if not values.keys() & set(LOAD_FIELDS):
        values["users"] = DEFAULT_USERS
        values["top_k"] = 8
        notes.append(prompts.DEFAULTS_NOTE["scale"])
    try:
        spec = parse_spec(values)
        rec = services.planning.recommend(spec, catalog)
    except CompassError as exc:
        return {
            "phase": "explore" if state.get("recommendation") else "collect",
            "pending_command": None,
            "messages": [AIMessage(f"I can't plan that yet: {exc.message}")],
        }
    return {
        "phase": "explore",
        "recommendation": rec.model_dump(mode="json"),
        "pending_command": None,
        "notices": [],
        "messages": [AIMessage(replies.recommendation_reply(rec, notes, spec))],
    }


# --- explore ----------------------------------------------------------------------------------------------------


def _choose_with_llm(state: AgentState, runtime: Runtime[Context]) -> UserCommand | None:
    """With an LLM configured, let it pick the exploration tool; any failure falls back to the rules."""
    from agent.exploration_llm import choose_command

    services = services_of(runtime.context)
    if services.llm is None:
        return None
    chosen: UserCommand | None = choose_command(services.llm, _last_user_text(state), timeout_s=services.llm_timeout_s)
    return chosen


def explore(state: AgentState, runtime: Runtime[Context]) -> Command[Literal["deploy", "recommend", "__end__"]]:
    """Answer exploration requests with the same tools the planner uses; spec edits re-run the recommendation."""
    raw = state.get("pending_command") or {}
    command = UserCommand.model_validate(raw) if raw.get("name") not in (None, "nothing_new") else None
    if command is None and raw.get("name") == "nothing_new":
        command = _choose_with_llm(state, runtime)
        if command is None:
            said = "".join(f"_{n}_\n\n" for n in state.get("notices") or [])
            reply = said + "I didn't catch a change or a request there.\n\n" + prompts.HELP
            return Command(
                goto="__end__", update={"pending_command": None, "notices": [], "messages": [AIMessage(reply)]}
            )
    if command is None:
        return Command(goto="recommend")
    if command.name == "deploy":
        return Command(goto="deploy")
    rec = Recommendation.model_validate(state["recommendation"]) if state.get("recommendation") else None
    update: dict[str, Any] = {"pending_command": None}
    if command.name == "help" or rec is None:
        reply = prompts.HELP
    elif command.name == "compare_options":
        reply = replies.compare_options_reply(rec, command.options)
    elif command.name == "why":
        reply = replies.why_reply(rec, command.options[0] if command.options else 1)
    elif command.name == "what_if_traffic":
        reply, update = _what_if(state, runtime, command, update)
    elif command.name == "show_yaml":
        reply = _show_yaml(state, runtime, rec, command.options[0] if command.options else 1)
    else:
        reply = "There is nothing waiting for approval right now. " + prompts.HELP
    return Command(goto="__end__", update={**update, "messages": [AIMessage(reply)]})


def _what_if(
    state: AgentState, runtime: Runtime[Context], command: UserCommand, update: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    services = services_of(runtime.context)
    catalog = services.planning.catalog()
    values = to_spec_values(_intent(state), catalog=catalog)
    shown = state.get("recommendation") or {}
    if "use_case" not in values and "prompt_tokens" not in values:
        values["use_case"] = (shown.get("spec") or {}).get("use_case") or DEFAULT_USE_CASE
    if not values.keys() & set(LOAD_FIELDS):  # the plan shown used a default load: scale that
        resolved = shown.get("spec") or {}
        values.update({"users": resolved["users"]} if resolved.get("users") else {"qps": resolved.get("qps")})
    try:
        spec = parse_spec(values)
        if not command.factor or not 0 < command.factor <= MAX_TRAFFIC_FACTOR:
            raise ValidationFailedError(f"traffic can be scaled by more than 0 and at most {MAX_TRAFFIC_FACTOR:g}x")
        comparison = services.planning.what_if(spec, [WhatIf(traffic_factor=command.factor)], catalog)
    except CompassError as exc:
        return f"I can't run that what-if: {exc.message}", update
    return replies.comparison_reply(comparison), {**update, "comparison": comparison.model_dump(mode="json")}


def _show_yaml(state: AgentState, runtime: Runtime[Context], rec: Recommendation, rank: int) -> str:
    option = replies.option_by_rank(rec, rank)
    if option is None:
        return f"There is no option {rank}; I have {len(rec.options)}."
    services = services_of(runtime.context)
    request = DeploymentRequest.from_option(option, rec, target="manifests")
    try:
        rendered = render_manifests(
            services.deployments, RenderRequest(request=request, deployment_id=f"option-{rank}")
        )
    except CompassError as exc:
        return f"I couldn't render the manifests: {exc.message}"
    documents = [d for d in rendered.yaml.split("\n---\n") if d.strip()]
    shown = [d for d in documents if not _is_dashboard(d)]
    left_out = (
        "\n\nThe Grafana dashboard ConfigMap is left out here (it is long JSON); "
        f"`compass manifests render --recommendation rec.json --option {rank}` writes the whole bundle."
        if len(shown) < len(documents)
        else ""
    )
    body = "\n---\n".join(shown).strip("\n")
    return f"Validated manifests for option {rank} ({', '.join(rendered.objects)}):\n\n```yaml\n{body}\n```{left_out}"


def _is_dashboard(document: str) -> bool:
    return "kind: ConfigMap" in document and "grafana_dashboard" in document


# --- deploy -----------------------------------------------------------------------------------------------------


def _approved(decision: Any) -> bool:
    if isinstance(decision, bool):
        return decision
    if isinstance(decision, dict):
        if isinstance(decision.get("approved"), bool):
            return bool(decision["approved"])  # an explicit yes/no wins over any text sent with it
        return _approved(decision.get("text", ""))
    command = interpret(str(decision))
    return command is not None and command.name == "approve"


def deploy(state: AgentState, runtime: Runtime[Context]) -> Command[Literal["understand", "__end__"]]:
    """Ask for explicit approval (an interrupt; never inferred from message text), then deploy and probe.

    An answer that is neither yes nor no ("deploy option 3 instead", "start over", "compare 1 and 2") declines this
    deployment and is then read as a new message.
    """
    update = _deploy(state, runtime)
    return Command(goto="understand" if update.pop("read_again", False) else "__end__", update=update)


def _decision_text(decision: Any) -> str:
    """The answer as the conversation records it: an explicit yes/no button is recorded as what it decided."""
    if isinstance(decision, dict) and isinstance(decision.get("approved"), bool):
        return "approve" if decision["approved"] else "reject"
    return _answer_text(decision) or str(decision)


def _another_request(decision: Any) -> bool:
    """A typed answer to the approval that is a request of its own rather than a yes or no."""
    if isinstance(decision, dict):
        if isinstance(decision.get("approved"), bool):
            return False
        decision = decision.get("text", "")
    if not isinstance(decision, str) or not decision.strip():
        return False
    command = interpret(decision)
    return command is None or command.name not in ("approve", "reject")


def _deploy(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    raw = state.get("pending_command") or {}
    if not state.get("recommendation"):
        return {"pending_command": None, "messages": [AIMessage("There is nothing to deploy yet.")]}
    rec = Recommendation.model_validate(state["recommendation"])
    pick = raw.get("pick")
    rank = replies.pick_rank(rec, str(pick)) if pick else (raw.get("options") or [1])[0]
    option = replies.option_by_rank(rec, rank)
    if option is None:
        return {"pending_command": None, "messages": [AIMessage(f"There is no option {rank}.")]}
    context = runtime.context or Context()
    question = (
        f"Deploy option {rank}: {option.label}, ${option.cost.monthly_usd:,.0f}/month, "
        f"to the `{context.deploy_target}` target?"
    )
    decision = interrupt(
        {
            "type": "approval",
            "question": question,
            "rank": rank,
            "option": option.model_dump(mode="json"),
            "target": context.deploy_target,
            "options": ["approve", "reject"],
        }
    )
    messages: list[AnyMessage] = [AIMessage(question), HumanMessage(_decision_text(decision))]
    if not _approved(decision):
        if _another_request(decision):
            messages.append(AIMessage(f"Not deployed; option {rank} is not approved."))
            return {"pending_command": None, "phase": "explore", "messages": messages, "read_again": True}
        messages.append(AIMessage("Not deployed. The recommendation is still here to explore."))
        return {"pending_command": None, "phase": "explore", "messages": messages}
    thread_id = get_config().get("configurable", {}).get("thread_id")
    services = services_of(context)
    request = DeploymentRequest.from_option(
        option, rec, target=context.deploy_target, owner=context.user_id, thread_id=thread_id
    )
    try:
        record = services.deployments.deploy(request)
        probe = None
        if record.status == "running":
            probe = services.deployments.probe(record.id, owner=context.user_id, requests=4, concurrency=2)
    except CompassError as exc:
        messages.append(AIMessage(f"The deployment failed: {exc.message}. Nothing is left running."))
        return {"pending_command": None, "phase": "explore", "messages": messages}
    messages.append(AIMessage(replies.deployment_reply(record.id, record.endpoint, option, probe)))
    deployment = {"id": record.id, "endpoint": record.endpoint, "status": record.status, "rank": rank}
    return {
        "pending_command": None,
        "phase": "deploy",
        "deployments": [*(state.get("deployments") or []), deployment],
        "messages": messages,
    }
