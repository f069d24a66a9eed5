"""Adapter from the deployment service's KubernetesBackend protocol to `tools.k8s` (built only when configured)."""

from __future__ import annotations

from collections.abc import Callable

from tools.deploy.service import KubernetesBackend


def kubernetes_backend_factory() -> Callable[[], KubernetesBackend] | None:
    """A factory that connects on first use, or None when no Kubernetes target is available here."""
    return None
