"""Errors of the deployment targets: each names what failed, where, and what the user can do about it.

`DeploymentError` is the family root, so a caller can catch one class for "the deployment did not happen".
The Kubernetes target raises the `Cluster*`/object errors; `tools.k8s.apply.OperationFailedError` (also a
`DeploymentError`) wraps a failure that happened after writes began, together with what was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.errors import CompassError, NotFoundError


class DeploymentError(CompassError):
    """A deployment, status query or deletion could not be carried out."""


class NamespaceNotAllowedError(DeploymentError):
    """The target namespace is not on the configured allow-list; refused before contacting the cluster."""


class BundleMismatchError(DeploymentError):
    """The manifest bundle does not match the requested deployment id or namespace."""


class DeploymentNotFoundError(DeploymentError, NotFoundError):
    """No object labelled with the deployment id exists in the namespace."""


class ReadinessTimeoutError(DeploymentError):
    """The workload did not become ready within the configured time."""


class WorkloadFailedError(DeploymentError):
    """The workload reported a failure it will not recover from by waiting (e.g. the model failed to load)."""


class ClusterUnreachableError(DeploymentError):
    """No HTTP response came back from the API server: refused, timed out, TLS failure or dropped connection."""


class KubernetesApiError(DeploymentError):
    """The API server answered with an error; `status_code`, `reason` and `api_message` come from its Status."""

    def __init__(self, message: str, *, status_code: int, reason: str = "", api_message: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason
        self.api_message = api_message


class ClusterAuthenticationError(KubernetesApiError):
    """401: the API server did not accept the credentials."""


class ClusterForbiddenError(KubernetesApiError):
    """403: authenticated, but RBAC does not allow the verb on the resource in the namespace."""


class NamespaceNotFoundError(KubernetesApiError):
    """404: the namespace does not exist on the cluster."""


class ResourceTypeNotInstalledError(DeploymentError):
    """The API server does not serve the kind's group/version (its CRD, e.g. KServe's, is not installed)."""


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """One field another field manager owns with a different value than the one being applied."""

    manager: str
    field: str


class FieldManagerConflictError(KubernetesApiError):
    """409 on server-side apply: fields are owned by another field manager with different values."""

    def __init__(self, message: str, *, conflicts: list[FieldConflict], api_message: str = "") -> None:
        super().__init__(message, status_code=409, reason="Conflict", api_message=api_message)
        self.conflicts = conflicts


class InvalidObjectError(KubernetesApiError):
    """400/422: the API server rejected the object (schema, unknown field, invalid value); `causes` lists why."""

    def __init__(
        self, message: str, *, status_code: int, reason: str, causes: list[str], api_message: str = ""
    ) -> None:
        super().__init__(message, status_code=status_code, reason=reason, api_message=api_message)
        self.causes = causes


class ClusterRequestError(KubernetesApiError):
    """Any other error answer (5xx, 429, a non-apply 409...)."""


@dataclass(frozen=True, slots=True)
class ObjectFailure:
    """Why one object of a bundle was rejected."""

    ref: str
    error: DeploymentError


class DryRunRejectedError(DeploymentError):
    """The server-side dry run rejected one or more objects; nothing was applied."""

    def __init__(self, namespace: str, failures: list[ObjectFailure], total: int) -> None:
        lines = "\n".join(f"  {failure.ref}: {_indent(failure.error.message)}" for failure in failures)
        super().__init__(
            f"the server-side dry run rejected {len(failures)} of {total} objects in namespace {namespace!r}; "
            f"nothing was applied:\n{lines}"
        )
        self.namespace = namespace
        self.failures = failures


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")
