"""Agent evals: scripted multi-turn dialogues run through the real Compass graph, scored turn by turn.

- `evals.schema`: the dialogue format (`Dialogue`, `Turn`, `Expectation`) and the YAML loader;
- `evals.runner`: `run_dialogue(dialogue, services)` plays a dialogue as a UI would and scores every turn;
- `evals.scorers`: one pure function per expectation kind, each returning a `Check`;
- `evals.report`: aggregate metrics, the markdown summary and the JSON report.
The bundled dialogues are in `evals/dialogues/`; `compass eval` runs them (see `evals/README.md`).
"""

from __future__ import annotations

from evals.report import EvalReport, Metrics, build_report, compute_metrics, markdown, write_json
from evals.runner import DialogueResult, TurnResult, run_dialogue, run_suite
from evals.schema import Dialogue, DialogueFileError, Expectation, Turn, bundled_dialogues_dir, load_dialogues
from evals.scorers import Check, score_turn

__all__ = [
    "Check",
    "Dialogue",
    "DialogueFileError",
    "DialogueResult",
    "EvalReport",
    "Expectation",
    "Metrics",
    "Turn",
    "TurnResult",
    "build_report",
    "bundled_dialogues_dir",
    "compute_metrics",
    "load_dialogues",
    "markdown",
    "run_dialogue",
    "run_suite",
    "score_turn",
    "write_json",
]
