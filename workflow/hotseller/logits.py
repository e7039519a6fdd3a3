"""Probabilities to logits and back: one definition of each, so every blend, ensemble, boosting offset and
calibration maps scores the same way."""

from __future__ import annotations

import numpy as np

CLIP = 1e-7  # probabilities are clipped into [CLIP, 1 - CLIP], so a score of exactly 0 or 1 has a finite logit


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)) in float64, p clipped into [CLIP, 1 - CLIP]."""
    p = np.clip(np.asarray(p, dtype=np.float64), CLIP, 1 - CLIP)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)) in float64: a network's or a blend's logit as a score in (0, 1)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def mean_logit(scores: list[np.ndarray]) -> np.ndarray:
    """Several models' scores of the same examples as one ensemble's logit: their logits averaged, the form the
    trainer's ensemble takes (its members' logits averaged), which the ablation and the benchmarks score seeds as."""
    return np.mean([logit(score) for score in scores], axis=0)
