"""The seed-compatible command line of `hotseller train`."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hotseller.cli import build_parser, command_flags
from hotseller.features import LabelSpec
from hotseller.graph import GraphSpec
from hotseller.train.config import CHOICES, TrainConfig
from hotseller.train.model import ENCODERS, GNN_LAYERS, HotSellerNet

SEED_DEFAULTS = {
    "epochs": 30, "batch_size": 16, "lr": 2e-4, "warmup_ratio": 0.1, "focal_alpha": 0.25, "focal_gamma": 2.0,
    "label_smoothing": 0.1, "w_contrast": 0.15, "contrast_temperature": 0.07, "w_rating": 0.3, "w_engagement": 0.2,
    "use_mixup": False, "mixup_alpha": 0.3, "use_cutmix": False, "cutmix_ratio": 0.3, "aug_prob": 0.5,
    "accumulation_steps": 4, "patience": 15, "min_delta": 5e-4, "amp": "auto",
}


def parse(*argv: str):
    return build_parser().parse_args(["train", "--out", "x", *argv])


def test_defaults_are_the_seed_systems():
    args = parse()
    assert {k: getattr(args, k) for k in SEED_DEFAULTS} == SEED_DEFAULTS


def test_underscore_and_dash_spellings_and_switches():
    a = parse("--batch_size", "8", "--use_mixup", "--contrast_temperature", "0.1", "--reviews_file", "r.parquet")
    b = parse("--batch-size", "8", "--use-mixup", "--contrast-temperature", "0.1", "--reviews-file", "r.parquet")
    assert vars(a) == vars(b)
    assert a.batch_size == 8 and a.use_mixup is True and a.reviews_file == "r.parquet"
    assert parse("--use_mixup", "--no-use_mixup").use_mixup is False


def test_config_round_trips_through_the_rule_flags():
    values = TrainConfig(epochs=3, use_cutmix=True, amp="bf16", gnn="gat").as_dict()
    args = build_parser().parse_args(["train", "--out", "x", *shlex.split(command_flags(values))])
    assert {k: getattr(args, k) for k in values} == values


@pytest.mark.parametrize("stage", ["baselines", "hybrid"])
def test_the_baselines_section_round_trips_through_both_rules_flags(stage):
    """The baselines and hybrid rules both pass config.yaml's baselines section as flags: each parser takes every key."""
    section = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())["baselines"] | {"recency_half_life": [5, 0]}
    required = {"baselines": ["--examples", "e", "--edges", "e", "--split", "s", "--out", "o"],
                "hybrid": [*(x for n in ("model", "examples", "edges", "split", "gbt-search", "forecast-examples", "forecast-edges",
                                         "baseline-forecast", "out") for x in (f"--{n}", "v")), "--partners", "p"]}[stage]
    args = build_parser().parse_args([stage, *required, *shlex.split(command_flags(section))])
    assert {k: getattr(args, k) for k in section} == section


def test_a_config_section_keeps_its_fields_and_leaves_out_other_keys():
    cfg = TrainConfig.from_section({"epochs": 3, "num_neighbors": [4, 2], "mem_mb": 8000})
    assert cfg == TrainConfig(epochs=3, num_neighbors=[4, 2])


def test_data_and_reviews_file_run_the_whole_chain(tiny_market, tmp_path):
    out = tmp_path / "model"
    cmd = [sys.executable, "-m", "hotseller.cli", "train", "--data", str(tiny_market / "panel.csv"),
           "--reviews_file", str(tiny_market / "reviews.parquet"), "--out", str(out), "--epochs", "1",
           "--batch_size", "128", "--hidden_dim", "8", "--threads", "1"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Saved best model (val PR-AUC=" in result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 < metrics["test"]["pr_auc"] <= 1.0
    assert json.loads((out / "prepared" / "accounting.json").read_text())["panel"]["quarantined"]


def test_stages_run_by_hand_share_one_grid_and_graph():
    """A user chaining features -> graph -> split by hand gets one cutoff grid and the graph the package records;
    split has no stride default (on a finer training grid a default would put validation and test cutoffs on it)."""
    parser = build_parser()
    features = parser.parse_args(["features", "--panel", "p", "--reviews", "r", "--products", "q", "--out", "o"])
    graph = parser.parse_args(["graph", "--panel", "p", "--products", "q", "--relations", "r", "--out", "o"])
    package = parser.parse_args(["package", *[x for n in ("trained", "products", "metrics", "split", "dataset", "out") for x in (f"--{n}", "v")]])
    label = LabelSpec()
    assert features.stride_weeks == graph.stride_weeks == package.stride_weeks == label.stride_weeks
    assert features.train_stride_weeks == graph.train_stride_weeks == label.train_stride_weeks
    assert features.horizon_weeks == graph.horizon_weeks == label.horizon_weeks
    assert parser.parse_args(["split", "--examples", "e", "--out", "o", "--stride-weeks", "4"]).horizon_weeks == label.horizon_weeks
    with pytest.raises(SystemExit):
        parser.parse_args(["split", "--examples", "e", "--out", "o"])
    spec = GraphSpec()
    for args, seed in ((graph, graph.seed), (package, package.graph_seed)):
        assert GraphSpec(tuple(args.relation_kinds), args.min_weight, args.category_degree, args.seller_degree, seed) == spec


def test_named_settings_offer_the_schemas_names_and_the_model_builds_each():
    schema = yaml.safe_load((Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml").read_text())
    train = schema["properties"]["train"]["properties"]
    named = {name for name, entry in train.items() if "enum" in entry}
    assert named == set(CHOICES) - {"device"}  # device is a command-line setting only (no config key)
    for name in named:
        assert list(CHOICES[name]) == train[name]["enum"], name
    assert set(CHOICES["encoder"]) == set(ENCODERS) and set(CHOICES["gnn"]) == set(GNN_LAYERS)
    for gnn in CHOICES["gnn"]:
        for encoder in CHOICES["encoder"]:
            HotSellerNet(n_channels=5, n_static=4, n_categories=3, hidden=8, gnn=gnn, encoder=encoder)
    with pytest.raises(SystemExit):  # argparse names the allowed values and exits 2, no traceback
        parse("--gnn", "gcn")


def test_hybrid_refuses_trees_searched_with_other_recency_weights(tmp_path, caplog):
    """gnn_gbt reuses the setting and half-life the baselines' search chose (its `hybrid_trees`): a search over other candidates is refused
    in one line naming both, before any model or data is read (none exists here). A search written before the
    candidates (one half-life, no list) counts as a search over that one."""
    from hotseller.cli import main

    search = tmp_path / "gbt_search.json"
    args = [*(x for n in ("model", "examples", "edges", "split", "forecast-examples", "forecast-edges", "baseline-forecast", "out")
              for x in (f"--{n}", str(tmp_path / "missing"))),
            "--gbt-search", str(search), "--partners", "d/logreg.parquet", "d/gbt.parquet", "d/logreg_gbt.parquet", "--threads", "1"]
    for training, searched in (({"recency_half_life": 15.0, "recency_half_lives": [0.0, 15.0]}, "0 15"), ({"recency_half_life": 0.0}, "0")):
        search.write_text(json.dumps({"training": training, "chosen": {},
                                      "hybrid_trees": {"chosen": {}, "recency_half_life": training["recency_half_life"]}}))
        caplog.clear()
        with pytest.raises(SystemExit) as stopped:
            main(["hybrid", *args, "--recency-half-life", "15"])
        assert stopped.value.code == 2
        assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
            f"hotseller hybrid --recency-half-life 15: {search} was searched over {searched}; rerun the baselines stage with the same "
            "baselines.recency_half_life"]
        # The same search under the same candidates passes the check and reaches the model, which is missing here.
        with pytest.raises(FileNotFoundError):
            main(["hybrid", *args, "--recency-half-life", *searched.split()])
