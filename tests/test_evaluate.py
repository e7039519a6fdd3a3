"""Evaluation metrics against sklearn and hand-worked values, the product bootstrap, calibration (Platt scaling), and the
comparison of the GNN with the best baseline chosen on validation."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, f1_score, roc_auc_score

from hotseller.evaluate import compute_metrics, evaluate
from hotseller.scoring import (
    best_f1_threshold,
    Calibration, Ranking, SplitScorer, average_precision, expected_calibration_error, fit_calibration, hits_at_k,
    interval, product_resamples, roc_auc,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_ranking_metrics_equal_sklearn_with_sample_weights_and_ties(seed):
    rng = np.random.default_rng(seed)
    labels = (rng.random(400) < 0.08).astype(int)
    scores = np.round(rng.random(400) + 0.4 * labels, 1)  # coarse scores: many ties
    weights = rng.integers(0, 4, size=(3, 400)).astype(float)  # bootstrap counts, zeros included
    ranking = Ranking.of(labels, scores)
    for b in range(3):
        assert average_precision(ranking, weights)[b] == pytest.approx(average_precision_score(labels, scores, sample_weight=weights[b]), abs=1e-12)
        assert roc_auc(ranking, weights)[b] == pytest.approx(roc_auc_score(labels, scores, sample_weight=weights[b]), abs=1e-12)


def test_precision_at_k_counts_a_tie_at_the_cut_pro_rata():
    # 2 hot products, so k = 2; the top score is hot, then a tie of three products of which one is hot.
    labels = np.array([1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.5, 0.5, 0.5, 0.1])
    hits, k = hits_at_k(Ranking.of(labels, scores), np.ones((1, 5)))
    assert k[0] == 2
    assert hits[0] == pytest.approx(1 + 1 / 3)  # one of three tied slots taken, each hot with chance 1/3


def test_ece_by_hand():
    # Bin of 0.1: two examples, mean prob 0.1, hot rate 0.5 -> |0.4| * 2/4; bin of 0.9: mean 0.9, rate 1 -> 0.1 * 2/4.
    labels = np.array([0, 1, 1, 1])
    probs = np.array([0.1, 0.1, 0.9, 0.9])
    assert expected_calibration_error(labels, probs) == pytest.approx(0.4 * 0.5 + 0.1 * 0.5)
    weighted = expected_calibration_error(labels, probs, weights=np.array([[1.0, 1.0, 1.0, 1.0], [2.0, 0.0, 1.0, 1.0]]))
    assert weighted[0] == pytest.approx(0.25)
    assert weighted[1] == pytest.approx((0.1 * 2 + 0.1 * 2) / 4)  # the first bin is now all cold: |0.1 - 0|


def test_calibration_recovers_the_temperature_of_over_confident_scores():
    rng = np.random.default_rng(0)
    logits = rng.normal(-3.0, 1.5, 20000)
    labels = (rng.random(logits.size) < 1 / (1 + np.exp(-logits))).astype(int)
    over_confident = 1 / (1 + np.exp(-2.0 * logits))
    calibration = fit_calibration(labels, over_confident)
    assert calibration.temperature == pytest.approx(2.0, rel=0.05) and abs(calibration.bias) < 0.1
    assert expected_calibration_error(labels, calibration(over_confident)) < 0.3 * expected_calibration_error(labels, over_confident)


def test_calibration_undoes_a_shift_that_a_temperature_alone_cannot():
    """Scores shifted up by 2.5 in logit space, as class weights that balance 5% hot against 95% shift them: the fitted
    bias takes the shift back (a temperature alone leaves an ECE several times larger), and the fit is the maximum
    likelihood one: sklearn's unpenalised logistic regression on the logit gives 1 / T and the bias."""
    from scipy.optimize import minimize_scalar
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    logits = rng.normal(-3.5, 1.2, 20000)
    labels = (rng.random(logits.size) < 1 / (1 + np.exp(-logits))).astype(int)
    shifted = 1 / (1 + np.exp(-(logits + 2.5)))
    calibration = fit_calibration(labels, shifted)
    assert calibration.temperature == pytest.approx(1.0, abs=0.06) and calibration.bias == pytest.approx(-2.5, abs=0.15)
    z = np.log(shifted / (1 - shifted))
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(z[:, None], labels)
    assert 1 / calibration.temperature == pytest.approx(reference.coef_[0, 0], abs=1e-3)
    assert calibration.bias == pytest.approx(reference.intercept_[0], abs=1e-3)

    def log_loss(t: float) -> float:  # a temperature alone, fitted by the same likelihood
        p = 1 / (1 + np.exp(-z / t))
        return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))

    alone = minimize_scalar(log_loss, bounds=(0.01, 100.0), method="bounded").x
    ece_alone = expected_calibration_error(labels, 1 / (1 + np.exp(-z / alone)))
    assert expected_calibration_error(labels, calibration(shifted)) < 0.25 * ece_alone
    assert Calibration.of({"temperature": 2.0})(np.array([0.5])) == pytest.approx(0.5)  # a file without a bias: T alone
    assert Calibration.of({"temperature": None, "bias": None}) is None


def test_product_resamples_weigh_all_rows_of_a_product_alike():
    codes = np.array([0, 1, 2, 0, 1, 2, 3])  # 4 products, three of them at two cutoffs
    chunks = list(product_resamples(codes, n_resamples=50, seed=0))
    weights = np.vstack(chunks)
    assert weights.shape == (50, 7)
    assert np.array_equal(weights[:, 0], weights[:, 3]) and np.array_equal(weights[:, 2], weights[:, 5])
    assert np.all(weights[:, [0, 1, 2, 6]].sum(axis=1) == 4)  # products drawn with replacement, as many as there are


def predictions(rng: np.random.Generator, n: int, signal: float, split_names=("val", "test")) -> pl.DataFrame:
    frames = []
    for cutoff, name in enumerate(split_names):
        hot = (rng.random(n) < 0.1).astype(np.int8)
        hot[:3] = 1
        score = 1 / (1 + np.exp(-(signal * hot + rng.normal(0, 1, n) - 2)))
        frames.append(pl.DataFrame({"split": name, "cutoff": cutoff, "product_id": [f"P{i:04d}" for i in range(n)],
                                    "score": score, "hot": hot, "future_units": rng.random(n)}))
    return pl.concat(frames)


def with_scores(frame: pl.DataFrame, rng: np.random.Generator, signal_by_split: dict[str, float]) -> pl.DataFrame:
    """The same examples with new scores of a given strength per split."""
    noise = rng.normal(0, 1, frame.height)
    strength = frame["split"].replace_strict(signal_by_split, return_dtype=pl.Float64).to_numpy()
    return frame.with_columns(score=pl.Series(1 / (1 + np.exp(-(strength * frame["hot"].to_numpy() + noise - 2)))))


def test_split_scorer_point_values_equal_sklearn():
    rng = np.random.default_rng(3)
    part = predictions(rng, 300, 2.0).filter(pl.col("split") == "test")
    point = SplitScorer(part, threshold=0.3, calibration=None).point()
    labels, scores = part["hot"].to_numpy(), part["score"].to_numpy()
    assert point["pr_auc"] == pytest.approx(average_precision_score(labels, scores))
    assert point["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert point["f1"] == pytest.approx(f1_score(labels, scores >= 0.3))
    assert point["brier"] == pytest.approx(brier_score_loss(labels, scores))


def test_aux_rmse_counts_known_targets_only_and_is_nan_for_an_untrained_head():
    part = pl.DataFrame({
        "split": "test", "cutoff": 0, "product_id": ["a", "b", "c", "d"], "score": [0.9, 0.1, 0.2, 0.3], "hot": [1, 0, 0, 0],
        "future_units": [4.0, 0.0, 1.0, 0.0],
        "rating_pred": [4.0, 3.0, 5.0, 2.0], "rating_target": [5.0, None, 2.0, None],  # errors 1 and 3 where known
        "engagement_pred": pl.Series([None] * 4, dtype=pl.Float64), "engagement_target": [0.0, 0.0, 0.0, 0.0],
    })
    point = SplitScorer(part, threshold=0.5, calibration=None).point()
    assert point["rating_rmse"] == pytest.approx(np.sqrt((1**2 + 3**2) / 2))
    assert np.isnan(point["engagement_rmse"])  # the head was switched off: no RMSE rather than one of an untrained head


def test_metrics_carry_intervals_and_a_paired_difference_against_the_baseline_best_on_validation():
    rng = np.random.default_rng(4)
    gnn = predictions(rng, 400, 3.0)
    # "good_on_val" is the strongest baseline on validation but weak on test; the comparison must still use it.
    models = {"gnn": gnn, "good_on_val": with_scores(gnn, rng, {"val": 5.0, "test": 1.0}),
              "good_on_test": with_scores(gnn, rng, {"val": 1.0, "test": 4.0}), "same": gnn}
    metrics = compute_metrics(models, n_resamples=1000, seed=0)
    assert metrics["bootstrap"]["resamples"] == 1000 and metrics["bootstrap"]["unit"] == "product"
    for m in metrics["models"].values():
        lo, hi = m["test_ci"]["pr_auc"]
        assert lo <= m["test"]["pr_auc"] <= hi
    comparison = metrics["comparison"]
    assert comparison["best_baseline"] == "good_on_val"
    assert comparison["vs"]["same"]["ci"] == [0.0, 0.0]  # identical predictions: every paired resample differs by 0
    d = comparison["vs"]["good_on_val"]
    assert d["difference"] == pytest.approx(metrics["models"]["gnn"]["test"]["pr_auc"] - metrics["models"]["good_on_val"]["test"]["pr_auc"])
    assert d["ci"][0] > 0  # the GNN's test signal is much stronger than 1.0


def test_evaluate_writes_every_artefact_and_refuses_different_examples(tmp_path):
    rng = np.random.default_rng(5)
    gnn = predictions(rng, 200, 3.0)
    paths = {"gnn": tmp_path / "gnn.parquet", "momentum": tmp_path / "momentum.parquet"}
    gnn.write_parquet(paths["gnn"])
    gnn.with_columns(score=pl.col("score") * 10).write_parquet(paths["momentum"])  # not a probability: no calibration
    pl.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.5], "train_hot": [0.2, 0.1], "train_contrast": [0.0, 0.0],
                  "train_rating": [0.1, 0.1], "train_engagement": [0.1, 0.1], "val_pr_auc": [0.5, 0.6]}).write_csv(tmp_path / "log.csv")
    (tmp_path / "accounting.json").write_text(json.dumps({"panel": {"read": 10, "accepted": 9, "quarantined": {"units is below 0": 1}}}))
    (tmp_path / "split.json").write_text(json.dumps({"cutoffs": {"val": [0], "test": [1]},
                                                     "cutoff_weeks": {"val": ["2024-01-01"], "test": ["2024-02-05"]},
                                                     "balance": {"val": {"examples": 200, "hot": 20, "hot_rate": 0.1},
                                                                 "test": {"examples": 200, "hot": 20, "hot_rate": 0.1}}}))
    out = tmp_path / "evaluation"
    metrics = evaluate(paths, out, tmp_path / "log.csv", tmp_path / "accounting.json", tmp_path / "split.json")
    for name in ("metrics.json", "metrics.md", "metrics.html", "data.html", "pr_curves.png", "reliability.png", "training_curves.png",
                 "backtest.png"):
        assert (out / name).stat().st_size > 0
    written = json.loads((out / "metrics.json").read_text())
    assert written == metrics and written["schema_version"] == 4
    assert written["models"]["momentum"]["test"]["ece"] is None and written["models"]["momentum"]["temperature"] is None
    assert "[" in (out / "metrics.md").read_text()  # intervals are in the table
    assert written["per_cutoff"][0]["week"] == "2024-02-05"

    gnn.filter(pl.col("product_id") != "P0000").write_parquet(paths["momentum"])
    with pytest.raises(ValueError, match="different examples"):
        evaluate(paths, out, tmp_path / "log.csv", tmp_path / "accounting.json", tmp_path / "split.json")


def backtest(rng: np.random.Generator, n: int, hot_share: float, test_cutoffs: int) -> dict[str, pl.DataFrame]:
    """A GNN and a weaker baseline on one validation cutoff and several test cutoffs of the same n products."""
    frames = {"gnn": [], "base": []}
    for cutoff in range(test_cutoffs + 1):
        hot = (rng.random(n) < hot_share).astype(np.int8)
        hot[:2] = 1
        keys = {"split": "val" if cutoff == 0 else "test", "cutoff": cutoff, "product_id": [f"P{i:04d}" for i in range(n)],
                "hot": hot, "future_units": rng.random(n)}
        for name, signal in (("gnn", 3.0), ("base", 1.0)):
            score = 1 / (1 + np.exp(-(signal * hot + rng.normal(0, 1, n) - 2)))
            frames[name].append(pl.DataFrame(keys | {"score": score}))
    return {name: pl.concat(parts) for name, parts in frames.items()}


def test_pooled_backtest_reports_each_cutoff_against_sklearn_and_pools_products():
    models = backtest(np.random.default_rng(6), 300, 0.1, test_cutoffs=3)
    metrics = compute_metrics(models, n_resamples=200, seed=0, weeks={1: "w1", 2: "w2", 3: "w3"})
    assert metrics["test_cutoffs"] == 3 and [r["week"] for r in metrics["per_cutoff"]] == ["w1", "w2", "w3"]
    test = models["gnn"].filter(pl.col("split") == "test")
    # Pooled: one ranking over every test example of every cutoff.
    assert metrics["models"]["gnn"]["test"]["pr_auc"] == pytest.approx(average_precision_score(test["hot"], test["score"]))
    for row in metrics["per_cutoff"]:
        part = test.filter(pl.col("cutoff") == row["cutoff"])
        labels, scores = part["hot"].to_numpy(), part["score"].to_numpy()
        k = int(labels.sum())
        assert row["hot"] == k and row["examples"] == 300
        assert row["models"]["gnn"]["pr_auc"] == pytest.approx(average_precision_score(labels, scores))
        assert row["models"]["gnn"]["precision_at_k"] == pytest.approx(labels[np.argsort(-scores)[:k]].mean())
    # Pooled precision@k: each cutoff's top-k hits over the pooled hot count (not one top-k over all cutoffs).
    hits = sum(r["models"]["gnn"]["precision_at_k"] * r["hot"] for r in metrics["per_cutoff"])
    assert metrics["models"]["gnn"]["test"]["precision_at_k"] == pytest.approx(hits / metrics["hot"]["test"])
    assert metrics["comparison"]["vs"]["base"]["verdict"] == "gnn better" and metrics["comparison"]["enough_hot"]


def test_too_few_hot_examples_is_said_plainly(tmp_path):
    from hotseller.evaluate import MIN_HOT_FOR_VERDICT, sample_size_note

    models = backtest(np.random.default_rng(7), 60, 0.05, test_cutoffs=2)
    metrics = compute_metrics(models, n_resamples=100, seed=0)
    assert metrics["hot"]["test"] < MIN_HOT_FOR_VERDICT and metrics["comparison"]["enough_hot"] is False
    assert sample_size_note(metrics).startswith("**Too few hot examples to separate models:**")
    assert metrics["headline"]["verdict"].startswith("too few hot examples to tell")  # the headline follows the rule too
    plenty = compute_metrics(backtest(np.random.default_rng(7), 400, 0.1, test_cutoffs=2), n_resamples=100, seed=0)
    assert plenty["hot"]["test"] >= MIN_HOT_FOR_VERDICT and "Too few" not in sample_size_note(plenty)


def test_headline_compares_the_best_graph_model_with_the_best_baseline_both_chosen_on_validation():
    rng = np.random.default_rng(8)
    gnn = predictions(rng, 800, 2.0)  # about 80 hot test examples: enough for a verdict
    models = {"gnn": gnn, "hybrid": with_scores(gnn, rng, {"val": 4.0, "test": 4.0}),  # a graph model, best on validation
              "strong_on_test": with_scores(gnn, rng, {"val": 0.5, "test": 5.0}),    # a baseline: not chosen (validation)
              "base": with_scores(gnn, rng, {"val": 1.5, "test": 1.0})}
    metrics = compute_metrics(models, n_resamples=300, seed=0, graph_models={"gnn", "hybrid"})
    head = metrics["headline"]
    assert (head["graph_model"], head["baseline"]) == ("hybrid", "base")
    assert head["difference"] == pytest.approx(metrics["models"]["hybrid"]["test"]["pr_auc"] - metrics["models"]["base"]["test"]["pr_auc"])
    assert head["ci"][0] > 0 and head["verdict"] == "hybrid better"
    # The GNN's own comparison is against models without a GNN inside only.
    assert set(metrics["comparison"]["vs"]) == {"strong_on_test", "base"} and metrics["comparison"]["best_baseline"] == "base"


@pytest.mark.parametrize("val_max, test_max", [(1.2, 0.9), (0.9, 1.2)])
def test_a_heuristic_is_never_scored_as_probabilities_whatever_range_a_split_falls_in(tmp_path, val_max, test_max):
    """Persistence scores log units: when one split's happen to lie inside [0, 1] they are still not probabilities, so
    no temperature, no calibration metric on either split, and the reliability plot leaves it out instead of failing."""
    from hotseller.plots import plot_reliability

    rng = np.random.default_rng(5)
    gnn = predictions(rng, 300, 3.0)
    level = {"val": val_max, "test": test_max}
    persistence = gnn.with_columns(score=pl.Series(rng.random(gnn.height)) * pl.col("split").replace_strict(level, return_dtype=pl.Float64))
    metrics = compute_metrics({"gnn": gnn, "persistence": persistence}, n_resamples=20, seed=0)
    m = metrics["models"]["persistence"]
    assert m["temperature"] is None and m["bias"] is None
    assert all(np.isnan(m[split][c]) for split in ("val", "test") for c in ("brier", "ece", "brier_ts", "ece_ts"))
    assert metrics["models"]["gnn"]["temperature"] is not None and not np.isnan(metrics["models"]["gnn"]["test"]["brier"])
    plot_reliability({"gnn": gnn, "persistence": persistence}, tmp_path / "reliability.png", metrics)
    assert (tmp_path / "reliability.png").stat().st_size > 0


def test_the_test_hot_share_is_hot_over_examples():
    from hotseller.scoring import test_hot_share

    assert test_hot_share({"hot": {"test": 50}, "examples": {"test": 4000}}) == 0.0125
    assert test_hot_share({"hot": {"test": 0}, "examples": {"test": 0}}) is None


def test_the_f1_threshold_is_the_validation_score_with_the_highest_f1():
    """Worked by hand: labels 0 1 0 1 1 with scores 0.1 0.4 0.35 0.8 0.2. Predicting hot from 0.1 up gives F1 0.750,
    from 0.2 up 0.857 (3 of 4 right, every hot one found), 0.35: 0.667, 0.4: 0.800, 0.8: 0.500; so 0.2."""
    labels, scores = np.array([0, 1, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.2])
    assert best_f1_threshold(labels, scores) == 0.2
    rng = np.random.default_rng(3)  # and on a larger draw, against sklearn's F1 at every distinct score (lowest first on ties)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + 0.3 * labels, 2)
    f1 = {t: f1_score(labels, scores >= t) for t in np.unique(scores)}
    assert best_f1_threshold(labels, scores) == max(f1, key=lambda t: (round(f1[t], 12), -t))


@pytest.mark.parametrize(("ci", "says"), [
    ((0.004, 0.030), "The network is better, and the paired interval excludes 0."),
    ((-0.030, -0.004), "The network is worse than gbt, and the paired interval excludes 0."),
    ((-0.010, 0.020), "The interval contains 0: on this test set the network does not measurably beat the best baseline."),
    ((None, None), "no interval could be computed."),
])
def test_the_model_cards_verdict_follows_the_paired_interval(ci, says):
    from hotseller.model_card import gnn_verdict

    metrics = {"comparison": {"best_baseline": "gbt", "vs": {"gbt": {"difference": 0.012, "ci": list(ci)}}},
               "models": {"gnn": {"test": {"pr_auc": 0.345}}, "gbt": {"test": {"pr_auc": 0.333}}}}
    sentence = gnn_verdict(metrics)
    assert sentence.endswith(says)
    assert "0.345" in sentence and "0.333" in sentence
    if ci[0] is not None:
        assert f"difference 0.012 [{ci[0]:.3f}, {ci[1]:.3f}]" in sentence
    assert gnn_verdict({"comparison": {}}) == "No baseline was evaluated."


def test_every_threshold_and_calibration_is_fitted_on_validation_not_test():
    """Each model's F1 threshold and calibration are the ones validation gives (worked here from the validation rows
    with sklearn and the fit itself), and differ from what the test rows would give: swapping the splits would fail."""
    rng = np.random.default_rng(11)
    gnn = predictions(rng, 600, 2.0)
    shifted = gnn.with_columns(score=pl.when(pl.col("split") == "test").then(pl.col("score") ** 0.5).otherwise(pl.col("score")))
    metrics = compute_metrics({"gnn": gnn, "other": shifted}, n_resamples=20, seed=0)
    for name, frame in (("gnn", gnn), ("other", shifted)):
        fitted = {}
        for split in ("val", "test"):
            part = frame.filter(pl.col("split") == split)
            labels, scores = part["hot"].to_numpy(), part["score"].to_numpy()
            f1 = {t: f1_score(labels, scores >= t) for t in np.unique(scores)}
            fitted[split] = (max(f1, key=lambda t: (round(f1[t], 12), -t)), fit_calibration(labels, scores))
        m = metrics["models"][name]
        assert m["threshold"] == pytest.approx(fitted["val"][0]) and m["threshold"] != pytest.approx(fitted["test"][0])
        assert (m["temperature"], m["bias"]) == (fitted["val"][1].temperature, fitted["val"][1].bias)
        assert m["temperature"] != pytest.approx(fitted["test"][1].temperature, abs=0.01)
        test = frame.filter(pl.col("split") == "test")
        calibrated = fitted["val"][1](test["score"].to_numpy())
        assert m["test"]["brier_ts"] == pytest.approx(brier_score_loss(test["hot"].to_numpy(), calibrated))
        assert m["test"]["ece_ts"] == pytest.approx(expected_calibration_error(test["hot"].to_numpy(), calibrated))


def test_intervals_are_percentiles_of_sklearn_scores_on_product_resamples():
    """The 95% interval of each model and of the paired difference, rebuilt independently: the same product resamples
    (every row of a drawn product weighted by its draws), sklearn's average precision on each, numpy's percentiles."""
    models = backtest(np.random.default_rng(12), 150, 0.1, test_cutoffs=2)
    metrics = compute_metrics(models, n_resamples=200, seed=3)
    test = {name: frame.filter(pl.col("split") == "test").sort(["split", "cutoff", "product_id"]) for name, frame in models.items()}
    codes = np.unique(test["gnn"]["product_id"].to_numpy(), return_inverse=True)[1]
    weights = np.vstack(list(product_resamples(codes, 200, 3)))
    labels = test["gnn"]["hot"].to_numpy()
    ap = {name: np.array([average_precision_score(labels, t["score"].to_numpy(), sample_weight=w) for w in weights])
          for name, t in test.items()}
    for name in models:
        assert metrics["models"][name]["test_ci"]["pr_auc"] == pytest.approx(list(np.percentile(ap[name], [2.5, 97.5])), abs=1e-12)
    assert metrics["comparison"]["vs"]["base"]["ci"] == pytest.approx(list(np.percentile(ap["gnn"] - ap["base"], [2.5, 97.5])), abs=1e-12)
    assert interval(np.array([np.nan, *range(101)])) == pytest.approx([2.5, 97.5])  # a resample without a hot product is left out


def test_weighted_precision_at_k_equals_the_rows_repeated():
    """A bootstrap weight of 2 is the row drawn twice: precision@k (k = weighted hot count, ties pro rata) must equal it
    computed on the rows repeated, worked by hand: weights 2 1 0 1 on hot 1 0 1 1 with scores 0.9 0.8 0.7 0.6 are the
    rows (hot, 0.9) x2, (cold, 0.8), (hot, 0.6): k = 3, the top 3 hold 2 hot."""
    labels, scores = np.array([1, 0, 1, 1]), np.array([0.9, 0.8, 0.7, 0.6])
    hits, k = hits_at_k(Ranking.of(labels, scores), np.array([[2.0, 1.0, 0.0, 1.0]]))
    assert (k[0], hits[0]) == (3, 2)
    rng = np.random.default_rng(13)
    labels = (rng.random(300) < 0.1).astype(int)
    scores = np.round(rng.random(300) + 0.3 * labels, 1)  # ties
    w = rng.integers(0, 3, 300)
    got = hits_at_k(Ranking.of(labels, scores), w[None, :].astype(float))
    repeated = hits_at_k(Ranking.of(np.repeat(labels, w), np.repeat(scores, w)), np.ones((1, int(w.sum()))))
    assert got[0][0] == pytest.approx(repeated[0][0]) and got[1][0] == repeated[1][0]


def exact_hot(n_hot: int) -> dict[str, pl.DataFrame]:
    """A GNN and a baseline on one validation and one test cutoff of 1,000 products, exactly n_hot hot at test."""
    rng = np.random.default_rng(14)
    frames = {"gnn": [], "base": []}
    for cutoff, split in enumerate(("val", "test")):
        hot = np.zeros(1000, dtype=np.int8)
        hot[: (100 if split == "val" else n_hot)] = 1
        for name, signal in (("gnn", 4.0), ("base", 0.5)):
            score = 1 / (1 + np.exp(-(signal * hot + rng.normal(0, 1, 1000) - 2)))
            frames[name].append(pl.DataFrame({"split": split, "cutoff": cutoff, "product_id": [f"P{i:04d}" for i in range(1000)],
                                              "hot": hot, "score": score}))
    return {name: pl.concat(parts) for name, parts in frames.items()}


@pytest.mark.parametrize("n_hot", [49, 50])
def test_no_verdict_of_any_comparison_below_fifty_hot_test_examples(n_hot):
    """The rule holds for every verdict (the headline, each baseline, the model card), and 50 is enough."""
    from hotseller.model_card import gnn_verdict

    metrics = compute_metrics(exact_hot(n_hot), n_resamples=100, seed=0)
    verdicts = [metrics["headline"]["verdict"], metrics["comparison"]["vs"]["base"]["verdict"]]
    if n_hot < 50:
        assert all(v == "too few hot examples to tell (49 < 50)" for v in verdicts)
        assert gnn_verdict(metrics).endswith("too few to tell the two apart, whatever the interval says.")
    else:
        assert verdicts == ["gnn better", "gnn better"]
        assert gnn_verdict(metrics).endswith("The network is better, and the paired interval excludes 0.")


def test_models_with_other_labels_or_scores_that_are_not_numbers_are_refused():
    gnn = predictions(np.random.default_rng(15), 100, 2.0)
    flipped = gnn.with_columns(hot=pl.when(pl.col("product_id") == "P0050").then(1 - pl.col("hot")).otherwise(pl.col("hot")))
    with pytest.raises(ValueError, match="'base' has other hot labels"):
        compute_metrics({"gnn": gnn, "base": flipped}, n_resamples=10)
    for bad in (float("nan"), None):
        with pytest.raises(ValueError, match="'base' has scores that are not finite"):
            compute_metrics({"gnn": gnn, "base": gnn.with_columns(score=pl.when(pl.col("product_id") == "P0003").then(bad)
                                                                             .otherwise(pl.col("score")))}, n_resamples=10)
