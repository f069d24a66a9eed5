"""Fixtures for the intent tests: the seed catalog as a snapshot (no database needed)."""

from __future__ import annotations

import pytest

from kb.repositories.catalog import CatalogSnapshot
from kb.seed import load_bundle


@pytest.fixture(scope="session")
def catalog() -> CatalogSnapshot:
    bundle = load_bundle()
    return CatalogSnapshot(models=bundle.models, gpus=bundle.gpus, prices=bundle.prices, templates=bundle.slo_templates)
