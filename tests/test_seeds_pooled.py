"""benchmarks/seeds_pooled.py: the seeds' headline differences pooled per product resample, against the evaluation's
own headline and a reference built from scikit-learn's average precision."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import average_precision_score

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

PRODUCTS = 60


def predictions(labels: np.ndarray, noise: float, seed: int) -> pl.DataFrame:
    """Validation cutoffs 1-2 and test cutoffs 3-4 of 60 products, scored as the label plus Gaussian noise (no ties)."""
    rng = np.random.default_rng(seed)
    n = labels.size
    return pl.DataFrame({
        "split": ["val"] * (n // 2) + ["test"] * (n // 2),
        "cutoff": np.repeat([1, 2, 3, 4], PRODUCTS),
        "product_id": [f"P{i:03d}" for i in range(PRODUCTS)] * 4,
        "hot": labels,
        "score": 1 / (1 + np.exp(-(2.0 * labels + rng.normal(0, noise, n)))),
    })


@pytest.fixture
def labels() -> np.ndarray:
    rng = np.random.default_rng(7)
    return (rng.random(4 * PRODUCTS) < 0.15).astype(np.int8)


def test_one_run_reproduces_the_evaluations_headline(labels):
    from hotseller.evaluate import compute_metrics
    from seeds_pooled import pooled_difference

    graph, base = predictions(labels, 1.5, 1), predictions(labels, 2.5, 2)
    head = compute_metrics({"gnn": graph, "logreg": base}, n_resamples=200, seed=0)["headline"]
    assert (head["graph_model"], head["baseline"]) == ("gnn", "logreg")
    got = pooled_difference([graph], base, n_resamples=200, seed=0)
    assert got["per_run"][0]["ci"] == head["ci"]
    assert got["per_run"][0]["difference"] == pytest.approx(head["difference"], abs=1e-12)
    assert got["ci"] == head["ci"] and got["difference"] == pytest.approx(head["difference"], abs=1e-12)


def test_the_pooled_interval_is_that_of_the_seeds_mean_difference_per_resample(labels):
    from hotseller.scoring import product_resamples
    from seeds_pooled import pooled_difference

    graphs = [predictions(labels, 1.5, s) for s in (1, 2, 3)]
    base = predictions(labels, 2.5, 9)
    got = pooled_difference(graphs, base, n_resamples=40, seed=0)

    test = base.sort("split", "cutoff", "product_id").filter(pl.col("split") == "test")
    codes = np.unique(test["product_id"].to_numpy(), return_inverse=True)[1]
    weights = np.concatenate(list(product_resamples(codes, 40, 0)))
    y = test["hot"].to_numpy()

    def ap(frame: pl.DataFrame, w: np.ndarray) -> float:
        scores = frame.sort("split", "cutoff", "product_id").filter(pl.col("split") == "test")["score"].to_numpy()
        return average_precision_score(y, scores, sample_weight=w)

    mean_diff = [np.mean([ap(g, w) - ap(base, w) for g in graphs]) for w in weights]
    assert got["ci"] == pytest.approx(list(np.percentile(mean_diff, [2.5, 97.5])), abs=1e-12)
    ones = np.ones(y.size)
    assert got["difference"] == pytest.approx(np.mean([ap(g, ones) - ap(base, ones) for g in graphs]), abs=1e-12)
    assert [r["difference"] for r in got["per_run"]] == pytest.approx([ap(g, ones) - ap(base, ones) for g in graphs], abs=1e-12)


def test_a_run_scored_on_other_examples_is_refused(labels):
    from seeds_pooled import pooled_difference

    base = predictions(labels, 2.5, 2)
    with pytest.raises(ValueError, match="different examples"):
        pooled_difference([predictions(labels, 1.5, 1).slice(1)], base, n_resamples=10)
