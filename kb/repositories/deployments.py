"""Deployment records, probe outcomes and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import NotFoundError
from kb.orm import AuditRow, DeploymentOutcomeRow, DeploymentRow
from kb.repositories.convert import row_values

Target = Literal["local", "kubernetes", "manifests"]
Status = Literal["starting", "running", "failed", "stopped", "written", "deleted"]


class DeploymentRecord(BaseModel):
    id: str
    owner: str
    target: Target
    namespace: str | None = None
    status: Status
    message: str = ""
    spec: dict[str, Any] = Field(default_factory=dict)
    option: dict[str, Any] = Field(default_factory=dict)
    endpoint: str | None = None
    pid: int | None = None
    port: int | None = None
    manifests_path: str | None = None
    thread_id: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class OutcomeRecord(BaseModel):
    deployment_id: str
    measured_at: dt.datetime | None = None
    requests: int
    concurrency: int
    errors: int
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    itl_p50_ms: float | None
    itl_p95_ms: float | None
    e2e_p50_ms: float | None
    e2e_p95_ms: float | None
    tokens_per_second: float | None
    predicted: dict[str, Any]
    within_prediction: bool | None


class AuditEntry(BaseModel):
    at: dt.datetime | None = None
    actor: str
    action: str
    target: Target
    deployment_id: str | None = None
    namespace: str | None = None
    outcome: Literal["ok", "failed"]
    detail: dict[str, Any] = Field(default_factory=dict)


_RECORD_FIELDS = tuple(DeploymentRecord.model_fields)


def save(session: Session, record: DeploymentRecord) -> DeploymentRecord:
    """Insert or update a deployment record by id."""
    row = session.get(DeploymentRow, record.id)
    values = record.model_dump(exclude={"created_at", "updated_at"})
    if row is None:
        row = DeploymentRow(**values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    session.flush()
    session.refresh(row)
    return DeploymentRecord.model_validate(row_values(row, skip=frozenset()))


def get(session: Session, deployment_id: str, *, owner: str | None = None) -> DeploymentRecord:
    row = session.get(DeploymentRow, deployment_id)
    if row is None or (owner is not None and row.owner != owner) or row.status == "deleted":
        raise NotFoundError(f"no deployment {deployment_id!r}; `compass deployments list` shows yours")
    return DeploymentRecord.model_validate(row_values(row, skip=frozenset()))


def list_records(
    session: Session, *, owner: str | None = None, include_deleted: bool = False, target: Target | None = None
) -> list[DeploymentRecord]:
    query = select(DeploymentRow).order_by(DeploymentRow.created_at.desc(), DeploymentRow.id)
    if owner is not None:
        query = query.where(DeploymentRow.owner == owner)
    if not include_deleted:
        query = query.where(DeploymentRow.status != "deleted")
    if target is not None:
        query = query.where(DeploymentRow.target == target)
    return [DeploymentRecord.model_validate(row_values(r, skip=frozenset())) for r in session.scalars(query)]


def exists(session: Session, deployment_id: str) -> bool:
    return session.get(DeploymentRow, deployment_id) is not None


def add_outcome(session: Session, outcome: OutcomeRecord) -> None:
    session.add(DeploymentOutcomeRow(**outcome.model_dump(exclude={"measured_at"})))
    session.flush()


def outcomes(session: Session, deployment_id: str) -> list[OutcomeRecord]:
    query = (
        select(DeploymentOutcomeRow)
        .where(DeploymentOutcomeRow.deployment_id == deployment_id)
        .order_by(DeploymentOutcomeRow.measured_at, DeploymentOutcomeRow.id)
    )
    return [OutcomeRecord.model_validate(row_values(r)) for r in session.scalars(query)]


def audit(session: Session, entry: AuditEntry) -> None:
    session.add(AuditRow(**entry.model_dump(exclude={"at"})))
    session.flush()


def audit_log(session: Session, *, deployment_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
    query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    if deployment_id is not None:
        query = query.where(AuditRow.deployment_id == deployment_id)
    return [AuditEntry.model_validate(row_values(r)) for r in session.scalars(query)]
