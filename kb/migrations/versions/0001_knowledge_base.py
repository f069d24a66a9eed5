"""knowledge base tables

Revision ID: 0001_knowledge_base
Revises:
Create Date: 2026-11-26 10:10:00.328678
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_knowledge_base"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "benchmarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_hf_repo", sa.String(length=255), nullable=False),
        sa.Column("hardware", sa.String(length=64), nullable=False),
        sa.Column("hardware_count", sa.Integer(), nullable=False),
        sa.Column("framework", sa.String(length=32), nullable=False),
        sa.Column("framework_version", sa.String(length=32), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("quantization", sa.String(length=8), server_default="bf16", nullable=False),
        sa.Column("load_kind", sa.String(length=16), nullable=False),
        sa.Column("load_value", sa.Float(), nullable=False),
        sa.Column("ttft_mean", sa.Float(), nullable=False),
        sa.Column("ttft_p90", sa.Float(), nullable=False),
        sa.Column("ttft_p95", sa.Float(), nullable=False),
        sa.Column("ttft_p99", sa.Float(), nullable=False),
        sa.Column("itl_mean", sa.Float(), nullable=False),
        sa.Column("itl_p90", sa.Float(), nullable=False),
        sa.Column("itl_p95", sa.Float(), nullable=False),
        sa.Column("itl_p99", sa.Float(), nullable=False),
        sa.Column("e2e_mean", sa.Float(), nullable=False),
        sa.Column("e2e_p90", sa.Float(), nullable=False),
        sa.Column("e2e_p95", sa.Float(), nullable=False),
        sa.Column("e2e_p99", sa.Float(), nullable=False),
        sa.Column("tps_mean", sa.Float(), nullable=True),
        sa.Column("tps_p90", sa.Float(), nullable=True),
        sa.Column("tps_p95", sa.Float(), nullable=True),
        sa.Column("tps_p99", sa.Float(), nullable=True),
        sa.Column("requests_per_second", sa.Float(), nullable=False),
        sa.Column("tokens_per_second", sa.Float(), nullable=False),
        sa.Column("concurrency", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("provenance_file", sa.Text(), nullable=True),
        sa.Column("provenance_tool", sa.String(length=128), nullable=True),
        sa.Column("provenance_date", sa.Date(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benchmarks")),
        sa.UniqueConstraint(
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
    )
    with op.batch_alter_table("benchmarks", schema=None) as batch_op:
        batch_op.create_index("ix_benchmarks_profile", ["prompt_tokens", "output_tokens", "source"], unique=False)

    op.create_table(
        "gpus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("architecture", sa.String(length=64), nullable=False),
        sa.Column("vram_gb", sa.Float(), nullable=False),
        sa.Column("memory_bandwidth_gbps", sa.Float(), nullable=False),
        sa.Column("bf16_tflops", sa.Float(), nullable=False),
        sa.Column("fp8_tflops", sa.Float(), nullable=True),
        sa.Column("tdp_watts", sa.Integer(), nullable=False),
        sa.Column("interconnect_gbps", sa.Float(), nullable=False),
        sa.Column("max_tensor_parallel", sa.Integer(), nullable=False),
        sa.Column("node_selector_label", sa.String(length=255), nullable=False),
        sa.Column("node_selector_value", sa.String(length=255), nullable=False),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gpus")),
        sa.UniqueConstraint("name", name=op.f("uq_gpus_name")),
    )
    op.create_table(
        "kb_revisions",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kb_revisions")),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hf_repo", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("family", sa.String(length=100), nullable=False),
        sa.Column("total_params_b", sa.Float(), nullable=False),
        sa.Column("active_params_b", sa.Float(), nullable=False),
        sa.Column("num_layers", sa.Integer(), nullable=False),
        sa.Column("hidden_size", sa.Integer(), nullable=False),
        sa.Column("num_attention_heads", sa.Integer(), nullable=False),
        sa.Column("num_kv_heads", sa.Integer(), nullable=False),
        sa.Column("head_dim", sa.Integer(), nullable=False),
        sa.Column("vocab_size", sa.Integer(), nullable=False),
        sa.Column("max_context", sa.Integer(), nullable=False),
        sa.Column("kv_lora_rank", sa.Integer(), nullable=True),
        sa.Column("license", sa.String(length=100), nullable=False),
        sa.Column("tasks", sa.JSON(), nullable=False),
        sa.Column("domains", sa.JSON(), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
        sa.Column("approved_for_production", sa.Boolean(), nullable=False),
        sa.Column("quantizations", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
        sa.UniqueConstraint("hf_repo", name=op.f("uq_models_hf_repo")),
    )
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_models_family"), ["family"], unique=False)

    op.create_table(
        "slo_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("use_case", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("experience_class", sa.String(length=32), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("ttft_p95_ms", sa.Float(), nullable=False),
        sa.Column("itl_p95_ms", sa.Float(), nullable=False),
        sa.Column("e2e_p95_ms", sa.Float(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("active_user_fraction", sa.Float(), nullable=False),
        sa.Column("requests_per_active_user_per_minute", sa.Float(), nullable=False),
        sa.Column("synonyms", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slo_templates")),
        sa.UniqueConstraint("use_case", name=op.f("uq_slo_templates_use_case")),
    )
    op.create_table(
        "gpu_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gpu", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("pricing_model", sa.String(length=16), nullable=False),
        sa.Column("usd_per_gpu_hour", sa.Float(), nullable=True),
        sa.Column("purchase_price_usd", sa.Float(), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["gpu"], ["gpus.name"], name=op.f("fk_gpu_prices_gpu_gpus"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gpu_prices")),
        sa.UniqueConstraint("gpu", "provider", "pricing_model", "region", "effective_date", name="uq_gpu_prices_key"),
    )
    with op.batch_alter_table("gpu_prices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gpu_prices_gpu"), ["gpu"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("gpu_prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gpu_prices_gpu"))

    op.drop_table("gpu_prices")
    op.drop_table("slo_templates")
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_models_family"))

    op.drop_table("models")
    op.drop_table("kb_revisions")
    op.drop_table("gpus")
    with op.batch_alter_table("benchmarks", schema=None) as batch_op:
        batch_op.drop_index("ix_benchmarks_profile")

    op.drop_table("benchmarks")
