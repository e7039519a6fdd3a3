"""The GNN's hyperparameter search: real trainings on the tiny market, the best trial's values written as a config
override that Snakemake accepts, the held-out check of the best against the configured settings, and an unknown
setting refused."""

from __future__ import annotations

import dataclasses
import json

import polars as pl
import pytest
import yaml
from sklearn.metrics import average_precision_score

from hotseller.errors import UserError
from hotseller.split import load_split, make_split
from hotseller.train.config import TrainConfig
from hotseller.train.loop import train
from hotseller.tune import NO_HOLDOUT, run_tune

BASE = TrainConfig(epochs=2, batch_size=128, hidden_dim=16, accumulation_steps=1, patience=5, threads=1)
SPACE = {"lr": {"low": 0.0005, "high": 0.01, "log": True}, "hidden_dim": {"choices": [8, 16]}}


def test_tune_writes_every_trial_and_the_best_as_a_config_override(tiny_training, tmp_path):
    doc = run_tune(BASE, SPACE, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], "tiny", 3, 0, tmp_path)
    trials = pl.read_csv(tmp_path / "trials.csv")
    assert trials.height == 3 and set(trials["state"]) <= {"COMPLETE", "PRUNED"}
    complete = trials.filter(pl.col("state") == "COMPLETE")
    assert doc["best_value"] == pytest.approx(complete["val_pr_auc"].max())
    written = yaml.safe_load((tmp_path / "best.yaml").read_text())
    assert written["dataset"] == "tiny"
    best = written["datasets"]["tiny"]["overrides"]["train"]
    assert best == doc["best_params"] and 0.0005 <= best["lr"] <= 0.01 and best["hidden_dim"] in (8, 16)
    dataclasses.replace(BASE, **best)  # every key is a train setting
    assert not (tmp_path / "trials").exists() or not any((tmp_path / "trials").iterdir())  # trial models are not kept
    assert json.loads((tmp_path / "holdout.json").read_text())["verdict"] == NO_HOLDOUT


def test_held_out_cutoffs_judge_the_best_against_the_configured_settings(tiny_training, tmp_path):
    """With holdout, the search never sees the later validation cutoff: it stops on the earlier one, and the check
    trains the configured and the best settings per seed and scores them on the held-out one. The configured side's
    figures are those of an independent training on that split, scored here with scikit-learn."""
    split = tmp_path / "split.json"
    split.write_text(json.dumps(make_split(tiny_training["examples"], 4, 0, test_cutoffs=1, val_cutoffs=2, stride_weeks=4)))
    cutoffs = load_split(split)
    doc = run_tune(BASE, SPACE, tiny_training["examples"], tiny_training["edges"], split, "tiny", 2, 0, tmp_path / "tune",
                   holdout=True, confirm_seeds=2)
    searched = load_split(tmp_path / "tune" / "search_split.json")
    assert searched == {"train": cutoffs["train"], "val": cutoffs["val"][:1], "test": cutoffs["val"][1:]}
    held = json.loads((tmp_path / "tune" / "holdout.json").read_text())
    rows = {row["variant"]: row for row in held["variants"]}
    assert rows["tuned"]["changes"] != "-" and rows["full"]["seeds"] == rows["tuned"]["seeds"] == [0, 1]
    for seed in (0, 1):
        train(dataclasses.replace(BASE, seed=seed), tiny_training["examples"], tiny_training["edges"],
                    tmp_path / "tune" / "search_split.json", tmp_path / f"configured{seed}")
        scored = pl.read_parquet(tmp_path / f"configured{seed}" / "predictions.parquet").filter(pl.col("split") == "test")
        assert set(scored["cutoff"]) == set(cutoffs["val"][1:])
        assert rows["full"]["test_pr_auc"][seed] == pytest.approx(average_precision_score(scored["hot"], scored["score"]), abs=1e-9)
    difference = rows["tuned"]["mean"] - rows["full"]["mean"]
    assert rows["tuned"]["difference"] == pytest.approx(difference)
    better = rows["tuned"]["difference_ci"][0] > 0
    assert doc["verdict"] == held["verdict"] and ("adopt best.yaml" in held["verdict"]) == better
    assert held["verdict"] in (tmp_path / "tune" / "best.yaml").read_text() and held["verdict"] in (tmp_path / "tune" / "tune.md").read_text()
    assert not (tmp_path / "tune" / "confirm").exists()  # the check's models are not kept


def test_holdout_needs_two_validation_cutoffs(tiny_training, tmp_path):
    with pytest.raises(UserError, match=r"tune.holdout: the split has 1 validation cutoff.*raise split.val_cutoffs or set tune.holdout: false"):
        run_tune(BASE, SPACE, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], "tiny", 1, 0, tmp_path,
                 holdout=True)


def test_an_unknown_setting_in_the_space_is_refused(tiny_training, tmp_path):
    with pytest.raises(UserError, match=r"tune.space: \['learning_rate'\] are not train settings"):
        run_tune(BASE, {"learning_rate": {"low": 0.1, "high": 0.2}}, tiny_training["examples"], tiny_training["edges"],
                 tiny_training["split"], "tiny", 1, 0, tmp_path)


def test_tune_is_its_own_target_and_its_output_is_a_valid_config_file(tmp_path):
    from conftest import copy_workflow, snakemake

    workdir = copy_workflow(tmp_path / "wf")
    planned = snakemake(workdir, "-n", "tune", "--config", "dataset=tiny").stdout
    assert "rule tune:" in planned or "localrule tune:" in planned
    best = tmp_path / "best.yaml"
    best.write_text(yaml.safe_dump({"dataset": "tiny", "datasets": {"tiny": {"overrides": {"train": {"lr": 0.002, "hidden_dim": 32}}}}}))
    # The schema accepts it, passed alone as best.yaml says, and the override reaches the train rule's flags.
    out = snakemake(workdir, "-n", "-p", "--configfile", "config.yaml", str(best)).stdout
    assert "--lr 0.002" in out and "--hidden-dim 32" in out
