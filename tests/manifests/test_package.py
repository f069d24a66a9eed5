"""Package rules: `manifests` imports nothing above it, and its templates and schemas ship inside it."""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

import manifests

FORBIDDEN = ("tools", "agent", "ui")
ALLOWED_KB = ("kb.domain", "kb.errors")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_manifests_imports_only_kb_domain_and_errors_from_compass() -> None:
    root = Path(manifests.__file__).resolve().parent
    for path in root.rglob("*.py"):
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {module}"
            if top == "kb":
                assert module in ALLOWED_KB, f"{path.name} imports {module}; only {ALLOWED_KB} are allowed"


def test_templates_and_schemas_are_package_resources() -> None:
    templates = {entry.name for entry in resources.files("manifests").joinpath("templates").iterdir()}
    assert {
        "inferenceservice.yaml.j2",
        "hpa.yaml.j2",
        "keda-scaledobject.yaml.j2",
        "servicemonitor.yaml.j2",
    } <= templates
    assert {"ingress.yaml.j2", "networkpolicy.yaml.j2", "grafana-dashboard.yaml.j2"} <= templates
    schemas = {entry.name for entry in resources.files("manifests").joinpath("schemas").iterdir()}
    assert {"inferenceservice.json", "servicemonitor.json", "podmonitor.json", "scaledobject.json"} <= schemas
