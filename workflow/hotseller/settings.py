"""Turning the validated config into each stage's parameters (used by workflow/rules/common.smk)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

HEURISTICS = ("persistence", "momentum")  # ranking scores (log units), never probabilities, whatever range a split's
# scores fall in: no temperature, no calibration metrics, no P(hot) in a forecast
BLEND_PARTNERS = ("logreg", "gbt", "logreg_gbt")  # the fitted baselines a graph blend may pair the GNN with (here, not in
# hybrid.py, so that the hybrid rule's inputs name them without the Snakefile importing scikit-learn)


class ConfigError(ValueError):
    """A config value that the schema cannot catch alone (e.g. a dataset name that is not defined)."""


def dataset_entry(config: dict[str, Any]) -> dict[str, Any]:
    name = config["dataset"]
    if name not in config["datasets"]:
        raise ConfigError(f"config key 'dataset': {name!r} is not one of datasets: {sorted(config['datasets'])}")
    entry = config["datasets"][name]
    if entry["source"] == "synthetic":
        missing = [k for k in ("products", "weeks", "categories", "sellers") if k not in entry]
        if missing:
            raise ConfigError(f"config key 'datasets.{name}': a synthetic dataset needs {missing}")
    if entry["source"] == "generic" and "files" not in entry:
        raise ConfigError(f"config key 'datasets.{name}.files': a generic dataset needs at least files.panel")
    if entry["source"] in ("olist", "online_retail") and "path" not in entry:
        raise ConfigError(f"config key 'datasets.{name}.path': the {entry['source']} source needs the path of its files")
    return entry


def stage_params(config: dict[str, Any], stage: str) -> dict[str, Any]:
    """A stage's section of config.yaml with the selected dataset's overrides applied."""
    params = dict(config[stage])
    overrides = dataset_entry(config).get("overrides", {}).get(stage, {})
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        raise ConfigError(f"config key 'datasets.{config['dataset']}.overrides.{stage}': unknown keys {unknown}")
    params.update(overrides)
    if stage == "features":
        check_training_grid(params)
    return params


def check_overrides(config: dict[str, Any], schema: dict[str, Any]) -> None:
    """A dataset's overrides replace keys of the stage sections, so what a stage will run with meets the same schema as
    those sections (in the schema the overrides are open objects: the section's own rules apply once merged)."""
    from jsonschema.validators import validator_for

    for stage in dataset_entry(config).get("overrides", {}):
        section = schema["properties"][stage]
        error = next(iter(validator_for(section)(section).iter_errors(stage_params(config, stage))), None)
        if error is not None:
            key = ".".join(str(k) for k in error.absolute_path)
            raise ConfigError(f"config key 'datasets.{config['dataset']}.overrides.{stage}.{key}': {error.message}")


def check_space(space: dict[str, Any], schema: dict[str, Any]) -> None:
    """tune.space against the train settings' own schema, before any job starts: every bound or choice must be a value
    config.yaml would accept for that setting, so that no trial hands the trainer one the config would refuse (the
    schema itself only asks each entry to be a mapping)."""
    import difflib

    from jsonschema.validators import validator_for

    train = schema["properties"]["train"]["properties"]
    for name, spec in space.items():
        where = f"config key 'tune.space.{name}'"
        if name not in train:
            near = difflib.get_close_matches(name, list(train), n=1)
            raise ConfigError(f"{where}: not a train setting{f' (did you mean {near[0]!r}?)' if near else ''}")
        checker = validator_for(train[name])(train[name])
        for value in space_values(where, name, spec, train[name].get("type") == "integer"):
            error = next(iter(checker.iter_errors(value)), None)
            if error is not None:
                raise ConfigError(f"{where}: {value!r} is not a valid train.{name}: {error.message}")


def transfer_source(config: dict[str, Any]) -> str:
    """The `datasets` entry whose network this run's networks start from (transfer.source, after the dataset's
    overrides), "" for a fresh start. Checked here, before any job: the workflow builds that entry's run as module
    rules, so it must be another dataset, and it replaces train.init_from, so the two cannot both be set."""
    source = stage_params(config, "transfer")["source"]
    if not source:
        return ""
    if source not in config["datasets"]:
        raise ConfigError(f"config key 'transfer.source': {source!r} is not one of datasets: {sorted(config['datasets'])}")
    if source == config["dataset"]:
        raise ConfigError(f"config key 'transfer.source': {source!r} is the dataset itself; set datasets.{source}.overrides.transfer.source "
                          "to \"\" (a fresh start) or name another dataset")
    train = stage_params(config, "train")
    if train["init_from"]:
        raise ConfigError("config keys 'transfer.source' and 'train.init_from' are both set; keep one (transfer.source builds its "
                          "model folder, train.init_from names a finished one)")
    built = source_config(config, source)
    theirs = stage_params(built, "train")
    shared = [("train", k, train[k], theirs[k]) for k in source_fixed(train["init_parts"])]
    window = [("features", "window_weeks", stage_params(config, "features")["window_weeks"], stage_params(built, "features")["window_weeks"])]
    for stage, key, ours, its in shared + window:  # the window: the trees' columns (hotseller/source_rows.py)
        if ours != its:
            raise ConfigError(f"config key '{stage}.{key}' is {ours!r} for dataset {config['dataset']!r} and {its!r} for its transfer.source "
                              f"{source!r}; give both the same value, or start fresh with datasets.{config['dataset']}.overrides.transfer.source: \"\"")
    return source


def source_fixed(parts: str) -> tuple[str, ...]:
    """The train settings a network started from another must share with it (hotseller/train/transfer.py refuses a
    source that does not fit): the sequence encoder's kind, width and input channels, and, copying every shared
    weight (`shared`), its graph layers too."""
    encoder = ("hidden_dim", "encoder", "neighbour_sequences")
    return encoder if parts == "encoder" else (*encoder, "gnn")


def fixed_by_start(changed: Iterable[str], init_from: str, parts: str) -> list[str]:
    """Which of the `changed` train settings a start from `init_from` fixes (none for a fresh start): an ablation row
    or a search may not move them."""
    return sorted(set(changed) & set(source_fixed(parts))) if init_from else []


def source_config(config: dict[str, Any], source: str) -> dict[str, Any]:
    """The config the transfer source's own run is built with: the same settings, its dataset, a fresh start (its
    entry's own transfer override dropped too, so that no chain of sources can loop)."""
    entry = dict(config["datasets"][source])
    entry["overrides"] = {stage: v for stage, v in entry.get("overrides", {}).items() if stage != "transfer"}
    return config | {"dataset": source, "datasets": config["datasets"] | {source: entry},
                     "transfer": dict(config["transfer"]) | {"source": ""}}


def source_model(source: str) -> str:
    """The model folder the source's run writes (the train rule's), which train.init_from becomes."""
    return f"results/{source}/train/model"


def space_values(where: str, name: str, spec: Any, integer: bool) -> list:
    """The values a search-space entry can hand a trial at its edges: its choices, or its bounds {low, high} (and
    log: true for a log scale), checked for what the schema of the setting cannot see."""
    if isinstance(spec, dict) and set(spec) == {"choices"} and isinstance(spec["choices"], list) and spec["choices"]:
        return spec["choices"]
    if not isinstance(spec, dict) or set(spec) not in ({"low", "high"}, {"low", "high", "log"}):
        raise ConfigError(f"{where}: give {{low, high}} (and log: true for a log scale) or {{choices: [a non-empty list]}}, not {spec!r}")
    low, high = spec["low"], spec["high"]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or not low < high:
        raise ConfigError(f"{where}: low and high must be numbers with low < high, got {low!r} and {high!r}")
    if not isinstance(spec.get("log", False), bool):
        raise ConfigError(f"{where}: log is {spec['log']!r}; give true or false")
    if spec.get("log") and low <= 0:
        raise ConfigError(f"{where}: a log scale needs low > 0, got {low!r}")
    if integer and not (isinstance(low, int) and isinstance(high, int)):
        raise ConfigError(f"{where}: {name} is an integer setting, so its bounds must be integers, got {[low, high]}")
    return [low, high]


def recency_mismatch(config: dict[str, Any]) -> str | None:
    """A warning when the trees cannot take the GNN's recency weight: then the headline's comparison would measure the
    weighting as well as the models (the two may differ on purpose, for a screen). The trees choose among their
    candidates on validation, so the GNN's half-life being one of them is enough."""
    from hotseller.recency import half_lives

    gnn = stage_params(config, "train").get("recency_half_life", 0)
    candidates = half_lives(stage_params(config, "baselines").get("recency_half_life", 0))
    if gnn in candidates:
        return None
    return (f"train.recency_half_life ({gnn:g}, dataset {config['dataset']}) is not among baselines.recency_half_life "
            f"({', '.join(f'{h:g}' for h in candidates)}): the trees cannot weigh their training cutoffs as the GNN does, "
            "so the models' comparison measures that too")


def check_training_grid(features: dict[str, Any]) -> None:
    """A training grid that does not divide the stride would put validation and test cutoffs off the examples' grid:
    fail before any job runs, not in the features job."""
    from hotseller.errors import UserError
    from hotseller.weeks import example_stride

    try:
        example_stride(features["stride_weeks"], features.get("train_stride_weeks", 0))
    except UserError as error:
        raise ConfigError(f"config key 'features.train_stride_weeks': {error}") from None


# --- ablation runs (here, not in ablation.py, so that the Snakefile does not import plotting and scikit-learn:
# that import alone took 3 s of every `snakemake` call, including a no-op rerun) ---------------------------------

FULL = "full"


class AblationConfigError(ValueError):
    """An ablation variant that names a training setting which does not exist."""


def variant_settings(train: dict, variants: dict[str, dict], variant: str, seed: int) -> dict:
    """The training settings of one ablation run: config's train section, the variant's overrides, the seed, and one
    network (ensemble 1): the ablation's seeds already average over networks, and an ensemble in every run would
    multiply its cost."""
    if variant == FULL:
        overrides = {}
    elif variant in variants:
        overrides = variants[variant]
    else:
        raise AblationConfigError(f"config key 'ablation.variants': no variant {variant!r} (have {sorted(variants)})")
    unknown = sorted(set(overrides) - set(train))
    if unknown:
        raise AblationConfigError(f"config key 'ablation.variants.{variant}': {unknown} are not train settings")
    run = dict(train) | {"ensemble": 1} | overrides | {"seed": seed}
    fixed = fixed_by_start(overrides, run.get("init_from", ""), run.get("init_parts", "encoder"))
    if fixed:
        raise AblationConfigError(f"config key 'ablation.variants.{variant}': changes {fixed}, which the network's start from "
                                  f"{run['init_from']} fixes; add init_from: \"\" to the variant (a fresh start)")
    return run


def chosen_variants(ablation: dict) -> dict[str, dict]:
    """The variants this ablation runs: every one, or only those `ablation.rows` names, so that a benchmark file can
    add rows and run them beside the full model without training every other row again."""
    rows, variants = ablation.get("rows", []), ablation["variants"]
    unknown = [row for row in rows if row not in variants]
    if unknown:
        raise AblationConfigError(f"config key 'ablation.rows': {unknown} are not variants (have {sorted(variants)})")
    return {name: settings for name, settings in variants.items() if not rows or name in rows}


def ablation_runs(out: str, variants: dict[str, dict], n_seeds: int, train: dict) -> list[tuple[str, int, str]]:
    """(variant, seed, predictions path) of every ablation run, seeds train.seed, train.seed + 1, ...

    When the `train` rule trains one network, its run is the full model at train.seed (same settings), so it is not
    trained twice.
    """
    runs, train_seed = [], train["seed"]
    for variant in [FULL, *variants]:
        for seed in range(train_seed, train_seed + n_seeds):
            own = variant == FULL and seed == train_seed and train.get("ensemble", 1) == 1
            runs.append((variant, seed, f"{out}/train/predictions.parquet" if own else f"{out}/ablation/{variant}/seed{seed}/predictions.parquet"))
    return runs
