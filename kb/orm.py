"""SQLAlchemy 2 typed ORM: the knowledge-base tables, one schema for SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hf_repo: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    family: Mapped[str] = mapped_column(String(100), index=True)
    total_params_b: Mapped[float] = mapped_column(Float)
    active_params_b: Mapped[float] = mapped_column(Float)
    num_layers: Mapped[int] = mapped_column(Integer)
    hidden_size: Mapped[int] = mapped_column(Integer)
    num_attention_heads: Mapped[int] = mapped_column(Integer)
    num_kv_heads: Mapped[int] = mapped_column(Integer)
    head_dim: Mapped[int] = mapped_column(Integer)
    vocab_size: Mapped[int] = mapped_column(Integer)
    max_context: Mapped[int] = mapped_column(Integer)
    kv_lora_rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    license: Mapped[str] = mapped_column(String(100))
    tasks: Mapped[list[Any]] = mapped_column(JSON)
    domains: Mapped[list[Any]] = mapped_column(JSON)
    quality: Mapped[list[Any]] = mapped_column(JSON)
    approved_for_production: Mapped[bool] = mapped_column(Boolean)
    quantizations: Mapped[list[Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)
    source_date: Mapped[dt.date] = mapped_column(Date)


class GPURow(Base):
    __tablename__ = "gpus"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    aliases: Mapped[list[Any]] = mapped_column(JSON)
    vendor: Mapped[str] = mapped_column(String(32))
    architecture: Mapped[str] = mapped_column(String(64))
    vram_gb: Mapped[float] = mapped_column(Float)
    memory_bandwidth_gbps: Mapped[float] = mapped_column(Float)
    bf16_tflops: Mapped[float] = mapped_column(Float)
    fp8_tflops: Mapped[float | None] = mapped_column(Float, nullable=True)
    tdp_watts: Mapped[int] = mapped_column(Integer)
    interconnect_gbps: Mapped[float] = mapped_column(Float)
    max_tensor_parallel: Mapped[int] = mapped_column(Integer)
    node_selector_label: Mapped[str] = mapped_column(String(255))
    node_selector_value: Mapped[str] = mapped_column(String(255))
    resource_name: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(Text)
    source_date: Mapped[dt.date] = mapped_column(Date)


class GPUPriceRow(Base):
    __tablename__ = "gpu_prices"
    __table_args__ = (
        UniqueConstraint("gpu", "provider", "pricing_model", "region", "effective_date", name="uq_gpu_prices_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gpu: Mapped[str] = mapped_column(String(64), ForeignKey("gpus.name", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    pricing_model: Mapped[str] = mapped_column(String(16))
    usd_per_gpu_hour: Mapped[float | None] = mapped_column(Float, nullable=True)
    purchase_price_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    region: Mapped[str] = mapped_column(String(64))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text)


class SLOTemplateRow(Base):
    __tablename__ = "slo_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    use_case: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text)
    experience_class: Mapped[str] = mapped_column(String(32))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    ttft_p95_ms: Mapped[float] = mapped_column(Float)
    itl_p95_ms: Mapped[float] = mapped_column(Float)
    e2e_p95_ms: Mapped[float] = mapped_column(Float)
    rationale: Mapped[str] = mapped_column(Text)
    active_user_fraction: Mapped[float] = mapped_column(Float)
    requests_per_active_user_per_minute: Mapped[float] = mapped_column(Float)
    synonyms: Mapped[list[Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)
    source_date: Mapped[dt.date] = mapped_column(Date)


class BenchmarkRow(Base):
    """A performance point; columns follow the reference `exported_summaries` plus mean/p90/p99 and provenance."""

    __tablename__ = "benchmarks"
    __table_args__ = (
        UniqueConstraint(
            "model_hf_repo",
            "hardware",
            "hardware_count",
            "prompt_tokens",
            "output_tokens",
            "quantization",
            "load_kind",
            "load_value",
            name="uq_benchmarks_key",
        ),
        Index("ix_benchmarks_profile", "prompt_tokens", "output_tokens", "source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_hf_repo: Mapped[str] = mapped_column(String(255))
    hardware: Mapped[str] = mapped_column(String(64))
    hardware_count: Mapped[int] = mapped_column(Integer)
    framework: Mapped[str] = mapped_column(String(32))
    framework_version: Mapped[str] = mapped_column(String(32))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    quantization: Mapped[str] = mapped_column(String(8), server_default="bf16")
    load_kind: Mapped[str] = mapped_column(String(16))
    load_value: Mapped[float] = mapped_column(Float)
    ttft_mean: Mapped[float] = mapped_column(Float)
    ttft_p90: Mapped[float] = mapped_column(Float)
    ttft_p95: Mapped[float] = mapped_column(Float)
    ttft_p99: Mapped[float] = mapped_column(Float)
    itl_mean: Mapped[float] = mapped_column(Float)
    itl_p90: Mapped[float] = mapped_column(Float)
    itl_p95: Mapped[float] = mapped_column(Float)
    itl_p99: Mapped[float] = mapped_column(Float)
    e2e_mean: Mapped[float] = mapped_column(Float)
    e2e_p90: Mapped[float] = mapped_column(Float)
    e2e_p95: Mapped[float] = mapped_column(Float)
    e2e_p99: Mapped[float] = mapped_column(Float)
    tps_mean: Mapped[float | None] = mapped_column(Float, nullable=True)
    tps_p90: Mapped[float | None] = mapped_column(Float, nullable=True)
    tps_p95: Mapped[float | None] = mapped_column(Float, nullable=True)
    tps_p99: Mapped[float | None] = mapped_column(Float, nullable=True)
    requests_per_second: Mapped[float] = mapped_column(Float)
    tokens_per_second: Mapped[float] = mapped_column(Float)
    concurrency: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    provenance_file: Mapped[str | None] = mapped_column(Text, nullable=True)
    provenance_tool: Mapped[str | None] = mapped_column(String(128), nullable=True)
    provenance_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class RevisionRow(Base):
    """A counter per table, bumped in the same transaction as every write, so caches know when to reload."""

    __tablename__ = "kb_revisions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class DeploymentRow(Base):
    """A deployment Compass made: what was asked, what was chosen, where it runs and how it is doing."""

    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    target: Mapped[str] = mapped_column(String(16))
    namespace: Mapped[str | None] = mapped_column(String(63), nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    option: Mapped[dict[str, Any]] = mapped_column(JSON)
    endpoint: Mapped[str | None] = mapped_column(String(512), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    manifests_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    thread_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class DeploymentOutcomeRow(Base):
    """One probe of a deployment: measured latency next to what was predicted (the feedback loop)."""

    __tablename__ = "deployment_outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[str] = mapped_column(String(63), ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    measured_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    requests: Mapped[int] = mapped_column(Integer)
    concurrency: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    ttft_p50_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    ttft_p95_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    itl_p50_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    itl_p95_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    e2e_p50_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    e2e_p95_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    tokens_per_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    predicted: Mapped[dict[str, Any]] = mapped_column(JSON)
    within_prediction: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class AuditRow(Base):
    """Every apply, delete and rollback, with who asked for it. Never holds secrets."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(16))
    deployment_id: Mapped[str | None] = mapped_column(String(63), index=True, nullable=True)
    namespace: Mapped[str | None] = mapped_column(String(63), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class ThreadRow(Base):
    """A conversation and its owner; the graph state itself lives in LangGraph's checkpoint tables.

    Named `conversations` because Chainlit's data layer needs the name `threads` (see `kb.orm_chainlit`); a chat in
    the UI has the same id in both tables.
    """

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    turn_token: Mapped[str | None] = mapped_column(String(128), default=None)
    turn_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)


# Chainlit's tables share this metadata, so `Base.metadata` always describes the whole schema Alembic manages.
from kb import orm_chainlit as orm_chainlit  # noqa: E402
