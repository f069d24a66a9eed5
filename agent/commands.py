"""The offline command interpreter: maps what the user says during exploration to the same tools an LLM would call."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

CommandName = Literal[
    "start_over", "deploy", "compare_options", "what_if_traffic", "show_yaml", "why", "help", "approve", "reject"
]


Pick = Literal["cheapest", "fastest", "best"]


class Command(BaseModel):
    name: CommandName
    options: list[int] = []
    factor: float | None = None
    pick: Pick | None = Field(default=None, description="Choose the option by a criterion instead of its number")


_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "first": 1, "second": 2, "third": 3,
                 "fourth": 4, "fifth": 5}  # fmt: skip
_FACTORS = {"double": 2.0, "doubles": 2.0, "doubled": 2.0, "twice": 2.0, "triple": 3.0, "triples": 3.0,
            "tripled": 3.0, "halve": 0.5, "halves": 0.5, "halved": 0.5}  # fmt: skip
_POLITE = (
    r"(?:[\s,.!]+(?:please|thanks|thank you|sure|go ahead|do it|go for it|for now|then|now|not now|"
    r"not yet|don'?t))*[\s,.!]*"
)
_APPROVE = re.compile(
    r"(?:yes|yep|yeah|yup|sure|ok|okay|approve[d]?|go ahead|go for it|do it|confirm(?:ed)?|sounds good|please do|"
    r"let'?s do it|ship it|lgtm)" + _POLITE
)
_REJECT = re.compile(r"(?:no|nope|nah|reject|cancel|don'?t|do not|stop|abort|not now|never ?mind)" + _POLITE)


def _picks(text: str) -> Pick | None:
    if re.search(r"\b(cheapest|least expensive|lowest cost|most affordable)\b", text):
        return "cheapest"
    if re.search(r"\b(fastest|quickest|lowest latency)\b", text):
        return "fastest"
    if re.search(r"\b(best|top|recommended|first) (one|option|choice)\b", text):
        return "best"
    return None


def _traffic_factor(text: str) -> float | None:
    """ "doubles", "twice as many users", "10x the users", "grows 50%" -> the multiplier."""
    for word, value in _FACTORS.items():
        if re.search(rf"\b{word}\b", text):
            return value
    if re.search(r"\btwice as (many|much)\b", text):
        return 2.0
    if re.search(r"\b(three|3) times as (many|much)\b", text):
        return 3.0
    if times := re.search(r"\b(\d+(?:\.\d+)?)\s?(?:x|times)\b|\bx\s?(\d+(?:\.\d+)?)\b", text):
        return float(times.group(1) or times.group(2))
    if grows := re.search(r"\b(?:grows?|increases?|goes up|rises?|up)\s+(?:by\s+)?(\d+(?:\.\d+)?)\s?%", text):
        return 1.0 + float(grows.group(1)) / 100.0
    if drops := re.search(r"\b(?:drops?|decreases?|goes down|falls?|down)\s+(?:by\s+)?(\d+(?:\.\d+)?)\s?%", text):
        return max(0.01, 1.0 - float(drops.group(1)) / 100.0)
    return None


_LISTED_OPTIONS = re.compile(
    r"(?:options?|#|numbers?|no\.?)\s*-?\d{1,3}\b(?:\s*(?:,|and|&|or|vs\.?|versus|with|to)\s*(?:options?\s*|#)?\d{1,3}\b"
    r"(?!\s*(?:%|x\b|ms|s\b|gpus?|users|qps|rps|k\b|tokens)))*"
)


def _option_numbers(text: str) -> list[int]:
    numbers = [
        int(n)
        for listed in _LISTED_OPTIONS.finditer(text)  # "option 2 and 4", "#1, #3 or 5"
        for n in re.findall(r"-?\d{1,3}", listed.group(0))
    ]
    numbers += [int(n) for n in re.findall(r"\b(\d{1,3})\b(?!\s*(?:%|x|ms|s\b|gpu|users|qps|rps|k\b|tokens))", text)
                if not numbers]  # fmt: skip
    for word, value in _NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b(?:\s+(?:one|option))?", text) and re.search(r"option|one\b|deploy|compare", text):
            numbers.append(value)
    seen: list[int] = []
    for n in numbers:
        if n not in seen and -999 <= n <= 999:
            seen.append(n)  # out of range ("option 0", "option 99") is reported by the tool, never read as 1
    return seen


def interpret(text: str) -> Command | None:
    """A command in `text`, or None when it is (only) a change to the specification."""
    lowered = " ".join(text.lower().split())
    if re.search(r"\b(start over|start again|reset|from scratch|new conversation)\b", lowered):
        return Command(name="start_over")
    if _APPROVE.fullmatch(lowered) or lowered in ("y", "yes."):
        return Command(name="approve")
    if _REJECT.fullmatch(lowered) or lowered == "n":
        return Command(name="reject")
    choosing = re.search(r"\b(?:go|going)\s+with\b|\b(?:pick|choose|select|take)\b", lowered)
    if re.search(r"\b(deploy|launch|ship|roll out)\b", lowered) or (choosing and _option_numbers(lowered)):
        pick = _picks(lowered)
        explicit = re.search(r"(?:option|#|number)\s*-?\d{1,3}\b|\b\d{1,3}\b", lowered)
        if pick is not None and not explicit:
            return Command(name="deploy", pick=pick)
        return Command(name="deploy", options=_option_numbers(lowered)[:1] or [1])
    if re.search(r"\b(yaml|manifests?|kubernetes config)\b", lowered):
        return Command(name="show_yaml", options=_option_numbers(lowered)[:1] or [1])
    comparing = re.search(r"\bcompare\b|\bvs\.?\b|\bversus\b|side by side|difference between|differ", lowered)
    if comparing:
        numbers = _option_numbers(lowered)
        top = re.search(r"\btop (two|three|2|3)\b", lowered)
        if top:
            numbers = list(range(1, {"two": 2, "2": 2, "three": 3, "3": 3}[top.group(1)] + 1))
        if len(numbers) >= 2:
            return Command(name="compare_options", options=numbers)
    traffic = re.search(r"\b(traffic|load|users|requests|qps|rps|demand|usage)\b", lowered)
    hypothetical = r"\bwhat if\b|\bif\b|\bsuppose\b|\bimagine\b|\bdoubles?\b|^(?:double|halve|triple)\b"
    if traffic and re.search(hypothetical, lowered):
        factor = _traffic_factor(lowered)
        if factor:
            return Command(name="what_if_traffic", factor=factor)
    if re.search(r"\b(tell me more|more about|details? (on|of|about))\b", lowered) and _option_numbers(lowered):
        return Command(name="why", options=_option_numbers(lowered)[:1])
    asking = lowered.endswith("?") or re.match(r"(what'?s?|how|which|tell me|show me|is|does|can)\b", lowered)
    if asking and re.search(r"(?:option|#)\s*-?\d{1,3}\b", lowered):
        return Command(name="why", options=_option_numbers(lowered)[:1])  # "what does option 2 cost?"
    if re.search(r"\bwhy\b|\bexplain\b|\breason", lowered):
        return Command(name="why", options=_option_numbers(lowered)[:1] or [1])
    if re.fullmatch(r"(help|\?|what can you do\??)", lowered):
        return Command(name="help")
    return None
