"""Canned answers and the approximate tokenizer."""

from __future__ import annotations

import random

import pytest

from simulator.text import Task, apply_stop, compose, count_chat_tokens, count_tokens, detect_task, tokenize


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello, world!",
        "  two  spaces\n\nand lines\t",
        "tokenization-test 12345678 ünïcödé 🙂",
        "def f(x):\n    return x",
    ],
)
def test_tokenize_is_lossless_and_counts_agree(text: str) -> None:
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert count_tokens(text) == len(tokens)


def test_prose_is_about_four_characters_per_token() -> None:
    text = "The quick brown fox jumps over the lazy dog while the cat watches from the windowsill. " * 20
    assert 3.0 < len(text) / count_tokens(text) < 5.0


def test_chat_prompt_tokens_include_template_overhead() -> None:
    assert count_chat_tokens(["Hello there"]) == 2 + 4 + 3
    assert count_chat_tokens(["a", "b"]) == (1 + 4) * 2 + 3


@pytest.mark.parametrize(
    ("prompt", "task"),
    [
        ("Write a Python function that merges two sorted lists", Task.CODE),
        ("Please summarize the following article:\n...", Task.SUMMARY),
        ("What is the boiling point of water at altitude?", Task.QA),
        ("I had a long day and want to unwind", Task.CHAT),
    ],
)
def test_detect_task(prompt: str, task: Task) -> None:
    assert detect_task(prompt) is task
    answer = compose(prompt, random.Random(0), length=50)
    assert answer.task is task
    assert len(answer.tokens) == 50


def test_compose_is_deterministic_and_prefix_stable() -> None:
    a = compose("Explain photosynthesis to a child", random.Random("s"), length=300)
    b = compose("Explain photosynthesis to a child", random.Random("s"), length=300)
    short = compose("Explain photosynthesis to a child", random.Random("s"), length=40)
    assert a == b
    assert a.tokens[:40] == short.tokens
    assert "photosynthesis" in "".join(a.tokens).lower()
    natural = compose("Explain photosynthesis to a child", random.Random("s"))
    assert len(natural.tokens) == natural.natural_tokens
    capped = compose("Explain photosynthesis to a child", random.Random("s"), cap=10)
    assert len(capped.tokens) == 10


def test_apply_stop_cuts_before_the_stop_string() -> None:
    tokens = tokenize("Hello world. Foo bar baz.")
    cut = apply_stop(tokens, ["bar", "world"])
    assert cut.stop == "world"
    assert "".join(cut.pieces) == "Hello "
    assert cut.token_count == 2  # "Hello", " world" (the token completing the stop string counts)
    none = apply_stop(tokens, ["zzz", ""])
    assert none.stop is None and none.pieces == tokens
    mid = apply_stop(tokens, ["o b"])  # spans a token boundary
    assert "".join(mid.pieces) == "Hello world. Fo"
