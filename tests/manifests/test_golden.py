"""Golden files: every scenario's rendered bundle, byte for byte. Regenerate with UPDATE_GOLDEN=1 and review the diff.

UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/manifests/test_golden.py
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

import pytest

from manifests import render_bundle
from manifests.render import template_names
from tests.manifests.contexts import SCENARIOS, scenario

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
HINT = "if the change is intended, regenerate with UPDATE_GOLDEN=1 and review the diff"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_bundle_matches_golden_files(name: str, tmp_path: Path) -> None:
    bundle = render_bundle(scenario(name))
    expected = GOLDEN / name
    if UPDATE:
        shutil.rmtree(expected, ignore_errors=True)
        bundle.write(expected)
    written = bundle.write(tmp_path)

    assert expected.is_dir(), f"no golden files for {name}; {HINT}"
    assert sorted(p.name for p in expected.iterdir()) == sorted(p.name for p in written), HINT
    for path in written:
        assert path.read_text(encoding="utf-8") == (expected / path.name).read_text(encoding="utf-8"), (
            f"{name}/{path.name} differs from the golden file; {HINT}"
        )


def test_golden_scenarios_cover_every_template_in_both_modes() -> None:
    shipped = {
        entry.name
        for entry in resources.files("manifests").joinpath("templates").iterdir()
        if entry.name.endswith(".yaml.j2") and not entry.name.startswith("_")
    }
    used = {
        (template, scenario(name).simulator_mode) for name in SCENARIOS for template in template_names(scenario(name))
    }
    assert {template for template, _ in used} == shipped
    for template in ("inferenceservice.yaml.j2", "hpa.yaml.j2", "keda-scaledobject.yaml.j2", "ingress.yaml.j2"):
        assert (template, True) in used and (template, False) in used, f"{template} not rendered in both modes"


def test_no_stale_golden_folders() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) == sorted(SCENARIOS)
