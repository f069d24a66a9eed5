"""The scripted-dialogue format: a `Dialogue` is a list of user `Turn`s, each with an `Expectation` of the agent.

Dialogues live in YAML files (see `evals/README.md`); `load_dialogue` validates one file and reports any mistake as
`<file>: <path>: <problem>` (e.g. `chat.yaml: turns[2].expect.asks_for: unknown key`), never a bare traceback.
Every expectation key is optional: a key that is absent is not checked, while `asks: null` checks that no question is
pending. Unknown keys are errors, so a typo cannot silently disable a check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic_core import ErrorDetails

from kb.errors import ValidationFailedError

SLOField = Literal["ttft_p95_ms", "itl_p95_ms", "e2e_p95_ms"]
ProbeMetric = Literal["ttft", "itl"]
PositivePct = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionExpectation(_Strict):
    """What a plan option (the top one, or every one) must look like."""

    meets_all_slos: bool | None = Field(default=None, description="Predicted p95 TTFT, ITL and E2E all within target")
    max_monthly_usd: float | None = Field(default=None, gt=0, description="Monthly cost at most this")
    gpu_in: list[str] | None = Field(default=None, min_length=1, description="GPU type is one of these")
    gpu_not_in: list[str] | None = Field(default=None, min_length=1, description="GPU type is none of these")
    model_contains: str | None = Field(default=None, min_length=1, description="Model name or repo contains this")
    data_source: Literal["benchmarked", "estimated"] | None = None
    within_budget: bool | None = Field(default=None, description="The planner's own budget verdict")


class Expectation(_Strict):
    """Checks on the agent after one turn; see `evals/README.md` for each key."""

    asks: str | None = Field(default=None, description="Slot of the pending question; null: no question pending")
    approval_pending: bool | None = None
    intent: dict[str, Any] | None = Field(default=None, description="Extracted intent fields (null: not set)")
    use_case: str | None = Field(default=None, description="Use case the recommendation was planned for")
    slo: dict[SLOField, float] | None = Field(default=None, description="p95 targets the recommendation used")
    priority: Literal["latency", "cost", "quality", "balanced"] | None = Field(
        default=None, description="Priority the recommendation was ranked with"
    )
    top: OptionExpectation | None = None
    all_options: OptionExpectation | None = None
    option_count: int | None = Field(default=None, ge=0)
    no_options: bool | None = Field(default=None, description="A recommendation exists and has no viable option")
    near_miss: bool | None = Field(default=None, description="The recommendation names at least one near miss")
    reply_contains: list[str] = Field(default_factory=list)
    reply_not_contains: list[str] = Field(default_factory=list)
    deployed: bool | None = Field(default=None, description="This turn started a deployment that is running")
    probe_within_pct: PositivePct | dict[ProbeMetric, PositivePct] | None = Field(
        default=None, description="Measured p95 TTFT and ITL within this % of the prediction (or per metric)"
    )

    @field_validator("intent")
    @classmethod
    def _known_intent_fields(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        from agent.intent.schema import DeploymentIntent

        if value is not None:
            unknown = sorted(set(value) - set(DeploymentIntent.model_fields))
            if unknown:
                raise ValueError(f"not an intent field: {unknown[0]!r}")
        return value

    def given(self) -> set[str]:
        """Keys the dialogue states (so `asks: null` is told apart from no `asks` at all)."""
        return set(self.model_fields_set)


class XFail(_Strict):
    """A known agent bug: the named checks (all of the turn's, when none are named) are reported, not counted."""

    reason: str = Field(min_length=1)
    checks: list[str] = Field(default_factory=list)

    @field_validator("checks")
    @classmethod
    def _known_checks(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in Expectation.model_fields]
        if unknown:
            raise ValueError(f"not an expectation key: {unknown[0]!r}")
        return value

    def covers(self, check: str) -> bool:
        return not self.checks or check in self.checks


class Turn(_Strict):
    """One thing the user says, and what the agent should have done afterwards."""

    user: str = Field(min_length=1)
    expect: Expectation = Field(default_factory=Expectation)
    xfail: XFail | None = Field(default=None, description="Known agent bug (a reason, or {reason, checks})")

    @field_validator("xfail", mode="before")
    @classmethod
    def _reason_only(cls, value: Any) -> Any:
        return {"reason": value} if isinstance(value, str) else value

    @field_validator("user", mode="before")
    @classmethod
    def _not_a_yaml_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError('YAML read this as true/false: quote the text, e.g. user: "no"')
        return value


class Dialogue(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)
    description: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    turns: list[Turn] = Field(min_length=1)
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str:
        """The file it was loaded from, or `<memory>`."""
        return self._source or "<memory>"

    @property
    def deploys(self) -> bool:
        """Whether any turn expects a deployment (those dialogues start simulator processes)."""
        return any(t.expect.deployed for t in self.turns)


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _problem(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key missing"
    return str(error["msg"])


class DialogueFileError(ValidationFailedError):
    """A dialogue file that cannot be read, parsed or validated; the message names the file and the path."""


def parse_dialogue(data: Any, source: str) -> Dialogue:
    """A dialogue from already-parsed YAML/JSON data; errors name `source` and the path inside it."""
    if not isinstance(data, dict):
        raise DialogueFileError(f"{source}: expected a mapping with name, description, tags and turns")
    try:
        dialogue = Dialogue.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_location(e['loc'])}: {_problem(e)}" for e in exc.errors()]
        raise DialogueFileError(f"{source}: " + "; ".join(problems)) from None
    dialogue._source = source
    return dialogue


def load_dialogue(path: Path) -> Dialogue:
    """Read and validate one YAML dialogue file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DialogueFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise DialogueFileError(f"{path}: not valid YAML: {exc}") from None
    return parse_dialogue(data, str(path))


def load_dialogues(folder: Path, *, only: list[str] | None = None) -> list[Dialogue]:
    """Every `*.yaml` dialogue under `folder`, sorted by name; `only` keeps the named ones (unknown names fail)."""
    if not folder.is_dir():
        raise DialogueFileError(f"{folder}: no such folder of dialogues")
    dialogues = [load_dialogue(p) for p in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])]
    seen: dict[str, str] = {}
    for d in dialogues:
        if d.name in seen:
            raise DialogueFileError(f"{d.source}: name {d.name!r} is already used by {seen[d.name]}")
        seen[d.name] = d.source
    if only:
        missing = [n for n in only if n not in seen]
        if missing:
            raise DialogueFileError(f"{folder}: no dialogue named {', '.join(map(repr, missing))}")
        dialogues = [d for d in dialogues if d.name in only]
    return sorted(dialogues, key=lambda d: d.name)


def bundled_dialogues_dir() -> Path:
    """The dialogues shipped inside the `evals` package."""
    from importlib.resources import files

    try:
        return Path(str(files("evals") / "dialogues"))
    except (NotADirectoryError, TypeError):  # `evals` seen as a namespace package (a stale editable install)
        return Path(__file__).resolve().parent / "dialogues"
