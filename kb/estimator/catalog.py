"""Read the model and GPU catalogs (``kb/data/models.yaml`` / ``gpus.yaml``) for calibration and ad-hoc use.

Deliberately small and independent of the database seeding code: the estimator only needs ModelSpec/GPUSpec rows
keyed by Hugging Face repo id and by GPU name (or alias).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kb.domain import GPUSpec, ModelSpec
from kb.errors import ImportFormatError, NotFoundError


def data_dir() -> Path:
    """The packaged ``kb/data`` directory."""
    return Path(str(resources.files("kb") / "data"))


def _rows(path: Path, key: str) -> list[Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ImportFormatError(str(path), "$", f"a YAML file with a '{key}' list", "no such file") from exc
    except yaml.YAMLError as exc:
        raise ImportFormatError(str(path), "$", "valid YAML", str(exc).splitlines()[0]) from exc
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        raise ImportFormatError(str(path), "$", f"a mapping with a '{key}' list")
    rows: list[Any] = document[key]
    return rows


def parse_models(rows: list[Any], file: str, key: str = "models") -> dict[str, ModelSpec]:
    """Validate ``rows`` as ModelSpecs keyed by ``hf_repo``."""
    models: dict[str, ModelSpec] = {}
    for index, row in enumerate(rows):
        try:
            spec = ModelSpec.model_validate(row)
        except ValidationError as exc:
            raise ImportFormatError(file, f"{key}[{index}]", "a valid model row", exc.errors()[0]["msg"]) from exc
        models[spec.hf_repo] = spec
    return models


def parse_gpus(rows: list[Any], file: str, key: str = "gpus") -> dict[str, GPUSpec]:
    """Validate ``rows`` as GPUSpecs keyed by ``name``."""
    gpus: dict[str, GPUSpec] = {}
    for index, row in enumerate(rows):
        try:
            spec = GPUSpec.model_validate(row)
        except ValidationError as exc:
            raise ImportFormatError(file, f"{key}[{index}]", "a valid GPU row", exc.errors()[0]["msg"]) from exc
        gpus[spec.name] = spec
    return gpus


def load_models(path: Path | None = None) -> dict[str, ModelSpec]:
    """All catalog models keyed by Hugging Face repo id."""
    path = path or data_dir() / "models.yaml"
    return parse_models(_rows(path, "models"), str(path))


def load_gpus(path: Path | None = None) -> dict[str, GPUSpec]:
    """All catalog GPUs keyed by canonical name."""
    path = path or data_dir() / "gpus.yaml"
    return parse_gpus(_rows(path, "gpus"), str(path))


def find_gpu(gpus: dict[str, GPUSpec], name: str) -> GPUSpec:
    """Look a GPU up by canonical name or alias (case-insensitive)."""
    if name in gpus:
        return gpus[name]
    wanted = name.lower()
    for gpu in gpus.values():
        if gpu.name.lower() == wanted or wanted in (alias.lower() for alias in gpu.aliases):
            return gpu
    raise NotFoundError(f"no GPU named {name!r}; known: {', '.join(sorted(gpus))}")
