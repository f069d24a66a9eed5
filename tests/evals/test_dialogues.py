"""The bundled dialogues parse and cover the suite's promises; bad dialogue files fail with the file and path."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from evals.schema import (
    Dialogue,
    DialogueFileError,
    Expectation,
    bundled_dialogues_dir,
    load_dialogue,
    load_dialogues,
    parse_dialogue,
)

USE_CASES = {
    "chatbot_conversational",
    "code_completion",
    "code_generation_detailed",
    "translation",
    "content_generation",
    "summarization_short",
    "document_analysis_rag",
    "long_document_summarization",
    "research_legal_analysis",
}


@pytest.fixture(scope="module")
def bundled() -> list[Dialogue]:
    return load_dialogues(bundled_dialogues_dir())


def test_every_bundled_dialogue_parses(bundled: list[Dialogue]) -> None:
    files = sorted(bundled_dialogues_dir().glob("*.yaml"))
    assert len(bundled) == len(files) >= 28
    for dialogue in bundled:
        assert Path(dialogue.source).stem == dialogue.name, "file name and dialogue name agree"


def test_the_suite_covers_every_use_case_and_behaviour(bundled: list[Dialogue]) -> None:
    tags = Counter(tag for d in bundled for tag in d.tags)
    assert set(tags) >= USE_CASES, f"missing use cases: {USE_CASES - set(tags)}"
    behaviours = "vague precise clarify edit correction what_if compare impossible_slo dont_know hostile"
    missing = [b for b in f"{behaviours} deploy approval probe".split() if not tags[b]]
    assert missing == [], f"no dialogue tagged {missing}"
    deploying = [d.name for d in bundled if d.deploys]
    assert 1 <= len(deploying) <= 3, "deployments start simulator processes: keep them few"


def test_every_planned_use_case_is_tagged(bundled: list[Dialogue]) -> None:
    for dialogue in bundled:
        planned = {t.expect.use_case for t in dialogue.turns if t.expect.use_case}
        assert planned <= set(dialogue.tags), f"{dialogue.name}: tag the use cases it plans for"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_dialogue_without_turns_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: bad\ndescription: no turns\n")
    with pytest.raises(DialogueFileError) as err:
        load_dialogue(path)
    assert str(path) in err.value.message and "turns: required key missing" in err.value.message


def test_an_unknown_expectation_key_names_its_path(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: bad\ndescription: typo\nturns:\n  - user: hi\n  - user: chatbot\n    expect: {asks_for: scale}\n",
    )
    with pytest.raises(DialogueFileError) as err:
        load_dialogue(path)
    assert err.value.message == f"{path}: turns[1].expect.asks_for: unknown key"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: bad\ndescription: d\nturns:\n  - user: no\n", "turns[0].user: Value error, YAML read this as true"),
        ("name: bad\ndescription: d\nturns:\n  - user: hi\n    expect: {intent: {userz: 5}}\n", "not an intent field"),
        ("name: Bad Name\ndescription: d\nturns:\n  - user: hi\n", "name: String should match pattern"),
        ("name: bad\ndescription: d\nturns: []\n", "turns: List should have at least 1 item"),
        ("- just\n- a list\n", "expected a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
        (
            "name: bad\ndescription: d\nturns:\n  - user: hi\n    xfail: {reason: r, checks: [nope]}\n",
            "turns[0].xfail.checks: Value error, not an expectation key: 'nope'",
        ),
    ],
)
def test_other_mistakes_are_reported_with_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DialogueFileError) as err:
        load_dialogue(path)
    assert err.value.message.startswith(f"{path}: ") and problem in err.value.message


def test_folder_loading_rejects_duplicates_and_unknown_names(tmp_path: Path) -> None:
    for stem in ("a", "b"):
        (tmp_path / f"{stem}.yaml").write_text("name: same\ndescription: d\nturns:\n  - user: hi\n")
    with pytest.raises(DialogueFileError, match="already used"):
        load_dialogues(tmp_path)
    (tmp_path / "b.yaml").write_text("name: other\ndescription: d\nturns:\n  - user: hi\n")
    assert [d.name for d in load_dialogues(tmp_path, only=["other"])] == ["other"]
    with pytest.raises(DialogueFileError, match="no dialogue named 'missing'"):
        load_dialogues(tmp_path, only=["missing"])


def test_asks_null_is_a_check_but_an_absent_key_is_not() -> None:
    dialogue = parse_dialogue(
        {"name": "n", "description": "d", "turns": [{"user": "hi", "expect": {"asks": None}}, {"user": "x"}]}, "mem"
    )
    assert dialogue.turns[0].expect.given() == {"asks"} and dialogue.turns[1].expect.given() == set()


def test_xfail_accepts_a_reason_or_a_reason_with_checks() -> None:
    plain = parse_dialogue({"name": "n", "description": "d", "turns": [{"user": "u", "xfail": "bug"}]}, "mem")
    xfail = plain.turns[0].xfail
    assert xfail is not None and xfail.reason == "bug" and xfail.covers("intent")
    scoped = parse_dialogue(
        {"name": "n", "description": "d", "turns": [{"user": "u", "xfail": {"reason": "r", "checks": ["top"]}}]},
        "mem",
    )
    xfail = scoped.turns[0].xfail
    assert xfail is not None and xfail.covers("top") and not xfail.covers("intent")


def test_every_expectation_key_is_documented() -> None:
    readme = (bundled_dialogues_dir().parent / "README.md").read_text(encoding="utf-8")
    for key in Expectation.model_fields:
        assert f"`{key}`" in readme, key
