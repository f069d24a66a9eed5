"""The `kubernetes` deployment target: server-side dry-run and apply of a manifest bundle into an allowed
namespace, readiness wait, rollback of what an apply created, and status/list/delete by deployment id.

`settings` (COMPASS_K8S_*), `client` (typed API access on the official client), `apply` (the operations),
`standin` (an in-process stand-in API server for tests and demos).
"""

from tools.k8s.apply import (
    ApplyResult,
    AuditEntry,
    DeploymentStatus,
    DeploymentSummary,
    ObjectOutcome,
    OperationFailedError,
    apply_bundle,
    delete,
    list_deployments,
    status,
)
from tools.k8s.client import KubeClient, ResourceType
from tools.k8s.settings import KubernetesSettings

__all__ = [
    "ApplyResult",
    "AuditEntry",
    "DeploymentStatus",
    "DeploymentSummary",
    "KubeClient",
    "KubernetesSettings",
    "ObjectOutcome",
    "OperationFailedError",
    "ResourceType",
    "apply_bundle",
    "delete",
    "list_deployments",
    "status",
]
