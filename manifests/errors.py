"""The error raised when a rendered manifest is not valid Kubernetes: every problem with its object and JSON path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kb.errors import CompassError


@dataclass(frozen=True, slots=True)
class ManifestProblem:
    """One reason a rendered object would be rejected (or would misbehave) on a cluster."""

    kind: str
    name: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name} at {self.path}: {self.message}"


class ManifestValidationError(CompassError):
    """Rendered manifests failed validation; nothing was written or applied."""

    def __init__(self, problems: Sequence[ManifestProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        header = f"rendered manifests failed validation ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n  ".join([header, *(str(problem) for problem in self.problems)]))
