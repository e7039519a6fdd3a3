"""Per-example weights by the age of their training cutoff: the latest cutoff weighs most, one half-life older half.

The market moves, so the latest training cutoffs may say more about the next one than the first do (eighteenth and
nineteenth rounds, docs/results.md). The GNN's loss and the trees' sample weights take these same weights, so that
comparing the two measures the models, not the weighting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hotseller.errors import UserError


def cutoff_weights(cutoffs: np.ndarray, half_life: float) -> np.ndarray:
    """Each example's weight 0.5 ** (age / half_life), its age the number of distinct cutoffs after its own (0 for the
    latest), scaled so that the examples' mean weight is 1: the trees' weights sum to their row count, and the GNN's loss
    over sampled mini-batches keeps its scale (a whole-graph snapshot's loss is a mean over its nodes, so there it is
    scaled by the snapshots' mean weight instead, which Adam's steps do not see). All 1 when half_life is 0."""
    cutoffs = np.asarray(cutoffs)
    if half_life < 0:
        raise UserError(f"recency_half_life is {half_life}: give 0 (off) or a half-life in training cutoffs, e.g. 5")
    if half_life == 0 or cutoffs.size == 0:
        return np.ones(cutoffs.size)
    distinct, position = np.unique(cutoffs, return_inverse=True)
    weights = 0.5 ** ((distinct.size - 1 - position) / half_life)
    return weights / weights.mean()


def snapshot_weights(cutoffs: list[int], sizes: list[int], half_life: float) -> list[float]:
    """The weight of each snapshot's examples (one cutoff each, `sizes` examples), as `cutoff_weights` gives them."""
    per_example = cutoff_weights(np.repeat(cutoffs, sizes), half_life)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    return [float(per_example[s]) for s in starts]


def half_lives(value: float | Sequence[float]) -> list[float]:
    """baselines.recency_half_life as the trees' candidates: one number (the trees take it) or several (each fitted
    baseline picks one on validation)."""
    candidates = [float(value)] if np.isscalar(value) else [float(h) for h in value]
    if not candidates:
        raise UserError("baselines.recency_half_life is empty: give 0 (off), a half-life, or a list of them, e.g. [0, 15]")
    if len(set(candidates)) < len(candidates):
        raise UserError(f"baselines.recency_half_life lists a half-life twice ({', '.join(f'{h:g}' for h in candidates)}): list each once")
    return candidates


def searched_half_lives(training: dict) -> tuple[float, list[float]]:
    """The GBT's kept half-life and the candidates, as gbt_search.json's `training` records them; files written before
    the option were unweighted, and those written before the candidates had only the one half-life."""
    kept = training.get("recency_half_life", 0.0)
    return kept, training.get("recency_half_lives", [kept])
