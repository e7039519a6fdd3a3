"""The GNN's hyperparameter search: real trainings on the tiny market, the best trial's values written as a config
override that Snakemake accepts, the held-out check of the best against the configured settings, and an unknown
setting refused."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
import yaml
from sklearn.metrics import average_precision_score

from hotseller.errors import UserError
from hotseller.split import load_split, make_split
from hotseller.train.config import TrainConfig
from hotseller.train.loop import train
from hotseller.tune import NO_HOLDOUT, holdout_verdict, run_tune, search_split

BASE = TrainConfig(epochs=2, batch_size=128, hidden_dim=16, accumulation_steps=1, patience=5, threads=1)
SPACE = {"lr": {"low": 0.0005, "high": 0.01, "log": True}, "hidden_dim": {"choices": [8, 16]}}


def test_tune_writes_every_trial_and_the_best_as_a_config_override(tiny_training, tmp_path):
    doc = run_tune(BASE, SPACE, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], "tiny", 3, 0, tmp_path,
                   holdout=False)
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
    """With holdout, the search never sees the later validation cutoff: its trials stop and are judged on the earlier
    one, and the check trains the configured and the best settings per seed and scores them on the held-out one. Each
    figure is that of an independent training on the search's split, scored here with scikit-learn."""
    split = tmp_path / "split.json"
    split.write_text(json.dumps(make_split(tiny_training["examples"], 4, 0, test_cutoffs=1, val_cutoffs=2, stride_weeks=4)))
    cutoffs = load_split(split)
    doc = run_tune(BASE, SPACE, tiny_training["examples"], tiny_training["edges"], split, "tiny", 2, 0, tmp_path / "tune",
                   holdout=True, confirm_seeds=2)
    searched = tmp_path / "tune" / "search_split.json"
    assert load_split(searched) == {"train": cutoffs["train"], "val": cutoffs["val"][:1], "test": cutoffs["val"][1:]}

    def trained(settings: dict, seed: int, split_name: str) -> float:
        out = tmp_path / f"check_{len(list(tmp_path.iterdir()))}"
        train(dataclasses.replace(BASE, **settings, seed=seed), tiny_training["examples"], tiny_training["edges"], searched, out)
        scored = pl.read_parquet(out / "predictions.parquet").filter(pl.col("split") == split_name)
        assert set(scored["cutoff"]) == set(load_split(searched)[split_name])
        return average_precision_score(scored["hot"], scored["score"])

    trials = pl.read_csv(tmp_path / "tune" / "trials.csv").filter(pl.col("state") == "COMPLETE")
    best_trial = trials.filter(pl.col("val_pr_auc") == trials["val_pr_auc"].max()).row(0, named=True)
    assert best_trial["val_pr_auc"] == pytest.approx(trained(doc["best_params"], 0, "val"), abs=1e-9)  # searched on the earlier cutoff
    held = json.loads((tmp_path / "tune" / "holdout.json").read_text())
    rows = {row["variant"]: row for row in held["variants"]}
    assert rows["full"]["seeds"] == rows["tuned"]["seeds"] == [0, 1]
    for seed in (0, 1):
        assert rows["full"]["test_pr_auc"][seed] == pytest.approx(trained({}, seed, "test"), abs=1e-9)
    assert rows["tuned"]["test_pr_auc"][0] == pytest.approx(trained(doc["best_params"], 0, "test"), abs=1e-9)
    assert held["metric"] == "PR-AUC on the held-out validation cutoffs"
    assert doc["verdict"] == held["verdict"]
    assert held["verdict"] in (tmp_path / "tune" / "best.yaml").read_text() and held["verdict"] in (tmp_path / "tune" / "tune.md").read_text()
    assert not (tmp_path / "tune" / "confirm").exists()  # the check's models are not kept


def test_the_verdict_follows_the_interval_and_the_hot_count():
    """Adopt only when the difference's interval is above 0 and the held-out cutoffs hold MIN_HOT_FOR_VERDICT hot."""
    def doc(ci: list, hot: int) -> dict:
        return {"test_hot": hot, "variants": [{"variant": "full"}, {"variant": "tuned", "difference": 0.02, "difference_ci": ci}]}

    assert "adopt best.yaml" in holdout_verdict(doc([0.001, 0.04], 50))
    assert "no measurable gain; keep the configured settings" in holdout_verdict(doc([-0.001, 0.04], 500))
    assert "too few hot examples to tell (49 < 50)" in holdout_verdict(doc([0.01, 0.04], 49))


def test_the_search_split_holds_out_the_later_half_and_keeps_label_windows_apart():
    """Half of the validation cutoffs (rounded down) are held out; with a stride shorter than the horizon, a search
    cutoff whose label window reaches the first held-out cutoff is left out; test cutoffs play no part."""
    split = {"train": [1, 5], "val": [9, 13, 17, 21], "test": [25, 29]}
    assert search_split(split, 4) == {"train": [1, 5], "val": [9, 13], "test": [17, 21]}
    assert search_split(split | {"val": [9, 13, 17]}, 4) == {"train": [1, 5], "val": [9, 13], "test": [17]}
    weekly = {"train": [1, 2], "val": [6, 7, 8, 9], "test": [13]}
    assert search_split(weekly, 2) == {"train": [1, 2], "val": [6], "test": [8, 9]}  # 7's labels reach week 9
    with pytest.raises(UserError, match="leave none for the search"):
        search_split(weekly, 4)


def test_holdout_needs_two_validation_cutoffs(tiny_training, tmp_path):
    with pytest.raises(UserError, match=r"tune.holdout: the split's validation cutoffs \[\d+\] leave none for the search.* raise split.val_cutoffs or set tune.holdout: false"):
        run_tune(BASE, SPACE, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], "tiny", 1, 0, tmp_path,
                 holdout=True)


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


def test_a_trial_draws_whole_numbers_for_integer_settings_and_any_number_for_the_others():
    """hidden_dim is an integer setting: whole numbers, on a log scale too; w_rank is a weight: written with the bounds
    0 and 1 it still searches the interval, not its two ends (Optuna's RandomSampler, seeded)."""
    import optuna

    from hotseller.tune import suggest

    space = {"hidden_dim": {"low": 8, "high": 256, "log": True}, "w_rank": {"low": 0, "high": 1}, "lr": {"low": 1e-4, "high": 1e-2, "log": True}}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = [suggest(study.ask(), space) for _ in range(30)]
    assert all(type(d["hidden_dim"]) is int and 8 <= d["hidden_dim"] <= 256 for d in drawn)
    assert all(type(d["w_rank"]) is float and 0 <= d["w_rank"] <= 1 for d in drawn)
    assert len({d["w_rank"] for d in drawn}) == 30 and any(0.05 < d["w_rank"] < 0.95 for d in drawn)
    assert sum(d["hidden_dim"] < 45 for d in drawn) >= 10  # log scale: below the range's geometric middle about half the time


def test_the_schema_and_the_trainer_agree_on_which_settings_are_whole_numbers():
    """The config's check of tune.space reads "integer" from the schema and a trial's draw reads it from TrainConfig's
    defaults (the tune stage has no schema at hand): the two must name the same settings, or a search the config
    accepts would hand the trainer 64.7 hidden units."""
    schema = yaml.safe_load((Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml").read_text())
    train = schema["properties"]["train"]["properties"]
    defaults = TrainConfig()
    shared = [f.name for f in dataclasses.fields(TrainConfig) if f.name in train]
    assert len(shared) > 30  # the comparison below covers the settings, not a handful
    by_schema = {n for n in shared if train[n].get("type") == "integer"}
    by_trainer = {n for n in shared if type(getattr(defaults, n)) is int}
    assert by_schema == by_trainer
    assert {"epochs", "hidden_dim", "batch_size", "patience"} <= by_schema
