"""The fitted baselines' design matrix: every example's weekly sequence, static columns and graph aggregates in one
float32 matrix, read by the baselines, the hybrid's trees and a transfer source's rows alike."""

from __future__ import annotations

import numpy as np
import polars as pl

from hotseller.features import SEQ_CHANNELS, STATIC_PREFIX, recent_units
from hotseller.graph import aggregate_width, neighbour_aggregates


def design_statics(examples: pl.DataFrame) -> pl.DataFrame:
    """The design's static columns, in its order (after the weekly sequence, before the graph aggregates)."""
    return examples.select(pl.col(f"^{STATIC_PREFIX}.*$"), "category_idx")


def design(examples: pl.DataFrame, edges: pl.LazyFrame, typed: bool = True) -> tuple[np.ndarray, int, dict[str, np.ndarray]]:
    """Every example's features in one float32 matrix (tabular columns first, then the graph aggregates, per relation
    group with `typed`), the number of tabular columns, and the two heuristics' scores: one copy of the data, not one
    per feature set."""
    seq = examples["seq"].to_numpy().reshape(examples.height, -1, len(SEQ_CHANNELS))
    static = design_statics(examples)
    n_seq = seq.shape[1] * seq.shape[2]
    n_tabular = n_seq + static.width
    X = np.empty((examples.height, n_tabular + aggregate_width(typed)), dtype=np.float32)
    X[:, :n_seq] = seq.reshape(examples.height, -1)
    X[:, n_seq:n_tabular] = static.to_numpy().astype(np.float32)
    recent, growth = recent_units(seq)
    X[:, n_tabular:] = neighbour_aggregates(examples, edges, recent, growth, typed)
    return X, n_tabular, {"persistence": recent, "momentum": recent + growth}
