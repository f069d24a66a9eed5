"""Deployment service: runs an approved option on a target, records it, audits it, probes it, removes it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from kb.db import Database
from kb.domain import BenchmarkRecord, TrafficProfile
from kb.errors import CompassError, ConfigurationError, ValidationFailedError
from kb.estimator.rows import estimate_rows
from kb.repositories import benchmarks as bench_repo
from kb.repositories import deployments as records
from kb.repositories.catalog import CatalogSnapshot, load_snapshot
from kb.repositories.deployments import AuditEntry, DeploymentRecord, OutcomeRecord
from manifests.bundle import ManifestBundle
from manifests.render import render_bundle
from tools.deploy import local
from tools.deploy.context import manifest_context
from tools.deploy.request import DeploymentRequest, make_deployment_id
from tools.deploy.settings import DeploySettings
from tools.inference_probe import ProbeRequest, ProbeResult, probe_sync, sized_prompt

Progress = Callable[[str], None]
PREDICTED_FIELDS = ("predicted_ttft_p95_ms", "predicted_itl_p95_ms", "predicted_e2e_p95_ms")


class TargetFailedError(CompassError):
    """A target failed after doing some work; `audit` holds its own per-object record of it."""

    def __init__(self, message: str, *, audit: list[AuditEntry]) -> None:
        super().__init__(message)
        self.audit = audit


class KubernetesBackend(Protocol):
    """What the service needs from a cluster; `tools.k8s` provides the real one."""

    def apply(
        self, bundle: ManifestBundle, *, namespace: str, deployment_id: str, actor: str, progress: Progress | None
    ) -> tuple[str, list[AuditEntry]]:
        """Apply and wait for readiness; returns the endpoint and audit entries, or raises CompassError."""

    def delete(self, *, namespace: str, deployment_id: str, actor: str) -> list[AuditEntry]: ...

    def status(self, *, namespace: str, deployment_id: str) -> str: ...


class DeploymentService:
    def __init__(
        self,
        database: Database,
        settings: DeploySettings | None = None,
        kubernetes: Callable[[], KubernetesBackend] | None = None,
    ) -> None:
        self.database = database
        self.settings = settings or DeploySettings()
        self._kubernetes = kubernetes

    # --- deploy -------------------------------------------------------------------------------------------

    def deploy(self, request: DeploymentRequest, progress: Progress | None = None) -> DeploymentRecord:
        say = progress or (lambda _message: None)
        with self.database.reader() as session:
            catalog = load_snapshot(session)
            model, gpu = catalog.model(request.model), catalog.gpu(request.gpu)
            request = request.model_copy(update={"model": model.hf_repo, "gpu": gpu.name})
            deployment_id = request.deployment_id or make_deployment_id(model.hf_repo, request.use_case)
            if records.exists(session, deployment_id):
                raise ValidationFailedError(f"a deployment named {deployment_id!r} already exists; pick another name")
            if request.tensor_parallel > gpu.max_tensor_parallel:
                raise ValidationFailedError(
                    f"{request.tensor_parallel} GPUs per replica exceeds a {gpu.name} node's {gpu.max_tensor_parallel}"
                )
        record = DeploymentRecord(
            id=deployment_id,
            owner=request.owner,
            target=request.target,
            namespace=request.namespace or (self.settings.namespace if request.target == "kubernetes" else None),
            status="starting",
            spec=request.model_dump(mode="json"),
            option={"model": request.model, "gpu": request.gpu, "tensor_parallel": request.tensor_parallel},
            thread_id=request.thread_id,
        )
        with self.database.session() as session:
            records.save(session, record)
        try:
            if request.target == "local":
                record = self._deploy_local(record, request, catalog, say)
            elif request.target == "manifests":
                record = self._deploy_manifests(record, request, catalog, say)
            else:
                record = self._deploy_kubernetes(record, request, catalog, say)
        except CompassError as exc:
            failed = record.model_copy(update={"status": "failed", "message": exc.message})
            with self.database.session() as session:
                records.save(session, failed)
                for entry in getattr(exc, "audit", []):
                    records.audit(session, entry)
                records.audit(session, self._audit(failed, "apply", "failed", {"error": exc.message}))
            raise
        return record

    def _folder(self, deployment_id: str) -> Path:
        return self.settings.state_dir / deployment_id

    def simulator_rows(self, request: DeploymentRequest, catalog: CatalogSnapshot) -> list[BenchmarkRecord]:
        """Benchmark rows the simulator replays: every profile stored for this model/GPU/TP/format, else estimates."""
        with self.database.reader() as session:
            page = bench_repo.search(
                session,
                bench_repo.BenchmarkFilter(
                    model=request.model, hardware=request.gpu, hardware_count=request.tensor_parallel
                ),
                limit=500,
            )
        rows = bench_repo.prefer_real(r for r in page.items if r.quantization is request.quantization)
        if rows:
            return rows
        traffic = TrafficProfile(prompt_tokens=request.prompt_tokens, output_tokens=request.output_tokens)
        return estimate_rows(
            catalog.model(request.model),
            catalog.gpu(request.gpu),
            request.tensor_parallel,
            request.quantization,
            traffic,
        )

    def _deploy_local(
        self, record: DeploymentRecord, request: DeploymentRequest, catalog: CatalogSnapshot, say: Progress
    ) -> DeploymentRecord:
        folder = self._folder(record.id)
        folder.mkdir(parents=True, exist_ok=True)
        rows = self.simulator_rows(request, catalog)
        benchmarks = None
        if rows:
            benchmarks = folder / "benchmarks.json"
            benchmarks.write_text(json.dumps([r.model_dump(mode="json") for r in rows]), encoding="utf-8")
        elif not (request.predicted_ttft_p95_ms and request.predicted_itl_p95_ms):
            raise ValidationFailedError(
                f"{request.model} does not fit {request.tensor_parallel}x {request.gpu}: nothing to simulate"
            )
        say(f"starting the simulator for {record.id} ({request.model} on {request.tensor_parallel}x {request.gpu})")
        process = local.start(
            deployment_id=record.id,
            model=request.model,
            gpu=request.gpu,
            tensor_parallel=request.tensor_parallel,
            benchmarks_path=benchmarks,
            folder=folder,
            timeout_s=self.settings.start_timeout_s,
            time_scale=self.settings.simulator_time_scale,
            ttft_ms=None if benchmarks else request.predicted_ttft_p95_ms,
            itl_ms=None if benchmarks else request.predicted_itl_p95_ms,
        )
        running = record.model_copy(
            update={
                "status": "running",
                "endpoint": process.endpoint,
                "pid": process.pid,
                "port": process.port,
                "message": f"simulator pid {process.pid} on port {process.port}",
            }
        )
        with self.database.session() as session:
            saved = records.save(session, running)
            records.audit(session, self._audit(saved, "apply", "ok", {"pid": process.pid, "port": process.port}))
        say(f"{record.id} answers at {process.endpoint}")
        return saved

    def bundle(
        self, record_id: str, request: DeploymentRequest, catalog: CatalogSnapshot, *, simulator: bool
    ) -> ManifestBundle:
        rows = self.simulator_rows(request, catalog) if simulator else []
        context = manifest_context(
            request,
            catalog,
            deployment_id=record_id,
            namespace=request.namespace or self.settings.namespace,
            simulator_mode=simulator,
            benchmarks=rows,
        )
        return render_bundle(context)

    def _deploy_manifests(
        self, record: DeploymentRecord, request: DeploymentRequest, catalog: CatalogSnapshot, say: Progress
    ) -> DeploymentRecord:
        bundle = self.bundle(record.id, request, catalog, simulator=False)
        folder = Path(request.output_dir) if request.output_dir else self._folder(record.id) / "manifests"
        written = bundle.write(folder)
        say(f"wrote {len(written)} files to {folder}")
        done = record.model_copy(
            update={
                "status": "written",
                "manifests_path": str(folder),
                "namespace": request.namespace or self.settings.namespace,
                "message": f"{len(bundle)} validated objects in {folder}",
            }
        )
        with self.database.session() as session:
            saved = records.save(session, done)
            records.audit(session, self._audit(saved, "write", "ok", {"files": [p.name for p in written]}))
        return saved

    def _deploy_kubernetes(
        self, record: DeploymentRecord, request: DeploymentRequest, catalog: CatalogSnapshot, say: Progress
    ) -> DeploymentRecord:
        if self._kubernetes is None:
            raise ConfigurationError("the kubernetes target is not configured in this process")
        backend = self._kubernetes()
        namespace = record.namespace or self.settings.namespace
        bundle = self.bundle(record.id, request.model_copy(update={"namespace": namespace}), catalog, simulator=False)
        endpoint, entries = backend.apply(
            bundle, namespace=namespace, deployment_id=record.id, actor=record.owner, progress=say
        )
        running = record.model_copy(update={"status": "running", "endpoint": endpoint, "namespace": namespace})
        with self.database.session() as session:
            saved = records.save(session, running)
            for entry in entries:
                records.audit(session, entry)
        return saved

    # --- day two ------------------------------------------------------------------------------------------

    def get(self, deployment_id: str, *, owner: str | None = None) -> DeploymentRecord:
        with self.database.reader() as session:
            return records.get(session, deployment_id, owner=owner)

    def status(self, deployment_id: str, *, owner: str | None = None) -> DeploymentRecord:
        """The record, with a local deployment whose process died marked `failed`."""
        record = self.get(deployment_id, owner=owner)
        if record.target == "local" and record.status == "running" and not local.is_running(record.pid, record.id):
            record = record.model_copy(update={"status": "failed", "message": "the simulator process is gone"})
            with self.database.session() as session:
                records.save(session, record)
        return record

    def list_deployments(self, *, owner: str | None = None) -> list[DeploymentRecord]:
        with self.database.reader() as session:
            return records.list_records(session, owner=owner)

    def logs(self, deployment_id: str, *, owner: str | None = None, lines: int = 50) -> str:
        record = self.get(deployment_id, owner=owner)
        if record.target != "local":
            raise ValidationFailedError(f"logs are kept for local deployments; {deployment_id} runs on {record.target}")
        return local.tail(self._folder(record.id) / "simulator.log", lines)

    def delete(self, deployment_id: str, *, owner: str | None = None, actor: str | None = None) -> DeploymentRecord:
        record = self.get(deployment_id, owner=owner)
        detail: dict[str, object] = {}
        if record.target == "local":
            local.stop(record.pid)
            detail = {"pid": record.pid, "port": record.port}
        elif record.target == "kubernetes" and record.status in ("running", "failed", "starting"):
            if self._kubernetes is None:
                raise ConfigurationError("the kubernetes target is not configured in this process")
            entries = self._kubernetes().delete(
                namespace=record.namespace or self.settings.namespace,
                deployment_id=record.id,
                actor=actor or record.owner,
            )
            with self.database.session() as session:
                for entry in entries:
                    records.audit(session, entry)
        elif record.target == "manifests" and record.manifests_path:
            detail = {"manifests_path": record.manifests_path, "note": "files left in place"}
        deleted = record.model_copy(update={"status": "deleted", "pid": None, "message": "deleted"})
        with self.database.session() as session:
            saved = records.save(session, deleted)
            records.audit(session, self._audit(saved, "delete", "ok", detail, actor=actor))
        folder = self._folder(record.id)
        if record.target == "local" and folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        return saved

    def probe(
        self,
        deployment_id: str,
        *,
        owner: str | None = None,
        requests: int = 8,
        concurrency: int = 4,
        prompt: str | None = None,
        max_tokens: int = 64,
    ) -> ProbeResult:
        """Probe the endpoint, compare with the prediction, and keep the outcome. Without `prompt` the prompts are
        sized to the deployment's traffic profile (its prompt tokens), as the prediction assumes."""
        record = self.status(deployment_id, owner=owner)
        if record.status != "running" or not record.endpoint:
            raise ValidationFailedError(f"{deployment_id} is {record.status}; only running deployments can be probed")
        spec = record.spec
        values: dict[str, object] = {
            "endpoint": record.endpoint,
            "model": spec.get("model", ""),
            "requests": requests,
            "concurrency": concurrency,
            "max_tokens": max_tokens,
            "predicted_ttft_p95_ms": spec.get("predicted_ttft_p95_ms"),
            "predicted_itl_p95_ms": spec.get("predicted_itl_p95_ms"),
        }
        if prompt:
            values["prompt"] = prompt
        elif isinstance(spec.get("prompt_tokens"), int):
            values["prompt"] = sized_prompt(spec["prompt_tokens"])  # like the traffic the prediction is for
        result = probe_sync(ProbeRequest.model_validate(values))
        outcome = OutcomeRecord(
            deployment_id=record.id,
            requests=result.requests,
            concurrency=result.concurrency,
            errors=result.errors,
            ttft_p50_ms=result.ttft_ms.p50 if result.ttft_ms else None,
            ttft_p95_ms=result.ttft_ms.p95 if result.ttft_ms else None,
            itl_p50_ms=result.itl_ms.p50 if result.itl_ms else None,
            itl_p95_ms=result.itl_ms.p95 if result.itl_ms else None,
            e2e_p50_ms=result.e2e_ms.p50 if result.e2e_ms else None,
            e2e_p95_ms=result.e2e_ms.p95 if result.e2e_ms else None,
            tokens_per_second=result.tokens_per_second,
            predicted={
                k: spec.get(k) for k in ("predicted_ttft_p95_ms", "predicted_itl_p95_ms", "predicted_e2e_p95_ms")
            },
            within_prediction=result.within_prediction,
        )
        with self.database.session() as session:
            records.add_outcome(session, outcome)
        return result

    def outcomes(self, deployment_id: str) -> list[OutcomeRecord]:
        with self.database.reader() as session:
            return records.outcomes(session, deployment_id)

    def reconcile(self) -> list[str]:
        """After a restart: mark local deployments whose process is gone as failed; returns their ids."""
        dead = []
        for record in self.list_deployments():
            alive = record.target != "local" or record.status not in ("running", "starting")
            if alive or local.is_running(record.pid, record.id):
                continue
            dead.append(record.id)
            with self.database.session() as session:
                records.save(
                    session, record.model_copy(update={"status": "failed", "message": "process gone after restart"})
                )
        return dead

    def _audit(
        self,
        record: DeploymentRecord,
        action: str,
        outcome: str,
        detail: dict[str, object],
        *,
        actor: str | None = None,
    ) -> AuditEntry:
        return AuditEntry.model_validate(
            {
                "actor": actor or record.owner,
                "action": action,
                "target": record.target,
                "deployment_id": record.id,
                "namespace": record.namespace,
                "outcome": outcome,
                "detail": detail,
            }
        )
