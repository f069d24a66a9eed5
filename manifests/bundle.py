"""The rendered output: an ordered set of Kubernetes objects, as YAML text and as parsed documents.

`ManifestBundle.to_yaml()` gives one multi-document string (for `kubectl apply -f -`);
`ManifestBundle.write(folder)` writes one file per object plus a `kustomization.yaml` listing them in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class RenderedObject:
    """One Kubernetes object: identity, the YAML text rendered from its template, and that text parsed."""

    kind: str
    api_version: str
    name: str
    namespace: str
    yaml_text: str
    document: dict[str, Any] = field(repr=False)

    @property
    def file_name(self) -> str:
        """`<kind>-<name>.yaml`, unique within a bundle."""
        return f"{self.kind.lower()}-{self.name}.yaml"

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class ManifestBundle:
    """Every object of one deployment, in apply order (config before workloads before what watches them)."""

    deployment_id: str
    namespace: str
    objects: tuple[RenderedObject, ...]

    def __iter__(self) -> Iterator[RenderedObject]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    @property
    def kinds(self) -> list[str]:
        return [obj.kind for obj in self.objects]

    def get(self, kind: str, name: str | None = None) -> RenderedObject:
        """The object of `kind` (and `name`, when several share the kind); KeyError when absent."""
        for obj in self.objects:
            if obj.kind == kind and (name is None or obj.name == name):
                return obj
        raise KeyError(f"{kind}/{name}" if name else kind)

    def to_yaml(self) -> str:
        """All objects as one multi-document YAML stream."""
        return "".join(f"---\n{obj.yaml_text.rstrip()}\n" for obj in self.objects)

    def kustomization(self) -> str:
        lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"]
        lines += [f"  - {obj.file_name}" for obj in self.objects]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path | str) -> list[Path]:
        """Write one file per object and `kustomization.yaml` into `folder` (created if needed); returns the paths."""
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for obj in self.objects:
            path = target / obj.file_name
            path.write_text(obj.yaml_text.rstrip() + "\n", encoding="utf-8")
            written.append(path)
        kustomization = target / "kustomization.yaml"
        kustomization.write_text(self.kustomization(), encoding="utf-8")
        written.append(kustomization)
        return written
