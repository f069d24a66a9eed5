"""Seed catalogs: read the versioned YAML files under kb/data and upsert them idempotently."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase, Session

from kb.domain import GPUPriceSpec, GPUSpec, ModelSpec, SLOTemplateSpec
from kb.errors import ImportFormatError, ValidationFailedError
from kb.orm import GPUPriceRow, GPURow, ModelRow, SLOTemplateRow
from kb.repositories import revisions
from kb.repositories.catalog import template_values
from kb.repositories.convert import column_values, row_values

SEED_FILES = {
    "models": "models.yaml",
    "gpus": "gpus.yaml",
    "prices": "prices.yaml",
    "slo_templates": "slo_templates.yaml",
}


class SeedBundle(BaseModel):
    """Everything the seed files hold, validated."""

    models: list[ModelSpec]
    gpus: list[GPUSpec]
    prices: list[GPUPriceSpec]
    slo_templates: list[SLOTemplateSpec]


def default_data_dir() -> Path:
    return Path(str(resources.files("kb") / "data"))


def read_rows(path: Path, key: str) -> list[Any]:
    """The `key` list of a YAML data file; a missing file, bad YAML or wrong shape names the file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ImportFormatError(str(path), "$", "a seed file", "no such file") from exc
    except yaml.YAMLError as exc:
        raise ImportFormatError(str(path), "$", "valid YAML", str(exc).splitlines()[0]) from exc
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        raise ImportFormatError(str(path), "$", f"a mapping with a '{key}' list")
    rows: list[Any] = document[key]
    return rows


def load_bundle(data_dir: Path | None = None) -> SeedBundle:
    """Read and validate all seed files; the first invalid row is reported with its file and path."""
    data_dir = data_dir or default_data_dir()
    parsed: dict[str, list[BaseModel]] = {}
    types: dict[str, type[BaseModel]] = {
        "models": ModelSpec,
        "gpus": GPUSpec,
        "prices": GPUPriceSpec,
        "slo_templates": SLOTemplateSpec,
    }
    for key, filename in SEED_FILES.items():
        path = data_dir / filename
        items: list[BaseModel] = []
        for index, row in enumerate(read_rows(path, key)):
            try:
                items.append(types[key].model_validate(row))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = f"{key}[{index}]" + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in first["loc"])
                raise ImportFormatError(str(path), where, first["msg"].lower()) from exc
        parsed[key] = items
    bundle = SeedBundle.model_validate({k: [i.model_dump() for i in v] for k, v in parsed.items()})
    _check_references(bundle)
    return bundle


def _check_references(bundle: SeedBundle) -> None:
    gpu_names = {g.name for g in bundle.gpus}
    for price in bundle.prices:
        if price.gpu not in gpu_names:
            raise ValidationFailedError(f"prices.yaml names GPU {price.gpu!r}, which gpus.yaml does not define")
    use_cases = {t.use_case for t in bundle.slo_templates}
    for model in bundle.models:
        for score in model.quality:
            if score.use_case not in use_cases:
                raise ValidationFailedError(f"models.yaml: {model.hf_repo} scores unknown use case {score.use_case!r}")


@dataclass
class TableCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


@dataclass
class SeedReport:
    tables: dict[str, TableCounts] = field(default_factory=dict)
    estimated: str | None = None

    @property
    def changed(self) -> bool:
        return any(c.changed for c in self.tables.values())

    def lines(self) -> list[str]:
        out = [
            f"{name}: {c.inserted} inserted, {c.updated} updated, {c.unchanged} unchanged"
            for name, c in self.tables.items()
        ]
        if self.estimated:
            out.append(f"estimated benchmarks: {self.estimated}")
        if not self.changed:
            out.append("catalogs already up to date: nothing changed")
        return out


def _upsert_table(
    session: Session,
    orm: type[DeclarativeBase],
    key: Callable[[dict[str, Any]], tuple[Any, ...]],
    rows: Sequence[dict[str, Any]],
) -> TableCounts:
    counts = TableCounts()
    existing = {key(row_values(r)): r for r in session.scalars(select(orm))}
    for values in rows:
        current = existing.get(key(values))
        if current is None:
            session.add(orm(**values))
            counts.inserted += 1
        elif row_values(current) == values:
            counts.unchanged += 1
        else:
            for name, value in values.items():
                setattr(current, name, value)
            counts.updated += 1
    session.flush()
    return counts


def apply_bundle(session: Session, bundle: SeedBundle) -> SeedReport:
    """Upsert every catalog row by its natural key; running it twice changes nothing the second time."""
    report = SeedReport()
    report.tables["gpus"] = _upsert_table(
        session, GPURow, lambda v: (v["name"],), [column_values(g) for g in bundle.gpus]
    )
    report.tables["models"] = _upsert_table(
        session, ModelRow, lambda v: (v["hf_repo"],), [column_values(m) for m in bundle.models]
    )
    report.tables["gpu_prices"] = _upsert_table(
        session,
        GPUPriceRow,
        lambda v: (v["gpu"], v["provider"], v["pricing_model"], v["region"], v["effective_date"]),
        [column_values(p) for p in bundle.prices],
    )
    report.tables["slo_templates"] = _upsert_table(
        session, SLOTemplateRow, lambda v: (v["use_case"],), [template_values(t) for t in bundle.slo_templates]
    )
    if report.changed:
        revisions.bump(session, "catalog")
    return report
