"""Read the model and GPU catalogs (``kb/data/models.yaml`` / ``gpus.yaml``) for calibration and ad-hoc use.

File reading is the seed loader's (`kb.seed.read_rows`); the estimator only needs ModelSpec/GPUSpec rows keyed by
Hugging Face repo id and by GPU name (or alias), without a database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kb.domain import GPUSpec, ModelSpec
from kb.errors import ImportFormatError, NotFoundError
from kb.seed import default_data_dir, read_rows


def data_dir() -> Path:
    """The packaged ``kb/data`` directory."""
    return default_data_dir()


def _rows(path: Path, key: str) -> list[Any]:
    return read_rows(path, key)


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
