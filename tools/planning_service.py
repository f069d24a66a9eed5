"""The planning service: one object per process that owns the curve cache and answers plan/compare requests."""

from __future__ import annotations

from collections.abc import Sequence

from kb.db import Database
from kb.domain import TrafficProfile
from kb.repositories import revisions
from kb.repositories.catalog import CatalogSnapshot, load_snapshot
from tools.capacity_planner import plan, resolve_spec
from tools.curve_matrix import CurveMatrix
from tools.curve_store import CurveStore
from tools.specs import DeploymentSpec, Recommendation
from tools.whatif import ScenarioComparison, WhatIf, compare, compare_specs


class PlanningService:
    """Reads the catalog, gets load curves (cached), and runs the pure planner functions."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.curve_store = CurveStore(database)
        self._catalog: tuple[int, CatalogSnapshot] | None = None

    def catalog(self) -> CatalogSnapshot:
        """The catalog, reloaded only when a seed or edit moved its revision counter."""
        with self.database.reader() as session:
            revision = revisions.current(session, "catalog")
            if self._catalog is None or self._catalog[0] != revision:
                self._catalog = (revision, load_snapshot(session))
        return self._catalog[1]

    def curves(self, catalog: CatalogSnapshot, traffic: TrafficProfile) -> CurveMatrix:
        revision = self._catalog[0] if self._catalog is not None else -1
        return self.curve_store.matrix(catalog, traffic, revision)

    def warm(self) -> int:
        """Loads the catalog and builds the curve matrix of every use case's traffic profile, so the first requests
        after start-up do not pay for it. Returns how many profiles were built."""
        catalog = self.catalog()
        profiles = {template.traffic for template in catalog.templates}
        for traffic in profiles:
            self.curves(catalog, traffic)
        return len(profiles)

    def recommend(self, spec: DeploymentSpec, catalog: CatalogSnapshot | None = None) -> Recommendation:
        catalog = catalog or self.catalog()
        traffic = resolve_spec(spec, catalog).traffic
        return plan(spec, catalog, self.curves(catalog, traffic))

    def what_if(
        self, base: DeploymentSpec, changes: Sequence[WhatIf], catalog: CatalogSnapshot | None = None
    ) -> ScenarioComparison:
        catalog = catalog or self.catalog()
        return compare(base, changes, catalog, lambda traffic: self.curves(catalog, traffic))

    def compare(self, specs: Sequence[tuple[str, DeploymentSpec]]) -> ScenarioComparison:
        catalog = self.catalog()
        return compare_specs(specs, catalog, lambda traffic: self.curves(catalog, traffic))
