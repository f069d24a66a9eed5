"""The deployment context: every fact the manifest templates need, typed and checked before anything is rendered.

`DeploymentContext` is built by the caller (the agent's deploy step, the CLI, tests) from a recommendation.
Its validators turn Kubernetes and vLLM constraints into messages a user can act on: which name is too long
and by how much, why a replica count or GPU count cannot work, which quantity is malformed.
`DeploymentContext.build(**values)` raises `kb.errors.ValidationFailedError` with every problem listed;
constructing the model directly raises pydantic's `ValidationError` carrying the same sentences.

Secrets are never part of the context: the Hugging Face token is referenced by Secret name and key only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kb.domain import BenchmarkRecord, GPUSpec, Quantization, SLOTargets
from kb.errors import ValidationFailedError
from manifests.names import (
    MAX_LABEL_LENGTH,
    check_dns1035_label,
    check_dns1123_label,
    check_dns1123_subdomain,
    check_host,
    check_label_value,
    check_qualified_name,
    check_secret_key,
)
from manifests.quantity import check_quantity, parse_quantity

DEFAULT_VLLM_IMAGE = "vllm/vllm-openai:v0.11.0"
DEFAULT_SIMULATOR_IMAGE = "ghcr.io/compass-llm/vllm-simulator:0.1.0"
DEFAULT_PROMETHEUS_URL = "http://prometheus-operated.monitoring.svc:9090"
MANAGED_LABEL_PREFIXES = ("app.kubernetes.io/", "compass.io/")
"""Label and annotation keys Compass sets itself; user-supplied labels/annotations may not use them."""

AutoscalerKind = Literal["hpa", "keda", "none"]

_HF_REPO = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$")
_SERVED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
_IMAGE = re.compile(r"^[a-z0-9]+(?:[._/:@-][A-Za-z0-9_.-]+)+$")
_DURATION = re.compile(r"^[1-9][0-9]*(ms|s|m|h)$")
_RESERVED_VLLM_FLAGS = (
    "--model",
    "--served-model-name",
    "--port",
    "--host",
    "--tensor-parallel-size",
    "-tp",
    "--max-model-len",
    "--gpu-memory-utilization",
    "--max-num-seqs",
    "--quantization",
    "-q",
)
_SECRET_FLAGS = ("--hf-token", "--api-key", "--ssl-keyfile")
_QUANTIZATION_METHODS = {
    "fp8": "fp8",
    "awq": "awq",
    "awq_marlin": "awq_marlin",
    "gptq": "gptq",
    "gptq_marlin": "gptq_marlin",
    "compressed-tensors": "compressed-tensors",
    "bitsandbytes": "bitsandbytes",
}


class _Frozen(BaseModel):
    # hide_input_in_errors: a rejected value (possibly a pasted token) never appears in an error message.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


def _raise(problem: str | None) -> None:
    if problem is not None:
        raise ValueError(problem)


class GPURef(_Frozen):
    """The accelerator a replica runs on, with the Kubernetes names that select and request it."""

    name: str = Field(min_length=1, description="Catalog GPU name, e.g. H100")
    vendor: Literal["nvidia", "amd"]
    resource_name: str = Field(description="Extended resource requested per pod, e.g. nvidia.com/gpu")
    node_selector_label: str = Field(description="Node label key that identifies the GPU, e.g. nvidia.com/gpu.product")
    node_selector_value: str = Field(description="Label value, e.g. NVIDIA-H100-80GB-HBM3")

    @classmethod
    def from_spec(cls, spec: GPUSpec) -> GPURef:
        """The reference for a catalog GPU."""
        return cls(
            name=spec.name,
            vendor=spec.vendor,
            resource_name=spec.resource_name,
            node_selector_label=spec.node_selector_label,
            node_selector_value=spec.node_selector_value,
        )

    @field_validator("resource_name")
    @classmethod
    def _resource_name(cls, value: str) -> str:
        _raise(check_qualified_name(value, "gpu.resource_name"))
        if "/" not in value:
            raise ValueError(
                f"gpu.resource_name {value!r} must be a vendor-prefixed extended resource (nvidia.com/gpu)"
            )
        return value

    @field_validator("node_selector_label")
    @classmethod
    def _selector_label(cls, value: str) -> str:
        _raise(check_qualified_name(value, "gpu.node_selector_label"))
        return value

    @field_validator("node_selector_value")
    @classmethod
    def _selector_value(cls, value: str) -> str:
        _raise(check_label_value(value, "gpu.node_selector_value"))
        return value


class ModelRef(_Frozen):
    """The model vLLM loads and the name clients call it by."""

    hf_repo: str = Field(description="Hugging Face repo id, e.g. meta-llama/Llama-3.1-8B-Instruct")
    served_name: str | None = Field(default=None, description="Name in the OpenAI API; the repo id when unset")

    @property
    def api_name(self) -> str:
        return self.served_name or self.hf_repo

    @field_validator("hf_repo")
    @classmethod
    def _repo(cls, value: str) -> str:
        if not _HF_REPO.match(value) or len(value) > 200:
            raise ValueError(f"model.hf_repo {value!r} is not a Hugging Face repo id such as 'org/model-name'")
        return value

    @field_validator("served_name")
    @classmethod
    def _served(cls, value: str | None) -> str | None:
        if value is not None and (not _SERVED_NAME.match(value) or len(value) > 200):
            raise ValueError(
                f"model.served_name {value!r} may use letters, digits and . _ : / - only (no spaces or quotes)"
            )
        return value


class VLLMArgs(_Frozen):
    """vLLM engine arguments Compass sets, plus free-form extra flags."""

    max_model_len: Annotated[int, Field(ge=16, le=10_000_000)] = 8192
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] = 0.9
    max_num_seqs: Annotated[int, Field(ge=1, le=65_536)] = 256
    extra_args: list[str] = Field(default_factory=list, description="More vLLM flags, e.g. ['--enable-prefix-caching']")

    @field_validator("extra_args")
    @classmethod
    def _extra(cls, value: list[str]) -> list[str]:
        for arg in value:
            flag = arg.split("=", 1)[0]
            if flag in _RESERVED_VLLM_FLAGS:
                raise ValueError(f"vllm.extra_args sets {flag}, which Compass already sets from the context; remove it")
            if flag in _SECRET_FLAGS:
                raise ValueError(
                    f"vllm.extra_args may not carry {flag}: secrets are passed as Secret references "
                    "(hf_token_secret), never as command-line values"
                )
            if "\n" in arg or "\x00" in arg:
                raise ValueError(f"vllm.extra_args entry {arg!r} contains a newline or NUL character")
        return value


class PredictedLatencies(_Frozen):
    """p95 latencies Compass predicts for this configuration, recorded on the deployment for later comparison."""

    ttft_p95_ms: Annotated[float, Field(gt=0)]
    itl_p95_ms: Annotated[float, Field(gt=0)]
    e2e_p95_ms: Annotated[float, Field(gt=0)]
    source: Literal["measured", "imported", "estimated"] | None = None


class CostEstimate(_Frozen):
    """What the deployment costs at its planned replica count."""

    usd_per_month: Annotated[float, Field(ge=0)]
    usd_per_hour: Annotated[float, Field(ge=0)]


class ContainerResources(_Frozen):
    """CPU and memory of the serving container (requests; memory is also the limit)."""

    cpu: str = Field(description="CPU request, e.g. '8' or '500m'")
    memory: str = Field(description="Memory request and limit, e.g. '64Gi'")

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str) -> str:
        _raise(check_quantity(value, "resources.cpu", example="4"))
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        _raise(check_quantity(value, "resources.memory", example="64Gi"))
        return value


class IngressSettings(_Frozen):
    """How the endpoint is exposed outside the cluster: by host, by path prefix, or both."""

    host: str | None = Field(default=None, description="e.g. llm.example.com; all hosts when unset")
    path: str = Field(
        default="/",
        description="Path prefix routed to the model, e.g. /llama; class 'nginx' strips it before vLLM sees the "
        "request, other controllers need their own rewrite annotation in `annotations`",
    )
    tls_secret: str | None = Field(default=None, description="Secret holding the TLS certificate for `host`")
    class_name: str | None = Field(default=None, description="IngressClass, e.g. nginx")
    annotations: dict[str, str] = Field(default_factory=dict, description="Controller-specific annotations")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.host is not None:
            _raise(check_host(self.host, "ingress.host"))
        if not self.path.startswith("/") or any(c in self.path for c in " \t\n?#"):
            raise ValueError(f"ingress.path {self.path!r} must start with '/' and hold no spaces, '?' or '#'")
        if self.tls_secret is not None:
            _raise(check_dns1123_subdomain(self.tls_secret, "ingress.tls_secret"))
            if self.host is None:
                raise ValueError("ingress.tls_secret needs ingress.host: a TLS certificate is issued for a host name")
        if self.class_name is not None:
            _raise(check_dns1123_subdomain(self.class_name, "ingress.class_name"))
        for key in self.annotations:
            _raise(check_qualified_name(key, "ingress annotation key"))
        return self


class MonitoringSettings(_Frozen):
    """Prometheus scraping, the Prometheus KEDA queries, and the Grafana dashboard."""

    service_monitor: bool = True
    scrape_interval: str = "15s"
    service_monitor_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels your Prometheus selects ServiceMonitors by, e.g. {'release': 'kps'}"
    )
    prometheus_url: str = Field(default=DEFAULT_PROMETHEUS_URL, description="Prometheus KEDA's trigger queries")
    grafana_dashboard: bool = True

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not _DURATION.match(self.scrape_interval):
            raise ValueError(f"monitoring.scrape_interval {self.scrape_interval!r} must look like '15s' or '1m'")
        if not re.match(r"^https?://[^\s\"']+$", self.prometheus_url):
            raise ValueError(f"monitoring.prometheus_url {self.prometheus_url!r} must be an http(s) URL")
        for key, value in self.service_monitor_labels.items():
            _raise(check_qualified_name(key, "monitoring.service_monitor_labels key"))
            _raise(check_label_value(value, f"monitoring.service_monitor_labels[{key!r}]"))
        return self


@dataclass(frozen=True, slots=True)
class DerivedName:
    """A name Kubernetes or KServe builds from the deployment id, with the limit it must stay within."""

    value: str
    what: str
    limit: int = MAX_LABEL_LENGTH


@dataclass(frozen=True, slots=True)
class ObjectNames:
    """Names of every object in the bundle and of the objects KServe creates for it."""

    inference_service: str
    predictor: str
    autoscaler: str
    service_monitor: str
    ingress: str
    network_policy: str
    dashboard: str
    benchmarks: str

    @classmethod
    def for_id(cls, deployment_id: str) -> ObjectNames:
        return cls(
            inference_service=deployment_id,
            predictor=f"{deployment_id}-predictor",
            autoscaler=deployment_id,
            service_monitor=deployment_id,
            ingress=deployment_id,
            network_policy=deployment_id,
            dashboard=f"{deployment_id}-dashboard",
            benchmarks=f"{deployment_id}-benchmarks",
        )


def derived_names(deployment_id: str) -> list[DerivedName]:
    """Names built from the id that Kubernetes limits to 63 characters (Service names and label values)."""
    names = ObjectNames.for_id(deployment_id)
    return [
        DerivedName(names.predictor, "KServe predictor Deployment/Service name"),
        DerivedName(f"isvc.{names.predictor}", "KServe 'app' pod label value (isvc.<id>-predictor)"),
    ]


def check_derived_names(deployment_id: str) -> str | None:
    """None when every name derived from the id fits its limit, else which one is too long and by how much."""
    over = [(len(d.value) - d.limit, d) for d in derived_names(deployment_id) if len(d.value) > d.limit]
    if not over:
        return None
    excess, worst = max(over, key=lambda item: item[0])
    return (
        f"deployment_id {deployment_id!r} ({len(deployment_id)} characters) is too long: the derived {worst.what} "
        f"{worst.value!r} would be {len(worst.value)} characters, {excess} over the Kubernetes limit of "
        f"{worst.limit}; shorten the id by {excess} to at most {len(deployment_id) - excess} characters"
    )


class DeploymentContext(_Frozen):
    """Everything needed to render one model deployment's manifests."""

    deployment_id: str = Field(description="Name of the InferenceService; other names derive from it")
    namespace: str
    model: ModelRef
    gpu: GPURef
    gpus_per_replica: int = Field(description="GPUs requested by each replica (= tensor parallel size)")
    tensor_parallel: int
    max_gpus_per_node: int = Field(default=8, description="GPUs on one node of this type; a replica fits on one node")
    quantization: Quantization = Quantization.BF16
    quantization_method: str | None = Field(
        default=None,
        description="vLLM --quantization value; default fp8 for FP8, awq_marlin (NVIDIA) / awq (AMD) for INT4",
    )
    min_replicas: int = 1
    max_replicas: int = 1
    vllm: VLLMArgs = Field(default_factory=VLLMArgs)
    slo: SLOTargets
    predicted: PredictedLatencies | None = None
    cost: CostEstimate | None = None
    simulator_mode: bool = False
    simulator_image: str = DEFAULT_SIMULATOR_IMAGE
    vllm_image: str = DEFAULT_VLLM_IMAGE
    simulator_benchmarks: list[BenchmarkRecord] = Field(
        default_factory=list, description="Rows the simulator replays; shipped in a ConfigMap (BENCHMARKS_PATH)"
    )
    hf_token_secret: str | None = Field(default=None, description="Name of the Secret holding the HF token")
    hf_token_secret_key: str = Field(default="HF_TOKEN", description="Key of the token inside that Secret")
    resources: ContainerResources | None = Field(default=None, description="Defaults depend on mode and GPU count")
    shm_size: str = Field(default="16Gi", description="Memory-backed /dev/shm for NCCL/tensor parallelism")
    autoscaler: AutoscalerKind = "hpa"
    autoscale_target_waiting: Annotated[float, Field(gt=0, le=10_000)] = Field(
        default=5.0, description="Queued requests per replica (vllm:num_requests_waiting) the autoscaler aims for"
    )
    ingress: IngressSettings | None = None
    network_policy: bool = False
    network_policy_allowed_namespaces: list[str] = Field(
        default_factory=lambda: ["monitoring", "ingress-nginx"],
        description="Namespaces (besides the deployment's own) allowed to reach port 8080",
    )
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def build(cls, **values: Any) -> DeploymentContext:
        """Validate `values` into a context, or raise ValidationFailedError listing every problem."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ValidationFailedError(describe_errors(exc)) from None

    # --- derived values used by the templates -------------------------------------------------------------

    @property
    def names(self) -> ObjectNames:
        return ObjectNames.for_id(self.deployment_id)

    @property
    def effective_resources(self) -> ContainerResources:
        """The container's CPU/memory: explicit, else 4 CPUs + 32Gi per GPU (vLLM) or 1 CPU + 1Gi (simulator)."""
        if self.resources is not None:
            return self.resources
        if self.simulator_mode:
            return ContainerResources(cpu="1", memory="1Gi")
        return ContainerResources(cpu=str(4 * self.gpus_per_replica), memory=f"{32 * self.gpus_per_replica}Gi")

    @property
    def effective_quantization_method(self) -> str | None:
        """The `--quantization` flag value, or None for BF16 (vLLM reads the checkpoint's own format)."""
        if self.quantization_method is not None:
            return self.quantization_method
        if self.quantization is Quantization.FP8:
            return "fp8"
        if self.quantization is Quantization.INT4:
            return "awq_marlin" if self.gpu.vendor == "nvidia" else "awq"
        return None

    @property
    def promql_selector(self) -> str:
        """Label matchers selecting this deployment's vLLM series (pods are named <id>-predictor-...)."""
        return f'namespace="{self.namespace}",pod=~"{self.names.predictor}-.*"'

    # --- validation -----------------------------------------------------------------------------------------

    @field_validator("deployment_id")
    @classmethod
    def _deployment_id(cls, value: str) -> str:
        if value:
            _raise(check_derived_names(value))  # stricter than the id's own 63-character limit
        _raise(check_dns1035_label(value, "deployment_id"))
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        _raise(check_dns1123_label(value, "namespace"))
        return value

    @field_validator("network_policy_allowed_namespaces")
    @classmethod
    def _allowed_namespaces(cls, value: list[str]) -> list[str]:
        for namespace in value:
            _raise(check_dns1123_label(namespace, "network_policy_allowed_namespaces entry"))
        return value

    @field_validator("vllm_image", "simulator_image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _IMAGE.match(value) or len(value) > 512:
            raise ValueError(f"image {value!r} is not a container image reference such as 'vllm/vllm-openai:v0.11.0'")
        return value

    @field_validator("hf_token_secret")
    @classmethod
    def _secret_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.startswith("hf_") or check_dns1123_subdomain(value, "hf_token_secret") is not None:
            # The value is deliberately not echoed: it may be the token itself.
            raise ValueError(
                "hf_token_secret must be the name of a Kubernetes Secret that holds the token (e.g. 'hf-token', "
                "created with: kubectl create secret generic hf-token --from-literal=HF_TOKEN=<token>), not the "
                "token itself; names use lower-case letters, digits, '-' and '.'"
            )
        return value

    @field_validator("hf_token_secret_key")
    @classmethod
    def _secret_key(cls, value: str) -> str:
        _raise(check_secret_key(value, "hf_token_secret_key"))
        return value

    @field_validator("shm_size")
    @classmethod
    def _shm(cls, value: str) -> str:
        _raise(check_quantity(value, "shm_size", example="16Gi"))
        return value

    @field_validator("quantization_method")
    @classmethod
    def _quant_method(cls, value: str | None) -> str | None:
        if value is not None and value not in _QUANTIZATION_METHODS:
            raise ValueError(f"quantization_method {value!r} is not one of {', '.join(sorted(_QUANTIZATION_METHODS))}")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, label in value.items():
            _raise(check_qualified_name(key, "label key"))
            _raise(_managed_key(key, "label"))
            _raise(check_label_value(label, f"label {key!r} value"))
        return value

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            _raise(check_qualified_name(key, "annotation key"))
            _raise(_managed_key(key, "annotation"))
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        self._check_replicas()
        if self.autoscaler == "none" and self.min_replicas != self.max_replicas:
            raise ValueError(
                f"autoscaler 'none' keeps a fixed replica count, but min_replicas ({self.min_replicas}) and "
                f"max_replicas ({self.max_replicas}) differ: make them equal, or choose autoscaler 'hpa' or 'keda'"
            )
        self._check_gpus()
        self._check_memory()
        if self.simulator_mode and not self.simulator_benchmarks and self.predicted is None:
            raise ValueError(
                "simulator mode needs latency data: pass simulator_benchmarks (benchmark rows) or predicted latencies"
            )
        return self

    def _check_replicas(self) -> None:
        for field, count in (("min_replicas", self.min_replicas), ("max_replicas", self.max_replicas)):
            if count < 1:
                raise ValueError(
                    f"{field} must be at least 1, got {count}: a deployment needs a running replica to serve "
                    "(delete the deployment to stop serving)"
                )
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) is greater than max_replicas ({self.max_replicas}); "
                f"raise max_replicas to at least {self.min_replicas} or lower min_replicas"
            )

    def _check_gpus(self) -> None:
        if self.max_gpus_per_node < 1:
            raise ValueError(f"max_gpus_per_node must be at least 1, got {self.max_gpus_per_node}")
        if self.gpus_per_replica < 1:
            raise ValueError(f"gpus_per_replica must be at least 1, got {self.gpus_per_replica}")
        if self.tensor_parallel != self.gpus_per_replica:
            raise ValueError(
                f"tensor_parallel ({self.tensor_parallel}) must equal gpus_per_replica ({self.gpus_per_replica}): "
                "each replica shards the model over all of its GPUs"
            )
        if self.gpus_per_replica > self.max_gpus_per_node:
            raise ValueError(
                f"gpus_per_replica ({self.gpus_per_replica}) exceeds the {self.max_gpus_per_node} {self.gpu.name} "
                f"GPUs one node has (max_gpus_per_node); a replica's pod must fit on one node: use at most "
                f"{self.max_gpus_per_node} GPUs per replica (more replicas, a smaller or quantised model), "
                "or a node type with more GPUs"
            )

    def _check_memory(self) -> None:
        resources = self.effective_resources
        shm, memory = parse_quantity(self.shm_size), parse_quantity(resources.memory)
        if self.simulator_mode or shm is None or memory is None:
            return
        if shm >= memory:
            raise ValueError(
                f"shm_size ({self.shm_size}) must be smaller than the container memory ({resources.memory}): "
                "a memory-backed /dev/shm counts against the memory limit"
            )


def _managed_key(key: str, what: str) -> str | None:
    if key.startswith(MANAGED_LABEL_PREFIXES):
        return f"{what} {key!r} is managed by Compass (prefixes {', '.join(MANAGED_LABEL_PREFIXES)}); use another key"
    return None


def describe_errors(exc: ValidationError) -> str:
    """Pydantic errors as one line each: `field.path: sentence`, without pydantic's 'Value error,' prefix."""
    lines = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(message if not location or message.startswith(location) else f"{location}: {message}")
    header = "invalid deployment context" if len(lines) == 1 else f"invalid deployment context ({len(lines)} problems)"
    return header + ":\n  " + "\n  ".join(lines)
