"""A small typed client for the Kubernetes API calls Compass makes: discovery, server-side apply, get, list, delete.

It sits on the official client's `ApiClient` (kubeconfig, in-cluster service account, exec/OIDC token refresh,
TLS and proxies all come from `kubernetes.config`) and sends raw requests to the resource paths itself:

* Server-side apply is `PATCH <object path>?fieldManager=compass[&force=true][&dryRun=All]` with content type
  `application/apply-patch+yaml` and the rendered YAML as the body, byte for byte what was validated.
* Resource types are resolved by **discovery**, not a static table: `GET /api/v1` or `GET /apis/<group>/<version>`
  once per group/version and client, cached in memory on the client. Discovery gives the authoritative plural
  (Ingress -> ingresses, NetworkPolicy -> networkpolicies) and scope, and -- the reason it is worth one request
  per group -- it says *before anything is written* whether a CRD is installed, which turns a late, ambiguous
  404 into "KServe is not installed". `kubernetes.dynamic.DynamicClient` is not used because its constructor
  already talks to the server and it keeps a discovery cache in the temp folder that goes stale when CRDs are
  installed or removed; a client here does no I/O until its first call.
* Every failure becomes a `tools.deploy_errors.DeploymentError` whose message says what to do: connection
  failures name the server URL, 401/403/404/409/422 are read from the API server's `Status` object.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import urllib3
from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel, ConfigDict

from kb.errors import ConfigurationError
from tools.deploy_errors import (
    ClusterAuthenticationError,
    ClusterForbiddenError,
    ClusterRequestError,
    ClusterUnreachableError,
    DeploymentError,
    FieldConflict,
    FieldManagerConflictError,
    InvalidObjectError,
    NamespaceNotFoundError,
    ResourceTypeNotInstalledError,
)
from tools.k8s.settings import KubernetesSettings

APPLY_PATCH_CONTENT_TYPE = "application/apply-patch+yaml"
DEFAULT_KUBECONFIG = "~/.kube/config"
_IN_CLUSTER_ENV = "KUBERNETES_SERVICE_HOST"
_LOAD_INCLUSTER_CONFIG: Any = kube_config.load_incluster_config
_NEW_CLIENT_FROM_CONFIG: Any = kube_config.new_client_from_config
"""The config loaders are untyped; typed as Any here rather than silencing mypy at each call."""
_RETRIES = 2
"""Connection attempts urllib3 repeats; a refused or dropped PATCH is never repeated (it is not idempotent)."""

_PROVIDERS: dict[str, tuple[str, str]] = {
    "serving.kserve.io": ("KServe", "install KServe and its CRDs in the cluster, or use the 'manifests' target"),
    "monitoring.coreos.com": (
        "The Prometheus Operator",
        "install it (e.g. kube-prometheus-stack), or deploy with monitoring.service_monitor disabled",
    ),
    "keda.sh": ("KEDA", "install KEDA, or deploy with autoscaler 'hpa' or 'none'"),
}
"""CRD group -> (product, how to get it): who to blame when a group is not served."""

_FORBIDDEN = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>\S+) resource "(?P<resource>[^"]+)" in API group "(?P<group>[^"]*)"'
    r'(?: in the namespace "(?P<namespace>[^"]+)")?'
)
_CONFLICT_MANAGER = re.compile(r'conflict with "(?P<manager>[^"]+)"')


class ResourceType(BaseModel):
    """A served resource: where its objects live in the API and whether they are namespaced."""

    model_config = ConfigDict(frozen=True)

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`inferenceservices.serving.kserve.io`, or `configmaps` for the core group (as kubectl names them)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def collection_path(self, namespace: str | None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced:
            if not namespace:
                raise ValueError(f"{self.kind} is namespaced; a namespace is required")
            return f"{root}/namespaces/{namespace}/{self.plural}"
        return f"{root}/{self.plural}"

    def object_path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace)}/{name}"


class AppliedObject(BaseModel):
    """The API server's answer to a server-side apply: the object as stored (or as it would be, for a dry run)."""

    created: bool
    object: dict[str, Any]

    @property
    def resource_version(self) -> str | None:
        value = self.object.get("metadata", {}).get("resourceVersion")
        return str(value) if value else None

    @property
    def uid(self) -> str | None:
        value = self.object.get("metadata", {}).get("uid")
        return str(value) if value else None


class _Reply(BaseModel):
    status: int
    text: str

    @property
    def document(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    @property
    def status_object(self) -> dict[str, Any] | None:
        """The body when it is a `Status` (every API error is one; the router's own 404 is plain text)."""
        data = self.document
        return data if data is not None and data.get("kind") == "Status" else None


def split_api_version(api_version: str) -> tuple[str, str]:
    """('serving.kserve.io', 'v1beta1') from 'serving.kserve.io/v1beta1'; ('', 'v1') for the core group."""
    group, _, version = api_version.rpartition("/")
    return group, version


def not_installed_message(api_version: str, kind: str, server: str) -> str:
    """Who provides a missing kind and how to get it: 'KServe is not installed: the API server has no ...'."""
    group, _ = split_api_version(api_version)
    provider = _PROVIDERS.get(group)
    if provider is None:
        return (
            f"the API server at {server} does not serve {api_version} {kind}; install the CRD or controller that "
            "provides it, or check the cluster's Kubernetes version"
        )
    product, remedy = provider
    return f"{product} is not installed: the API server has no {api_version} {kind}; {remedy}"


class KubeClient:
    """Raw, typed access to one API server through an `ApiClient`; does no I/O until the first call."""

    def __init__(self, api_client: ApiClient, *, request_timeout_s: float = 30.0, context: str | None = None) -> None:
        self._api: Any = api_client  # the generated client is only partly typed
        self._timeout = request_timeout_s
        self._context = context
        self._discovered: dict[tuple[str, str], dict[str, ResourceType] | None] = {}

    # --- construction ----------------------------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: KubernetesSettings) -> KubeClient:
        """From the kubeconfig (settings.kubeconfig, else $KUBECONFIG, else ~/.kube/config), else in-cluster."""
        explicit = settings.kubeconfig is not None
        kubeconfig = str(settings.kubeconfig) if explicit else os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
        paths = [Path(part).expanduser() for part in kubeconfig.split(os.pathsep) if part]
        if any(path.is_file() for path in paths):
            return cls(
                _kubeconfig_client(kubeconfig, settings.context),
                request_timeout_s=settings.request_timeout_s,
                context=settings.context,
            )
        if explicit:
            raise ConfigurationError(
                f"kubeconfig {kubeconfig} does not exist; set COMPASS_K8S_KUBECONFIG to an existing file"
            )
        if os.environ.get(_IN_CLUSTER_ENV):
            configuration = Configuration()
            try:
                _LOAD_INCLUSTER_CONFIG(client_configuration=configuration)
            except kube_config.ConfigException as exc:
                raise ConfigurationError(f"cannot use the pod's service account for Kubernetes: {exc}") from None
            configuration.retries = _RETRIES
            return cls(ApiClient(configuration), request_timeout_s=settings.request_timeout_s)
        raise ConfigurationError(
            f"no Kubernetes credentials: no kubeconfig at {kubeconfig} and not running in a pod; set "
            "COMPASS_K8S_KUBECONFIG (or KUBECONFIG) to your cluster's kubeconfig"
        )

    @classmethod
    def for_host(
        cls,
        host: str,
        *,
        token: str | None = None,
        verify_ssl: bool = True,
        ca_cert: Path | None = None,
        request_timeout_s: float = 30.0,
    ) -> KubeClient:
        """For an explicit API server URL and bearer token (tests, the stand-in, a demo)."""
        configuration = Configuration(host=host.rstrip("/"))
        if token is not None:
            configuration.api_key = {"authorization": f"Bearer {token}"}
        configuration.verify_ssl = verify_ssl
        if ca_cert is not None:
            configuration.ssl_ca_cert = str(ca_cert)
        configuration.retries = _RETRIES
        return cls(ApiClient(configuration), request_timeout_s=request_timeout_s)

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @property
    def server(self) -> str:
        """The API server URL, as messages show it."""
        return str(self._api.configuration.host)

    # --- discovery -------------------------------------------------------------------------------------------

    def find_resource_type(self, api_version: str, kind: str) -> ResourceType | None:
        """The served resource for `kind`, or None when its group/version or kind is not served."""
        group, version = split_api_version(api_version)
        if (group, version) not in self._discovered:
            self._discovered[(group, version)] = self._discover(group, version)
        resources = self._discovered[(group, version)]
        return None if resources is None else resources.get(kind)

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        """Like `find_resource_type`, but a missing kind raises ResourceTypeNotInstalledError."""
        found = self.find_resource_type(api_version, kind)
        if found is None:
            raise ResourceTypeNotInstalledError(not_installed_message(api_version, kind, self.server))
        return found

    def forget_discovery(self) -> None:
        """Drop cached discovery (after installing or removing a CRD)."""
        self._discovered.clear()

    def _discover(self, group: str, version: str) -> dict[str, ResourceType] | None:
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        reply = self._call("GET", path)
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise self._error(reply, verb="get", what=f"API discovery document {path}")
        document = reply.document or {}
        found: dict[str, ResourceType] = {}
        for entry in document.get("resources", []):
            name = str(entry.get("name", ""))
            if "/" in name or not name:  # subresources such as inferenceservices/status
                continue
            kind = str(entry.get("kind", ""))
            found.setdefault(
                kind,
                ResourceType(
                    group=group, version=version, kind=kind, plural=name, namespaced=bool(entry.get("namespaced"))
                ),
            )
        return found

    # --- object operations -----------------------------------------------------------------------------------

    def apply(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        manifest: str | Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
    ) -> AppliedObject:
        """Server-side apply `manifest` (YAML text or a mapping) as `field_manager`; 201 means it was created."""
        query = [("fieldManager", field_manager)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        body = manifest if isinstance(manifest, str) else json.dumps(dict(manifest))
        reply = self._call(
            "PATCH",
            resource.object_path(namespace, name),
            query=query,
            body=body,
            content_type=APPLY_PATCH_CONTENT_TYPE,
        )
        if reply.status not in (200, 201):
            raise self._error(reply, verb="patch", what=f"{resource.kind}/{name}", resource=resource)
        return AppliedObject(created=reply.status == 201, object=reply.document or {})

    def get(self, resource: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        reply = self._call("GET", resource.object_path(namespace, name))
        if reply.status == 200:
            return reply.document or {}
        if _object_not_found(reply):
            return None
        raise self._error(reply, verb="get", what=f"{resource.kind}/{name}", resource=resource)

    def list_objects(
        self, resource: ResourceType, namespace: str, *, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Objects of `resource` in `namespace`, filtered by a label selector ('compass.io/deployment-id=x')."""
        query = [("labelSelector", label_selector)] if label_selector else []
        reply = self._call("GET", resource.collection_path(namespace), query=query)
        if reply.status != 200:
            raise self._error(reply, verb="list", what=resource.qualified, resource=resource)
        items = (reply.document or {}).get("items") or []
        return [item for item in items if isinstance(item, dict)]

    def delete(
        self, resource: ResourceType, namespace: str, name: str, *, uid: str | None = None, dry_run: bool = False
    ) -> bool:
        """Delete the object (only the one with `uid`, when given); False when it was already gone."""
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if uid is not None:
            options["preconditions"] = {"uid": uid}
        query = [("dryRun", "All")] if dry_run else []
        reply = self._call(
            "DELETE", resource.object_path(namespace, name), query=query, body=options, content_type="application/json"
        )
        if reply.status in (200, 202):
            return True
        if _object_not_found(reply):
            return False
        raise self._error(reply, verb="delete", what=f"{resource.kind}/{name}", resource=resource)

    # --- transport and errors --------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str | None = None,
    ) -> _Reply:
        headers = {"Accept": "application/json"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            request = self._api.param_serialize(
                method, path, query_params=query or [], header_params=headers, body=body, auth_settings=["BearerToken"]
            )
            response = self._api.call_api(*request, _request_timeout=self._timeout)
            data = response.read()
        except ApiException as exc:  # the client reports TLS failures as status 0
            raise ClusterUnreachableError(self._unreachable(str(exc.reason or exc))) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachableError(self._unreachable(_connection_problem(exc, self._timeout))) from None
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data or "")
        return _Reply(status=int(response.status), text=text)

    def _unreachable(self, problem: str) -> str:
        where = f" (kubeconfig context {self._context!r})" if self._context else ""
        return (
            f"the Kubernetes API server at {self.server}{where} is unreachable: {problem}; check that the cluster "
            "is running and reachable from here (VPN, proxy, firewall) and that kubeconfig points at it"
        )

    def _error(self, reply: _Reply, *, verb: str, what: str, resource: ResourceType | None = None) -> DeploymentError:
        return api_error(reply.status, reply.text, server=self.server, verb=verb, what=what, resource=resource)


def api_error(
    status_code: int,
    body: str,
    *,
    server: str,
    verb: str,
    what: str,
    resource: ResourceType | None = None,
) -> DeploymentError:
    """The DeploymentError for an error answer; `what` names the object or resource the request was about."""
    reply = _Reply(status=status_code, text=body)
    status = reply.status_object or {}
    message = str(status.get("message") or body.strip() or f"HTTP {status_code}")
    reason = str(status.get("reason") or "")
    details = status.get("details") or {}
    causes = [cause for cause in details.get("causes") or [] if isinstance(cause, dict)]
    if status_code == 401:
        return ClusterAuthenticationError(
            f"the Kubernetes API server at {server} rejected the credentials (401 Unauthorized): the token or "
            "client certificate is invalid or expired; log in to the cluster again (refresh the kubeconfig "
            "credentials) and retry",
            status_code=401,
            reason=reason,
            api_message=message,
        )
    if status_code == 403:
        return ClusterForbiddenError(
            _forbidden_message(message, verb, resource), status_code=403, reason=reason, api_message=message
        )
    if status_code == 404:
        if not status and resource is not None:
            return ResourceTypeNotInstalledError(not_installed_message(resource.api_version, resource.kind, server))
        if details.get("kind") == "namespaces":
            namespace = str(details.get("name") or "")
            return NamespaceNotFoundError(
                f"namespace {namespace!r} does not exist on the cluster at {server}; create it "
                f"(kubectl create namespace {namespace}) or deploy to another allowed namespace",
                status_code=404,
                reason=reason,
                api_message=message,
            )
    if status_code == 409 and any(cause.get("type") == "FieldManagerConflict" for cause in causes):
        return _conflict_error(causes, message)
    if status_code in (400, 422):
        listed = [_cause_line(cause) for cause in causes] or [message]
        kind = "invalid" if status_code == 422 else "malformed"
        return InvalidObjectError(
            f"the API server rejected {what} as {kind} ({status_code} {reason or 'Invalid'}):\n  - "
            + "\n  - ".join(listed),
            status_code=status_code,
            reason=reason,
            causes=listed,
            api_message=message,
        )
    return ClusterRequestError(
        f"the Kubernetes API server at {server} could not {verb} {what}: {status_code} {reason or 'error'}: {message}",
        status_code=status_code,
        reason=reason,
        api_message=message,
    )


def _forbidden_message(message: str, verb: str, resource: ResourceType | None) -> str:
    match = _FORBIDDEN.search(message)
    if match is None:
        target = resource.qualified if resource is not None else "the resource"
        return (
            f"Kubernetes RBAC forbids this request ({verb} {target}): {message}; ask a cluster admin for a Role "
            "that grants it"
        )
    group = match["group"]
    qualified = f"{match['resource']}.{group}" if group else match["resource"]
    namespace = match["namespace"]
    scope = f'in namespace "{namespace}"' if namespace else "cluster-wide"
    check = f"kubectl auth can-i {match['verb']} {qualified}" + (f" -n {namespace}" if namespace else "")
    return (
        f'Kubernetes RBAC forbids user "{match["user"]}" to {match["verb"]} {qualified} {scope}; ask a cluster '
        f"admin for a Role that grants it, or deploy to a namespace where you have it (check: {check}). "
        f"API server: {message}"
    )


def _conflict_error(causes: list[dict[str, Any]], message: str) -> FieldManagerConflictError:
    conflicts = []
    for cause in causes:
        if cause.get("type") != "FieldManagerConflict":
            continue
        found = _CONFLICT_MANAGER.search(str(cause.get("message", "")))
        conflicts.append(FieldConflict(manager=found["manager"] if found else "?", field=str(cause.get("field", ""))))
    by_manager: dict[str, list[str]] = {}
    for conflict in conflicts:
        by_manager.setdefault(conflict.manager, []).append(conflict.field)
    owners = "; ".join(f'field manager "{manager}" owns {", ".join(fields)}' for manager, fields in by_manager.items())
    return FieldManagerConflictError(
        f"server-side apply conflict: {owners} with values that differ from Compass's (changed outside Compass, "
        "e.g. kubectl edit); apply with force to take the fields over, or undo that change",
        conflicts=conflicts,
        api_message=message,
    )


def _cause_line(cause: Mapping[str, Any]) -> str:
    field, text = str(cause.get("field") or ""), str(cause.get("message") or cause.get("reason") or "")
    return f"{field}: {text}" if field and not text.startswith(field) else text


def _object_not_found(reply: _Reply) -> bool:
    """A 404 Status about the object itself (not the namespace, not an unserved resource type)."""
    status = reply.status_object
    return (
        reply.status == 404
        and status is not None
        and status.get("reason") == "NotFound"
        and (status.get("details") or {}).get("kind") != "namespaces"
    )


def _connection_problem(exc: BaseException, timeout: float) -> str:
    reason = getattr(exc, "reason", None)
    cause: BaseException = reason if isinstance(reason, BaseException) else exc
    text = str(cause)
    # NewConnectionError subclasses ConnectTimeoutError in urllib3, so it is looked at first.
    if isinstance(cause, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
        if "refused" in text.lower():
            return "connection refused"
        if isinstance(cause, urllib3.exceptions.NameResolutionError):
            return "the host name does not resolve"
        return text
    if isinstance(cause, urllib3.exceptions.TimeoutError | TimeoutError):
        return f"no answer within {timeout:g}s"
    if isinstance(cause, urllib3.exceptions.SSLError):
        return f"TLS handshake failed ({text}); check the cluster's CA certificate in kubeconfig"
    if isinstance(cause, urllib3.exceptions.ProtocolError):
        return "the connection was closed before a response arrived"
    return text


def _kubeconfig_client(kubeconfig: str, context: str | None) -> ApiClient:
    configuration = Configuration()
    configuration.retries = _RETRIES  # read when the ApiClient builds its connection pool
    try:
        api_client: ApiClient = _NEW_CLIENT_FROM_CONFIG(
            config_file=kubeconfig, context=context, persist_config=False, client_configuration=configuration
        )
    except kube_config.ConfigException as exc:
        where = f" context {context!r}" if context else ""
        raise ConfigurationError(f"cannot use kubeconfig {kubeconfig}{where}: {exc}") from None
    return api_client
