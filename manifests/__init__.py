"""Kubernetes manifests for a Compass deployment: typed context -> Jinja2 templates -> validated bundle.

    from manifests import DeploymentContext, render_bundle
    bundle = render_bundle(ctx)        # InferenceService (+ HPA or KEDA ScaledObject, ServiceMonitor, Ingress,
    bundle.write("out/")               #   NetworkPolicy, Grafana dashboard ConfigMap), validated

This package imports only `kb.domain` and `kb.errors` from the rest of Compass.
"""

from manifests.bundle import ManifestBundle, RenderedObject
from manifests.context import (
    ContainerResources,
    CostEstimate,
    DeploymentContext,
    GPURef,
    IngressSettings,
    ModelRef,
    MonitoringSettings,
    PredictedLatencies,
    VLLMArgs,
)
from manifests.errors import ManifestProblem, ManifestValidationError
from manifests.render import render_bundle, render_objects
from manifests.validate import DEFAULT_KUBERNETES_VERSION, document_problems, validate_documents, validate_objects

__all__ = [
    "DEFAULT_KUBERNETES_VERSION",
    "ContainerResources",
    "CostEstimate",
    "DeploymentContext",
    "GPURef",
    "IngressSettings",
    "ManifestBundle",
    "ManifestProblem",
    "ManifestValidationError",
    "ModelRef",
    "MonitoringSettings",
    "PredictedLatencies",
    "RenderedObject",
    "VLLMArgs",
    "document_problems",
    "render_bundle",
    "render_objects",
    "validate_documents",
    "validate_objects",
]
