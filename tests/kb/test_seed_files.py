"""The knowledge-base seed YAML files parse, validate against kb.domain and hang together."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from kb.domain import GPUPriceSpec, GPUSpec, ModelSpec, PricingModel, Quantization, SLOTemplateSpec

DATA_DIR = Path(__file__).resolve().parents[2] / "kb" / "data"

USE_CASES = {
    "chatbot_conversational",
    "code_completion",
    "code_generation_detailed",
    "translation",
    "content_generation",
    "summarization_short",
    "document_analysis_rag",
    "long_document_summarization",
    "research_legal_analysis",
}
TASKS = {"chat", "code", "summarization", "translation", "rag", "content_generation", "reasoning", "qa"}
REQUIRED_GPUS = {"L4", "A10G", "L40S", "A100-40GB", "A100-80GB", "H100", "H200"}
BYTES_PER_PARAM = {Quantization.BF16: 2.0, Quantization.FP8: 1.0, Quantization.INT4: 0.5}

# (use_case, prompt, output, experience class, ttft, itl, e2e) exactly as specified.
SLO_TABLE = {
    "chatbot_conversational": (512, 256, "conversational", 150, 25, 7000),
    "code_completion": (512, 256, "instant", 100, 20, 5000),
    "code_generation_detailed": (1024, 1024, "interactive", 300, 30, 25000),
    "translation": (1024, 1024, "deferred", 400, 35, 35000),
    "content_generation": (1024, 1024, "deferred", 500, 35, 40000),
    "summarization_short": (4096, 512, "interactive", 600, 30, 18000),
    "document_analysis_rag": (4096, 512, "interactive", 600, 30, 18000),
    "long_document_summarization": (10240, 1536, "deferred", 1000, 40, 60000),
    "research_legal_analysis": (10240, 1536, "batch", 2000, 45, 90000),
}


def _load(name: str) -> dict[str, Any]:
    path = DATA_DIR / name
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0].strip() == "# schema: 1", f"{name} must start with '# schema: 1'"
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    assert data.get("version") == 1, f"{name} needs a top-level 'version: 1'"
    return data


def _rows(name: str, key: str) -> list[dict[str, Any]]:
    data = _load(name)
    assert set(data) == {"version", key}, f"unexpected top-level keys in {name}: {sorted(data)}"
    rows = data[key]
    assert isinstance(rows, list) and rows
    return rows


def _dupes(values: Sequence[str]) -> list[str]:
    return [v for v, n in Counter(values).items() if n > 1]


@pytest.fixture(scope="module")
def models() -> list[ModelSpec]:
    return [ModelSpec.model_validate(row) for row in _rows("models.yaml", "models")]


@pytest.fixture(scope="module")
def gpus() -> list[GPUSpec]:
    return [GPUSpec.model_validate(row) for row in _rows("gpus.yaml", "gpus")]


@pytest.fixture(scope="module")
def prices() -> list[GPUPriceSpec]:
    return [GPUPriceSpec.model_validate(row) for row in _rows("prices.yaml", "prices")]


@pytest.fixture(scope="module")
def templates() -> list[SLOTemplateSpec]:
    return [SLOTemplateSpec.model_validate(row) for row in _rows("slo_templates.yaml", "slo_templates")]


# ---------------------------------------------------------------------------- models


def test_model_catalog_breadth(models: list[ModelSpec]) -> None:
    assert len(models) >= 15
    assert sum(m.is_moe for m in models) >= 2
    assert any(m.total_params_b >= 400 for m in models)
    assert any(m.total_params_b <= 1.5 for m in models)
    assert any(not m.approved_for_production for m in models)
    assert sum(m.approved_for_production for m in models) > len(models) // 2


def test_model_ids_unique(models: list[ModelSpec]) -> None:
    assert not _dupes([m.hf_repo for m in models])
    assert not _dupes([m.name for m in models])


@pytest.mark.parametrize("field", ["hf_repo", "name", "family", "license", "source"])
def test_model_text_fields_filled(models: list[ModelSpec], field: str) -> None:
    assert all(str(getattr(m, field)).strip() for m in models)


def test_model_attention_geometry(models: list[ModelSpec]) -> None:
    for m in models:
        assert m.num_attention_heads % m.num_kv_heads == 0, m.hf_repo
        if m.kv_lora_rank is not None:
            # Multi-head latent attention: query width is unrelated to hidden_size.
            assert 0 < m.kv_lora_rank < m.hidden_size, m.hf_repo
            continue
        ratio = m.head_dim * m.num_attention_heads / m.hidden_size
        # Llama-style models have ratio 1; Gemma 2, Qwen3-MoE and gpt-oss project wider/narrower.
        assert 0.5 <= ratio <= 2.0, (m.hf_repo, ratio)


def test_model_sizes_plausible(models: list[ModelSpec]) -> None:
    for m in models:
        assert m.num_layers * m.hidden_size > 0
        assert 1_000 <= m.vocab_size <= 300_000, m.hf_repo
        assert m.max_context >= 4096, m.hf_repo
        # Embedding table alone must fit inside the parameter budget.
        assert m.vocab_size * m.hidden_size / 1e9 < m.total_params_b, m.hf_repo


def test_model_tasks_and_domains(models: list[ModelSpec]) -> None:
    for m in models:
        assert m.tasks and set(m.tasks) <= TASKS, (m.hf_repo, set(m.tasks) - TASKS)
        assert not _dupes(m.tasks), m.hf_repo
        assert m.domains and not _dupes(m.domains), m.hf_repo


def test_model_quality_covers_every_use_case(models: list[ModelSpec]) -> None:
    for m in models:
        cases = [q.use_case for q in m.quality]
        assert set(cases) <= USE_CASES, (m.hf_repo, set(cases) - USE_CASES)
        assert not _dupes(cases), m.hf_repo
        assert set(cases) == USE_CASES, (m.hf_repo, USE_CASES - set(cases))
        assert all(q.source.strip() for q in m.quality), m.hf_repo


def test_model_quantizations(models: list[ModelSpec]) -> None:
    for m in models:
        names = [q.name for q in m.quantizations]
        assert not _dupes(names), m.hf_repo
        for q in m.quantizations:
            expected = BYTES_PER_PARAM[q.name]
            # MXFP4-style formats carry scales, so 4-bit rows may sit slightly above 0.5.
            assert expected <= q.bytes_per_param <= expected * 1.15, (m.hf_repo, q)


# ---------------------------------------------------------------------------- gpus


def test_required_gpus_present(gpus: list[GPUSpec]) -> None:
    names = {g.name for g in gpus}
    assert names >= REQUIRED_GPUS, REQUIRED_GPUS - names
    assert any(g.vendor == "amd" for g in gpus)
    assert any(g.architecture == "blackwell" for g in gpus)


def test_gpu_names_and_aliases_unique(gpus: list[GPUSpec]) -> None:
    assert not _dupes([g.name for g in gpus])
    owner: dict[str, str] = {}
    for g in gpus:
        for key in {g.name.lower(), *(a.lower() for a in g.aliases)}:
            assert owner.setdefault(key, g.name) == g.name, f"{key!r} names both {owner[key]} and {g.name}"


def test_gpu_figures_plausible(gpus: list[GPUSpec]) -> None:
    for g in gpus:
        assert 16 <= g.vram_gb <= 300, g.name
        assert 200 <= g.memory_bandwidth_gbps <= 10_000, g.name
        # Dense BF16 only: the largest dense figure in the catalog is B200's 2250.
        assert 50 <= g.bf16_tflops <= 2_500, g.name
        if g.fp8_tflops is not None:
            assert g.fp8_tflops == pytest.approx(2 * g.bf16_tflops, rel=0.05), g.name
        assert 50 <= g.tdp_watts <= 1_500, g.name
        assert g.max_tensor_parallel in {1, 2, 4, 8}, g.name
        assert g.node_selector_value.strip(), g.name


def test_gpu_vendor_labels(gpus: list[GPUSpec]) -> None:
    for g in gpus:
        prefix = "nvidia.com/" if g.vendor == "nvidia" else "amd.com/"
        assert g.resource_name == f"{prefix}gpu", g.name
        assert g.node_selector_label.startswith(prefix), g.name


# ---------------------------------------------------------------------------- prices


def test_prices_reference_known_gpus(prices: list[GPUPriceSpec], gpus: list[GPUSpec]) -> None:
    names = {g.name for g in gpus}
    unknown = {p.gpu for p in prices} - names
    assert not unknown, unknown


def test_every_gpu_has_on_demand_and_purchase_price(prices: list[GPUPriceSpec], gpus: list[GPUSpec]) -> None:
    for g in gpus:
        models_for_gpu = {p.pricing_model for p in prices if p.gpu == g.name}
        assert PricingModel.ON_DEMAND in models_for_gpu, g.name
        assert PricingModel.PURCHASE in models_for_gpu, g.name


def test_price_rows_well_formed(prices: list[GPUPriceSpec]) -> None:
    for p in prices:
        assert p.source.strip() and p.region.strip() and p.provider.strip()
        if p.pricing_model is PricingModel.PURCHASE:
            assert p.usd_per_gpu_hour is None
            assert p.purchase_price_usd is not None
            assert 1_000 <= p.purchase_price_usd <= 100_000, p
        else:
            assert p.purchase_price_usd is None
            assert p.usd_per_gpu_hour is not None
            assert 0.05 <= p.usd_per_gpu_hour <= 20, p


def test_prices_mostly_recent(prices: list[GPUPriceSpec]) -> None:
    years = Counter(p.effective_date.year for p in prices)
    assert years[2026] > len(prices) // 2
    assert any(p.effective_date.year < 2026 for p in prices), "keep a stale row for the staleness check"


def test_no_duplicate_price_rows(prices: list[GPUPriceSpec]) -> None:
    keys = [f"{p.gpu}|{p.provider}|{p.pricing_model}|{p.region}|{p.effective_date}" for p in prices]
    assert not _dupes(keys)


# ---------------------------------------------------------------------------- slo templates


def test_exactly_the_nine_use_cases(templates: list[SLOTemplateSpec]) -> None:
    ids = [t.use_case for t in templates]
    assert not _dupes(ids)
    assert set(ids) == USE_CASES


def test_slo_targets_match_spec(templates: list[SLOTemplateSpec]) -> None:
    for t in templates:
        prompt, output, klass, ttft, itl, e2e = SLO_TABLE[t.use_case]
        assert (t.traffic.prompt_tokens, t.traffic.output_tokens) == (prompt, output), t.use_case
        assert t.experience_class.value == klass, t.use_case
        assert (t.slo.ttft_p95_ms, t.slo.itl_p95_ms, t.slo.e2e_p95_ms) == (ttft, itl, e2e), t.use_case


def test_slo_templates_text_and_synonyms(templates: list[SLOTemplateSpec]) -> None:
    owner: dict[str, str] = {}
    for t in templates:
        assert t.display_name.strip() and t.description.strip() and t.rationale.strip()
        assert 8 <= len(t.synonyms) <= 15, t.use_case
        for s in t.synonyms:
            assert owner.setdefault(s.lower(), t.use_case) == t.use_case, f"synonym {s!r} is shared"


def test_qps_conversion(templates: list[SLOTemplateSpec]) -> None:
    by_id = {t.use_case: t for t in templates}
    assert by_id["chatbot_conversational"].qps_for_users(1000) == pytest.approx(3.33, abs=0.05)
    busiest = max(templates, key=lambda t: t.qps_for_users(1000))
    quietest = min(templates, key=lambda t: t.qps_for_users(1000))
    assert busiest.use_case == "code_completion"
    assert quietest.use_case == "research_legal_analysis"


# ---------------------------------------------------------------------------- cross-file


def test_some_model_fits_each_use_case(models: list[ModelSpec], templates: list[SLOTemplateSpec]) -> None:
    for t in templates:
        needed = t.traffic.prompt_tokens + t.traffic.output_tokens
        assert sum(m.max_context >= needed for m in models) >= 10, t.use_case
