"""Builds the long-lived services (planning, deployment) from settings, once per process."""

from __future__ import annotations

from kb.db import Database
from tools.deploy.service import DeploymentService
from tools.deploy.settings import DeploySettings


def deployment_service(database: Database, settings: DeploySettings | None = None) -> DeploymentService:
    """The deployment service with every target this environment can reach."""
    return DeploymentService(database, settings or DeploySettings(), kubernetes=None)
