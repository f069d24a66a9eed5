"""The offline command interpreter: everyday exploration phrasings map to one tool call each."""

from __future__ import annotations

import pytest

from agent.commands import Command, interpret

CASES: list[tuple[str, Command | None]] = [
    ("compare 1 and 3", Command(name="compare_options", options=[1, 3])),
    ("compare option 2 and 4", Command(name="compare_options", options=[2, 4])),
    ("compare options 2 and 4", Command(name="compare_options", options=[2, 4])),
    ("compare #1, #3 or 5", Command(name="compare_options", options=[1, 3, 5])),
    ("what's the difference between option 2 and option 4?", Command(name="compare_options", options=[2, 4])),
    ("compare the top two", Command(name="compare_options", options=[1, 2])),
    ("deploy option 2", Command(name="deploy", options=[2])),
    ("deploy option 2 with 4 gpus", Command(name="deploy", options=[2])),
    ("deploy option 99", Command(name="deploy", options=[99])),
    ("deploy option 0", Command(name="deploy", options=[0])),
    ("deploy option -1", Command(name="deploy", options=[-1])),
    ("deploy the cheapest one", Command(name="deploy", pick="cheapest")),
    ("launch the fastest option", Command(name="deploy", pick="fastest")),
    ("show the YAML for option 3", Command(name="show_yaml", options=[3])),
    ("why this one?", Command(name="why", options=[1])),
    ("tell me more about option 3", Command(name="why", options=[3])),
    ("what is the cost of option 1?", Command(name="why", options=[1])),
    ("how much does option 3 cost", Command(name="why", options=[3])),
    ("what if traffic doubles?", Command(name="what_if_traffic", factor=2.0)),
    ("what if we had 10x the users", Command(name="what_if_traffic", factor=10.0)),
    ("what if traffic grows 50%", Command(name="what_if_traffic", factor=1.5)),
    ("halve the traffic", Command(name="what_if_traffic", factor=0.5)),
    ("double the users", Command(name="what_if_traffic", factor=2.0)),
    ("go with option 2", Command(name="deploy", options=[2])),
    ("let's pick #3", Command(name="deploy", options=[3])),
    ("whats the monthly cost of #2", Command(name="why", options=[2])),
    ("start over", Command(name="start_over")),
    ("yes please", Command(name="approve")),
    ("no, not now", Command(name="reject")),
    ("TTFT 300 ms is fine", None),
    ("only L4s", None),
    ("we need 5000 users", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_phrasings(text: str, expected: Command | None) -> None:
    assert interpret(text) == expected
