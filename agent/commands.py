"""The offline command interpreter: maps what the user says during exploration to the same tools an LLM would call."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

CommandName = Literal[
    "start_over", "deploy", "compare_options", "what_if_traffic", "show_yaml", "why", "help", "approve", "reject"
]


class Command(BaseModel):
    name: CommandName
    options: list[int] = []
    factor: float | None = None


_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "first": 1, "second": 2, "third": 3,
                 "fourth": 4, "fifth": 5, "top": 1}  # fmt: skip
_FACTORS = {"double": 2.0, "doubles": 2.0, "doubled": 2.0, "twice": 2.0, "triple": 3.0, "triples": 3.0,
            "tripled": 3.0, "halve": 0.5, "halves": 0.5, "halved": 0.5}  # fmt: skip


def _option_numbers(text: str) -> list[int]:
    numbers = [int(n) for n in re.findall(r"(?:option|#|number|no\.?)\s*(\d{1,2})\b", text)]
    numbers += [int(n) for n in re.findall(r"\b(\d{1,2})\b(?!\s*(?:%|x|ms|s\b|gpu|users|qps|rps|k\b|tokens))", text)
                if not numbers]  # fmt: skip
    for word, value in _NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b(?:\s+(?:one|option))?", text) and re.search(r"option|one\b|deploy|compare", text):
            numbers.append(value)
    seen: list[int] = []
    for n in numbers:
        if n not in seen and 1 <= n <= 50:
            seen.append(n)
    return seen


def interpret(text: str) -> Command | None:
    """A command in `text`, or None when it is (only) a change to the specification."""
    lowered = " ".join(text.lower().split())
    if re.search(r"\b(start over|start again|reset|from scratch|new conversation)\b", lowered):
        return Command(name="start_over")
    if re.fullmatch(r"(yes|y|approve|approved|go ahead|do it|confirm|ok(ay)?)[.! ]*", lowered):
        return Command(name="approve")
    if re.fullmatch(r"(no|n|reject|cancel|don'?t|stop|abort)[.! ]*", lowered):
        return Command(name="reject")
    if re.search(r"\b(deploy|launch|ship|roll out)\b", lowered):
        return Command(name="deploy", options=_option_numbers(lowered)[:1] or [1])
    if re.search(r"\b(yaml|manifests?|kubernetes config)\b", lowered):
        return Command(name="show_yaml", options=_option_numbers(lowered)[:1] or [1])
    if re.search(r"\bcompare\b|\bvs\.?\b|\bversus\b|side by side", lowered) and len(_option_numbers(lowered)) >= 2:
        return Command(name="compare_options", options=_option_numbers(lowered))
    traffic = re.search(r"what if .*?(traffic|load|users|requests|qps)\b.*?\b(\w+)\b", lowered)
    if traffic or re.search(r"\b(traffic|load|users)\s+(doubles|triples|halves|x\s?\d)", lowered):
        factor = None
        for word, value in _FACTORS.items():
            if re.search(rf"\b{word}\b", lowered):
                factor = value
        times = re.search(r"\b(?:x\s?|times\s)(\d+(?:\.\d+)?)\b|\b(\d+(?:\.\d+)?)\s?(?:x|times)\b", lowered)
        if times:
            factor = float(times.group(1) or times.group(2))
        if factor:
            return Command(name="what_if_traffic", factor=factor)
    if re.search(r"\bwhy\b|\bexplain\b|\breason", lowered):
        return Command(name="why", options=_option_numbers(lowered)[:1] or [1])
    if re.fullmatch(r"(help|\?|what can you do\??)", lowered):
        return Command(name="help")
    return None
