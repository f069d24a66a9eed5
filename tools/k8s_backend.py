"""Adapter from the deployment service's KubernetesBackend protocol to `tools.k8s` (connects on first use)."""

from __future__ import annotations

from collections.abc import Callable

from kb.repositories.deployments import AuditEntry
from manifests.bundle import ManifestBundle
from tools.deploy.service import KubernetesBackend, Progress, TargetFailedError
from tools.k8s import apply as k8s
from tools.k8s.apply import OperationFailedError
from tools.k8s.client import KubeClient
from tools.k8s.settings import KubernetesSettings


def _audit(entries: list[k8s.AuditEntry]) -> list[AuditEntry]:
    """The cluster's audit rows in the database's shape (never any secret: only kinds, names and messages)."""
    return [
        AuditEntry(
            actor=e.actor,
            action=e.operation if e.kind is None else f"{e.operation}:{e.action}",
            target="kubernetes",
            deployment_id=e.deployment_id,
            namespace=e.namespace,
            outcome="ok" if e.succeeded else "failed",
            detail={
                "kind": e.kind,
                "name": e.name,
                "message": e.message,
                "server": e.server,
                "field_manager": e.field_manager,
            },
        )
        for e in entries
    ]


class ClusterBackend:
    """The real Kubernetes target over one API client."""

    def __init__(self, client: KubeClient, settings: KubernetesSettings) -> None:
        self.client = client
        self.settings = settings

    def apply(
        self, bundle: ManifestBundle, *, namespace: str, deployment_id: str, actor: str, progress: Progress | None
    ) -> tuple[str, list[AuditEntry]]:
        try:
            result = k8s.apply_bundle(
                self.client,
                bundle,
                namespace=namespace,
                settings=self.settings,
                deployment_id=deployment_id,
                actor=actor,
                progress=progress,
            )
        except OperationFailedError as exc:
            raise TargetFailedError(exc.message, audit=_audit(exc.result.audit_entries())) from exc
        endpoint = result.url or f"http://{deployment_id}-predictor.{namespace}.svc.cluster.local"
        return endpoint, _audit(result.audit_entries())

    def delete(self, *, namespace: str, deployment_id: str, actor: str) -> list[AuditEntry]:
        result = k8s.delete(self.client, namespace, deployment_id, settings=self.settings, actor=actor)
        return _audit(result.audit_entries())

    def status(self, *, namespace: str, deployment_id: str) -> str:
        return k8s.status(self.client, namespace, deployment_id).summary


def kubernetes_backend_factory(
    settings: KubernetesSettings | None = None, client: KubeClient | None = None
) -> Callable[[], KubernetesBackend]:
    """A factory that builds the client from kubeconfig/in-cluster settings the first time a deployment needs it."""
    resolved = settings or KubernetesSettings()

    def build() -> KubernetesBackend:
        return ClusterBackend(client or KubeClient.from_settings(resolved), resolved)

    return build
