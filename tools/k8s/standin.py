"""A stand-in Kubernetes API server: the slice of real API semantics Compass's Kubernetes target relies on.

It lets the real `kubernetes` client (and so `tools.k8s`) run end to end without a cluster, in tests and demos:

    cluster = StandInCluster(resources=[*BUILTIN_RESOURCES, *load_crds(Path("../shared/schemas"))])
    with StandInApiServer(cluster) as server:
        client = KubeClient.for_host(server.url, token=cluster.token)

`StandInCluster` holds the state and answers `ApiRequest`s (no sockets, thread-safe); `StandInApiServer` serves
it over HTTP/1.1 on 127.0.0.1 from a background thread (`http.server`, so a fault can drop the raw connection).

Modelled as the API server does it:
* discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`; a group whose
  CRD is not installed is absent and its paths answer the router's plain-text `404 page not found`;
* authentication (bearer token, 401 `Status`), then RBAC-style denials (403 with the real message shape:
  `... is forbidden: User "u" cannot patch resource "r" in API group "g" in the namespace "n"`);
* objects stored per (group, version, plural, namespace, name) with `uid`, `creationTimestamp`, `generation`
  (bumped when anything but metadata/status changes) and a cluster-wide, monotonically increasing
  `resourceVersion` (a no-op write does not bump it);
* server-side apply (`PATCH`, `application/apply-patch+yaml`): 201 on create, 200 on update; `managedFields`
  per field manager (FieldsV1); fields the manager stopped applying are removed unless someone else owns them;
  a field another manager owns with a different value is a 409 `Conflict` with `FieldManagerConflict` causes,
  unless `force=true`, which takes it over; `fieldManager` is required; fields not declared in a CRD's schema
  are a 400 (apply is always strict); the result is validated against the CRD's openAPIV3Schema (422 `Invalid`
  with causes); JSON merge patches record `Update` ownership of the fields they change;
* `dryRun=All` on every write: the full request is validated and answered, nothing is stored;
* GET, LIST with `labelSelector` (`=`, `==`, `!=`, `in`, `notin`, exists, `!key`), DELETE (200 `Status`
  Success; `preconditions.uid` honoured with a 409), 404 `NotFound` Status for missing objects, 404
  `namespaces "x" not found` when creating in a namespace that does not exist;
* an InferenceService "controller": every GET of one counts as a poll; it reports Ready=True on the N-th poll
  after each spec change (`set_readiness`), never, or a failed model load;
* faults: the k-th write from now answers 500, or the connection is dropped before or after the write commits.

Not modelled: watches, POST/PUT, subresources, admission webhooks, garbage collection, built-in kinds' schemas
(only their names and labels are validated), granular list merging (every list is atomic, as for CRDs without
`x-kubernetes-list-type`).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import re
import socket
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

import jsonschema
import yaml

DEFAULT_TOKEN = "compass-standin-token"
DEFAULT_USER = "system:serviceaccount:compass:compass-deployer"
KUBERNETES_VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.0+compass-standin", "platform": "linux/amd64"}
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
MAX_RECORDED_REQUESTS = 10_000
"""The request log keeps the most recent requests only, so a long-running demo does not grow without bound."""
FaultMode = Literal["error", "drop", "drop_after_commit"]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")
_ISVC = ("serving.kserve.io", "InferenceService")

FieldPath = tuple[str, ...]


# --- resource types -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServedResource:
    """A resource type the stand-in serves; CRDs carry their openAPIV3Schema (None: accept any content)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    status_subresource: bool = False
    schema: Mapping[str, Any] | None = field(default=None, repr=False, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


BUILTIN_RESOURCES: tuple[ServedResource, ...] = (
    ServedResource("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",), status_subresource=True),
    ServedResource("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    ServedResource("", "v1", "Secret", "secrets"),
    ServedResource("", "v1", "Service", "services", short_names=("svc",), status_subresource=True),
    ServedResource("apps", "v1", "Deployment", "deployments", short_names=("deploy",), status_subresource=True),
    ServedResource(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short_names=("hpa",),
        status_subresource=True,
    ),
    ServedResource("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), status_subresource=True),
    ServedResource("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",)),
)
"""Built-in kinds Compass renders, plus the few a demo may want."""

COMPASS_CRDS: tuple[ServedResource, ...] = (
    ServedResource("serving.kserve.io", "v1beta1", "InferenceService", "inferenceservices", True, ("isvc",), True),
    ServedResource("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", True, ("smon",), True),
    ServedResource("keda.sh", "v1alpha1", "ScaledObject", "scaledobjects", True, ("so",), True),
)
"""The CRDs Compass renders, without schemas; `load_crds` gives them with their real schemas."""


def load_crds(schema_dir: Path) -> list[ServedResource]:
    """Every served version of every CustomResourceDefinition in the YAML files under `schema_dir`."""
    found = []
    for path in sorted(schema_dir.rglob("*.yaml")):
        for document in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                found.extend(_crd_resources(document))
    return found


def _crd_resources(crd: Mapping[str, Any]) -> list[ServedResource]:
    spec, names = crd["spec"], crd["spec"]["names"]
    return [
        ServedResource(
            group=spec["group"],
            version=version["name"],
            kind=names["kind"],
            plural=names["plural"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            status_subresource="status" in (version.get("subresources") or {}),
            schema=(version.get("schema") or {}).get("openAPIV3Schema"),
        )
        for version in spec["versions"]
        if version.get("served", True)
    ]


# --- requests, replies, records -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One HTTP request as the cluster sees it; header names are lower case."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def dry_run(self) -> bool:
        return self.param("dryRun") == "All"


@dataclass(frozen=True, slots=True)
class ApiReply:
    """The answer; `drop` closes the connection without any response."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    drop: bool = False

    @classmethod
    def json(cls, status: int, document: Mapping[str, Any]) -> ApiReply:
        return cls(status, json.dumps(document).encode())

    @classmethod
    def text(cls, status: int, text: str) -> ApiReply:
        return cls(status, text.encode(), content_type="text/plain; charset=utf-8")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What the stand-in saw: for asserting which requests a client made (status None: connection dropped)."""

    method: str
    path: str
    query: Mapping[str, str]
    status: int | None

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


class _Failure(Exception):
    """Carries an error reply out of deep request handling."""

    def __init__(self, reply: ApiReply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def status_reply(code: int, reason: str, message: str, details: Mapping[str, Any] | None = None) -> ApiReply:
    """A `Status` failure, shaped as the API server sends it."""
    document: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        document["details"] = dict(details)
    return ApiReply.json(code, document)


def _fail(code: int, reason: str, message: str, details: Mapping[str, Any] | None = None) -> _Failure:
    return _Failure(status_reply(code, reason, message, details))


def _page_not_found() -> _Failure:
    """What the API server's router answers for a path no API group serves (plain text, not a Status)."""
    return _Failure(ApiReply.text(404, "404 page not found\n"))


# --- label selectors ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    """One clause of a label selector."""

    key: str
    operator: Literal["=", "!=", "in", "notin", "exists", "!"]
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        match self.operator:
            case "exists":
                return present
            case "!":
                return not present
            case "=" | "in":
                return present and value in self.values
            case _:  # "!=" and "notin" also match objects without the label, as in Kubernetes
                return not present or value not in self.values


_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_SET_CLAUSE = re.compile(rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s+\((?P<values>[^()]*)\)\s*$")
_EQUALITY_CLAUSE = re.compile(rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>[-A-Za-z0-9_.]*)\s*$")
_EXISTS_CLAUSE = re.compile(rf"^\s*(?P<not>!)?\s*(?P<key>{_KEY})\s*$")


def parse_label_selector(text: str) -> list[LabelRequirement]:
    """Requirements of a selector such as `app=x,tier in (a,b),!legacy`; ValueError when unreadable."""
    clauses, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            clauses.append(current)
            current = ""
        else:
            current += char
    clauses.append(current)
    requirements = []
    for clause in (c for c in clauses if c.strip()):
        if match := _SET_CLAUSE.match(clause):
            values = tuple(v.strip() for v in match["values"].split(",") if v.strip())
            operator: Literal["in", "notin"] = "in" if match["op"] == "in" else "notin"
            requirements.append(LabelRequirement(match["key"], operator, values))
        elif match := _EQUALITY_CLAUSE.match(clause):
            requirements.append(LabelRequirement(match["key"], "!=" if match["op"] == "!=" else "=", (match["value"],)))
        elif match := _EXISTS_CLAUSE.match(clause):
            requirements.append(LabelRequirement(match["key"], "!" if match["not"] else "exists"))
        else:
            raise ValueError(f"unable to parse requirement: {clause.strip()!r}")
    return requirements


# --- field sets (server-side apply ownership) ---------------------------------------------------------------

_MISSING = object()


def _leaves(value: Any, prefix: FieldPath) -> set[FieldPath]:
    """Paths of the scalar, list (atomic) and empty-map values under `value`."""
    if isinstance(value, dict) and value:
        found: set[FieldPath] = set()
        for key, child in value.items():
            found |= _leaves(child, (*prefix, str(key)))
        return found
    return {prefix}


def field_set(document: Mapping[str, Any]) -> set[FieldPath]:
    """The fields an apply configuration (or an object) sets, as server-side apply tracks them."""
    paths: set[FieldPath] = set()
    for key, value in document.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata" and isinstance(value, dict):
            for meta_key, meta_value in value.items():
                if meta_key not in ("name", "namespace", *_SERVER_METADATA):
                    paths |= _leaves(meta_value, ("metadata", meta_key))
        else:
            paths |= _leaves(value, (key,))
    return paths


def fields_v1(paths: Iterable[FieldPath]) -> dict[str, Any]:
    """FieldsV1 form: {"f:spec": {"f:replicas": {}}}."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return root


def paths_from_fields_v1(node: Mapping[str, Any], prefix: FieldPath = ()) -> set[FieldPath]:
    found: set[FieldPath] = set()
    for key, child in node.items():
        if not key.startswith("f:"):
            continue
        path = (*prefix, key[2:])
        found |= paths_from_fields_v1(child, path) if child else {path}
    return found


def _overlaps(a: FieldPath, b: FieldPath) -> bool:
    return a[: len(b)] == b or b[: len(a)] == a


def _covers(owned: FieldPath, path: FieldPath, document: Any) -> bool:
    """Whether owning `owned` keeps `path` alive: the same field, a field inside `path`, or an atomic value
    (scalar, list) that contains it. Owning a map (set as `{}`) claims the map, not its entries."""
    if owned[: len(path)] == path:
        return True
    return path[: len(owned)] == owned and not isinstance(_value_at(document, owned), dict)


def _value_at(document: Any, path: FieldPath) -> Any:
    node = document
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _remove_at(document: dict[str, Any], path: FieldPath) -> None:
    """Remove the field and any map it leaves empty (top-level fields stay)."""
    parents: list[tuple[dict[str, Any], str]] = []
    node: Any = document
    for part in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            return
        parents.append((node, part))
        node = node[part]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, key in reversed(parents[1:]):
        if parent[key] == {}:
            del parent[key]


def _changes(live_value: Any, applied_value: Any) -> bool:
    """Whether applying `applied_value` over `live_value` changes the object (an empty map merges as a no-op)."""
    if live_value is _MISSING or live_value == applied_value:
        return False
    return not (applied_value == {} and isinstance(live_value, dict))


def _merge(base: dict[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in config.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _field_text(path: FieldPath) -> str:
    return "".join(f".{p}" if re.fullmatch(r"[A-Za-z0-9_-]+", p) else f'["{p}"]' for p in path)


@dataclass(slots=True)
class _Manager:
    """One managedFields entry: who set which fields, by apply or by update."""

    manager: str
    operation: str
    api_version: str
    time: str
    paths: set[FieldPath]

    def entry(self) -> dict[str, Any]:
        return {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(self.paths),
        }


def _managers(obj: Mapping[str, Any] | None) -> list[_Manager]:
    if obj is None:
        return []
    return [
        _Manager(
            manager=str(entry.get("manager", "")),
            operation=str(entry.get("operation", "Update")),
            api_version=str(entry.get("apiVersion", "")),
            time=str(entry.get("time", "")),
            paths=paths_from_fields_v1(entry.get("fieldsV1") or {}),
        )
        for entry in obj.get("metadata", {}).get("managedFields") or []
    ]


# --- schema validation --------------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", dict: "object", list: "array", type(None): "null"}.get(type(value), type(value).__name__)


def _json_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def undeclared_fields(value: Any, schema: Mapping[str, Any] | None, path: FieldPath = ()) -> list[FieldPath]:
    """Fields an object sets that its structural schema does not declare (metadata is ObjectMeta, not checked)."""
    if not isinstance(schema, Mapping):
        return []
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        open_ended = schema.get("x-kubernetes-preserve-unknown-fields") or additional is True or properties is None
        found: list[FieldPath] = []
        for key, child in value.items():
            child_path = (*path, str(key))
            if not path and key in ("apiVersion", "kind", "metadata"):
                continue
            if isinstance(properties, Mapping) and key in properties:
                found += undeclared_fields(child, properties[key], child_path)
            elif isinstance(additional, Mapping):
                found += undeclared_fields(child, additional, child_path)
            elif not open_ended:
                found.append(child_path)
        return found
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        found = []
        for index, item in enumerate(value):
            found += undeclared_fields(item, schema["items"], (*path, str(index)))
        return found
    return []


def schema_causes(document: Mapping[str, Any], schema: Mapping[str, Any]) -> list[dict[str, str]]:
    """Validation causes (reason, message, field) as the API server reports them for a CRD object."""
    causes = []
    for error in jsonschema.Draft4Validator(schema).iter_errors(document):
        where = _json_path(error.absolute_path)
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in (error.instance or {})]
            for name in missing:
                field_name = f"{where}.{name}" if where else name
                causes.append({"reason": "FieldValueRequired", "message": "Required value", "field": field_name})
            continue
        value = json.dumps(error.instance)
        if error.validator == "type":
            found = _json_type(error.instance)
            message = f'Invalid value: "{found}": {where} in body must be of type {error.validator_value}: "{found}"'
        elif error.validator == "enum":
            supported = ", ".join(json.dumps(v) for v in error.validator_value)
            causes.append(
                {
                    "reason": "FieldValueNotSupported",
                    "message": f"Unsupported value: {value}: supported values: {supported}",
                    "field": where,
                }
            )
            continue
        elif error.validator in ("minimum", "maximum"):
            bound = "greater" if error.validator == "minimum" else "less"
            message = (
                f"Invalid value: {value}: {where} in body should be {bound} than or equal to {error.validator_value}"
            )
        elif error.validator == "pattern":
            message = f"Invalid value: {value}: {where} in body should match '{error.validator_value}'"
        else:
            message = f"Invalid value: {value}: {where} in body: {error.message}"
        causes.append({"reason": "FieldValueInvalid", "message": message, "field": where})
    return sorted(causes, key=lambda cause: (cause["field"], cause["message"]))


def _metadata_causes(document: Mapping[str, Any]) -> list[dict[str, str]]:
    metadata = document.get("metadata") or {}
    causes = []
    name = str(metadata.get("name", ""))
    if not name or len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        causes.append(
            {
                "reason": "FieldValueInvalid",
                "message": f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
                "field": "metadata.name",
            }
        )
    for key, value in (metadata.get("labels") or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "message": f"Invalid value: {json.dumps(value)}: a valid label must be an empty string or consist "
                    "of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                    "character (at most 63 characters)",
                    "field": f"metadata.labels[{key}]",
                }
            )
    for key, value in (metadata.get("annotations") or {}).items():
        if not isinstance(value, str):
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "message": f"Invalid value: {json.dumps(value)}: annotation values must be strings",
                    "field": f"metadata.annotations[{key}]",
                }
            )
    return causes


# --- the cluster --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Denial:
    """An RBAC gap: `verbs` on `resources` (plural or plural.group) in `namespace`; None matches everything."""

    namespace: str | None = None
    verbs: frozenset[str] | None = None
    resources: frozenset[str] | None = None

    def matches(self, namespace: str | None, verb: str, resource: ServedResource | tuple[str, str]) -> bool:
        plural, group = (resource.plural, resource.group) if isinstance(resource, ServedResource) else resource
        qualified = f"{plural}.{group}" if group else plural
        return (
            (self.namespace is None or self.namespace == namespace)
            and (self.verbs is None or verb in self.verbs)
            and (self.resources is None or plural in self.resources or qualified in self.resources)
        )


@dataclass(slots=True)
class _FaultPlan:
    at_write: int
    mode: FaultMode
    remaining: int | None


@dataclass(frozen=True, slots=True)
class _Target:
    """A parsed resource path."""

    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None


ObjectKey = tuple[str, str, str, str, str]
"""(group, version, plural, namespace or '', name)"""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _content(obj: Mapping[str, Any] | None) -> Any:
    """The object without server-maintained metadata, for "did anything change" comparisons."""
    if obj is None:
        return None
    content = copy.deepcopy(dict(obj))
    metadata = content.get("metadata", {})
    for key in _SERVER_METADATA:
        metadata.pop(key, None)
    return content


def _spec_content(obj: Mapping[str, Any] | None) -> Any:
    return None if obj is None else {k: v for k, v in obj.items() if k not in ("metadata", "status")}


class StandInCluster:
    """The API server's state and request handling; every public method is safe to call from any thread."""

    def __init__(
        self,
        *,
        resources: Iterable[ServedResource] = (*BUILTIN_RESOURCES, *COMPASS_CRDS),
        namespaces: Iterable[str] = ("compass", "default", "kube-system"),
        token: str | None = DEFAULT_TOKEN,
        user: str = DEFAULT_USER,
        ready_after_polls: int | None = 1,
    ) -> None:
        self.token = token
        self.user = user
        self._lock = threading.RLock()
        self._resources: dict[tuple[str, str, str], ServedResource] = {}
        self._objects: dict[ObjectKey, dict[str, Any]] = {}
        self._resource_version = 100
        self._denials: list[Denial] = []
        self._ready_after_polls = ready_after_polls
        self._load_failure: str | None = None
        self._polls: dict[ObjectKey, tuple[int, int]] = {}
        self._fault: _FaultPlan | None = None
        self._writes = 0
        self._log: deque[RecordedRequest] = deque(maxlen=MAX_RECORDED_REQUESTS)
        for resource in resources:
            self.install(resource)
        for namespace in namespaces:
            self.add_namespace(namespace)

    # --- setup and inspection (tests, demos) ---------------------------------------------------------------

    def install(self, resource: ServedResource) -> None:
        """Serve a resource type (install a CRD)."""
        with self._lock:
            self._resources[(resource.group, resource.version, resource.plural)] = resource

    def uninstall(self, group: str, kind: str | None = None) -> None:
        """Stop serving a group's kinds (or one kind) and drop their objects, like deleting the CRD."""
        with self._lock:
            gone = [key for key, r in self._resources.items() if r.group == group and kind in (None, r.kind)]
            for key in gone:
                del self._resources[key]
                for object_key in [k for k in self._objects if k[:3] == key]:
                    del self._objects[object_key]

    def add_namespace(self, name: str) -> None:
        self.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, field_manager="kube-apiserver")

    def forbid(
        self,
        namespace: str | None = None,
        *,
        verbs: Iterable[str] | None = None,
        resources: Iterable[str] | None = None,
    ) -> None:
        """Deny `verbs` on `resources` in `namespace` to the user (all of each when None), as missing RBAC would."""
        with self._lock:
            self._denials.append(
                Denial(
                    namespace,
                    None if verbs is None else frozenset(verbs),
                    None if resources is None else frozenset(resources),
                )
            )

    def set_readiness(self, after_polls: int | None, *, load_failure: str | None = None) -> None:
        """InferenceServices become Ready on the `after_polls`-th GET after a spec change (None: never);
        `load_failure` makes them report a failed model load instead."""
        with self._lock:
            self._ready_after_polls = after_polls
            self._load_failure = load_failure

    def fail_writes(self, at: int = 1, *, mode: FaultMode = "error", times: int | None = 1) -> None:
        """Make the `at`-th write from now (and the `times - 1` after it; None: all after it) fail: `error` answers
        500 without writing, `drop` closes the connection without writing, `drop_after_commit` writes, then drops."""
        if at < 1:
            raise ValueError("at counts writes from 1")
        with self._lock:
            self._fault = _FaultPlan(at_write=self._writes + at, mode=mode, remaining=times)

    def seed(
        self, manifest: Mapping[str, Any] | str, *, field_manager: str = "kubectl", force: bool = False
    ) -> dict[str, Any]:
        """Server-side apply `manifest` directly (no HTTP, no auth, no faults): objects that exist beforehand."""
        document = yaml.load(manifest, Loader=_Loader) if isinstance(manifest, str) else copy.deepcopy(dict(manifest))
        group, _, version = str(document["apiVersion"]).rpartition("/")
        with self._lock:
            resource = next(
                (
                    r
                    for r in self._resources.values()
                    if (r.group, r.version, r.kind) == (group, version, document["kind"])
                ),
                None,
            )
            if resource is None:
                raise ValueError(f"{document['apiVersion']} {document['kind']} is not served")
            metadata = document.get("metadata", {})
            namespace = metadata.get("namespace") if resource.namespaced else None
            if resource.namespaced and not namespace:
                raise ValueError(f"{document['kind']} {metadata.get('name')!r} needs metadata.namespace")
            _, obj = self._apply(resource, namespace, metadata["name"], document, field_manager, force, False)
            return obj

    def objects(self, namespace: str | None = None, *, kind: str | None = None) -> list[dict[str, Any]]:
        """Stored namespaced objects (copies), optionally of one namespace and kind; Namespaces are not included."""
        with self._lock:
            return [
                copy.deepcopy(obj)
                for key, obj in sorted(self._objects.items())
                if key[3] and namespace in (None, key[3]) and kind in (None, obj.get("kind"))
            ]

    def get_object(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        group, _, version = api_version.rpartition("/")
        with self._lock:
            for key, obj in self._objects.items():
                if key[:2] == (group, version) and obj.get("kind") == kind and key[3:] == (namespace or "", name):
                    return copy.deepcopy(obj)
        return None

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests answered (or dropped) so far, oldest first (the last MAX_RECORDED_REQUESTS of them)."""
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    # --- request handling --------------------------------------------------------------------------------------

    def handle(self, request: ApiRequest) -> ApiReply:
        """Answer one request; the reply may ask the transport to drop the connection."""
        with self._lock:
            try:
                reply = self._dispatch(request)
            except _Failure as failure:
                reply = failure.reply
            query = {key: values[0] for key, values in request.query.items() if values}
            self._log.append(RecordedRequest(request.method, request.path, query, None if reply.drop else reply.status))
            return reply

    def _dispatch(self, request: ApiRequest) -> ApiReply:
        self._authenticate(request)
        segments = [part for part in request.path.split("/") if part]
        if request.method == "GET":
            discovery = self._discovery(segments)
            if discovery is not None:
                return discovery
        target = self._parse_target(segments)
        verb = self._verb(request, target)
        self._authorize(target, verb)
        resource = self._resources.get((target.group, target.version, target.plural))
        if resource is None or (target.namespace is not None and not resource.namespaced):
            raise _page_not_found()
        if resource.namespaced and target.name is not None and target.namespace is None:
            raise _page_not_found()
        if verb in ("patch", "delete", "create", "update") and not request.dry_run:
            fault = self._next_fault()
            if fault == "error":
                return status_reply(
                    500, "InternalError", f"Internal error occurred: injected failure (write #{self._writes})"
                )
            if fault == "drop":
                return ApiReply(0, drop=True)
            reply = self._write(request, resource, target, verb)
            return ApiReply(0, drop=True) if fault == "drop_after_commit" else reply
        if verb in ("patch", "delete", "create", "update"):
            return self._write(request, resource, target, verb)
        if verb == "get":
            assert target.name is not None
            return ApiReply.json(200, self._get(resource, target.namespace, target.name))
        if verb == "list":
            return ApiReply.json(200, self._list(resource, target.namespace, request.param("labelSelector")))
        raise _fail(
            405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({verb})"
        )

    def _write(self, request: ApiRequest, resource: ServedResource, target: _Target, verb: str) -> ApiReply:
        assert target.name is not None
        if verb == "delete":
            return ApiReply.json(200, self._delete(resource, target.namespace, target.name, request))
        if verb != "patch":
            raise _fail(405, "MethodNotAllowed", f"the stand-in does not implement {request.method}")
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type == "application/apply-patch+yaml":
            return self._apply_request(request, resource, target.namespace, target.name)
        if content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            return self._merge_patch_request(request, resource, target.namespace, target.name)
        raise _fail(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}")

    def _authenticate(self, request: ApiRequest) -> None:
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            raise _fail(401, "Unauthorized", "Unauthorized")

    def _authorize(self, target: _Target, verb: str) -> None:
        for denial in self._denials:
            if denial.matches(target.namespace, verb, (target.plural, target.group)):
                qualified = f"{target.plural}.{target.group}" if target.group else target.plural
                subject = f'{qualified} "{target.name}"' if target.name else qualified
                scope = f' in the namespace "{target.namespace}"' if target.namespace else " at the cluster scope"
                raise _fail(
                    403,
                    "Forbidden",
                    f'{subject} is forbidden: User "{self.user}" cannot {verb} resource "{target.plural}" in API '
                    f'group "{target.group}"{scope}',
                    {"name": target.name or "", "group": target.group, "kind": target.plural},
                )

    def _next_fault(self) -> FaultMode | None:
        self._writes += 1
        plan = self._fault
        if plan is None or self._writes < plan.at_write:
            return None
        if plan.remaining is not None:
            plan.remaining -= 1
            if plan.remaining <= 0:
                self._fault = None
        return plan.mode

    @staticmethod
    def _verb(request: ApiRequest, target: _Target) -> str:
        if request.method == "GET":
            return "get" if target.name else ("watch" if request.param("watch") in ("1", "true") else "list")
        if request.method == "DELETE":
            return "delete" if target.name else "deletecollection"
        return {"PATCH": "patch", "PUT": "update", "POST": "create"}.get(request.method, request.method.lower())

    # --- discovery -----------------------------------------------------------------------------------------

    def _groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for resource in self._resources.values():
            versions = groups.setdefault(resource.group, [])
            if resource.version not in versions:
                versions.append(resource.version)
        return groups

    def _group_document(self, name: str, versions: list[str]) -> dict[str, Any]:
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": name,
            "versions": entries,
            "preferredVersion": entries[0],
        }

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        served = [r for r in self._resources.values() if (r.group, r.version) == (group, version)]
        if not served:
            raise _page_not_found()
        entries: list[dict[str, Any]] = []
        for r in sorted(served, key=lambda r: r.plural):
            entries.append(
                {
                    "name": r.plural,
                    "singularName": r.kind.lower(),
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": list(ALL_VERBS),
                    "shortNames": list(r.short_names),
                }
            )
            if r.status_subresource:
                entries.append(
                    {
                        "name": f"{r.plural}/status",
                        "singularName": "",
                        "namespaced": r.namespaced,
                        "kind": r.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        group_version = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}

    def _discovery(self, segments: list[str]) -> ApiReply | None:
        groups = self._groups()
        match segments:
            case ["version"]:
                return ApiReply.json(200, KUBERNETES_VERSION)
            case ["api"]:
                return ApiReply.json(200, {"kind": "APIVersions", "versions": groups.get("", [])})
            case ["api", version]:
                return ApiReply.json(200, self._resource_list("", version))
            case ["apis"]:
                listed = [
                    {k: v for k, v in self._group_document(g, vs).items() if k not in ("kind", "apiVersion")}
                    for g, vs in sorted(groups.items())
                    if g
                ]
                return ApiReply.json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": listed})
            case ["apis", group]:
                if not group or group not in groups:
                    raise _page_not_found()
                return ApiReply.json(200, self._group_document(group, groups[group]))
            case ["apis", group, version]:
                return ApiReply.json(200, self._resource_list(group, version))
        return None

    @staticmethod
    def _parse_target(segments: list[str]) -> _Target:
        if segments[:1] == ["api"] and len(segments) >= 3:
            group, version, rest = "", segments[1], segments[2:]
        elif segments[:1] == ["apis"] and len(segments) >= 4:
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise _page_not_found()
        if rest[0] == "namespaces" and len(rest) in (3, 4):
            return _Target(group, version, rest[2], rest[1], rest[3] if len(rest) == 4 else None)
        if len(rest) in (1, 2):
            return _Target(group, version, rest[0], None, rest[1] if len(rest) == 2 else None)
        raise _page_not_found()  # subresources are not modelled

    # --- reads -----------------------------------------------------------------------------------------------

    @staticmethod
    def _key(resource: ServedResource, namespace: str | None, name: str) -> ObjectKey:
        return (resource.group, resource.version, resource.plural, namespace or "", name)

    def _not_found(self, resource: ServedResource, name: str) -> _Failure:
        return _fail(
            404,
            "NotFound",
            f'{resource.qualified} "{name}" not found',
            {"name": name, "group": resource.group, "kind": resource.plural},
        )

    def _get(self, resource: ServedResource, namespace: str | None, name: str) -> dict[str, Any]:
        key = self._key(resource, namespace, name)
        if key not in self._objects:
            raise self._not_found(resource, name)
        if (resource.group, resource.kind) == _ISVC:
            self._reconcile_inference_service(key)
        return copy.deepcopy(self._objects[key])

    def _list(self, resource: ServedResource, namespace: str | None, selector: str | None) -> dict[str, Any]:
        try:
            requirements = parse_label_selector(selector or "")
        except ValueError as exc:
            raise _fail(400, "BadRequest", f"unable to parse requirement: {exc}") from None
        items = []
        for key, obj in sorted(self._objects.items()):
            if key[:3] != (resource.group, resource.version, resource.plural):
                continue
            if namespace is not None and key[3] != namespace:
                continue
            labels = obj.get("metadata", {}).get("labels") or {}
            if all(requirement.matches(labels) for requirement in requirements):
                items.append(copy.deepcopy(obj))
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": str(self._resource_version)},
            "items": items,
        }

    # --- writes ----------------------------------------------------------------------------------------------

    def _next_resource_version(self) -> str:
        self._resource_version += 1
        return str(self._resource_version)

    def _apply_request(
        self, request: ApiRequest, resource: ServedResource, namespace: str | None, name: str
    ) -> ApiReply:
        manager = request.param("fieldManager")
        if not manager:
            raise _fail(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                {
                    "group": "meta.k8s.io",
                    "kind": "PatchOptions",
                    "causes": [
                        {
                            "reason": "FieldValueRequired",
                            "message": "Required value: is required for apply patch",
                            "field": "fieldManager",
                        }
                    ],
                },
            )
        try:
            config = yaml.load(request.body.decode("utf-8"), Loader=_Loader)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise _fail(400, "BadRequest", f"error decoding YAML: {exc}") from None
        if not isinstance(config, dict):
            raise _fail(400, "BadRequest", "the apply configuration must be a YAML mapping (an object)")
        force = request.param("force") == "true"
        status, obj = self._apply(resource, namespace, name, config, manager, force, request.dry_run)
        return ApiReply.json(status, obj)

    def _apply(
        self,
        resource: ServedResource,
        namespace: str | None,
        name: str,
        config: dict[str, Any],
        manager: str,
        force: bool,
        dry_run: bool,
    ) -> tuple[int, dict[str, Any]]:
        """Server-side apply; returns (201 created | 200 updated or unchanged, the resulting object)."""
        self._check_identity(resource, namespace, name, config)
        config = copy.deepcopy(config)
        if resource.status_subresource:
            config.pop("status", None)
        undeclared = undeclared_fields(config, resource.schema)
        if undeclared:
            fields = ", ".join(_field_text(path) for path in undeclared)
            raise _fail(
                400,
                "BadRequest",
                f"failed to create typed patch object ({resource.api_version}, Kind={resource.kind}): "
                f"{fields}: field not declared in schema",
            )
        key = self._key(resource, namespace, name)
        live = self._objects.get(key)
        if live is None:
            self._check_namespace(resource, namespace)
        wanted_version = config.get("metadata", {}).get("resourceVersion")
        if live is not None and wanted_version and wanted_version != live["metadata"]["resourceVersion"]:
            raise self._modified(resource, name)
        applied = field_set(config)
        managers = _managers(live)
        others = [m for m in managers if not (m.manager == manager and m.operation == "Apply")]
        conflicts = [
            (other, path)
            for path in sorted(applied)
            if _changes(_value_at(live, path), _value_at(config, path))
            for other in others
            if any(_overlaps(path, owned) for owned in other.paths)
        ]
        if conflicts and not force:
            raise self._conflict(resource, name, conflicts)
        previous = next((m for m in managers if m.manager == manager and m.operation == "Apply"), None)
        base = copy.deepcopy(live) if live is not None else {}
        for path in sorted(previous.paths - applied) if previous else []:
            still_applied = any(_covers(q, path, config) for q in applied)
            owned_elsewhere = any(_covers(q, path, live) for other in others for q in other.paths)
            if not still_applied and not owned_elsewhere:
                _remove_at(base, path)
        for other, path in conflicts:  # force: the other manager loses what we take over
            other.paths = {owned for owned in other.paths if not _overlaps(path, owned)}
        merged = _merge(base, {k: v for k, v in config.items() if k != "metadata"})
        config_metadata = {k: v for k, v in config.get("metadata", {}).items() if k not in _SERVER_METADATA}
        merged["metadata"] = _merge(merged.get("metadata", {}), config_metadata)
        merged["apiVersion"], merged["kind"] = resource.api_version, resource.kind
        merged["metadata"]["name"] = name
        if namespace is not None:
            merged["metadata"]["namespace"] = namespace
        ours = _Manager(manager, "Apply", resource.api_version, _now(), applied)
        if previous is not None and previous.paths == applied:
            ours.time = previous.time
        new_managers = [m for m in others if m.paths] + [ours]
        return self._store(resource, key, live, merged, new_managers, dry_run)

    def _merge_patch_request(
        self, request: ApiRequest, resource: ServedResource, namespace: str | None, name: str
    ) -> ApiReply:
        key = self._key(resource, namespace, name)
        live = self._objects.get(key)
        if live is None:
            raise self._not_found(resource, name)
        try:
            patch = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise _fail(400, "BadRequest", f"error decoding patch: {exc}") from None
        merged = _merge_patch(live, patch)
        merged["metadata"] = {
            **merged.get("metadata", {}),
            **{k: live["metadata"][k] for k in _SERVER_METADATA if k in live["metadata"]},
        }
        self._check_identity(resource, namespace, name, merged)
        manager = request.param("fieldManager") or request.headers.get("user-agent", "unknown").split("/")[0]
        before, after = field_set(live), field_set(merged)
        changed = {p for p in after if _value_at(live, p) != _value_at(merged, p)} | (before - after)
        managers = _managers(live)
        for entry in managers:
            entry.paths = {p for p in entry.paths if not any(_overlaps(p, c) for c in changed)}
        updater = next((m for m in managers if m.manager == manager and m.operation == "Update"), None)
        if updater is None:
            updater = _Manager(manager, "Update", resource.api_version, _now(), set())
            managers.append(updater)
        updater.paths |= changed & after
        updater.time = _now()
        status, obj = self._store(resource, key, live, merged, [m for m in managers if m.paths], request.dry_run)
        return ApiReply.json(status, obj)

    def _check_identity(
        self, resource: ServedResource, namespace: str | None, name: str, document: Mapping[str, Any]
    ) -> None:
        if document.get("apiVersion") != resource.api_version:
            raise _fail(
                400,
                "BadRequest",
                f"the API version in the data ({document.get('apiVersion')}) does not match the expected API version "
                f"({resource.api_version})",
            )
        if document.get("kind") != resource.kind:
            raise _fail(
                400,
                "BadRequest",
                f"the kind in the data ({document.get('kind')}) does not match the expected kind ({resource.kind})",
            )
        metadata = document.get("metadata")
        if not isinstance(metadata, dict) or metadata.get("name") != name:
            found = metadata.get("name") if isinstance(metadata, dict) else None
            raise _fail(
                400, "BadRequest", f"the name of the object ({found}) does not match the name on the URL ({name})"
            )
        if metadata.get("namespace") not in (None, namespace):
            raise _fail(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )

    def _check_namespace(self, resource: ServedResource, namespace: str | None) -> None:
        namespaces = self._resources.get(("", "v1", "namespaces"))
        if not resource.namespaced or namespace is None or namespaces is None:
            return
        if self._key(namespaces, None, namespace) not in self._objects:
            raise _fail(
                404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"}
            )

    def _store(
        self,
        resource: ServedResource,
        key: ObjectKey,
        live: dict[str, Any] | None,
        merged: dict[str, Any],
        managers: list[_Manager],
        dry_run: bool,
    ) -> tuple[int, dict[str, Any]]:
        self._validate(resource, merged)
        merged["metadata"]["managedFields"] = [m.entry() for m in managers]
        metadata = merged["metadata"]
        if live is None:
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = _now()
            metadata["generation"] = 1
            if dry_run:
                return 201, merged
            metadata["resourceVersion"] = self._next_resource_version()
            self._objects[key] = merged
            return 201, copy.deepcopy(merged)
        for name in ("uid", "creationTimestamp", "generation", "resourceVersion"):
            metadata[name] = live["metadata"].get(name)
        ownership_changed = merged["metadata"]["managedFields"] != live["metadata"].get("managedFields")
        if _content(merged) == _content(live) and not ownership_changed:
            return 200, copy.deepcopy(live)
        if _spec_content(merged) != _spec_content(live):
            metadata["generation"] = int(live["metadata"].get("generation") or 0) + 1
        if dry_run:
            return 200, merged
        metadata["resourceVersion"] = self._next_resource_version()
        self._objects[key] = merged
        return 200, copy.deepcopy(merged)

    def _validate(self, resource: ServedResource, obj: Mapping[str, Any]) -> None:
        causes = _metadata_causes(obj)
        if resource.schema is not None:
            causes += schema_causes(obj, resource.schema)
        if not causes:
            return
        name = obj.get("metadata", {}).get("name", "")
        listed = [f"{c['field']}: {c['message']}" for c in causes]
        summary = listed[0] if len(listed) == 1 else "[" + ", ".join(listed) + "]"
        raise _fail(
            422,
            "Invalid",
            f'{resource.qualified_kind} "{name}" is invalid: {summary}',
            {"name": name, "group": resource.group, "kind": resource.kind, "causes": causes},
        )

    def _conflict(self, resource: ServedResource, name: str, conflicts: list[tuple[_Manager, FieldPath]]) -> _Failure:
        causes = [
            {
                "type": "FieldManagerConflict",
                "message": f'conflict with "{other.manager}" using {other.api_version}',
                "field": _field_text(path),
            }
            for other, path in conflicts
        ]
        if len(conflicts) == 1:
            message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
        else:
            lines = "\n".join(f"- {c['message']}: {c['field']}" for c in causes)
            message = f"Apply failed with {len(conflicts)} conflicts:\n{lines}"
        return _fail(
            409, "Conflict", message, {"name": name, "group": resource.group, "kind": resource.plural, "causes": causes}
        )

    def _modified(self, resource: ServedResource, name: str) -> _Failure:
        return _fail(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {resource.qualified} "{name}": the object has been modified; please '
            "apply your changes to the latest version and try again",
            {"name": name, "group": resource.group, "kind": resource.plural},
        )

    def _delete(
        self, resource: ServedResource, namespace: str | None, name: str, request: ApiRequest
    ) -> dict[str, Any]:
        key = self._key(resource, namespace, name)
        live = self._objects.get(key)
        if live is None:
            raise self._not_found(resource, name)
        try:
            options = json.loads(request.body) if request.body else {}
        except ValueError as exc:
            raise _fail(400, "BadRequest", f"error decoding DeleteOptions: {exc}") from None
        preconditions = (options or {}).get("preconditions") or {}
        uid = live["metadata"]["uid"]
        if preconditions.get("uid") not in (None, uid):
            raise _fail(
                409,
                "Conflict",
                f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in object meta: {uid}",
                {"name": name, "group": resource.group, "kind": resource.plural},
            )
        wanted_version = preconditions.get("resourceVersion")
        if wanted_version not in (None, live["metadata"]["resourceVersion"]):
            raise self._modified(resource, name)
        if not request.dry_run:
            del self._objects[key]
            self._polls.pop(key, None)
            if resource.kind == "Namespace" and not resource.group:
                for contained in [k for k in self._objects if k[3] == name]:
                    del self._objects[contained]
            self._next_resource_version()
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": resource.group, "kind": resource.plural, "uid": uid},
        }

    # --- the InferenceService "controller" ---------------------------------------------------------------------

    def _reconcile_inference_service(self, key: ObjectKey) -> None:
        obj = self._objects[key]
        generation = int(obj["metadata"].get("generation") or 1)
        seen_generation, polls = self._polls.get(key, (generation, 0))
        polls = polls + 1 if seen_generation == generation else 1
        self._polls[key] = (generation, polls)
        if self._load_failure is not None:
            state = "failed"
        elif self._ready_after_polls is not None and polls >= self._ready_after_polls:
            state = "ready"
        else:
            state = "progressing"
        status = _inference_service_status(obj, generation, state, self._load_failure)
        current = obj.get("status")
        if _without_times(current) != _without_times(status):
            obj["status"] = status
            obj["metadata"]["resourceVersion"] = self._next_resource_version()


def _without_times(status: Any) -> Any:
    if not isinstance(status, dict):
        return status
    trimmed = copy.deepcopy(status)
    for condition in trimmed.get("conditions", []):
        condition.pop("lastTransitionTime", None)
    return trimmed


def _inference_service_status(
    obj: Mapping[str, Any], generation: int, state: str, failure: str | None
) -> dict[str, Any]:
    name, namespace = obj["metadata"]["name"], obj["metadata"].get("namespace", "default")
    now = _now()
    if state == "ready":
        url = f"http://{name}.{namespace}.svc.cluster.local"
        conditions = [
            {"type": kind, "status": "True", "lastTransitionTime": now}
            for kind in ("IngressReady", "PredictorReady", "Ready")
        ]
        return {
            "observedGeneration": generation,
            "url": url,
            "address": {"url": f"http://{name}-predictor.{namespace}.svc.cluster.local"},
            "conditions": conditions,
            "modelStatus": {
                "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
                "transitionStatus": "UpToDate",
            },
        }
    if state == "failed":
        reason, message = "ModelLoadFailed", failure or "the model failed to load"
        model_status = {
            "states": {"activeModelState": "FailedToLoad", "targetModelState": "FailedToLoad"},
            "transitionStatus": "BlockedByFailedLoad",
            "lastFailureInfo": {"reason": reason, "message": message},
        }
    else:
        reason, message = "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
        model_status = {
            "states": {"activeModelState": "Pending", "targetModelState": "Loading"},
            "transitionStatus": "InProgress",
        }
    conditions = [
        {"type": kind, "status": "False", "reason": reason, "message": message, "lastTransitionTime": now}
        for kind in ("PredictorReady", "Ready")
    ]
    return {"observedGeneration": generation, "conditions": conditions, "modelStatus": model_status}


# --- HTTP transport -----------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], cluster: StandInCluster) -> None:
        super().__init__(address, _Handler)
        self.cluster = cluster
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.connections_lock:
            open_connections, self.connections = list(self.connections), set()
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "compass-standin"
    timeout = 30  # idle keep-alive connections close after this long
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024  # headers and body leave in one write (no delayed-ACK stall per request)

    def _serve(self) -> None:
        assert isinstance(self.server, _HTTPServer)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = ApiRequest(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        reply = self.server.cluster.handle(request)
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return


class StandInApiServer:
    """Serves a `StandInCluster` over HTTP on `host:port` (port 0: a free one) from a background thread."""

    def __init__(self, cluster: StandInCluster, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.cluster = cluster
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the stand-in API server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        if self._httpd is None:
            self._httpd = _HTTPServer(self._address, self.cluster)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="k8s-standin", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection: afterwards the server is unreachable."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m tools.k8s.standin [--port 8001] [--schema-dir ../shared/schemas]`: serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--schema-dir", type=Path, help="folder of CRD YAML files (e.g. ../shared/schemas)")
    parser.add_argument("--namespace", action="append", help="namespace that exists (repeatable; default compass)")
    parser.add_argument("--ready-after-polls", type=int, default=2)
    args = parser.parse_args(argv)
    crds = load_crds(args.schema_dir) if args.schema_dir else list(COMPASS_CRDS)
    cluster = StandInCluster(
        resources=[*BUILTIN_RESOURCES, *crds],
        namespaces=args.namespace or ["compass"],
        ready_after_polls=args.ready_after_polls,
    )
    server = StandInApiServer(cluster, host=args.host, port=args.port).start()
    print(f"stand-in Kubernetes API server at {server.url} (bearer token {cluster.token}); Ctrl-C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
