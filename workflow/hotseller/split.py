"""Temporal split: the test cutoff is the last one; validation's label window ends at or before it;
training cutoffs' label windows end at or before the validation cutoff. So no label a model learns
from, and no week a model is selected on, lies after the cutoff it is judged at.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl


class LeakageError(AssertionError):
    """A split that would let future information reach training or model selection."""


def choose_cutoffs(cutoffs: list[int], horizon_weeks: int, max_train_cutoffs: int = 0) -> dict[str, list[int]]:
    """Assign cutoff weeks to train / val / test under the horizon constraints above."""
    ordered = sorted(set(cutoffs))
    test = ordered[-1]
    val_candidates = [c for c in ordered if c + horizon_weeks <= test]
    if not val_candidates:
        raise ValueError(f"no cutoff ends its {horizon_weeks}-week label window before the test cutoff {test}; the panel is too short")
    val = val_candidates[-1]
    train = [c for c in ordered if c + horizon_weeks <= val]
    if not train:
        raise ValueError(f"no training cutoff ends its label window before the validation cutoff {val}; the panel is too short")
    if max_train_cutoffs > 0:
        train = train[-max_train_cutoffs:]
    return {"train": train, "val": [val], "test": [test]}


def check_no_leakage(split: dict[str, list[int]], horizon_weeks: int) -> None:
    """Raise if any training label window reaches past validation, or validation's past test."""
    val, test = split["val"][0], split["test"][0]
    late = [c for c in split["train"] if c + horizon_weeks > val]
    if late:
        raise LeakageError(f"training cutoffs {late} have label windows ending after the validation cutoff {val}")
    if val + horizon_weeks > test:
        raise LeakageError(f"validation cutoff {val}'s label window ends after the test cutoff {test}")


def summarise(examples: pl.DataFrame, split: dict[str, list[int]]) -> dict:
    """Counts and hot rate per split, for the report's label-balance table."""
    summary = {}
    for name, cutoffs in split.items():
        part = examples.filter(pl.col("cutoff").is_in(cutoffs))
        summary[name] = {"examples": part.height, "hot": int(part["hot"].sum()), "hot_rate": float(part["hot"].mean() or 0.0)}
    return summary


def make_split(examples_path: Path, horizon_weeks: int, max_train_cutoffs: int) -> dict:
    """The split document written to split.json: cutoffs per split, their dates, and label balance."""
    examples = pl.read_parquet(examples_path, columns=["cutoff", "cutoff_week", "hot"])
    split = choose_cutoffs(examples["cutoff"].unique().to_list(), horizon_weeks, max_train_cutoffs)
    check_no_leakage(split, horizon_weeks)
    dates = dict(examples.select("cutoff", "cutoff_week").unique().iter_rows())
    return {
        "horizon_weeks": horizon_weeks,
        "cutoffs": split,
        "cutoff_weeks": {k: [dates[c].isoformat() for c in v] for k, v in split.items()},
        "balance": summarise(examples, split),
    }


def load_split(path: Path) -> dict[str, list[int]]:
    return json.loads(Path(path).read_text())["cutoffs"]
