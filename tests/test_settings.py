"""hotseller.settings: a dataset's overrides meet the schema of the sections they replace."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from hotseller.settings import ConfigError, check_overrides, check_space

ROOT = Path(__file__).parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())


def with_override(stage: str, key: str, value: object) -> dict:
    config = copy.deepcopy(CONFIG) | {"dataset": "tiny"}
    config["datasets"]["tiny"]["overrides"] = {stage: {key: value}}
    return config


def test_every_shipped_datasets_overrides_pass():
    for name, entry in CONFIG["datasets"].items():
        assert check_overrides(CONFIG | {"dataset": name}, SCHEMA) is None, name
    assert any("overrides" in entry for entry in CONFIG["datasets"].values())  # so the loop above checked some


@pytest.mark.parametrize(("stage", "key", "value", "message"), [
    ("features", "window_weeks", 4, "'datasets.tiny.overrides.features.window_weeks': 4 is less than the minimum of 8"),
    ("train", "epochs", "ten", "'datasets.tiny.overrides.train.epochs': 'ten' is not of type 'integer'"),
    ("synthetic", "bad_row_rate", 0.9, "'datasets.tiny.overrides.synthetic.bad_row_rate': 0.9 is greater than the maximum of 0.5"),
])
def test_an_override_outside_its_sections_schema_names_the_key(stage, key, value, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        check_overrides(with_override(stage, key, value), SCHEMA)
    # The same value directly in the section: the schema's own check refuses it too (the reference).
    from jsonschema.validators import validator_for

    section = SCHEMA["properties"][stage]
    assert list(validator_for(section)(section).iter_errors(CONFIG[stage] | {key: value}))


def test_a_gnn_recency_weight_the_trees_cannot_take_is_named_and_one_they_can_passes():
    from hotseller.settings import recency_mismatch

    assert recency_mismatch(CONFIG | {"dataset": "tiny"}) is None  # the shipped config: the GNN's half-life is a candidate
    trees = CONFIG["baselines"]["recency_half_life"]
    assert CONFIG["train"]["recency_half_life"] in trees
    listed = ", ".join(f"{h:g}" for h in trees)
    assert recency_mismatch(with_override("train", "recency_half_life", 7)).startswith(
        f"train.recency_half_life (7, dataset tiny) is not among baselines.recency_half_life ({listed}): the trees cannot")
    both = with_override("train", "recency_half_life", 7)
    both["baselines"] = dict(both["baselines"], recency_half_life=[0, 7])
    assert recency_mismatch(both) is None
    one_number = with_override("train", "recency_half_life", 7)
    one_number["baselines"] = dict(one_number["baselines"], recency_half_life=7)  # a single half-life, not a list
    assert recency_mismatch(one_number) is None
    # Candidates without the GNN's half-life are named; a dataset's own train override that is among them passes
    # (the schema lets a dataset override train, not baselines).
    trees_only = copy.deepcopy(CONFIG) | {"dataset": "tiny"}
    trees_only["baselines"] = dict(trees_only["baselines"], recency_half_life=[0, 5])
    gnn = CONFIG["train"]["recency_half_life"]
    assert recency_mismatch(trees_only).startswith(
        f"train.recency_half_life ({gnn:g}, dataset tiny) is not among baselines.recency_half_life (0, 5)")
    trees_only["datasets"]["tiny"]["overrides"] = {"train": {"recency_half_life": 5}}
    assert recency_mismatch(trees_only) is None


def test_the_shipped_search_space_passes():
    assert check_space(CONFIG["tune"]["space"], SCHEMA) is None and CONFIG["tune"]["space"]


@pytest.mark.parametrize(("entry", "message"), [
    ({"lr": {"lo": 0.001, "hi": 0.1}}, r"'tune\.space\.lr': give \{low, high\}"),
    ({"lr": {"low": 0.1, "high": 0.001}}, r"'tune\.space\.lr': low and high must be numbers with low < high, got 0\.1 and 0\.001"),
    ({"weight_decay": {"low": 0.0, "high": 0.1, "log": True}}, r"'tune\.space\.weight_decay': a log scale needs low > 0, got 0\.0"),
    ({"hidden_dim": {"low": 32, "high": 128.0}}, r"hidden_dim is an integer setting, so its bounds must be integers"),
    ({"dropout": {"low": 0.0, "high": 1.5}}, r"'tune\.space\.dropout': 1\.5 is not a valid train\.dropout: 1\.5 is greater than the maximum of 0\.9"),
    ({"gnn": {"choices": ["sage", "gcn"]}}, r"'gcn' is not a valid train\.gnn: 'gcn' is not one of"),
    ({"hidden_dim": {"choices": []}}, r"'tune\.space\.hidden_dim': give"),
    ({"weight_decy": {"low": 0.001, "high": 0.1}}, r"'tune\.space\.weight_decy': not a train setting \(did you mean 'weight_decay'\?\)"),
    ({"learning_rate": {"low": 0.001, "high": 0.1}}, r"'tune\.space\.learning_rate': not a train setting$"),
    ({"lr": {"low": 0.001, "high": 0.1, "log": "false"}}, r"'tune\.space\.lr': log is 'false'; give true or false"),
])
def test_a_search_space_entry_a_trial_could_not_use_is_named(entry, message):
    """Each would otherwise fail inside the tune job, after it started, with a traceback (a KeyError, Optuna's
    ValueError, or a trial handing the trainer a value the config's schema refuses)."""
    with pytest.raises(ConfigError, match=message):
        check_space(CONFIG["tune"]["space"] | entry, SCHEMA)


def test_the_transfer_source_is_another_dataset_and_replaces_init_from():
    """transfer.source names a datasets entry the workflow builds (module rules); its run starts fresh, whatever its
    own entry says, and a dataset can turn the transfer off for itself."""
    from hotseller.settings import source_config, source_model, transfer_source

    config = copy.deepcopy(CONFIG) | {"dataset": "realistic"}
    assert transfer_source(config) == CONFIG["transfer"]["source"] == "realistic_draw8"
    assert source_model("realistic_draw8") == "results/realistic_draw8/train/model"
    assert transfer_source(config | {"dataset": "tiny"}) == ""  # its overrides.transfer
    source = source_config(config | {"datasets": config["datasets"] | {"realistic_draw8": {
        **config["datasets"]["realistic_draw8"], "overrides": {"synthetic": {"seed": 8}, "transfer": {"source": "realistic"}}}}},
        "realistic_draw8")
    assert source["dataset"] == "realistic_draw8" and transfer_source(source) == ""  # no chain back to realistic
    assert source["datasets"]["realistic_draw8"]["overrides"] == {"synthetic": {"seed": 8}}
    assert source["train"] == config["train"] and config["dataset"] == "realistic"  # the same settings; the caller's config untouched
    for change, message in [({"transfer": {"source": "nowhere"}}, "'transfer.source': 'nowhere' is not one of datasets"),
                            ({"dataset": "realistic_draw8", "transfer": {"source": "realistic_draw8"},
                              "datasets": config["datasets"] | {"realistic_draw8": {**config["datasets"]["realistic_draw8"], "overrides": {}}}},
                             "'realistic_draw8' is the dataset itself"),
                            ({"train": config["train"] | {"init_from": "elsewhere/model"}}, "'transfer.source' and 'train.init_from' are both set")]:
        with pytest.raises(ConfigError, match=message):
            transfer_source(config | change)


def test_a_source_the_network_or_the_trees_cannot_take_is_named_before_any_job():
    """The encoder's width, kind and input channels and the window (the trees' columns) must be the source's; an
    ablation variant that changes what the start fixes must start fresh."""
    from hotseller.settings import AblationConfigError, transfer_source, variant_settings

    config = copy.deepcopy(CONFIG) | {"dataset": "olist"}
    olist = config["datasets"]["olist"]
    for stage, key, value in [("train", "hidden_dim", 32), ("train", "neighbour_sequences", True), ("features", "window_weeks", 26)]:
        changed = config | {"datasets": config["datasets"] | {"olist": olist | {"overrides": {stage: {key: value}}}}}
        with pytest.raises(ConfigError, match=rf"'{stage}\.{key}' is {value!r} for dataset 'olist' and .* for its transfer.source 'realistic_draw8'"):
            transfer_source(changed)
    assert transfer_source(config | {"train": config["train"] | {"gnn": "sage"}}) == "realistic_draw8"  # the encoder alone: graph layers free
    train = config["train"] | {"init_from": "results/realistic_draw8/train/model"}
    with pytest.raises(AblationConfigError, match=r"'ablation.variants.wide': changes \['hidden_dim'\]"):
        variant_settings(train, {"wide": {"hidden_dim": 128}}, "wide", 0)
    assert variant_settings(train, {"wide": {"hidden_dim": 128, "init_from": ""}}, "wide", 0)["hidden_dim"] == 128
    for name in CONFIG["ablation"]["variants"]:  # every shipped row fits the shipped start
        variant_settings(train, CONFIG["ablation"]["variants"], name, 0)
