"""Temporal split for a rolling-origin backtest: the last `test_cutoffs` cutoffs are test, the latest
`val_cutoffs` cutoffs whose label windows end by the first test cutoff are validation, and training cutoffs'
label windows end by the first validation cutoff. Validation and test cutoffs lie on the `stride_weeks` grid counted
back from the last cutoff; training takes every cutoff of the examples, which may be a finer grid
(`features.train_stride_weeks`: more, overlapping training windows, the evaluation unchanged). So no label a model learns from, and no week a model is
selected on, lies after any cutoff it is judged at; several test cutoffs give a pooled verdict instead of
one lucky (or unlucky) week.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from hotseller.errors import UserError
from hotseller.weeks import on_stride


class LeakageError(AssertionError):
    """A split that would let future information reach training or model selection."""


def choose_cutoffs(cutoffs: list[int], horizon_weeks: int, max_train_cutoffs: int = 0, test_cutoffs: int = 1,
                   val_cutoffs: int = 1, stride_weeks: int = 1) -> dict[str, list[int]]:
    """Assign cutoff weeks to train / val / test under the horizon constraints above."""
    everything = sorted(set(cutoffs))
    ordered = on_stride(everything, stride_weeks)
    if len(ordered) <= test_cutoffs:
        raise UserError(f"{len(ordered)} cutoffs cannot hold {test_cutoffs} test cutoffs plus validation and training; "
                         f"the panel is too short (lower split.test_cutoffs)")
    test = ordered[-test_cutoffs:]
    val = [c for c in ordered if c + horizon_weeks <= test[0]][-val_cutoffs:]
    if not val:
        raise UserError(f"no cutoff ends its {horizon_weeks}-week label window before the first test cutoff {test[0]}; "
                         f"the panel is too short (lower split.test_cutoffs)")
    train = [c for c in everything if c + horizon_weeks <= val[0]]
    if not train:
        raise UserError(f"no training cutoff ends its label window before the first validation cutoff {val[0]}; "
                         f"the panel is too short (lower split.test_cutoffs or split.val_cutoffs)")
    if max_train_cutoffs > 0:
        train = train[-max_train_cutoffs:]
    return {"train": train, "val": val, "test": test}


def check_no_leakage(split: dict[str, list[int]], horizon_weeks: int) -> None:
    """Raise if any training label window reaches past the first validation cutoff, or any validation one past
    the first test cutoff."""
    for earlier, later in (("train", "val"), ("val", "test")):
        boundary = min(split[later])
        late = [c for c in split[earlier] if c + horizon_weeks > boundary]
        if late:
            name = "training" if earlier == "train" else "validation"
            raise LeakageError(f"{name} cutoffs {late} have label windows ending after the first {later} cutoff {boundary}")


def summarise(examples: pl.DataFrame, split: dict[str, list[int]]) -> dict:
    """Counts and hot rate per split, for the report's label-balance table."""
    summary = {}
    for name, cutoffs in split.items():
        part = examples.filter(pl.col("cutoff").is_in(cutoffs))
        summary[name] = {"examples": part.height, "hot": int(part["hot"].sum()), "hot_rate": float(part["hot"].mean() or 0.0)}
    return summary


def make_split(examples_path: Path, horizon_weeks: int, max_train_cutoffs: int, test_cutoffs: int = 1, val_cutoffs: int = 1,
               stride_weeks: int = 1) -> dict:
    """The split document written to split.json: cutoffs per split, their dates, and label balance."""
    examples = pl.read_parquet(examples_path, columns=["cutoff", "cutoff_week", "hot"])
    split = choose_cutoffs(examples["cutoff"].unique().to_list(), horizon_weeks, max_train_cutoffs, test_cutoffs, val_cutoffs,
                           stride_weeks)
    check_no_leakage(split, horizon_weeks)
    dates = dict(examples.select("cutoff", "cutoff_week").unique().iter_rows())
    balance = summarise(examples, split)
    for name in ("train", "val"):  # test may lack them: its verdicts then say too few (evaluate's MIN_HOT_FOR_VERDICT)
        if balance[name]["hot"] == 0:
            raise UserError(f"{examples_path}: the {name} cutoffs {split[name]} hold no hot example (no product sells in "
                            f"their label windows), so nothing can be {'learnt' if name == 'train' else 'chosen'} there; "
                            "use a panel with sales in those weeks, or more cutoffs (split.val_cutoffs, features.stride_weeks)")
    return {
        "horizon_weeks": horizon_weeks,
        "cutoffs": split,
        "cutoff_weeks": {k: [dates[c].isoformat() for c in v] for k, v in split.items()},
        "balance": balance,
    }


def load_split(path: Path) -> dict[str, list[int]]:
    return json.loads(Path(path).read_text())["cutoffs"]
