"""The GNN's hyperparameter search: real trainings on the tiny market, the best trial's values written as a config
override that Snakemake accepts, and an unknown setting refused."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
import yaml

from hotseller.errors import UserError
from hotseller.train.config import TrainConfig
from hotseller.tune import run_tune

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
