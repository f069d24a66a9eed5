"""Validate rendered objects before anything leaves Compass: schemas, names, quantities and secrets.

* Core kinds (ConfigMap, Ingress, NetworkPolicy, HorizontalPodAutoscaler, Service, ...) are checked against
  the strict Kubernetes OpenAPI schemas `kubernetes-validate` ships for `kubernetes_version` (unknown fields
  are errors), exactly as `kubernetes_validate.validate(doc, version, strict=True)` does, but with the
  validator cached per kind and every error reported rather than the first.
* CRD kinds (KServe InferenceService, prometheus-operator ServiceMonitor/PodMonitor, KEDA ScaledObject) are
  checked with `jsonschema` against the CRD's openAPIV3Schema shipped in `manifests/schemas/*.json`, made
  strict the same way: an object schema that lists `properties` and does not preserve unknown fields rejects
  fields it does not list (an API server would silently prune them, hiding typos).
* Every object: metadata names (DNS-1123/1035), label and annotation keys and values, resource quantities
  ("16Gi"), extended resources (requests = limits), duplicates, and secrets: no token-like string anywhere and
  no credential passed as a plain env value or command-line flag instead of a Secret reference.

Problems are collected for all objects and raised together as `ManifestValidationError`.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from typing import Any, Protocol

import jsonschema
from kubernetes_validate import utils as kv_utils
from kubernetes_validate.utils import SchemaNotFoundError, VersionNotSupportedError
from referencing import Registry, Resource

from manifests.errors import ManifestProblem, ManifestValidationError
from manifests.names import (
    check_dns1035_label,
    check_dns1123_label,
    check_dns1123_subdomain,
    check_label_value,
    check_qualified_name,
)
from manifests.quantity import check_quantity, parse_quantity

DEFAULT_KUBERNETES_VERSION = "1.30"
"""Oldest Kubernetes minor the manifests are checked against (HPA v2, Ingress v1 and NetworkPolicy v1 are GA)."""

CRD_SCHEMA_FILES = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "inferenceservice.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.json",
}
"""(apiVersion, kind) -> packaged schema file in manifests/schemas/."""

SERVICE_NAMED_KINDS = frozenset({"InferenceService", "Service"})
"""Kinds whose name becomes a Service name, so it must be a DNS-1035 label (start with a letter, ≤ 63)."""
MAX_CONFIGMAP_BYTES = 1024 * 1024
MAX_ANNOTATIONS_BYTES = 256 * 1024

SECRET_PATTERNS = (
    (re.compile(r"hf_[A-Za-z0-9]{30,}"), "a Hugging Face token"),
    (re.compile(r"sk-[A-Za-z0-9_-]{20,}"), "an API key"),
    (re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"AKIA[0-9A-Z]{16}"), "an AWS access key"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
)
SECRET_ENV_NAMES = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|APIKEY|CREDENTIAL)", re.IGNORECASE)
SECRET_FLAGS = ("--hf-token", "--api-key")


class _Validator(Protocol):
    def iter_errors(self, instance: Any) -> Iterator[Any]: ...


class _Object(Protocol):
    """What the validator needs from a rendered object (manifests.bundle.RenderedObject)."""

    @property
    def document(self) -> dict[str, Any]: ...


# --- CRD schemas --------------------------------------------------------------------------------------------


@functools.cache
def packaged_crd(api_version: str, kind: str) -> dict[str, Any] | None:
    """The packaged schema document (provenance + openAPIV3Schema) for a CRD kind, or None if not shipped."""
    file_name = CRD_SCHEMA_FILES.get((api_version, kind))
    if file_name is None:
        return None
    text = resources.files("manifests.schemas").joinpath(file_name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a CRD schema in which object schemas with `properties` reject fields they do not list."""
    strict = copy.deepcopy(schema)
    stack: list[Any] = [strict]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields", False)
        ):
            node["additionalProperties"] = False
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                stack.extend(value.values())
            elif isinstance(value, dict | list) and key not in ("enum", "required", "default", "example"):
                stack.append(value)
    return strict


def crd_validator(schema: dict[str, Any], *, strict: bool = True) -> _Validator:
    """A jsonschema validator for an openAPIV3Schema (OpenAPI 3.0 schemas follow JSON Schema draft 4)."""
    validator: _Validator = jsonschema.Draft4Validator(strict_schema(schema) if strict else schema)
    return validator


@functools.cache
def _packaged_validator(api_version: str, kind: str) -> _Validator | None:
    data = packaged_crd(api_version, kind)
    return None if data is None else crd_validator(data["openAPIV3Schema"])


def json_path(parts: Iterable[Any]) -> str:
    """`spec.containers[0].args` from jsonschema's path deque."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(object)"


def schema_problems(document: dict[str, Any], validator: _Validator) -> list[tuple[str, str]]:
    """(path, message) for every schema violation, shortest paths first."""
    found = []
    for error in validator.iter_errors(document):
        found.append((json_path(error.absolute_path), _schema_message(error)))
    return sorted(set(found), key=lambda item: (item[0].count("."), item))


def _schema_message(error: Any) -> str:
    if error.validator == "pattern":
        return f"{error.instance!r} does not match the required format {error.validator_value}"
    return str(error.message)


# --- core kinds ---------------------------------------------------------------------------------------------


def kubernetes_schema_version(kubernetes_version: str) -> str:
    """The newest schema set kubernetes-validate ships that is not newer than `kubernetes_version` ("1.30.0")."""
    wanted = _minor(kubernetes_version)
    shipped = [str(v) for v in kv_utils.all_versions()]
    candidates = [v for v in shipped if _minor(v) <= wanted]
    if not candidates or wanted > _minor(shipped[-1]):
        raise VersionNotSupportedError(version=kubernetes_version)
    return candidates[-1]


def _minor(version: str) -> tuple[int, int]:
    """(1, 30) from "1.30", "v1.30" or "1.30.2"; (0, 0) when unreadable (never matches a shipped version)."""
    match = re.match(r"^v?(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else (0, 0)


@functools.cache
def _kubernetes_definitions(schema_version: str) -> Resource[Any]:
    contents = kv_utils.schema_contents(
        f"kubernetes-json-schema/v{schema_version}-local-strict/_definitions.json", schema_version
    )
    return Resource.from_contents(contents)


@functools.cache
def kubernetes_validator(api_version: str, kind: str, kubernetes_version: str) -> _Validator:
    """A cached strict validator for a core kind, built from kubernetes-validate's packaged schemas.

    Equivalent to `kubernetes_validate.validate(document, kubernetes_version, strict=True)`, which re-reads the
    1.8 MB definitions file on every call and stops at the first error; this reads it once per process and
    reports every error. Raises kubernetes-validate's SchemaNotFoundError for a kind it has no schema for.
    """
    schema_version = kubernetes_schema_version(kubernetes_version)
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    file_name = f"kubernetes-json-schema/v{schema_version}-local-strict/{kind.lower()}-{group_version}.json"
    try:
        schema = kv_utils.schema_contents(file_name, schema_version)
    except FileNotFoundError:
        raise SchemaNotFoundError(kind=kind, version=kubernetes_version, api_version=api_version) from None
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = _kubernetes_definitions(schema_version) @ registry
    validator: _Validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return validator


def kubernetes_problems(document: dict[str, Any], kubernetes_version: str) -> list[tuple[str, str]]:
    """(path, message) for every violation of the strict Kubernetes OpenAPI schema of a core kind."""
    try:
        validator = kubernetes_validator(
            str(document.get("apiVersion", "")), str(document.get("kind", "")), kubernetes_version
        )
    except (SchemaNotFoundError, VersionNotSupportedError) as error:
        return [("(object)", str(error.message))]
    return schema_problems(document, validator)


# --- checks every object gets -------------------------------------------------------------------------------


def _metadata_problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return [("metadata", "metadata is missing")]
    name, kind = str(metadata.get("name", "")), str(document.get("kind", ""))
    if kind in SERVICE_NAMED_KINDS:
        problem = check_dns1035_label(name, f"{kind} name")
    else:
        problem = check_dns1123_subdomain(name, f"{kind} name")
    if problem:
        found.append(("metadata.name", problem))
    namespace = metadata.get("namespace")
    if not isinstance(namespace, str):
        found.append(("metadata.namespace", "every object Compass renders must name its namespace"))
    elif problem := check_dns1123_label(namespace, "namespace"):
        found.append(("metadata.namespace", problem))
    found += _map_problems(metadata.get("labels") or {}, "metadata.labels", labels=True)
    annotations = metadata.get("annotations") or {}
    found += _map_problems(annotations, "metadata.annotations", labels=False)
    size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
    if size > MAX_ANNOTATIONS_BYTES:
        found.append(("metadata.annotations", f"annotations total {size} bytes, over the 256 KiB limit"))
    return found


def _map_problems(values: Any, path: str, *, labels: bool) -> list[tuple[str, str]]:
    if not isinstance(values, dict):
        return [(path, "must be a map of strings")]
    found = []
    for key, value in values.items():
        where = f"{path}[{key!r}]"
        if problem := check_qualified_name(str(key), "label key" if labels else "annotation key"):
            found.append((where, problem))
        if not isinstance(value, str):
            found.append((where, f"value {value!r} must be a string (quote it in YAML)"))
        elif labels and (problem := check_label_value(value, f"label {key!r} value")):
            found.append((where, problem))
    return found


def _walk(node: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, [*path, index])


_KEDA_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _quantity_problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for path, node in _walk(document, []):
        if not path:
            continue
        if path[-1] == "resources" and isinstance(node, dict):
            found += _resource_problems(node, path)
        elif problem := _scalar_quantity_problem(document, path, node):
            found.append((json_path(path), problem))
    return found


def _scalar_quantity_problem(document: dict[str, Any], path: list[str | int], node: Any) -> str | None:
    key = path[-1]
    if key == "sizeLimit":
        return check_quantity(str(node), "emptyDir sizeLimit", example="16Gi")
    if key in ("averageValue", "value") and len(path) > 1 and path[-2] == "target":
        return check_quantity(str(node), "autoscaling target", example="5")
    is_keda_threshold = key in ("threshold", "activationThreshold") and document.get("kind") == "ScaledObject"
    if is_keda_threshold and not _KEDA_NUMBER.fullmatch(str(node)):
        return f"KEDA {key} {node!r} must be a decimal number such as '5' or '2.5'"
    return None


def _resource_problems(node: dict[str, Any], path: list[str | int]) -> list[tuple[str, str]]:
    found = []
    amounts: dict[str, dict[str, Any]] = {}
    for section in ("requests", "limits"):
        values = node.get(section)
        if not isinstance(values, dict):
            continue
        amounts[section] = values
        for resource, amount in values.items():
            example = "16Gi" if "memory" in resource or "storage" in resource else "1"
            if problem := check_quantity(str(amount), f"{section} {resource}", example=example, allow_zero=True):
                found.append((json_path([*path, section, resource]), problem))
    requests, limits = amounts.get("requests", {}), amounts.get("limits", {})
    for resource in sorted(set(requests) | set(limits)):
        if "/" not in resource or resource.startswith(("kubernetes.io/", "hugepages-")):
            continue
        wanted, capped = requests.get(resource), limits.get(resource)
        if capped is None or (wanted is not None and parse_quantity(str(wanted)) != parse_quantity(str(capped))):
            found.append(
                (
                    json_path([*path, "limits", resource]),
                    f"extended resource {resource} must have equal requests ({wanted}) and limits ({capped})",
                )
            )
    return found


def _secret_problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for path, node in _walk(document, []):
        if isinstance(node, str):
            for pattern, what in SECRET_PATTERNS:
                if pattern.search(node):
                    found.append((json_path(path), f"contains what looks like {what}; reference a Secret instead"))
            if node.split("=", 1)[0] in SECRET_FLAGS:
                found.append((json_path(path), f"{node.split('=', 1)[0]} passes a credential on the command line"))
        elif path and path[-1] == "env" and isinstance(node, list):
            for index, entry in enumerate(node):
                if isinstance(entry, dict) and "value" in entry and SECRET_ENV_NAMES.search(str(entry.get("name"))):
                    found.append(
                        (
                            json_path([*path, index, "value"]),
                            f"env {entry.get('name')} looks like a credential but has a literal value; "
                            "use valueFrom.secretKeyRef",
                        )
                    )
    return found


def _configmap_problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    if document.get("kind") != "ConfigMap":
        return []
    sections = [document.get("data") or {}, document.get("binaryData") or {}]
    size = sum(len(str(value).encode()) for section in sections for value in section.values())
    if size > MAX_CONFIGMAP_BYTES:
        return [("data", f"ConfigMap data is {size / 2**20:.2f} MiB, over Kubernetes' 1 MiB limit")]
    return []


# --- entry points -------------------------------------------------------------------------------------------


def document_problems(
    document: dict[str, Any], *, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> list[ManifestProblem]:
    """Every problem found in one Kubernetes object (an empty list when it is valid)."""
    kind = str(document.get("kind", "?"))
    metadata = document.get("metadata")
    name = str(metadata.get("name", "?")) if isinstance(metadata, dict) else "?"
    api_version = str(document.get("apiVersion", ""))
    found = _quantity_problems(document)
    found += _metadata_problems(document) + _secret_problems(document) + _configmap_problems(document)
    validator = _packaged_validator(api_version, kind)
    if validator is not None:
        schema_found = schema_problems(document, validator)
    elif "." in api_version.split("/")[0] and not api_version.split("/")[0].endswith(".k8s.io"):
        schema_found = [("(object)", f"no schema for {kind} {api_version}: Compass renders only kinds it validates")]
    else:
        schema_found = kubernetes_problems(document, kubernetes_version)
    seen_paths = {path for path, _ in found}
    found += [(path, message) for path, message in schema_found if path not in seen_paths]
    return [ManifestProblem(kind=kind, name=name, path=path, message=message) for path, message in found]


def find_problems(
    objects: Iterable[_Object], *, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> list[ManifestProblem]:
    """Problems across a set of objects, including two objects with the same kind and name."""
    problems: list[ManifestProblem] = []
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        document = obj.document
        document_found = document_problems(document, kubernetes_version=kubernetes_version)
        problems += document_found
        metadata = document.get("metadata")
        key = (str(document.get("kind")), str(metadata.get("name") if isinstance(metadata, dict) else ""))
        if key in seen:
            problems.append(ManifestProblem(key[0], key[1], "metadata.name", "two objects share this kind and name"))
        seen.add(key)
    return problems


def validate_objects(objects: Sequence[_Object], *, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION) -> None:
    """Raise ManifestValidationError listing every problem, or return None when all objects are valid."""
    problems = find_problems(objects, kubernetes_version=kubernetes_version)
    if problems:
        raise ManifestValidationError(problems)


def validate_documents(
    documents: Iterable[dict[str, Any]], *, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> None:
    """As `validate_objects`, for plain parsed documents (e.g. YAML a user edited)."""
    problems = [p for doc in documents for p in document_problems(doc, kubernetes_version=kubernetes_version)]
    if problems:
        raise ManifestValidationError(problems)
