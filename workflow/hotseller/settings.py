"""Turning the validated config into each stage's parameters (used by workflow/rules/common.smk)."""

from __future__ import annotations

from typing import Any

STAGES = ("features", "graph", "split", "train", "ablation")


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
    return params
