"""Another market's training rows in this market's design columns (transfer.source, for the trees): the network
carries the source market in its starting weights, the trees can only learn from its rows, so the baselines' GBT is
offered them (the forty-third round, docs/rounds.md). What the two markets share is filled: the weekly sequence,
the statics every market has (age, cumulative units and reviews, rating to date) and the graph aggregates; the
target's own attributes and category stay missing (NaN, which the trees route on their own)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hotseller.design import design, design_statics
from hotseller.errors import UserError
from hotseller.features import STATIC_PREFIX
from hotseller.split import load_split

SHARED_STATIC = [f"{STATIC_PREFIX}{name}" for name in ("log_age", "log_cum_units", "log_cum_reviews", "rating_to_date")]


def layout(examples: pl.DataFrame, n_tabular: int) -> tuple[int, list[str]]:
    """A design's sequence width and static columns' names, in its order (baselines.design)."""
    statics = design_statics(examples).columns
    return n_tabular - len(statics), statics


def in_target_columns(X: np.ndarray, source: tuple[int, list[str]], target: tuple[int, list[str]], width: int) -> np.ndarray:
    """Rows of a design laid out as `source` (sequence width, statics) in the columns of one laid out as `target`, of
    `width` columns: shared columns copied, the rest NaN. Refused, naming the setting, when the sequences or the graph
    aggregates differ in width."""
    (n_seq, statics), (target_seq, target_statics) = source, target
    aggregates, target_aggregates = X.shape[1] - n_seq - len(statics), width - target_seq - len(target_statics)
    if n_seq != target_seq or aggregates != target_aggregates:
        raise UserError(f"transfer.source: its weekly sequences ({n_seq} columns, here {target_seq}) or graph aggregates "
                        f"({aggregates}, here {target_aggregates}) differ; build both with the same features.window_weeks")
    out = np.full((X.shape[0], width), np.nan, dtype=np.float32)
    out[:, :n_seq] = X[:, :n_seq]
    for name in SHARED_STATIC:
        if name in statics and name in target_statics:
            out[:, n_seq + target_statics.index(name)] = X[:, n_seq + statics.index(name)]
    out[:, target_seq + len(target_statics):] = X[:, n_seq + len(statics):]
    return out


def source_training_rows(paths: tuple[Path, Path, Path], target: tuple[int, list[str]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """The source run's training examples (its examples, edges and split files) in the target's columns, and their
    labels."""
    examples_path, edges_path, split_path = paths
    examples = pl.read_parquet(examples_path)
    X, n_tabular, _ = design(examples, pl.scan_parquet(edges_path))
    train = examples["cutoff"].is_in(load_split(split_path)["train"]).to_numpy()
    return in_target_columns(X[train], layout(examples, n_tabular), target, width), examples["hot"].to_numpy()[train]


def marked(X: np.ndarray, market: int) -> np.ndarray:
    """X with one more column saying which market its rows are from (0 the target, 1 the source)."""
    return np.hstack([X, np.full((X.shape[0], 1), market, dtype=X.dtype)])
