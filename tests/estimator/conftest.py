"""Small self-contained ModelSpec/GPUSpec fixtures, so the estimator specs do not depend on the catalog files."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kb.domain import GPUSpec, ModelSpec, Quantization, QuantizationOption

TODAY = dt.date(2026, 11, 26)


def make_model(**overrides: Any) -> ModelSpec:
    """A Llama-3.1-8B-shaped model unless overridden."""
    fields: dict[str, Any] = {
        "hf_repo": "test/dense-8b",
        "name": "Dense 8B",
        "family": "test",
        "total_params_b": 8.03,
        "active_params_b": 8.03,
        "num_layers": 32,
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "num_kv_heads": 8,
        "head_dim": 128,
        "vocab_size": 128256,
        "max_context": 131072,
        "license": "test",
        "tasks": ["chat"],
        "domains": ["general"],
        "quality": [],
        "quantizations": [
            QuantizationOption(name=Quantization.BF16, bytes_per_param=2.0),
            QuantizationOption(name=Quantization.FP8, bytes_per_param=1.0),
            QuantizationOption(name=Quantization.INT4, bytes_per_param=0.5),
        ],
        "source": "https://example.org/model",
        "source_date": TODAY,
    }
    fields.update(overrides)
    return ModelSpec(**fields)


def make_gpu(**overrides: Any) -> GPUSpec:
    """An H100-SXM-shaped GPU unless overridden."""
    fields: dict[str, Any] = {
        "name": "H100",
        "vendor": "nvidia",
        "architecture": "hopper",
        "vram_gb": 80,
        "memory_bandwidth_gbps": 3350,
        "bf16_tflops": 989,
        "fp8_tflops": 1979,
        "tdp_watts": 700,
        "interconnect_gbps": 900,
        "max_tensor_parallel": 8,
        "node_selector_label": "nvidia.com/gpu.product",
        "node_selector_value": "NVIDIA-H100-80GB-HBM3",
        "resource_name": "nvidia.com/gpu",
        "source": "https://example.org/gpu",
        "source_date": TODAY,
    }
    fields.update(overrides)
    return GPUSpec(**fields)


@pytest.fixture
def dense_8b() -> ModelSpec:
    return make_model()


@pytest.fixture
def dense_70b() -> ModelSpec:
    return make_model(
        hf_repo="test/dense-70b",
        name="Dense 70B",
        total_params_b=70.6,
        active_params_b=70.6,
        num_layers=80,
        hidden_size=8192,
        num_attention_heads=64,
    )


@pytest.fixture
def moe_47b() -> ModelSpec:
    """Mixtral-8x7B-shaped mixture of experts."""
    return make_model(
        hf_repo="test/moe-47b", name="MoE 47B", total_params_b=46.7, active_params_b=12.9, max_context=32768
    )


@pytest.fixture
def mla_model() -> ModelSpec:
    """DeepSeek-V3-shaped multi-head latent attention model."""
    return make_model(
        hf_repo="test/mla-671b",
        name="MLA 671B",
        total_params_b=671,
        active_params_b=37,
        num_layers=61,
        hidden_size=7168,
        num_attention_heads=128,
        num_kv_heads=128,
        head_dim=128,
        kv_lora_rank=512,
        quantizations=[QuantizationOption(name=Quantization.FP8, bytes_per_param=1.0)],
    )


@pytest.fixture
def h100() -> GPUSpec:
    return make_gpu()


@pytest.fixture
def a100() -> GPUSpec:
    return make_gpu(
        name="A100-80GB",
        architecture="ampere",
        memory_bandwidth_gbps=2039,
        bf16_tflops=312,
        fp8_tflops=None,
        tdp_watts=400,
        interconnect_gbps=600,
        node_selector_value="NVIDIA-A100-SXM4-80GB",
    )


@pytest.fixture
def l4() -> GPUSpec:
    return make_gpu(
        name="L4",
        architecture="ada-lovelace",
        vram_gb=24,
        memory_bandwidth_gbps=300,
        bf16_tflops=121,
        fp8_tflops=242.5,
        tdp_watts=72,
        interconnect_gbps=64,
        node_selector_value="NVIDIA-L4",
    )
