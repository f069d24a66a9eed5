"""Seeding loads the bundled catalogs idempotently on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kb.db import Database
from kb.errors import ImportFormatError, ValidationFailedError
from kb.repositories import catalog
from kb.seed import apply_bundle, default_data_dir, load_bundle


def test_seeding_an_empty_database_inserts_every_catalog(db: Database) -> None:
    with db.session() as s:
        report = apply_bundle(s, load_bundle())
    assert report.changed
    assert report.tables["models"].inserted >= 15
    assert report.tables["gpus"].inserted >= 8
    assert report.tables["slo_templates"].inserted == 9


def test_seeding_twice_changes_nothing_and_says_so(db: Database) -> None:
    bundle = load_bundle()
    with db.session() as s:
        apply_bundle(s, bundle)
    with db.session() as s:
        report = apply_bundle(s, bundle)
    assert not report.changed
    assert "nothing changed" in report.lines()[-1]


def test_an_edited_seed_row_is_updated_not_duplicated(db: Database, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for f in default_data_dir().glob("*.yaml"):
        (data / f.name).write_text(f.read_text())
    doc = yaml.safe_load((data / "gpus.yaml").read_text())
    doc["gpus"][0]["tdp_watts"] = 999
    (data / "gpus.yaml").write_text(yaml.safe_dump(doc))
    with db.session() as s:
        apply_bundle(s, load_bundle())
    with db.session() as s:
        report = apply_bundle(s, load_bundle(data))
    assert report.tables["gpus"].updated == 1 and report.tables["gpus"].inserted == 0


def test_a_seed_row_with_a_negative_figure_is_rejected_with_its_path(tmp_path: Path) -> None:
    for f in default_data_dir().glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text())
    doc = yaml.safe_load((tmp_path / "gpus.yaml").read_text())
    doc["gpus"][1]["vram_gb"] = -80
    (tmp_path / "gpus.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ImportFormatError) as err:
        load_bundle(tmp_path)
    assert "gpus.yaml: at gpus[1].vram_gb: expected input should be greater than 0" in str(err.value)


def test_a_price_for_an_undefined_gpu_is_rejected(tmp_path: Path) -> None:
    for f in default_data_dir().glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text())
    doc = yaml.safe_load((tmp_path / "prices.yaml").read_text())
    doc["prices"][0]["gpu"] = "TPU-v9"
    (tmp_path / "prices.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(
        ValidationFailedError, match=r"prices\.yaml names GPU 'TPU-v9', which gpus.yaml does not define"
    ):
        load_bundle(tmp_path)


def test_catalog_lookups_accept_aliases_and_suggest_on_typos(seeded_db: Database) -> None:
    with seeded_db.session() as s:
        assert catalog.get_gpu(s, "h100").name == "H100"
        assert catalog.get_model(s, "llama-3.1-8b-instruct").hf_repo == "meta-llama/Llama-3.1-8B-Instruct"
        assert catalog.get_slo_template(s, "customer support").use_case == "chatbot_conversational"
        with pytest.raises(Exception, match=r"unknown GPU 'H1OO'; did you mean H100"):
            catalog.get_gpu(s, "H1OO")


def test_catalog_filters_select_moe_and_task(seeded_db: Database) -> None:
    with seeded_db.session() as s:
        moe = catalog.list_models(s, catalog.ModelFilter(moe=True))
        code = catalog.list_models(s, catalog.ModelFilter(task="code"))
        big = catalog.list_models(s, catalog.ModelFilter(min_params_b=400))
    assert len(moe) >= 2 and all(m.is_moe for m in moe)
    assert code and all("code" in m.tasks for m in code)
    assert big and all(m.total_params_b >= 400 for m in big)


def test_users_become_qps_through_the_template_parameters(seeded_db: Database) -> None:
    with seeded_db.session() as s:
        chatbot = catalog.get_slo_template(s, "chatbot_conversational")
    qps = chatbot.qps_for_users(1000)
    assert qps == pytest.approx(1000 * chatbot.active_user_fraction * chatbot.requests_per_active_user_per_minute / 60)
    assert 0.5 < qps < 50
