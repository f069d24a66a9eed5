"""Deployment settings (env prefix `COMPASS_DEPLOY_`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeploySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPASS_DEPLOY_", extra="ignore")

    target: Literal["local", "kubernetes", "manifests"] = Field(default="local", description="Default target")
    state_dir: Path = Field(default=Path(".compass/deployments"), description="Logs, benchmark files, bundles")
    namespace: str = Field(default="compass", description="Kubernetes namespace for new deployments")
    start_timeout_s: float = Field(default=20.0, gt=0, le=600, description="Local simulator start-up limit")
    simulator_time_scale: float = Field(default=1.0, gt=0, le=100, description="Speed-up for local simulators")
