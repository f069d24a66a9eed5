"""Settings of the Kubernetes deployment target (`COMPASS_K8S_*`): which cluster, which namespaces, how long to wait.

COMPASS_K8S_KUBECONFIG=~/.kube/prod.yaml     # default: $KUBECONFIG, then ~/.kube/config, then in-cluster
COMPASS_K8S_CONTEXT=prod-east                # default: the kubeconfig's current-context
COMPASS_K8S_ALLOWED_NAMESPACES=compass,llm   # comma-separated or a JSON list; nothing else is ever written
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from manifests.names import check_dns1123_label

_MAX_FIELD_MANAGER_LENGTH = 128
"""The API server rejects longer fieldManager values."""


class KubernetesSettings(BaseSettings):
    """Where the Kubernetes target connects and what it may touch."""

    model_config = SettingsConfigDict(env_prefix="COMPASS_K8S_", extra="ignore", frozen=True)

    kubeconfig: Path | None = Field(
        default=None,
        description="kubeconfig file; unset: $KUBECONFIG, else ~/.kube/config, else the pod's service account",
    )
    context: str | None = Field(default=None, description="kubeconfig context; unset: its current-context")
    allowed_namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["compass"],
        description="The only namespaces Compass writes to (deploy, delete); checked before any request",
    )
    field_manager: str = Field(default="compass", description="Server-side apply field manager name")
    readiness_timeout_s: float = Field(default=600.0, gt=0, description="How long to wait for the endpoint to be Ready")
    poll_interval_s: float = Field(default=2.0, gt=0, description="Pause between readiness checks")
    request_timeout_s: float = Field(default=30.0, gt=0, description="Per-request connect/read timeout")

    @field_validator("allowed_namespaces", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("allowed_namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        for namespace in value:
            problem = check_dns1123_label(namespace, "allowed_namespaces entry")
            if problem is not None:
                raise ValueError(problem)
        return value

    @field_validator("field_manager")
    @classmethod
    def _field_manager(cls, value: str) -> str:
        if not value or len(value) > _MAX_FIELD_MANAGER_LENGTH or not value.isprintable():
            raise ValueError(
                f"field_manager {value!r} must be 1 to {_MAX_FIELD_MANAGER_LENGTH} printable characters, e.g. 'compass'"
            )
        return value

    @model_validator(mode="after")
    def _intervals(self) -> Self:
        if self.poll_interval_s > self.readiness_timeout_s:
            raise ValueError(
                f"poll_interval_s ({self.poll_interval_s:g}) is longer than readiness_timeout_s "
                f"({self.readiness_timeout_s:g}); readiness would be checked at most once"
            )
        return self

    def namespace_allowed(self, namespace: str) -> bool:
        return namespace in self.allowed_namespaces
