"""Canned responses by task and an approximate, deterministic tokenizer used for prompts, outputs and `usage`.

The tokenizer splits text into words of at most six characters (a leading space belongs to the
word), single punctuation marks and runs of whitespace; joining the pieces gives the text back.
English prose comes out at roughly 3.5-4 characters per token, close to real BPE vocabularies.

Responses are plausible text for the task the prompt asks for (code, summary, question,
conversation), built from templates that mention a topic word taken from the prompt. The same
prompt and `random.Random` state always give the same answer.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

_TOKEN_RE = re.compile(r" ?\w{1,6}| ?[^\w\s]|\s+")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z\-]{3,}")

TASK_WINDOW = 1000
"""Characters at the end of the prompt that decide its task (instructions usually come last)."""
TOPIC_WINDOW = 400
"""Characters at the end of the prompt searched for a topic word."""
CHAT_MESSAGE_OVERHEAD = 4
"""Template tokens around each chat message (role header and end-of-turn markers)."""
CHAT_REPLY_OVERHEAD = 3
"""Template tokens that open the assistant's reply."""


def tokenize(text: str) -> list[str]:
    """Splits text into token strings; `"".join(tokenize(t)) == t`."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(_TOKEN_RE.findall(text))


def count_chat_tokens(contents: Iterable[str]) -> int:
    """Prompt tokens of a chat: each message's content plus its template overhead, plus the reply header."""
    return sum(count_tokens(c) + CHAT_MESSAGE_OVERHEAD for c in contents) + CHAT_REPLY_OVERHEAD


class Task(StrEnum):
    CHAT = "chat"
    CODE = "code"
    SUMMARY = "summary"
    QA = "qa"


# fmt: off
_CODE_WORDS = frozenset(
    [
        "code", "function", "python", "javascript", "typescript", "java", "rust", "golang", "go", "sql", "script",
        "implement", "implementation", "bug", "debug", "compile", "class", "method", "regex", "algorithm",
        "refactor", "program", "snippet", "api", "bash", "dockerfile", "yaml", "json", "kubernetes", "unittest",
        "test", "c++", "kotlin", "swift", "html", "css",
    ]
)
_SUMMARY_WORDS = frozenset(
    [
        "summarize", "summarise", "summary", "summarization", "tldr", "tl;dr", "condense", "recap", "abstract",
        "shorten",
    ]
)
_QUESTION_WORDS = frozenset(
    [
        "what", "who", "when", "where", "why", "how", "which", "whom", "whose", "is", "are", "does", "do", "can",
        "could", "should",
    ]
)
_STOPWORDS = frozenset(
    [
        "about", "above", "after", "again", "against", "also", "because", "been", "before", "being", "below",
        "between", "both", "could", "does", "doing", "down", "during", "each", "from", "further", "have", "having",
        "here", "itself", "just", "more", "most", "other", "over", "please", "same", "should", "some", "such",
        "than", "that", "their", "them", "then", "there", "these", "they", "this", "those", "through", "under",
        "until", "very", "what", "when", "where", "which", "while", "whom", "will", "with", "would", "your",
        "yours", "write", "tell", "explain", "give", "make", "need", "want", "like", "know", "help",
    ]
)
# fmt: on


def detect_task(prompt: str) -> Task:
    """Guesses what the prompt asks for from the words of its last `TASK_WINDOW` characters."""
    tail = prompt[-TASK_WINDOW:].lower()
    words = set(re.findall(r"[a-z+;#]+", tail))
    if "```" in tail or "def " in tail or words & _CODE_WORDS:
        return Task.CODE
    if words & _SUMMARY_WORDS or "key points" in tail:
        return Task.SUMMARY
    stripped = tail.strip()
    first = stripped.split(maxsplit=1)[0] if stripped else ""
    if stripped.endswith("?") or first in _QUESTION_WORDS:
        return Task.QA
    return Task.CHAT


def topic_of(prompt: str) -> str:
    """The longest uncommon word of the prompt's last line (its last `TOPIC_WINDOW` characters), used to make
    answers sound on-topic."""
    tail = prompt[-TOPIC_WINDOW:]
    lines = [ln for ln in tail.strip().splitlines() if ln.strip()]
    candidates = [w for w in _WORD_RE.findall(lines[-1] if lines else "") if w.lower() not in _STOPWORDS]
    if not candidates:
        candidates = [w for w in _WORD_RE.findall(tail) if w.lower() not in _STOPWORDS]
    if not candidates:
        return "this"
    longest: str = max(candidates, key=len)
    return longest.lower()


_OPENERS: dict[Task, tuple[str, ...]] = {
    Task.CHAT: (
        "Sure! Happy to help with {t}.",
        "Great question about {t}.",
        "Thanks for asking about {t}.",
        "That's an interesting point about {t}.",
    ),
    Task.CODE: (
        "Here is a straightforward implementation for {t}:",
        "Below is one way to write the {t} code:",
        "You can solve {t} with a small, well-tested function:",
    ),
    Task.SUMMARY: (
        "Summary of the {t} text:",
        "In short, the passage on {t} makes these points:",
        "Here are the key points about {t}:",
    ),
    Task.QA: (
        "The short answer about {t}: it depends on the context, but usually yes.",
        "Regarding {t}, the answer has a few parts.",
        "Good question. When it comes to {t}, here is what matters.",
    ),
}

_BODY: dict[Task, tuple[str, ...]] = {
    Task.CHAT: (
        " The main thing to keep in mind is that {t} works best when you start small and iterate.",
        " Many people find it useful to write down their goals for {t} before choosing an approach.",
        " If you share a bit more about your situation, I can tailor the suggestions.",
        " One common pitfall is trying to change everything at once; pick one area and measure the result.",
        " It also helps to look at what others have done with {t} and adapt the parts that fit.",
        " Consistency matters more than intensity, so plan something you can sustain.",
        " Keep a short log of what you tried and how it went; patterns show up quickly.",
        " Don't hesitate to ask for feedback early, since small corrections are cheap.",
        " In my experience, the simplest option is often the most reliable one.",
        " Let me know which of these ideas sounds most useful and we can go deeper.",
    ),
    Task.CODE: (
        "\n\n```python\ndef process_{t}(items: list[str]) -> dict[str, int]:\n"
        '    """Count how often each item occurs."""\n    counts: dict[str, int] = {{}}\n'
        "    for item in items:\n        counts[item] = counts.get(item, 0) + 1\n    return counts\n```\n",
        "\n\n```python\ndef validate_{t}(value: str) -> bool:\n    if not value:\n        return False\n"
        "    return value.strip() == value and len(value) < 256\n```\n",
        "\n\n```python\nclass {T}Cache:\n    def __init__(self, size: int = 128) -> None:\n"
        "        self.size = size\n        self.data: dict[str, object] = {{}}\n\n"
        "    def get(self, key: str) -> object | None:\n        return self.data.get(key)\n```\n",
        "\nThe function runs in linear time and uses constant extra memory per distinct item.",
        "\nEdge cases such as empty input and duplicate keys are handled explicitly.",
        "\nYou can add type checks or logging depending on how the {t} code is used.",
        "\nTo test it, call the function with a few representative inputs and compare the output.",
        "\nIf performance matters, profile first; the bottleneck is rarely where you expect.",
    ),
    Task.SUMMARY: (
        "\n- The text introduces {t} and explains why it matters.",
        "\n- It compares two approaches and notes the trade-offs between cost and speed.",
        "\n- The author argues that careful measurement beats intuition.",
        "\n- Several examples show how {t} plays out in practice.",
        "\n- Risks are acknowledged, along with ways to reduce them.",
        "\n- The conclusion recommends starting with a small pilot.",
        "\n- Open questions remain about long-term effects.",
    ),
    Task.QA: (
        " First, {t} depends on a few underlying factors that interact.",
        " Second, the typical range is well documented, although edge cases exist.",
        " In practice, most people see the expected outcome within a short time.",
        " The main exception is when the inputs change faster than the system adapts.",
        " Historically, the understanding of {t} has improved as better data became available.",
        " If you need a precise figure, consult a primary source for your specific case.",
    ),
}

_NATURAL_LENGTH: dict[Task, tuple[int, int]] = {
    Task.CHAT: (120, 320),
    Task.CODE: (160, 480),
    Task.SUMMARY: (60, 180),
    Task.QA: (40, 160),
}


@dataclass(frozen=True)
class Answer:
    """A generated answer: its task, the length a model would stop at, and its token strings."""

    task: Task
    natural_tokens: int
    tokens: list[str]


def compose(prompt: str, rng: random.Random, *, length: int | None = None, cap: int | None = None) -> Answer:
    """An answer to `prompt`: `length` tokens if given, else its natural length (drawn from the task's range)
    cut to `cap`. Shorter answers to the same prompt and RNG state are prefixes of longer ones."""
    task = detect_task(prompt)
    topic = topic_of(prompt)
    lo, hi = _NATURAL_LENGTH[task]
    natural = rng.randint(lo, hi)
    target = length if length is not None else natural if cap is None else min(natural, cap)
    if target < 1:
        raise ValueError("an answer needs at least one token")
    if task is Task.CODE:
        topic = topic.replace("-", "_")
    fill = {"t": topic, "T": topic.capitalize()}
    parts = [rng.choice(_OPENERS[task]).format(**fill)]
    body = _BODY[task]
    order = list(range(len(body)))
    approx = count_tokens(parts[0])
    while True:
        while approx < target + 8:
            rng.shuffle(order)
            for i in order:
                part = body[i].format(**fill)
                parts.append(part)
                approx += count_tokens(part)
        tokens = tokenize("".join(parts))
        if len(tokens) >= target:
            break
        approx = len(tokens)
    tokens = tokens[:target]
    return Answer(task=task, natural_tokens=natural, tokens=tokens)


@dataclass(frozen=True)
class StopResult:
    """Where a stop string cut the answer: how many tokens were generated and the text each one shows."""

    token_count: int
    pieces: list[str]
    stop: str | None


def apply_stop(tokens: Sequence[str], stops: Sequence[str]) -> StopResult:
    """Cuts generation at the first stop string, as vLLM does: generation ends on the token that completes
    the stop string, and the stop string itself is not shown."""
    text = "".join(tokens)
    best: tuple[int, str] | None = None
    for stop in stops:
        if not stop:
            continue
        idx = text.find(stop)
        if idx >= 0 and (best is None or idx < best[0]):
            best = (idx, stop)
    if best is None:
        return StopResult(len(tokens), list(tokens), None)
    idx, stop = best
    end = idx + len(stop)
    pieces: list[str] = []
    pos = 0
    for tok in tokens:
        nxt = pos + len(tok)
        pieces.append(text[pos : min(nxt, idx)] if pos < idx else "")
        pos = nxt
        if pos >= end:
            break
    return StopResult(len(pieces), pieces, stop)
