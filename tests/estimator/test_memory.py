"""Specs for the memory-fit model: weights per GPU, KV-cache capacity, refusal of configs that do not fit."""

from __future__ import annotations

import pytest

from kb.domain import GPUSpec, ModelSpec, Quantization
from kb.errors import ValidationFailedError
from kb.estimator import memory_fit
from kb.estimator.deployment import deployment_shape
from kb.estimator.memory import kv_bytes_per_token

from .conftest import make_model

GiB = 2**30


def test_70b_in_bf16_does_not_fit_on_one_l4(dense_70b: ModelSpec, l4: GPUSpec) -> None:
    fit = memory_fit(dense_70b, l4, 1, Quantization.BF16)

    assert not fit.fits
    assert fit.reason is not None and "141.2 GB" in fit.reason and "L4" in fit.reason
    assert fit.kv_capacity_tokens == 0


def test_8b_in_bf16_fits_on_one_h100_with_room_for_many_sequences(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    fit = memory_fit(dense_8b, h100, 1, Quantization.BF16, sequence_tokens=2048)

    assert fit.fits and fit.reason is None
    assert fit.weights_gb_per_gpu == pytest.approx(16.06)
    assert fit.max_concurrent_sequences is not None and fit.max_concurrent_sequences > 100


def test_kv_capacity_matches_a_hand_computed_example(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    # 80 GiB x 0.9 utilisation, minus 8.03e9 x 2 B of weights, minus the 1.5 GiB runtime reserve, left for KV.
    budget = 0.9 * 80 * GiB
    kv_bytes = budget - 16.06e9 - 1.5 * GiB
    # K and V x 32 layers x 8 KV heads x 128 dims x 2 bytes = 131072 bytes per token.
    per_token = 2 * 32 * 8 * 128 * 2
    assert per_token == 131072

    fit = memory_fit(dense_8b, h100, 1, Quantization.BF16, sequence_tokens=1000)

    assert fit.kv_bytes_per_token_per_gpu == per_token
    assert fit.kv_capacity_tokens == int(kv_bytes // per_token) == 455007
    # 1000-token sequences occupy 63 blocks of 16 tokens = 1008 tokens each.
    assert fit.max_concurrent_sequences == 455007 // 1008 == 451


def test_tensor_parallel_splits_weights_and_kv_heads(dense_70b: ModelSpec, h100: GPUSpec) -> None:
    one = memory_fit(dense_70b, h100, 2, Quantization.FP8)
    four = memory_fit(dense_70b, h100, 4, Quantization.FP8)

    assert four.weights_gb_per_gpu == pytest.approx(one.weights_gb_per_gpu / 2)
    assert four.kv_bytes_per_token_per_gpu == pytest.approx(one.kv_bytes_per_token_per_gpu / 2)
    assert four.kv_capacity_tokens > 2 * one.kv_capacity_tokens


def test_kv_heads_are_replicated_when_fewer_than_gpus(h100: GPUSpec) -> None:
    model = make_model(num_attention_heads=32, num_kv_heads=4)
    whole = 2 * 32 * 4 * 128 * 2

    assert kv_bytes_per_token(deployment_shape(model, h100, 2, Quantization.BF16)) == whole / 2
    assert kv_bytes_per_token(deployment_shape(model, h100, 4, Quantization.BF16)) == whole / 4
    assert kv_bytes_per_token(deployment_shape(model, h100, 8, Quantization.BF16)) == whole / 4


def test_latent_attention_caches_compressed_kv_on_every_gpu(mla_model: ModelSpec, h100: GPUSpec) -> None:
    shape = deployment_shape(mla_model, h100, 8, Quantization.FP8)

    assert kv_bytes_per_token(shape) == (512 + 64) * 61 * 2


def test_a_sequence_longer_than_the_kv_cache_does_not_fit(dense_70b: ModelSpec, h100: GPUSpec) -> None:
    # 70.6 GB of FP8 weights leave about 5.1 GB of KV cache on one H100: ~15.6k tokens at 327680 B/token.
    fit = memory_fit(dense_70b, h100, 1, Quantization.FP8, sequence_tokens=20000)

    assert not fit.fits
    assert fit.reason is not None and "20000-token sequence" in fit.reason


def test_memory_fit_refuses_a_quantisation_the_model_does_not_offer(mla_model: ModelSpec, h100: GPUSpec) -> None:
    with pytest.raises(ValidationFailedError, match="not offered in bf16; its catalog entry lists: fp8"):
        memory_fit(mla_model, h100, 8, Quantization.BF16)


def test_memory_fit_rejects_non_positive_sequence_length(dense_8b: ModelSpec, h100: GPUSpec) -> None:
    with pytest.raises(ValidationFailedError, match="sequence_tokens must be a positive number"):
        memory_fit(dense_8b, h100, 1, Quantization.BF16, sequence_tokens=0)
