"""Catalog repository: models, GPU types, prices and SLO templates, with filters and forgiving name lookup."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, Field, PrivateAttr
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.domain import (
    ExperienceClass,
    GPUPriceSpec,
    GPUSpec,
    ModelSpec,
    PricingModel,
    SLOTargets,
    SLOTemplateSpec,
    TrafficProfile,
)
from kb.errors import NotFoundError
from kb.orm import GPUPriceRow, GPURow, ModelRow, SLOTemplateRow
from kb.repositories.convert import row_values

T = TypeVar("T")


def model_from_row(row: ModelRow) -> ModelSpec:
    return ModelSpec.model_validate(row_values(row))


def gpu_from_row(row: GPURow) -> GPUSpec:
    return GPUSpec.model_validate(row_values(row))


def price_from_row(row: GPUPriceRow) -> GPUPriceSpec:
    return GPUPriceSpec.model_validate(row_values(row))


def template_from_row(row: SLOTemplateRow) -> SLOTemplateSpec:
    values = row_values(row)
    traffic = TrafficProfile(prompt_tokens=values.pop("prompt_tokens"), output_tokens=values.pop("output_tokens"))
    slo = SLOTargets(
        ttft_p95_ms=values.pop("ttft_p95_ms"), itl_p95_ms=values.pop("itl_p95_ms"), e2e_p95_ms=values.pop("e2e_p95_ms")
    )
    return SLOTemplateSpec.model_validate({**values, "traffic": traffic, "slo": slo})


def template_values(spec: SLOTemplateSpec) -> dict[str, Any]:
    """Flat column values for an SLO template row."""
    values = spec.model_dump(exclude={"traffic", "slo"})
    values["experience_class"] = spec.experience_class.value
    values.update(spec.traffic.model_dump())
    values.update(spec.slo.model_dump())
    return values


class ModelFilter(BaseModel):
    """Catalog filters; every field optional."""

    family: str | None = None
    task: str | None = None
    domain: str | None = None
    min_params_b: float | None = Field(default=None, ge=0)
    max_params_b: float | None = Field(default=None, ge=0)
    moe: bool | None = None
    approved_only: bool = False
    license: str | None = None


def list_models(session: Session, filters: ModelFilter | None = None) -> list[ModelSpec]:
    filters = filters or ModelFilter()
    query = select(ModelRow).order_by(ModelRow.total_params_b, ModelRow.hf_repo)
    if filters.family:
        query = query.where(ModelRow.family.ilike(filters.family))
    if filters.min_params_b is not None:
        query = query.where(ModelRow.total_params_b >= filters.min_params_b)
    if filters.max_params_b is not None:
        query = query.where(ModelRow.total_params_b <= filters.max_params_b)
    if filters.approved_only:
        query = query.where(ModelRow.approved_for_production.is_(True))
    if filters.license:
        query = query.where(ModelRow.license.ilike(filters.license))
    models = [model_from_row(r) for r in session.scalars(query)]
    if filters.task:
        models = [m for m in models if filters.task.lower() in (t.lower() for t in m.tasks)]
    if filters.domain:
        models = [m for m in models if filters.domain.lower() in (d.lower() for d in m.domains)]
    if filters.moe is not None:
        models = [m for m in models if m.is_moe == filters.moe]
    return models


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


_CONFUSABLE = str.maketrans({"o": "0", "l": "1", "i": "1"})


def _resolve(name: str, candidates: dict[str, str], kind: str) -> str:
    """Map a user-typed name onto a canonical one, or fail with close suggestions."""
    wanted = _normalise(name)
    if wanted in candidates:
        return candidates[wanted]
    folded = {key.translate(_CONFUSABLE): key for key in candidates}
    close = difflib.get_close_matches(wanted.translate(_CONFUSABLE), list(folded), n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(candidates[folded[key]] for key in close))
    hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else "."
    known = ", ".join(sorted(set(candidates.values())))
    raise NotFoundError(f"unknown {kind} {name!r}{hint} Known: {known}")


def get_model(session: Session, name: str) -> ModelSpec:
    """A model by HF repo id, its part after the slash, or its display name (case and punctuation ignored)."""
    rows = {r.hf_repo: r for r in session.scalars(select(ModelRow))}
    candidates: dict[str, str] = {}
    for repo, row in rows.items():
        for alias in (repo, repo.split("/")[-1], row.name):
            candidates.setdefault(_normalise(alias), repo)
    return model_from_row(rows[_resolve(name, candidates, "model")])


def list_gpus(session: Session, *, vendor: str | None = None, min_vram_gb: float | None = None) -> list[GPUSpec]:
    query = select(GPURow).order_by(GPURow.vram_gb, GPURow.name)
    if vendor:
        query = query.where(GPURow.vendor == vendor.lower())
    if min_vram_gb is not None:
        query = query.where(GPURow.vram_gb >= min_vram_gb)
    return [gpu_from_row(r) for r in session.scalars(query)]


def gpu_name_index(gpus: list[GPUSpec]) -> dict[str, str]:
    """Normalised names and aliases -> canonical GPU name."""
    index: dict[str, str] = {}
    for gpu in gpus:
        for alias in (gpu.name, *gpu.aliases):
            index.setdefault(_normalise(alias), gpu.name)
    return index


def resolve_gpu_name(gpus: list[GPUSpec], name: str) -> str:
    return _resolve(name, gpu_name_index(gpus), "GPU")


def get_gpu(session: Session, name: str) -> GPUSpec:
    """A GPU by canonical name or alias ("h100", "H100-80GB", "a100 80gb"...)."""
    gpus = list_gpus(session)
    canonical = resolve_gpu_name(gpus, name)
    return next(g for g in gpus if g.name == canonical)


def list_prices(
    session: Session, *, gpu: str | None = None, pricing_model: PricingModel | None = None
) -> list[GPUPriceSpec]:
    query = select(GPUPriceRow).order_by(GPUPriceRow.gpu, GPUPriceRow.pricing_model, GPUPriceRow.provider)
    if gpu:
        query = query.where(GPUPriceRow.gpu == gpu)
    if pricing_model:
        query = query.where(GPUPriceRow.pricing_model == pricing_model.value)
    return [price_from_row(r) for r in session.scalars(query)]


def list_slo_templates(session: Session, *, experience_class: ExperienceClass | None = None) -> list[SLOTemplateSpec]:
    query = select(SLOTemplateRow).order_by(SLOTemplateRow.id)
    if experience_class:
        query = query.where(SLOTemplateRow.experience_class == experience_class.value)
    return [template_from_row(r) for r in session.scalars(query)]


def get_slo_template(session: Session, use_case: str) -> SLOTemplateSpec:
    templates = {t.use_case: t for t in list_slo_templates(session)}
    candidates = {_normalise(u): u for u in templates}
    for template in templates.values():
        for alias in (template.display_name, *template.synonyms):
            candidates.setdefault(_normalise(alias), template.use_case)
    return templates[_resolve(use_case, candidates, "use case")]


class CatalogSnapshot(BaseModel):
    """Every catalog row at one moment: what the planner reads, loaded in one go."""

    models: list[ModelSpec]
    gpus: list[GPUSpec]
    prices: list[GPUPriceSpec]
    templates: list[SLOTemplateSpec]
    _indexes: dict[str, dict[str, str]] = PrivateAttr(default_factory=dict)
    _derived: dict[str, Any] = PrivateAttr(default_factory=dict)

    def derived(self, key: str, build: Callable[[CatalogSnapshot], T]) -> T:
        """Data computed from this snapshot (e.g. phrase tables), built once: snapshots never change."""
        if key not in self._derived:
            self._derived[key] = build(self)
        value: T = self._derived[key]
        return value

    def _index(self, kind: str) -> dict[str, str]:
        """Normalised names and aliases -> canonical id, built once per snapshot."""
        if kind not in self._indexes:
            index: dict[str, str] = {}
            if kind == "model":
                for m in self.models:
                    for alias in (m.hf_repo, m.hf_repo.split("/")[-1], m.name):
                        index.setdefault(_normalise(alias), m.hf_repo)
            elif kind == "GPU":
                index = gpu_name_index(self.gpus)
            else:
                index = {_normalise(t.use_case): t.use_case for t in self.templates}
                for t in self.templates:
                    for alias in (t.display_name, *t.synonyms):
                        index.setdefault(_normalise(alias), t.use_case)
            self._indexes[kind] = index
        return self._indexes[kind]

    def model(self, name: str) -> ModelSpec:
        repo = _resolve(name, self._index("model"), "model")
        return next(m for m in self.models if m.hf_repo == repo)

    def gpu(self, name: str) -> GPUSpec:
        canonical = _resolve(name, self._index("GPU"), "GPU")
        return next(g for g in self.gpus if g.name == canonical)

    def template(self, use_case: str) -> SLOTemplateSpec:
        wanted = _resolve(use_case, self._index("use case"), "use case")
        return next(t for t in self.templates if t.use_case == wanted)


def load_snapshot(session: Session) -> CatalogSnapshot:
    return CatalogSnapshot(
        models=list_models(session),
        gpus=list_gpus(session),
        prices=list_prices(session),
        templates=list_slo_templates(session),
    )
