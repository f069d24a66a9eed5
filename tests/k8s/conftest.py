"""Kubernetes-target fixtures: a stand-in API server with the real CRD schemas and the real client pointed at it."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from manifests.bundle import ManifestBundle
from manifests.render import render_bundle
from tests.conftest import SHARED
from tests.manifests.contexts import SCENARIOS, context
from tools.k8s.client import KubeClient
from tools.k8s.settings import KubernetesSettings
from tools.k8s.standin import BUILTIN_RESOURCES, ServedResource, StandInApiServer, StandInCluster, load_crds

NAMESPACE = "compass"
NAMESPACES = ("compass", "kube-system", "team-a")
"""Namespaces that exist in the stand-in; `missing` does not."""
ALLOWED = ["compass", "kube-system", "missing"]
"""The allow-list most tests use: `team-a` exists but is not on it."""


@pytest.fixture(scope="session")
def crds() -> list[ServedResource]:
    """The real KServe, prometheus-operator and KEDA CRDs, with their openAPIV3Schemas (read once)."""
    return load_crds(SHARED / "schemas")


@pytest.fixture
def cluster(crds: list[ServedResource]) -> StandInCluster:
    return StandInCluster(resources=[*BUILTIN_RESOURCES, *crds], namespaces=NAMESPACES, ready_after_polls=1)


@pytest.fixture
def server(cluster: StandInCluster) -> Iterator[StandInApiServer]:
    with StandInApiServer(cluster) as running:
        yield running


@pytest.fixture
def client(server: StandInApiServer, cluster: StandInCluster) -> Iterator[KubeClient]:
    with KubeClient.for_host(server.url, token=cluster.token, request_timeout_s=5) as kube:
        yield kube


@pytest.fixture
def settings() -> KubernetesSettings:
    return KubernetesSettings(
        kubeconfig=None, allowed_namespaces=ALLOWED, readiness_timeout_s=2, poll_interval_s=0.01, request_timeout_s=5
    )


def bundle(scenario: str = "gpu-hpa", *, namespace: str = NAMESPACE, **overrides: Any) -> ManifestBundle:
    """A rendered, validated bundle of a golden scenario, for `namespace`."""
    return render_bundle(context(**{**SCENARIOS[scenario], "namespace": namespace, **overrides}))


def edited(source: ManifestBundle, kind: str, change: Callable[[dict[str, Any]], None]) -> ManifestBundle:
    """`source` with one object's document changed by `change` (and its YAML re-rendered); no validation."""
    objects = []
    for obj in source:
        if obj.kind == kind:
            document = copy.deepcopy(obj.document)
            change(document)
            obj = dataclasses.replace(obj, document=document, yaml_text=yaml.safe_dump(document, sort_keys=False))
        objects.append(obj)
    return dataclasses.replace(source, objects=tuple(objects))


def stored(cluster: StandInCluster, namespace: str = NAMESPACE) -> list[str]:
    """`Kind/name` of every object the stand-in holds in `namespace`."""
    return sorted(f"{obj['kind']}/{obj['metadata']['name']}" for obj in cluster.objects(namespace))


def writes(cluster: StandInCluster) -> list[str]:
    """`METHOD path` of every write that was not a dry run, in order."""
    return [f"{r.method} {r.path}" for r in cluster.requests if r.is_write and not r.dry_run]
