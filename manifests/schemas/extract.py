"""Copy the openAPIV3Schema of the CRDs Compass renders into this folder, so validation needs no network or cluster.

    python -m manifests.schemas.extract [--source ../shared/schemas]

For each CRD below it reads the CustomResourceDefinition YAML, takes the schema of the served (storage) version
the templates use, and writes `<kind>.json`: first where the schema came from (the source file name, the CRD
name, group, kind and version, the controller-gen/operator versions the CRD file records), then the schema verbatim.
Rerun it after updating the CRDs under the source folder; `tests/manifests` checks that the copies still match.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "schemas"


@dataclass(frozen=True, slots=True)
class CRDSource:
    """A CRD file (relative to the source folder), the version to copy, and the JSON file to write."""

    source: str
    version: str
    output: str


CRDS = (
    CRDSource("kserve/serving.kserve.io_inferenceservices.yaml", "v1beta1", "inferenceservice.json"),
    CRDSource("prometheus-operator/monitoring.coreos.com_servicemonitors.yaml", "v1", "servicemonitor.json"),
    CRDSource("prometheus-operator/monitoring.coreos.com_podmonitors.yaml", "v1", "podmonitor.json"),
    CRDSource("keda/keda.sh_scaledobjects.yaml", "v1alpha1", "scaledobject.json"),
)


def served_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    """The openAPIV3Schema of `version` in a CustomResourceDefinition; ValueError if absent or not served."""
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            if not entry.get("served", False):
                raise ValueError(f"{crd['metadata']['name']}: version {version} is not served")
            schema: dict[str, Any] = entry["schema"]["openAPIV3Schema"]
            return schema
    names = [entry["name"] for entry in crd["spec"]["versions"]]
    raise ValueError(f"{crd['metadata']['name']}: no version {version} (has {', '.join(names)})")


def extract(source_dir: Path, crd: CRDSource) -> dict[str, Any]:
    """The JSON document written for one CRD."""
    document = yaml.load((source_dir / crd.source).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    spec = document["spec"]
    return {
        "source": crd.source,
        "crd": document["metadata"]["name"],
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "version": crd.version,
        "apiVersion": f"{spec['group']}/{crd.version}",
        "generator": dict(sorted((document["metadata"].get("annotations") or {}).items())),
        "openAPIV3Schema": served_schema(document, crd.version),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="folder holding the CRD YAML files")
    args = parser.parse_args(argv)
    for crd in CRDS:
        if not (args.source / crd.source).is_file():
            print(f"extract: {args.source / crd.source} not found", file=sys.stderr)
            return 1
        data = extract(args.source, crd)
        target = HERE / crd.output
        target.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{target.name}: {data['kind']} {data['apiVersion']} from {crd.source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
