"""Deploy a rendered `ManifestBundle` to Kubernetes, query it, and delete it again -- safely.

`apply_bundle` does, in order, stopping at the first step that fails:
1. refuses a namespace that is not in `KubernetesSettings.allowed_namespaces` (before any request) and a bundle
   rendered for another namespace or deployment id;
2. resolves every kind through discovery (a missing CRD fails here, e.g. "KServe is not installed");
3. server-side dry-runs every object (`dryRun=All`); if any is rejected nothing is applied and the error lists
   each rejected object with the API server's reason;
4. server-side applies each object in bundle order as field manager `settings.field_manager`, recording whether
   it was created (201), updated (new resourceVersion) or unchanged;
5. waits for the InferenceService's `Ready` condition (for its current generation), reporting progress;
6. on any failure in 4-5, deletes what this apply created -- in reverse order, each guarded by its uid, never an
   object that existed before -- and raises `OperationFailedError` carrying the `ApplyResult`.

`status`, `list_deployments` and `delete` find objects by the `compass.io/deployment-id` label every rendered
object carries. Results are Pydantic models; `ApplyResult.audit_entries()` gives rows the caller persists.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from kb.errors import ValidationFailedError
from manifests.bundle import ManifestBundle, RenderedObject
from manifests.names import check_label_value
from tools.deploy_errors import (
    BundleMismatchError,
    ClusterAuthenticationError,
    ClusterUnreachableError,
    DeploymentError,
    DeploymentNotFoundError,
    DryRunRejectedError,
    NamespaceNotAllowedError,
    ObjectFailure,
    ReadinessTimeoutError,
    WorkloadFailedError,
)
from tools.k8s.client import KubeClient, ResourceType
from tools.k8s.settings import KubernetesSettings

DEPLOYMENT_ID_LABEL = "compass.io/deployment-id"
MANAGED_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "ConfigMap"),
    ("serving.kserve.io/v1beta1", "InferenceService"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
)
"""Every kind Compass renders, in apply order; status/list/delete look for labelled objects of these kinds."""
INFERENCE_SERVICE = ("serving.kserve.io/v1beta1", "InferenceService")
_TERMINAL_TRANSITIONS = frozenset({"InvalidSpec", "BlockedByFailedLoad"})
"""KServe modelStatus.transitionStatus values that waiting will not fix."""

Action = Literal["created", "updated", "unchanged", "deleted", "rolled_back", "failed", "skipped"]
Progress = Callable[[str], None]


class ObjectOutcome(BaseModel):
    """What an operation did to one object."""

    kind: str
    name: str
    api_version: str
    action: Action
    message: str = ""
    resource_version: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


class AuditEntry(BaseModel):
    """One row for the audit log: who did what to which object of which deployment, where, and how it ended."""

    at: datetime
    actor: str
    operation: Literal["apply", "delete"]
    deployment_id: str
    namespace: str
    server: str
    field_manager: str
    succeeded: bool
    kind: str | None = Field(default=None, description="None on the operation's summary row")
    name: str | None = None
    action: str
    message: str = ""


class ApplyResult(BaseModel):
    """The outcome of `apply_bundle` or `delete`, one `ObjectOutcome` per object, in bundle order."""

    operation: Literal["apply", "delete"] = "apply"
    deployment_id: str
    namespace: str
    server: str
    actor: str
    field_manager: str
    started_at: datetime
    finished_at: datetime | None = None
    succeeded: bool = False
    ready: bool | None = Field(default=None, description="Whether the InferenceService reported Ready")
    url: str | None = Field(default=None, description="The InferenceService's status.url once Ready")
    error: str | None = None
    outcomes: list[ObjectOutcome] = Field(default_factory=list)

    def outcome(self, kind: str, name: str) -> ObjectOutcome:
        for outcome in self.outcomes:
            if (outcome.kind, outcome.name) == (kind, name):
                return outcome
        raise KeyError(f"{kind}/{name}")

    def refs(self, action: Action) -> list[str]:
        """`Kind/name` of the objects with `action`, in bundle order."""
        return [outcome.ref for outcome in self.outcomes if outcome.action == action]

    def audit_entries(self) -> list[AuditEntry]:
        """A summary row, then one row per object; nothing is persisted here (the caller does that)."""
        at = self.finished_at or self.started_at
        common: dict[str, Any] = {
            "at": at,
            "actor": self.actor,
            "operation": self.operation,
            "deployment_id": self.deployment_id,
            "namespace": self.namespace,
            "server": self.server,
            "field_manager": self.field_manager,
            "succeeded": self.succeeded,
        }
        summary = self.error or f"{self.operation} of {len(self.outcomes)} objects succeeded" + (
            f"; ready at {self.url}" if self.url else ""
        )
        entries = [AuditEntry(**common, action="succeeded" if self.succeeded else "failed", message=summary)]
        entries += [
            AuditEntry(**common, kind=o.kind, name=o.name, action=o.action, message=o.message) for o in self.outcomes
        ]
        return entries


class OperationFailedError(DeploymentError):
    """An apply or delete failed after it had started writing; `result` says what was done and undone."""

    def __init__(self, message: str, *, cause: DeploymentError, result: ApplyResult) -> None:
        super().__init__(message)
        self.cause = cause
        self.result = result


class Condition(BaseModel):
    type: str
    status: str
    reason: str | None = None
    message: str | None = None


class ObjectState(BaseModel):
    """One object of a deployment as the cluster has it."""

    kind: str
    name: str
    api_version: str
    resource_version: str | None = None
    created_at: str | None = None
    managers: list[str] = Field(default_factory=list, description="Field managers in managedFields")


class DeploymentStatus(BaseModel):
    """A deployment's objects and its InferenceService's readiness."""

    deployment_id: str
    namespace: str
    server: str
    objects: list[ObjectState]
    ready: bool | None = Field(default=None, description="None when there is no InferenceService")
    url: str | None = None
    model: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    summary: str = ""


class DeploymentSummary(BaseModel):
    """One line of `list_deployments`."""

    deployment_id: str
    namespace: str
    kinds: list[str]
    object_count: int
    ready: bool | None = None
    url: str | None = None
    model: str | None = None


# --- checks before any request ------------------------------------------------------------------------------


def require_allowed_namespace(namespace: str, settings: KubernetesSettings) -> None:
    """NamespaceNotAllowedError unless `namespace` is on the allow-list; makes no request."""
    if not settings.namespace_allowed(namespace):
        allowed = ", ".join(repr(n) for n in settings.allowed_namespaces) or "none"
        raise NamespaceNotAllowedError(
            f"namespace {namespace!r} is not on Compass's allow-list ({allowed}); deploy to an allowed namespace, "
            f"or add it to COMPASS_K8S_ALLOWED_NAMESPACES if Compass may write there"
        )


def _check_deployment_id(deployment_id: str) -> None:
    problem = check_label_value(deployment_id, "deployment_id")
    if problem is not None or not deployment_id:
        raise ValidationFailedError(problem or "deployment_id is empty")


def _check_bundle(bundle: ManifestBundle, namespace: str, deployment_id: str) -> None:
    if not bundle.objects:
        raise BundleMismatchError("the manifest bundle is empty; render the deployment before applying it")
    if bundle.deployment_id != deployment_id:
        raise BundleMismatchError(
            f"the bundle was rendered for deployment {bundle.deployment_id!r}, not {deployment_id!r}; render it again"
        )
    stray = [obj.ref for obj in bundle if obj.namespace != namespace]
    if bundle.namespace != namespace or stray:
        raise BundleMismatchError(
            f"the bundle was rendered for namespace {bundle.namespace!r} but the deployment targets {namespace!r}; "
            "render it again for that namespace (it appears inside the manifests, e.g. in Prometheus queries)"
        )
    unlabelled = [
        obj.ref
        for obj in bundle
        if (obj.document.get("metadata", {}).get("labels") or {}).get(DEPLOYMENT_ID_LABEL) != deployment_id
    ]
    if unlabelled:
        raise BundleMismatchError(
            f"{', '.join(unlabelled)} lack the label {DEPLOYMENT_ID_LABEL}={deployment_id}; without it Compass "
            "could not find, report or delete them later"
        )


# --- apply --------------------------------------------------------------------------------------------------


def apply_bundle(
    client: KubeClient,
    bundle: ManifestBundle,
    *,
    namespace: str,
    settings: KubernetesSettings,
    deployment_id: str,
    actor: str,
    progress: Progress | None = None,
    force: bool = False,
) -> ApplyResult:
    """Dry-run, apply and wait for the deployment; see the module docstring. `force` takes over fields another
    field manager owns (server-side apply `force=true`). Raises NamespaceNotAllowedError, ValidationFailedError
    (a deployment id that is not a label value), BundleMismatchError,
    ResourceTypeNotInstalledError, DryRunRejectedError and the connection/auth errors before anything is
    written, OperationFailedError (with the rollback in `.result`) after."""
    notify: Progress = progress or _ignore
    require_allowed_namespace(namespace, settings)
    _check_deployment_id(deployment_id)
    _check_bundle(bundle, namespace, deployment_id)
    plan = [(obj, client.resource_type(obj.api_version, obj.kind)) for obj in bundle]
    notify(f"dry run: {len(plan)} objects against {client.server} (namespace {namespace})")
    _dry_run(client, plan, namespace, settings.field_manager, force)
    notify(f"dry run accepted all {len(plan)} objects")
    rollout = _Rollout(client, bundle, plan, namespace, settings, actor, notify, force)
    return rollout.run()


def _ignore(_message: str) -> None:
    return None


def _dry_run(
    client: KubeClient, plan: list[tuple[RenderedObject, ResourceType]], namespace: str, manager: str, force: bool
) -> None:
    failures = []
    for obj, resource in plan:
        try:
            client.apply(resource, namespace, obj.name, obj.yaml_text, field_manager=manager, force=force, dry_run=True)
        except (ClusterUnreachableError, ClusterAuthenticationError):
            raise  # every other object would fail the same way
        except DeploymentError as exc:
            failures.append(ObjectFailure(ref=obj.ref, error=exc))
    if failures:
        raise DryRunRejectedError(namespace, failures, total=len(plan))


class _Rollout:
    """The writing half of `apply_bundle`: apply, wait, and undo on failure."""

    def __init__(
        self,
        client: KubeClient,
        bundle: ManifestBundle,
        plan: list[tuple[RenderedObject, ResourceType]],
        namespace: str,
        settings: KubernetesSettings,
        actor: str,
        notify: Progress,
        force: bool,
    ) -> None:
        self.client, self.plan, self.namespace, self.settings = client, plan, namespace, settings
        self.notify, self.force = notify, force
        self.result = ApplyResult(
            deployment_id=bundle.deployment_id,
            namespace=namespace,
            server=client.server,
            actor=actor,
            field_manager=settings.field_manager,
            started_at=datetime.now(UTC),
            outcomes=[
                ObjectOutcome(
                    kind=obj.kind, name=obj.name, api_version=obj.api_version, action="skipped", message="not applied"
                )
                for obj, _ in plan
            ],
        )
        self.created: list[tuple[int, str | None]] = []
        """(plan index, uid) of objects this apply created, in creation order."""
        self.uncertain: int | None = None
        """Plan index of an object that did not exist and whose apply got no answer: it may have been created."""

    def run(self) -> ApplyResult:
        phase = "applying the objects"
        try:
            for index in range(len(self.plan)):
                phase = f"applying {self.plan[index][0].ref}"
                self._apply(index)
            phase = "waiting for the InferenceService to become Ready"
            self._wait_until_ready()
        except DeploymentError as exc:
            raise self._fail(exc, phase) from None
        except BaseException:
            self._rollback()  # interrupted or a bug: still leave nothing half-applied behind
            raise
        self.result.succeeded = True
        self.result.finished_at = datetime.now(UTC)
        return self.result

    def _apply(self, index: int) -> None:
        obj, resource = self.plan[index]
        outcome = self.result.outcomes[index]
        before = self.client.get(resource, self.namespace, obj.name)
        try:
            applied = self.client.apply(
                resource,
                self.namespace,
                obj.name,
                obj.yaml_text,
                field_manager=self.settings.field_manager,
                force=self.force,
            )
        except DeploymentError as exc:
            outcome.action, outcome.message = "failed", exc.message
            if before is None and (isinstance(exc, ClusterUnreachableError) or _server_error(exc)):
                self.uncertain = index  # the write may have happened even though no answer came back
            raise
        outcome.resource_version = applied.resource_version
        previous_version = (before or {}).get("metadata", {}).get("resourceVersion")
        if applied.created:
            self.created.append((index, applied.uid))
            outcome.action, outcome.message = "created", "created by this apply"
        elif previous_version is not None and previous_version == applied.resource_version:
            outcome.action, outcome.message = "unchanged", "already as rendered"
        else:
            outcome.action = "updated"
            outcome.message = f"updated (resourceVersion {previous_version} -> {applied.resource_version})"
        self.notify(f"{outcome.action} {obj.ref}")

    def _wait_until_ready(self) -> None:
        index = next(
            (i for i, (obj, _) in enumerate(self.plan) if (obj.api_version, obj.kind) == INFERENCE_SERVICE), None
        )
        if index is None:
            return
        obj, resource = self.plan[index]
        timeout, interval = self.settings.readiness_timeout_s, self.settings.poll_interval_s
        started = time.monotonic()
        while True:
            current = self.client.get(resource, self.namespace, obj.name)
            if current is None:
                raise WorkloadFailedError(
                    f"{obj.ref} disappeared while Compass waited for it to become Ready (deleted by someone else?)"
                )
            ready, summary = readiness(current)
            if ready:
                self.result.ready = True
                self.result.url = (current.get("status") or {}).get("url")
                self.notify(f"{obj.ref} is Ready" + (f" at {self.result.url}" if self.result.url else ""))
                return
            failure = _terminal_failure(current)
            if failure is not None:
                raise WorkloadFailedError(
                    f"{obj.ref} failed: {failure}; see kubectl describe inferenceservice {obj.name} -n {self.namespace}"
                )
            elapsed = time.monotonic() - started
            if elapsed >= timeout:
                self.result.ready = False
                raise ReadinessTimeoutError(
                    f"{obj.ref} did not become Ready within {timeout:g}s ({summary}); check its pods with "
                    f"kubectl get pods -n {self.namespace} -l serving.kserve.io/inferenceservice={obj.name} and "
                    f"kubectl describe inferenceservice {obj.name} -n {self.namespace}, or raise "
                    "COMPASS_K8S_READINESS_TIMEOUT_S for large models"
                )
            self.notify(f"waiting for {obj.ref} to become Ready ({elapsed:.0f}s of {timeout:g}s): {summary}")
            time.sleep(min(interval, max(timeout - elapsed, 0.0)))

    def _fail(self, cause: DeploymentError, phase: str) -> OperationFailedError:
        self.notify(f"failed while {phase}: {cause.message}")
        problems = self._rollback()
        result = self.result
        result.finished_at = datetime.now(UTC)
        rolled_back = result.refs("rolled_back")
        kept = [o.ref for o in result.outcomes if o.action in ("updated", "unchanged")]
        lines = [f"deploying {result.deployment_id!r} to namespace {self.namespace!r} failed while {phase}: {cause}"]
        lines.append(
            "rolled back (deleted, created by this apply): " + ", ".join(rolled_back)
            if rolled_back
            else "nothing to roll back: this apply had created no object"
        )
        if kept:
            lines.append(f"left in place (they existed before this apply): {', '.join(kept)}")
        lines += problems
        result.error = "\n".join(lines)
        return OperationFailedError(result.error, cause=cause, result=result)

    def _rollback(self) -> list[str]:
        """Delete what this apply created, newest first; returns a line per object it could not delete."""
        candidates = list(self.created)
        if self.uncertain is not None:
            candidates += self._uncertain_candidate(self.uncertain)
        if candidates:
            self.notify(f"rolling back {len(candidates)} object(s) this apply created")
        problems = []
        for index, uid in reversed(candidates):
            obj, resource = self.plan[index]
            outcome = self.result.outcomes[index]
            confirmed = index != self.uncertain or uid is not None
            try:
                existed = self.client.delete(resource, self.namespace, obj.name, uid=uid)
            except DeploymentError as exc:
                hint = f"delete it by hand: kubectl delete {resource.qualified} {obj.name} -n {self.namespace}"
                if confirmed:
                    outcome.action = "created"
                    outcome.message = (
                        f"created by this apply, but the rollback could not delete it: {exc.message}; {hint}"
                    )
                else:
                    outcome.message += f"; it may have been created, and the rollback could not check: {exc.message}; "
                    outcome.message += f"if it exists, {hint}"
                problems.append(f"could not roll back {obj.ref}: {outcome.message}")
                continue
            if not existed and not confirmed:
                continue  # the failed apply had not created it
            outcome.action = "rolled_back"
            outcome.message = "created by this apply, deleted by the rollback" + ("" if existed else " (already gone)")
            self.notify(f"rolled back {obj.ref}")
        return problems

    def _uncertain_candidate(self, index: int) -> list[tuple[int, str | None]]:
        """The object whose apply got no answer, if it was created after all and is ours."""
        obj, resource = self.plan[index]
        try:
            current = self.client.get(resource, self.namespace, obj.name)
        except DeploymentError:
            return [(index, None)]  # cannot tell; try deleting (404 is fine)
        if current is None:
            return []
        managers = {entry.get("manager") for entry in current.get("metadata", {}).get("managedFields") or []}
        if self.settings.field_manager not in managers:
            return []
        return [(index, current.get("metadata", {}).get("uid"))]


def _server_error(exc: DeploymentError) -> bool:
    status_code = getattr(exc, "status_code", None)
    return isinstance(status_code, int) and status_code >= 500


# --- readiness ----------------------------------------------------------------------------------------------


def _conditions(obj: dict[str, Any]) -> list[Condition]:
    return [
        Condition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "")),
            reason=c.get("reason"),
            message=c.get("message"),
        )
        for c in (obj.get("status") or {}).get("conditions") or []
        if isinstance(c, dict)
    ]


def readiness(obj: dict[str, Any]) -> tuple[bool, str]:
    """(Ready=True for the object's current generation, a one-line summary of why not)."""
    status = obj.get("status") or {}
    conditions = _conditions(obj)
    if not conditions:
        return False, "no status yet (is the KServe controller running?)"
    generation = obj.get("metadata", {}).get("generation")
    observed = status.get("observedGeneration")
    ready = next((c for c in conditions if c.type == "Ready"), None)
    if ready is not None and ready.status == "True":
        if generation is not None and observed is not None and int(observed) < int(generation):
            return False, f"the controller has not yet seen generation {generation} (observed {observed})"
        return True, "Ready"
    pending = [c for c in conditions if c.status != "True"]
    parts = []
    for condition in pending:
        detail = ": ".join(part for part in (condition.reason, condition.message) if part)
        parts.append(f"{condition.type}={condition.status}" + (f" ({detail})" if detail else ""))
    return False, "; ".join(parts) or "Ready condition not reported yet"


def _terminal_failure(obj: dict[str, Any]) -> str | None:
    model_status = (obj.get("status") or {}).get("modelStatus") or {}
    if model_status.get("transitionStatus") not in _TERMINAL_TRANSITIONS:
        return None
    info = model_status.get("lastFailureInfo") or {}
    detail = ": ".join(str(part) for part in (info.get("reason"), info.get("message")) if part)
    return f"{model_status['transitionStatus']}" + (f" ({detail})" if detail else "")


# --- status, list, delete -----------------------------------------------------------------------------------


def _labelled(client: KubeClient, namespace: str, selector: str) -> list[tuple[ResourceType, dict[str, Any]]]:
    """Objects of the managed kinds matching `selector`, in apply order; kinds the cluster lacks are skipped."""
    found = []
    for api_version, kind in MANAGED_KINDS:
        resource = client.find_resource_type(api_version, kind)
        if resource is None:
            continue
        found += [(resource, item) for item in client.list_objects(resource, namespace, label_selector=selector)]
    return found


def _state(resource: ResourceType, obj: dict[str, Any]) -> ObjectState:
    metadata = obj.get("metadata", {})
    return ObjectState(
        kind=resource.kind,
        name=str(metadata.get("name", "")),
        api_version=resource.api_version,
        resource_version=metadata.get("resourceVersion"),
        created_at=metadata.get("creationTimestamp"),
        managers=sorted({str(e.get("manager")) for e in metadata.get("managedFields") or [] if e.get("manager")}),
    )


def status(client: KubeClient, namespace: str, deployment_id: str) -> DeploymentStatus:
    """The deployment's objects and readiness; DeploymentNotFoundError when nothing carries its label."""
    _check_deployment_id(deployment_id)
    found = _labelled(client, namespace, f"{DEPLOYMENT_ID_LABEL}={deployment_id}")
    if not found:
        raise DeploymentNotFoundError(
            f"no deployment {deployment_id!r} in namespace {namespace!r} on {client.server}: no object carries the "
            f"label {DEPLOYMENT_ID_LABEL}={deployment_id}"
        )
    result = DeploymentStatus(
        deployment_id=deployment_id,
        namespace=namespace,
        server=client.server,
        objects=[_state(resource, obj) for resource, obj in found],
    )
    isvc = next((obj for resource, obj in found if (resource.api_version, resource.kind) == INFERENCE_SERVICE), None)
    if isvc is None:
        result.summary = "no InferenceService: the deployment is incomplete"
        return result
    result.ready, result.summary = readiness(isvc)
    result.url = (isvc.get("status") or {}).get("url")
    result.model = (isvc.get("metadata", {}).get("annotations") or {}).get("compass.io/model")
    result.conditions = _conditions(isvc)
    return result


def list_deployments(client: KubeClient, namespace: str) -> list[DeploymentSummary]:
    """Every Compass deployment in `namespace` (grouped by the deployment-id label), sorted by id."""
    grouped: dict[str, list[tuple[ResourceType, dict[str, Any]]]] = {}
    for resource, obj in _labelled(client, namespace, DEPLOYMENT_ID_LABEL):
        deployment_id = (obj.get("metadata", {}).get("labels") or {}).get(DEPLOYMENT_ID_LABEL, "")
        grouped.setdefault(deployment_id, []).append((resource, obj))
    summaries = []
    for deployment_id, members in sorted(grouped.items()):
        isvc = next((obj for r, obj in members if (r.api_version, r.kind) == INFERENCE_SERVICE), None)
        summaries.append(
            DeploymentSummary(
                deployment_id=deployment_id,
                namespace=namespace,
                kinds=[resource.kind for resource, _ in members],
                object_count=len(members),
                ready=None if isvc is None else readiness(isvc)[0],
                url=None if isvc is None else (isvc.get("status") or {}).get("url"),
                model=None
                if isvc is None
                else (isvc.get("metadata", {}).get("annotations") or {}).get("compass.io/model"),
            )
        )
    return summaries


def delete(
    client: KubeClient,
    namespace: str,
    deployment_id: str,
    *,
    settings: KubernetesSettings | None = None,
    actor: str = "compass",
) -> ApplyResult:
    """Delete every object labelled with the deployment id, in reverse apply order. The namespace must be on
    the allow-list (`settings`, default: from the environment). Raises DeploymentNotFoundError when nothing
    carries the label, OperationFailedError (with per-object outcomes) when some deletions failed."""
    settings = settings or KubernetesSettings()
    require_allowed_namespace(namespace, settings)
    _check_deployment_id(deployment_id)
    found = _labelled(client, namespace, f"{DEPLOYMENT_ID_LABEL}={deployment_id}")
    if not found:
        raise DeploymentNotFoundError(
            f"nothing to delete: no object in namespace {namespace!r} on {client.server} carries the label "
            f"{DEPLOYMENT_ID_LABEL}={deployment_id}"
        )
    result = ApplyResult(
        operation="delete",
        deployment_id=deployment_id,
        namespace=namespace,
        server=client.server,
        actor=actor,
        field_manager=settings.field_manager,
        started_at=datetime.now(UTC),
    )
    failures: list[DeploymentError] = []
    for resource, obj in reversed(found):
        metadata = obj.get("metadata", {})
        outcome = ObjectOutcome(
            kind=resource.kind, name=str(metadata.get("name")), api_version=resource.api_version, action="deleted"
        )
        try:
            existed = client.delete(resource, namespace, outcome.name, uid=metadata.get("uid"))
            outcome.message = "deleted" if existed else "already gone"
        except DeploymentError as exc:
            outcome.action, outcome.message = "failed", exc.message
            failures.append(exc)
        result.outcomes.append(outcome)
    result.finished_at = datetime.now(UTC)
    result.succeeded = not failures
    if failures:
        failed = result.refs("failed")
        result.error = f"deleting {deployment_id!r} left {len(failed)} object(s) behind: " + "; ".join(
            f"{o.ref}: {o.message}" for o in result.outcomes if o.action == "failed"
        )
        raise OperationFailedError(result.error, cause=failures[0], result=result)
    return result
