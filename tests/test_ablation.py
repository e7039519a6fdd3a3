"""The ablation: each variant's train settings, the aggregated table with paired intervals, and the Snakemake
DAG (one independent train job per variant and seed; evaluation only behind the leakage audit)."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest
import yaml

from conftest import copy_workflow, snakemake
from hotseller.ablation import Run, markdown, summarise, write_ablation
from hotseller.settings import FULL, AblationConfigError, ablation_runs, chosen_variants, variant_settings
from hotseller.cli import command_flags

TRAIN = {"loss": "focal", "w_contrast": 0.15, "use_mixup": True, "amp": "auto", "gnn": "sage", "seed": 0}
VARIANTS = {"bce": {"loss": "bce"}, "no_mixup": {"use_mixup": False}, "no_amp": {"amp": "off"}, "no_gnn": {"gnn": "none"}}


def test_a_variant_is_the_train_section_with_its_overrides_and_seed_as_one_network():
    assert variant_settings(TRAIN, VARIANTS, FULL, 2) == TRAIN | {"seed": 2, "ensemble": 1}
    assert variant_settings(TRAIN | {"ensemble": 3}, VARIANTS, "bce", 1) == TRAIN | {"loss": "bce", "seed": 1, "ensemble": 1}
    flags = command_flags(variant_settings(TRAIN, VARIANTS, "no_mixup", 0))
    assert "--no-use-mixup" in flags and "--loss focal" in flags
    assert "--amp off" in command_flags(variant_settings(TRAIN, VARIANTS, "no_amp", 0))


def test_every_variant_runs_with_every_seed_and_the_full_model_at_the_train_seed_is_the_train_rule_s():
    runs = ablation_runs("results/x", {"bce": {}, "no_gnn": {}}, n_seeds=2, train=TRAIN | {"seed": 5})
    assert [(v, s) for v, s, _ in runs] == [(FULL, 5), (FULL, 6), ("bce", 5), ("bce", 6), ("no_gnn", 5), ("no_gnn", 6)]
    assert runs[0][2] == "results/x/train/predictions.parquet"
    assert runs[1][2] == "results/x/ablation/full/seed6/predictions.parquet"


def test_an_ensemble_train_rule_is_not_the_ablation_s_full_model():
    runs = ablation_runs("results/x", {"bce": {}}, n_seeds=2, train=TRAIN | {"seed": 5, "ensemble": 3})
    assert runs[0] == (FULL, 5, "results/x/ablation/full/seed5/predictions.parquet")


def test_a_variant_naming_an_unknown_setting_or_an_unknown_variant_fails_naming_it():
    with pytest.raises(AblationConfigError, match=r"ablation.variants.typo.*\['w_contrastive'\]"):
        variant_settings(TRAIN, {"typo": {"w_contrastive": 0}}, "typo", 0)
    with pytest.raises(AblationConfigError, match="no variant 'nope'"):
        variant_settings(TRAIN, VARIANTS, "nope", 0)


def test_rows_choose_which_variants_run_and_a_row_that_is_no_variant_fails_naming_it():
    assert chosen_variants({"variants": VARIANTS}) == VARIANTS
    assert chosen_variants({"variants": VARIANTS, "rows": []}) == VARIANTS
    assert chosen_variants({"variants": VARIANTS, "rows": ["no_gnn", "bce"]}) == {"bce": {"loss": "bce"}, "no_gnn": {"gnn": "none"}}
    with pytest.raises(AblationConfigError, match=r"ablation.rows.*\['no_gnm'\]"):
        chosen_variants({"variants": VARIANTS, "rows": ["no_gnn", "no_gnm"]})


def write_run(tmp_path, variant: str, seed: int, score: np.ndarray, hot: np.ndarray) -> Run:
    """A run's predictions: the first half of the rows validation (cutoff 1), the second half test (cutoff 2), the
    same products in each."""
    n = hot.size // 2
    frame = pl.DataFrame({"split": ["val"] * n + ["test"] * n, "cutoff": [1] * n + [2] * n,
                          "product_id": [f"P{i:03d}" for i in range(n)] * 2, "score": score, "hot": hot})
    path = tmp_path / f"{variant}_{seed}.parquet"
    frame.write_parquet(path)
    return Run(variant, seed, path)


def fake_run(tmp_path, variant: str, seed: int, signal: float, hot: np.ndarray, noise_seed: int) -> Run:
    rng = np.random.default_rng(noise_seed)
    return write_run(tmp_path, variant, seed, 1 / (1 + np.exp(-(signal * hot + rng.normal(0, 1, hot.size) - 2))), hot)


def test_table_gives_mean_interval_and_paired_difference_from_the_full_model(tmp_path):
    rng = np.random.default_rng(0)
    hot = (rng.random(600) < 0.1).astype(np.int8)
    runs = []
    for seed in range(3):
        runs.append(fake_run(tmp_path, FULL, seed, 3.0, hot, noise_seed=seed))
        runs.append(fake_run(tmp_path, "weak", seed, 0.5, hot, noise_seed=100 + seed))
        runs.append(fake_run(tmp_path, "same", seed, 3.0, hot, noise_seed=seed))  # identical to the full model's predictions
    doc = summarise(runs, {"weak": {"w_contrast": 0.0}, "same": {"amp": "off"}}, n_resamples=1000, seed=0)
    rows = {row["variant"]: row for row in doc["variants"]}
    assert list(rows) == [FULL, "weak", "same"]
    for row in rows.values():
        assert row["seeds"] == [0, 1, 2] and len(row["test_pr_auc"]) == 3
        assert row["ci"][0] <= row["mean"] <= row["ci"][1]
        assert row["mean"] == pytest.approx(np.mean(row["test_pr_auc"]))
    assert rows["weak"]["difference"] < 0 and rows["weak"]["difference_ci"][1] < 0  # removing the signal measurably hurts
    assert rows["weak"]["changes"] == "w_contrast=0.0"
    assert rows["same"]["identical_to_full"] and rows["same"]["difference"] == 0.0
    assert not rows["weak"]["identical_to_full"]
    write_ablation(doc, tmp_path / "out")
    for name in ("ablation.json", "ablation.md", "ablation.html", "ablation.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    table = (tmp_path / "out" / "ablation.md").read_text()
    assert "the variant is worse (interval below 0)" in table and "identical to the full model" in table
    assert markdown(json.loads((tmp_path / "out" / "ablation.json").read_text())) == table  # a committed record re-renders


def logit_run(tmp_path, seed: int, val_logits: list[float], hot: list[int]) -> Run:
    """A full-model run whose validation scores are the sigmoids of the given logits, and one test row per product."""
    score = 1 / (1 + np.exp(-np.array(val_logits + [0.0] * len(hot))))
    return write_run(tmp_path, FULL, seed, score, np.array(hot * 2))


@pytest.mark.filterwarnings("ignore:Mean of empty slice")  # 3 test products: some resamples draw no hot one
def test_validation_is_given_per_run_mean_and_for_the_seeds_averaged_logits(tmp_path):
    # Worked by hand. Products x (hot), y, z. Seed 0 logits 6, 1, -3: x first, AP 1. Seed 1 logits -2, 1, -3: y, x, z,
    # AP 1/2. Mean of runs 0.75. Averaged logits 2, 1, -3: x first, AP 1. (Averaged probabilities would put y first:
    # (0.998 + 0.119) / 2 = 0.558 for x against 0.731 for y, AP 1/2; so this also checks that logits are averaged.)
    hot = [1, 0, 0]
    runs = [logit_run(tmp_path, 0, [6.0, 1.0, -3.0], hot), logit_run(tmp_path, 1, [-2.0, 1.0, -3.0], hot)]
    doc = summarise(runs, {}, n_resamples=10)
    (row,) = doc["variants"]
    assert row["val_pr_auc"] == pytest.approx([1.0, 0.5])
    assert row["val_pr_auc_mean"] == pytest.approx(0.75)
    assert row["val_pr_auc_averaged"] == pytest.approx(1.0)
    write_ablation(doc, tmp_path / "out")
    assert "| 0.7500 | 1.0000 |" in (tmp_path / "out" / "ablation.md").read_text()


def test_runs_on_different_examples_are_refused(tmp_path):
    hot = np.r_[np.ones(10), np.zeros(90)].astype(np.int8)
    a = fake_run(tmp_path, FULL, 0, 2.0, hot, 0)
    b = fake_run(tmp_path, "bce", 0, 2.0, hot, 1)
    pl.read_parquet(b.path).head(80).write_parquet(b.path)
    with pytest.raises(ValueError, match="different examples"):
        summarise([a, b], {"bce": {"loss": "bce"}}, n_resamples=10)


def jobs(dry_run: str) -> list[dict]:
    """Each planned job of a dry run: its rule, inputs and wildcards."""
    found = []
    for block in re.split(r"\n(?=rule \w+:)", dry_run)[1:]:
        rule = re.match(r"rule (\w+):", block).group(1)
        inputs = re.search(r"^\s+input: (.*)$", block, flags=re.M)
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, flags=re.M)
        found.append({"rule": rule, "input": inputs.group(1).split(", ") if inputs else [],
                      "wildcards": dict(w.split("=") for w in wildcards.group(1).split(", ")) if wildcards else {}})
    return found


@pytest.mark.slow
def test_dag_has_one_independent_train_job_per_variant_and_seed_and_evaluation_behind_the_audit(tmp_path):
    workdir = copy_workflow(tmp_path)
    (workdir / "override.yaml").write_text("dataset: small\nablation: {seeds: 2}\n")
    # The model card (which includes the ablation table) is its own target: `rule all` stays cheap.
    out = snakemake(workdir, "-n", "all", "model_card", "--configfile", "config.yaml", "override.yaml").stdout
    planned = jobs(out)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    variants = config["ablation"]["variants"]
    runs = {(j["wildcards"]["variant"], int(j["wildcards"]["seed"])) for j in planned if j["rule"] == "ablation_train"}
    # The train rule trains an ensemble, so every ablation run (one network each) is a job of its own.
    assert config["train"]["ensemble"] > 1 and runs == {(v, s) for v in [FULL, *variants] for s in (0, 1)}
    # With one network, the full model at the train seed is the train rule's own job, not a second copy of it.
    (workdir / "single.yaml").write_text("train: {ensemble: 1}\n")
    single = jobs(snakemake(workdir, "-n", "ablation", "--configfile", "config.yaml", "override.yaml", "single.yaml").stdout)
    runs = {(j["wildcards"]["variant"], int(j["wildcards"]["seed"])) for j in single if j["rule"] == "ablation_train"}
    assert runs == {(v, s) for v in [FULL, *variants] for s in (0, 1)} - {(FULL, 0)}
    # ablation.rows runs only the rows it names beside the full model (here a row a benchmark file adds).
    (workdir / "rows.yaml").write_text("ablation: {variants: {with_lr: {lr: 0.001}}, rows: [with_lr, no_ema]}\n")
    chosen = jobs(snakemake(workdir, "-n", "ablation", "--configfile", "config.yaml", "override.yaml", "rows.yaml").stdout)
    runs = {(j["wildcards"]["variant"], int(j["wildcards"]["seed"])) for j in chosen if j["rule"] == "ablation_train"}
    assert runs == {(v, s) for v in [FULL, "with_lr", "no_ema"] for s in (0, 1)}
    table = next(j for j in chosen if j["rule"] == "ablation")
    assert sorted({path.split("/")[3] for path in table["input"] if "/ablation/" in path}) == sorted([FULL, "with_lr", "no_ema"])
    # A variant the rows leave out is still checked before any job.
    (workdir / "bad.yaml").write_text("ablation: {variants: {typo: {w_contrastive: 1}}, rows: [no_ema]}\n")
    bad = snakemake(workdir, "-n", "ablation", "--configfile", "config.yaml", "override.yaml", "bad.yaml", check=False)
    assert bad.returncode != 0 and "ablation.variants.typo" in bad.stdout + bad.stderr
    for job in planned:
        if job["rule"] == "ablation_train":
            assert not any("/ablation/" in path for path in job["input"])  # independent: no run waits for another
    rules = {j["rule"] for j in planned}
    assert {"audit", "ablation", "model_card", "evaluate"} <= rules
    evaluate = next(j for j in planned if j["rule"] == "evaluate")
    assert "results/small/audit/audit.json" in evaluate["input"]
