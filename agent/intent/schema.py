"""What the user has told the agent so far (`DeploymentIntent`), how a new turn edits it, and how it becomes a spec.

Every field is optional: an absent value means "not said yet", never a default. `merge` folds one turn into the
running intent (newer values win, lists accumulate unless the user replaced them, exclusions remove inclusions) and
`to_spec_values` turns the result into keyword arguments for `tools.specs.DeploymentSpec`.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.domain import PricingModel, Quantization
from kb.errors import NotFoundError
from kb.repositories.catalog import CatalogSnapshot
from tools.specs import QPS, DeploymentModel, Millis, Priority, Tokens, Users

Budget = Annotated[float, Field(gt=0, le=1e9, description="Monthly budget, USD")]
PowerCost = Annotated[float, Field(ge=0, le=10, description="Electricity price, USD per kWh")]
GPUCount = Annotated[int, Field(ge=1, le=4096)]


class DeploymentIntent(BaseModel):
    """Everything the user has stated about the deployment; `None` / empty means "not stated"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    use_case: str | None = Field(default=None, description="Canonical SLO template id, e.g. chatbot_conversational")
    use_case_description: str | None = Field(default=None, max_length=500, description="The use case in words")
    users: Users | None = None
    concurrent_users: Users | None = Field(default=None, description="Users active at the same moment")
    qps: QPS | None = None
    prompt_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    ttft_p95_ms: Millis | None = None
    itl_p95_ms: Millis | None = None
    e2e_p95_ms: Millis | None = None
    budget_usd_month: Budget | None = None
    priority: Priority | None = None
    gpus: list[str] = Field(default_factory=list, description="Only these GPU types (canonical names)")
    exclude_gpus: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list, description="Only these models (Hugging Face repo ids)")
    exclude_models: list[str] = Field(default_factory=list)
    quantization: list[Quantization] = Field(default_factory=list, description="Allowed weight formats")
    pricing_model: PricingModel | None = None
    deployment_model: DeploymentModel | None = None
    max_gpus: GPUCount | None = Field(default=None, description="GPUs available (owned) or the most allowed")
    power_cost_per_kwh: PowerCost | None = None
    unknown_fields: list[str] = Field(default_factory=list, description="Slots the user said they don't know")

    @field_validator("unknown_fields", "quantization", "gpus", "exclude_gpus", "models", "exclude_models")
    @classmethod
    def _unique(cls, values: list[Any]) -> list[Any]:
        return _union([], values)

    @field_validator("unknown_fields")
    @classmethod
    def _known_slots(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in SLOT_FIELDS]
        if unknown:
            raise ValueError(f"not an intent field: {unknown[0]!r}")
        return values

    def knows_load(self) -> bool:
        """Users, concurrent users or requests/second: any one sizes the deployment."""
        return any(getattr(self, name) is not None for name in LOAD_FIELDS)

    def filled_fields(self) -> list[str]:
        """Names of the slots that hold a value (unknown_fields not counted)."""
        return [name for name in SLOT_FIELDS if _has_value(getattr(self, name))]

    def is_empty(self) -> bool:
        return not self.filled_fields() and not self.unknown_fields


LIST_FIELDS: Final = ("gpus", "exclude_gpus", "models", "exclude_models", "quantization")
LOAD_FIELDS: Final = ("users", "concurrent_users", "qps")  # alternatives: the spec takes one
SCALAR_FIELDS: Final = tuple(
    name for name in DeploymentIntent.model_fields if name not in LIST_FIELDS and name != "unknown_fields"
)
SLOT_FIELDS: Final = (*SCALAR_FIELDS, *LIST_FIELDS)


class IntentUpdate(BaseModel):
    """One turn's edit of the running intent.

    `set` holds the values the user stated; `clear` names fields to forget ("drop the budget"); `replace` names list
    fields whose new values replace the old ones ("only L4s" after "H100 or A100") instead of being added to them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    set: DeploymentIntent = Field(default_factory=DeploymentIntent)
    clear: list[str] = Field(default_factory=list)
    replace: list[str] = Field(default_factory=list)

    @field_validator("clear")
    @classmethod
    def _clear_known(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if v not in SLOT_FIELDS]
        if bad:
            raise ValueError(f"cannot clear {bad[0]!r}: not an intent field")
        return values

    @field_validator("replace")
    @classmethod
    def _replace_lists(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if v not in LIST_FIELDS]
        if bad:
            raise ValueError(f"cannot replace {bad[0]!r}: only list fields ({', '.join(LIST_FIELDS)}) can be")
        return values


def _has_value(value: object) -> bool:
    return value is not None and value != []


def _key(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _union(first: list[Any], second: list[Any]) -> list[Any]:
    """Order-preserving union; strings compare case-insensitively (the first spelling is kept)."""
    seen: set[object] = set()
    out: list[Any] = []
    for value in (*first, *second):
        if _key(value) not in seen:
            seen.add(_key(value))
            out.append(value)
    return out


def _without(values: list[Any], removed: list[Any]) -> list[Any]:
    gone = {_key(v) for v in removed}
    return [v for v in values if _key(v) not in gone]


_PAIRS: Final = (("gpus", "exclude_gpus"), ("models", "exclude_models"))


def merge(old: DeploymentIntent, new: DeploymentIntent | IntentUpdate) -> DeploymentIntent:
    """Fold a turn into the running intent.

    - `clear` resets fields first; then every value the turn states wins over the old one.
    - Users, concurrent users and qps are alternatives: stating one forgets the others (unless the turn states more).
    - Lists are unioned, except fields named in `replace`, which take the new list.
    - A newly excluded GPU/model leaves the include list, and a newly included one leaves the exclude list.
    - A slot the user now says they don't know is forgotten and listed in unknown_fields; a slot that gets a value
      leaves unknown_fields.
    - A new use case without a new description drops the old description (it described the old use case).
    """
    update = new if isinstance(new, IntentUpdate) else IntentUpdate(set=new)
    stated = update.set
    empty = DeploymentIntent()
    values = old.model_dump()
    unknown: list[str] = list(old.unknown_fields)

    for name in update.clear:
        values[name] = getattr(empty, name)
    unknown = _without(unknown, update.clear)

    for name in SCALAR_FIELDS:
        value = getattr(stated, name)
        if value is not None:
            values[name] = value
    said = [name for name in LOAD_FIELDS if getattr(stated, name) is not None]
    if len(said) == 1:  # stating one load forgets the others
        for name in LOAD_FIELDS:
            if name != said[0]:
                values[name] = None
    if stated.use_case is not None and stated.use_case != old.use_case and stated.use_case_description is None:
        values["use_case_description"] = None

    for name in LIST_FIELDS:
        value = getattr(stated, name)
        values[name] = list(value) if name in update.replace else _union(values[name], value)
    for include, exclude in _PAIRS:
        values[include] = _without(values[include], getattr(stated, exclude))
        values[exclude] = _without(values[exclude], getattr(stated, include))

    for name in stated.unknown_fields:
        if not _has_value(getattr(stated, name)):
            values[name] = getattr(empty, name)
    unknown = _union(unknown, list(stated.unknown_fields))
    values["unknown_fields"] = [name for name in unknown if not _has_value(values[name])]
    return DeploymentIntent.model_validate(values)


def to_spec_values(intent: DeploymentIntent, *, catalog: CatalogSnapshot | None = None) -> dict[str, Any]:
    """Keyword arguments for `DeploymentSpec`: only what the user stated, made consistent.

    - Both users (or concurrent users) and qps: qps is explicit, so the user count is dropped (the spec derives qps
      from it); concurrent users win over named users.
    - Only one of prompt/output tokens: the other comes from the use case's template when `catalog` is given and
      the use case is known; otherwise both are left out (the spec needs them together).
    - A GPU/model both included and excluded stays excluded.
    """
    values: dict[str, Any] = {}
    for name in (
        "use_case",
        "users",
        "concurrent_users",
        "qps",
        "ttft_p95_ms",
        "itl_p95_ms",
        "e2e_p95_ms",
        "budget_usd_month",
        "priority",
        "pricing_model",
        "deployment_model",
        "max_gpus",
    ):
        value = getattr(intent, name)
        if value is not None:
            values[name] = value
    if intent.qps is not None:  # explicit qps wins over user counts it would be derived from
        values.pop("users", None)
        values.pop("concurrent_users", None)
    elif intent.users is not None and intent.concurrent_users is not None:
        del values["users"]

    prompt, output = intent.prompt_tokens, intent.output_tokens
    if (prompt is None) != (output is None) and catalog is not None and intent.use_case is not None:
        try:
            traffic = catalog.template(intent.use_case).traffic
        except NotFoundError:
            pass
        else:
            prompt = prompt if prompt is not None else traffic.prompt_tokens
            output = output if output is not None else traffic.output_tokens
    if prompt is not None and output is not None:
        values["prompt_tokens"], values["output_tokens"] = prompt, output

    for include, exclude in _PAIRS:
        excluded = list(getattr(intent, exclude))
        included = _without(list(getattr(intent, include)), excluded)
        if included:
            values[include] = included
        if excluded:
            values[exclude] = excluded
    if intent.quantization:
        values["quantizations"] = list(intent.quantization)
    if intent.power_cost_per_kwh is not None:
        values["datacenter"] = {"power_cost_per_kwh": intent.power_cost_per_kwh}
    return values
