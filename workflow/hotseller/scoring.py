"""How one model is scored: every metric as one weighted function, and the paired product bootstrap.

Every metric is computed by one weighted function: the point estimate uses weight 1 per example and each
bootstrap resample uses the number of times each product was drawn, so a point estimate and its interval
come from the same code, and every model is scored on the same resamples (paired). The evaluate stage, the
ablation and the benchmarks all score through here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse
from scipy.optimize import minimize
from sklearn.metrics import precision_recall_curve

from hotseller.logits import logit, sigmoid

log = logging.getLogger(__name__)
ECE_BINS = 15
BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95
# Resamples are processed in chunks so that memory stays bounded on large test sets (chunk x examples floats).
CHUNK_CELLS = 4_000_000


# Weighted metrics: weights is (resamples, examples); each returns one value per resample.


@dataclass(frozen=True)
class Ranking:
    """Examples sorted by descending score, with the bounds of each group of tied scores."""

    order: np.ndarray
    labels: np.ndarray  # in sorted order, float
    group_start: np.ndarray
    group_end: np.ndarray

    @classmethod
    def of(cls, labels: np.ndarray, scores: np.ndarray) -> Ranking:
        order = np.argsort(-scores, kind="stable")
        s = scores[order]
        start = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if s.size else np.zeros(0, dtype=int)
        end = np.r_[start[1:], s.size] - 1
        return cls(order, labels[order].astype(np.float64), start, end)

    def counts(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted true and false positives above each distinct threshold (sklearn's _binary_clf_curve)."""
        w = weights[:, self.order]
        tp = np.cumsum(w * self.labels, axis=1)[:, self.group_end]
        fp = np.cumsum(w, axis=1)[:, self.group_end] - tp
        return tp, fp


def average_precision(ranking: Ranking, weights: np.ndarray) -> np.ndarray:
    """sum_n (R_n - R_{n-1}) P_n over distinct thresholds, as sklearn's average_precision_score; NaN without positives."""
    return precision_recall_area(*ranking.counts(weights))


def roc_auc(ranking: Ranking, weights: np.ndarray) -> np.ndarray:
    """Area under the weighted ROC curve (trapezoids, so tied scores count one half); NaN with one class."""
    return roc_area(*ranking.counts(weights))


def precision_recall_area(tp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Average precision from the counts above each threshold (shared with roc_area: the counts are the costly part)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.where(tp + fp > 0, tp + fp, 1.0), 0.0)
        recall = tp / tp[:, -1:]
    return np.sum(np.diff(recall, axis=1, prepend=0.0) * precision, axis=1)


def roc_area(tp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """ROC-AUC from the counts above each threshold."""
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.hstack([np.zeros((tp.shape[0], 1)), tp / tp[:, -1:]])
        fpr = np.hstack([np.zeros((fp.shape[0], 1)), fp / fp[:, -1:]])
    return np.trapezoid(tpr, fpr, axis=1)


def hits_at_k(ranking: Ranking, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hot examples among the top k (k = weighted number of hot), counting a tie group at the cut pro rata.

    Pro rata is the expected number of hits when ties are broken at random, so a model that gives many
    products the same score (the momentum heuristic gives every product without recent sales 0) is not
    credited or penalised by the order rows happen to be stored in.
    """
    return sorted_hits(ranking, weights[:, ranking.order])


def sorted_hits(ranking: Ranking, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """hits_at_k of weights already in the ranking's order."""
    group_weight = np.add.reduceat(w, ranking.group_start, axis=1)
    group_hot = np.add.reduceat(w * ranking.labels, ranking.group_start, axis=1)
    k = group_hot.sum(axis=1, keepdims=True)
    before = np.cumsum(group_weight, axis=1) - group_weight
    taken = np.clip(k - before, 0.0, group_weight)
    share = np.divide(group_hot, group_weight, out=np.zeros_like(group_hot), where=group_weight > 0)
    return np.sum(taken * share, axis=1), k[:, 0]


def calibration_bin(probs: np.ndarray, bins: int = ECE_BINS) -> np.ndarray:
    """Each probability's equal-width bin on [0, 1] (right edges closed, so 0.2 falls in the bin ending at 0.2)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.digitize(probs, edges[1:-1], right=True), 0, bins - 1)


def calibration_gaps(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> sparse.csr_array:
    """(examples x bins): probability - label in the column of the example's equal-width bin on [0, 1], else 0."""
    which = calibration_bin(probs, bins)
    return sparse.csr_array((probs - labels, (np.arange(probs.size), which)), shape=(probs.size, bins))


def weighted_ece(gaps: sparse.csr_array, weights: np.ndarray) -> np.ndarray:
    """ECE of each row of weights: sum over bins of |weighted sum of gaps| / total weight."""
    return np.abs(weights @ gaps).sum(axis=1) / weights.sum(axis=1)


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS, weights: np.ndarray | None = None) -> np.ndarray | float:
    """ECE with equal-width bins on [0, 1]: sum over bins of bin share x |mean probability - hot rate|."""
    gaps = calibration_gaps(labels, probs, bins)
    if weights is None:
        return float(np.abs(gaps.sum(axis=0)).sum() / max(probs.size, 1))
    return weighted_ece(gaps, weights)


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold that maximises F1 on validation."""
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(precision), where=(precision + recall) > 0)
    return float(thresholds[np.argmax(f1[:-1])]) if thresholds.size else 0.5


def test_hot_share(metrics: dict) -> float | None:
    """The share of the pooled test examples that are hot: the top hot_quantile of the products that sell at each
    cutoff, so below hot_quantile where fewer than that share sell."""
    return metrics["hot"]["test"] / metrics["examples"]["test"] if metrics["examples"]["test"] else None


def is_probability(scores: np.ndarray) -> bool:
    return bool(scores.size and scores.min() >= 0.0 and scores.max() <= 1.0)


# Bounds of the calibration's fit: a temperature in [0.01, 100] and a bias in [-20, 20] (logits), far outside any fit
# seen here; a fit that stops at a bound is logged.
TEMPERATURE_BOUNDS = (0.01, 100.0)
BIAS_BOUND = 20.0


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of a model's probabilities, fitted on validation: sigmoid(logit(p) / temperature + bias).

    A temperature alone (Guo et al. 2017) only sharpens or softens the logits; the bias also moves them, which a
    model trained with class weights (logistic regression's balanced weights put its mean probability near 0.5 where
    5% are hot) needs before its probabilities mean anything. A bias of 0 is temperature scaling."""

    temperature: float
    bias: float = 0.0

    def __call__(self, probs: np.ndarray) -> np.ndarray:
        return sigmoid(logit(probs) / self.temperature + self.bias)

    @classmethod
    def of(cls, entry: dict) -> Calibration | None:
        """A model's calibration as metrics.json or model.json holds it (no bias key: fitted as temperature alone)."""
        return cls(entry["temperature"], entry.get("bias") or 0.0) if entry.get("temperature") else None


def fit_calibration(labels: np.ndarray, probs: np.ndarray) -> Calibration:
    """The temperature and bias minimising the log loss of sigmoid(logit(p) / T + b) on validation (Platt scaling on
    the logit, with T > 0 so that calibration never reverses a ranking)."""
    z, y = logit(probs), labels.astype(np.float64)

    def log_loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        log_t, bias = params
        scaled = z * math.exp(-log_t) + bias
        residual = sigmoid(scaled) - y
        grad = np.array([-np.mean(residual * scaled - residual * bias), np.mean(residual)])
        return float(np.mean(np.logaddexp(0.0, scaled) - y * scaled)), grad

    bounds = [(math.log(TEMPERATURE_BOUNDS[0]), math.log(TEMPERATURE_BOUNDS[1])), (-BIAS_BOUND, BIAS_BOUND)]
    fit = minimize(log_loss, np.zeros(2), jac=True, method="L-BFGS-B", bounds=bounds)
    (log_t, bias), edges = fit.x, np.array(bounds)
    if np.any(np.isclose(fit.x, edges[:, 0]) | np.isclose(fit.x, edges[:, 1])):
        log.warning("Calibration stopped at a bound of its fit (temperature %.3g, bias %.3g): its probabilities may be off",
                    math.exp(log_t), bias)
    return Calibration(float(math.exp(log_t)), float(bias))


class SplitScorer:
    """Every metric of one model on one split, for any (resamples x examples) weight matrix."""

    def __init__(self, part: pl.DataFrame, threshold: float, calibration: Calibration | None, probabilistic: bool | None = None) -> None:
        """`probabilistic`: whether the scores are probabilities (calibration metrics); None judges this split's range."""
        self.labels = part["hot"].to_numpy().astype(np.float64)
        self.scores = part["score"].to_numpy().astype(np.float64)
        self.ranking = Ranking.of(self.labels, self.scores)
        cutoffs = part["cutoff"].to_numpy()
        per_cutoff = [(idx, Ranking.of(self.labels[idx], self.scores[idx])) for idx in (np.flatnonzero(cutoffs == c) for c in np.unique(cutoffs))]
        self.per_cutoff = [(idx[ranking.order], ranking) for idx, ranking in per_cutoff]  # positions in each cutoff's ranked order
        predicted = self.scores >= threshold
        self.f1_parts = np.stack([self.labels * predicted, (1 - self.labels) * predicted, self.labels * ~predicted], axis=1)
        self.probabilistic = is_probability(self.scores) if probabilistic is None else probabilistic
        self.calibrated = calibration(self.scores) if self.probabilistic and calibration else None
        self.probs = {"": self.scores if self.probabilistic else None, "_ts": self.calibrated}  # metric suffix -> probabilities
        self.gaps = {suffix: calibration_gaps(self.labels, probs) for suffix, probs in self.probs.items() if probs is not None}
        self.aux = {}
        for target in ("rating", "engagement"):
            if f"{target}_pred" in part.columns and f"{target}_target" in part.columns:
                known = (part[f"{target}_target"].is_not_null() & part[f"{target}_pred"].is_not_null()).to_numpy()
                err = (part[f"{target}_pred"] - part[f"{target}_target"]).fill_null(0.0).to_numpy()
                self.aux[target] = (known.astype(np.float64), np.where(known, err**2, 0.0))

    def metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        nan = np.full(weights.shape[0], np.nan)
        total = weights.sum(axis=1)
        hits, k = np.zeros(weights.shape[0]), np.zeros(weights.shape[0])
        for ranked, ranking in self.per_cutoff:
            h, kk = sorted_hits(ranking, weights[:, ranked])
            hits, k = hits + h, k + kk
        with np.errstate(invalid="ignore", divide="ignore"):
            at_k = np.where(k > 0, hits / k, np.nan)  # with k = number of hot, precision@k equals recall@k
            tp, fp, fn = (weights @ self.f1_parts).T
            above = self.ranking.counts(weights)
            out = {
                "pr_auc": precision_recall_area(*above),
                "roc_auc": roc_area(*above),
                "precision_at_k": at_k,
                "recall_at_k": at_k,
                "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0),
            }
            for suffix, probs in self.probs.items():
                if probs is None:
                    out[f"brier{suffix}"], out[f"ece{suffix}"] = nan, nan
                else:
                    out[f"brier{suffix}"] = weights @ (probs - self.labels) ** 2 / total
                    out[f"ece{suffix}"] = weighted_ece(self.gaps[suffix], weights)
            for target, (known, sq_err) in self.aux.items():
                out[f"{target}_rmse"] = np.sqrt((weights @ sq_err) / (weights @ known))
        return out

    def point(self) -> dict[str, float]:
        return {name: float(values[0]) for name, values in self.metrics(np.ones((1, self.labels.size))).items()}


def product_resamples(product_codes: np.ndarray, n_resamples: int, seed: int):
    """Chunks of (resamples x examples) weights: how often each example's product was drawn with replacement."""
    n_products = int(product_codes.max()) + 1
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, CHUNK_CELLS // max(product_codes.size, 1)))
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        counts = rng.multinomial(n_products, np.full(n_products, 1.0 / n_products), size=size).astype(np.float64)
        yield counts[:, product_codes]
        done += size


def bootstrap(scorers: dict[str, SplitScorer], product_codes: np.ndarray, n_resamples: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Every metric of every model on the same product resamples (paired), one value per resample."""
    draws: dict[str, dict[str, list[np.ndarray]]] = {name: {} for name in scorers}
    for weights in product_resamples(product_codes, n_resamples, seed):
        for name, scorer in scorers.items():
            for metric, values in scorer.metrics(weights).items():
                draws[name].setdefault(metric, []).append(values)
    return {name: {m: np.concatenate(v) for m, v in per.items()} for name, per in draws.items()}


def interval(values: np.ndarray, confidence: float = CONFIDENCE) -> list[float | None]:
    """Percentile interval of bootstrap values (NaN resamples, e.g. without a hot product, left out)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [None, None]
    tail = (1 - confidence) / 2 * 100
    return [float(v) for v in np.percentile(finite, [tail, 100 - tail])]
