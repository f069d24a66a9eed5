"""Rendered documents against the REAL CRDs in ../shared/schemas (not the packaged copies) and kubernetes-validate.

Passing here while `manifests.validate` uses `manifests/schemas/*.json` proves the packaged copies match.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from manifests import DEFAULT_KUBERNETES_VERSION, render_bundle
from manifests.schemas.extract import CRDS
from manifests.validate import CRD_SCHEMA_FILES, crd_validator, packaged_crd
from tests.manifests.contexts import SCENARIOS, scenario

SHARED_SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "schemas"
REAL_CRDS = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "kserve/serving.kserve.io_inferenceservices.yaml",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "prometheus-operator/monitoring.coreos.com_servicemonitors.yaml",
    ("monitoring.coreos.com/v1", "PodMonitor"): "prometheus-operator/monitoring.coreos.com_podmonitors.yaml",
    ("keda.sh/v1alpha1", "ScaledObject"): "keda/keda.sh_scaledobjects.yaml",
}


@functools.cache
def real_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The openAPIV3Schema of the served version named by `api_version`, read straight from the CRD YAML."""
    crd = yaml.load((SHARED_SCHEMAS / REAL_CRDS[(api_version, kind)]).read_text(), Loader=yaml.CSafeLoader)
    assert crd["kind"] == "CustomResourceDefinition" and crd["spec"]["names"]["kind"] == kind
    group, version = api_version.split("/")
    assert crd["spec"]["group"] == group
    (entry,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    assert entry["served"], f"{kind} {version} is not served by the CRD"
    schema: dict[str, Any] = entry["schema"]["openAPIV3Schema"]
    return schema


@functools.cache
def real_validators(api_version: str, kind: str) -> tuple[Any, Any]:
    schema = real_schema(api_version, kind)
    return jsonschema.Draft4Validator(schema), crd_validator(schema, strict=True)


def test_the_packaged_crds_are_the_ones_the_real_crd_map_names() -> None:
    assert set(CRD_SCHEMA_FILES) == set(REAL_CRDS)
    assert {crd.source for crd in CRDS} == set(REAL_CRDS.values())


@pytest.mark.parametrize("key", sorted(REAL_CRDS))
def test_packaged_schema_is_a_verbatim_copy_with_provenance(key: tuple[str, str]) -> None:
    api_version, kind = key
    packaged = packaged_crd(api_version, kind)
    assert packaged is not None
    assert packaged["openAPIV3Schema"] == real_schema(api_version, kind)
    assert packaged["source"] == REAL_CRDS[key]
    assert packaged["kind"] == kind and packaged["apiVersion"] == api_version
    assert packaged["version"] == api_version.split("/")[1]
    assert packaged["crd"].endswith("." + api_version.split("/")[0])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_rendered_document_is_valid_against_the_real_schemas(name: str) -> None:
    bundle = render_bundle(scenario(name))
    crd_kinds = 0
    for obj in bundle:
        key = (obj.api_version, obj.kind)
        if key in REAL_CRDS:
            crd_kinds += 1
            plain, strict = real_validators(*key)
            plain_errors = [f"{list(e.absolute_path)}: {e.message}" for e in plain.iter_errors(obj.document)]
            assert not plain_errors, f"{obj.ref} rejected by the real CRD schema: {plain_errors}"
            strict_errors = [f"{list(e.absolute_path)}: {e.message}" for e in strict.iter_errors(obj.document)]
            assert not strict_errors, f"{obj.ref} has fields the real CRD would prune: {strict_errors}"
        else:
            # The public kubernetes-validate API, independent of the cached validators manifests.validate builds.
            kubernetes_validate.validate(obj.document, DEFAULT_KUBERNETES_VERSION, strict=True)
            kubernetes_validate.validate(obj.document, kubernetes_validate.latest_version(), strict=True)
    assert crd_kinds >= 1


def test_strict_crd_validation_catches_a_typo_the_api_server_would_silently_prune() -> None:
    document = render_bundle(scenario("gpu-hpa")).get("InferenceService").document
    document["spec"]["predictor"]["containers"][0]["imagePullPolcy"] = "Always"
    plain, strict = real_validators("serving.kserve.io/v1beta1", "InferenceService")
    assert not list(plain.iter_errors(document))
    assert any("imagePullPolcy" in e.message for e in strict.iter_errors(document))
