"""Baselines: graph aggregates against a loop over the edges, the training-row sample, and a run on the tiny market."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import average_precision_score

from hotseller.baselines import run_baselines, training_rows
from hotseller.graph import neighbour_aggregates


GROUP = {"category": 0, "seller": 1, "co_purchase": 2, "repeat_customer": 2}  # graph.RELATION_GROUPS, by hand


@pytest.mark.parametrize("typed", [False, True])
def test_neighbour_aggregates_equal_a_loop_over_both_directions_of_each_edge(typed):
    """Degree and neighbours' mean recent / growth of each example, over all edges (flat) or per relation group
    (typed: category ring, seller ring, event relations together), against a loop over the edge list. A pair linked
    by two kinds counts once per kind."""
    rng = np.random.default_rng(0)
    rows = [(t, p) for t in (3, 7) for p in rng.choice(30, size=20, replace=False)]
    examples = pl.DataFrame(rows, schema={"cutoff": pl.Int32, "product_idx": pl.UInt32}, orient="row")
    recent, growth = rng.normal(size=len(rows)), rng.normal(size=len(rows))
    listed = defaultdict(list)
    for t, p in rows:
        listed[t].append(p)
    kinds = list(GROUP)
    pairs = {(t, *sorted(rng.choice(listed[t], size=2, replace=False)), kinds[rng.integers(4)]) for t in (3, 7) for _ in range(60)}
    edges = pl.DataFrame(sorted(pairs), schema={"cutoff": pl.Int32, "src": pl.UInt32, "dst": pl.UInt32, "kind": pl.String}, orient="row")
    got = neighbour_aggregates(examples, edges.lazy(), recent, growth, typed)
    assert got.shape == (len(rows), 9 if typed else 3)

    value = {(t, p): (recent[i], growth[i]) for i, (t, p) in enumerate(rows)}
    for i, (t, p) in enumerate(rows):
        for group in range(3 if typed else 1):
            inside = [(a, b) for c, a, b, k in pairs if c == t and (not typed or GROUP[k] == group)]
            neighbours = [b for a, b in inside if a == p] + [a for a, b in inside if b == p]
            expected = ([len(neighbours), np.mean([value[t, q][0] for q in neighbours]), np.mean([value[t, q][1] for q in neighbours])]
                        if neighbours else [0.0, 0.0, 0.0])
            np.testing.assert_allclose(got[i, 3 * group : 3 * group + 3], expected, rtol=1e-6)


def test_training_rows_are_all_of_train_or_a_seeded_sample_of_it():
    train = np.zeros(1000, dtype=bool)
    train[100:700] = True
    assert np.array_equal(training_rows(train, 0, seed=0), np.arange(100, 700))
    assert np.array_equal(training_rows(train, 600, seed=0), np.arange(100, 700))
    sample = training_rows(train, 50, seed=4)
    assert sample.size == 50 and np.unique(sample).size == 50 and np.all(np.diff(sample) > 0) and train[sample].all()
    assert np.array_equal(sample, training_rows(train, 50, seed=4))
    assert not np.array_equal(sample, training_rows(train, 50, seed=5))


def test_a_capped_run_fits_on_the_sample_and_scores_every_validation_and_test_example(tiny_training, tmp_path):
    run_baselines(tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path, seed=0, threads=1, max_train_rows=500)
    split = json.loads(tiny_training["split"].read_text())["cutoffs"]
    examples = pl.read_parquet(tiny_training["examples"])
    document = json.loads((tmp_path / "gbt_search.json").read_text())
    assert document["training"] == {"examples": 500, "of": examples.filter(pl.col("cutoff").is_in(split["train"])).height,
                                    "max_train_rows": 500, "sample_seed": 0, "recency_half_life": 0.0,
                                    "recency_half_lives": [0.0]}
    scored = examples.filter(pl.col("cutoff").is_in(split["val"] + split["test"])).select("cutoff", "product_id").sort("cutoff", "product_id")
    for model in ("persistence", "momentum", "logreg", "gbt", "logreg_gbt"):
        predictions = pl.read_parquet(tmp_path / f"{model}.parquet")
        assert predictions.select("cutoff", "product_id").sort("cutoff", "product_id").equals(scored)
        assert predictions["score"].is_finite().all()
    # The baselines' blend: logistic regression's validation-chosen share w in logit space, by hand.
    w = document["logreg_gbt"]["logreg_weight"]
    assert w == max(document["logreg_gbt"]["search"], key=lambda r: (round(r["val_pr_auc"], 12), -r["weight"]))["weight"]
    linear, trees, mix = (pl.read_parquet(tmp_path / f"{m}.parquet")["score"].to_numpy() for m in ("logreg", "gbt", "logreg_gbt"))
    logits = w * np.log(linear / (1 - linear)) + (1 - w) * np.log(trees / (1 - trees))
    np.testing.assert_allclose(mix, 1 / (1 + np.exp(-logits)), rtol=1e-9)

    # Every choice was made on the validation rows: each searched share's and the chosen GBT's figure is sklearn's
    # average precision of those rows' scores, and the chosen setting is the search's best.
    val = {m: pl.read_parquet(tmp_path / f"{m}.parquet").filter(pl.col("split") == "val").sort("cutoff", "product_id")
           for m in ("logreg", "gbt")}
    hot = val["gbt"]["hot"].to_numpy()
    a, b = val["logreg"]["score"].to_numpy(), val["gbt"]["score"].to_numpy()
    for row in document["logreg_gbt"]["search"]:
        by_hand = row["weight"] * np.log(a / (1 - a)) + (1 - row["weight"]) * np.log(b / (1 - b))
        assert row["val_pr_auc"] == pytest.approx(average_precision_score(hot, by_hand), abs=1e-12)
    assert document["chosen_val_pr_auc"] == pytest.approx(average_precision_score(hot, b), abs=1e-12)
    assert document["chosen_val_pr_auc"] == max(r["val_pr_auc"] for r in document["search"])
    assert document["chosen"] == max(document["search"], key=lambda r: r["val_pr_auc"])["params"]

    # The heuristics score each example by its own history: persistence is the mean log1p units of its last 4 weeks,
    # momentum that plus its change from the 4 weeks before.
    from hotseller.features import SEQ_CHANNELS

    log_units = pl.col("seq").arr.to_list().list.gather_every(len(SEQ_CHANNELS), SEQ_CHANNELS.index("log_units"))
    units = examples.select("cutoff", "product_id", "seq").with_columns(
        recent=log_units.list.tail(4).list.mean(), before=log_units.list.tail(8).list.head(4).list.mean())
    for model, expected in (("persistence", pl.col("recent")), ("momentum", 2 * pl.col("recent") - pl.col("before"))):
        heuristic = pl.read_parquet(tmp_path / f"{model}.parquet").join(units.with_columns(expected=expected), on=["cutoff", "product_id"])
        assert heuristic.height == scored.height
        np.testing.assert_allclose(heuristic["score"].to_numpy(), heuristic["expected"].to_numpy(), rtol=1e-5, atol=1e-6)


def test_heuristic_scores_by_hand():
    from hotseller.design import design
    from hotseller.features import SEQ_CHANNELS

    # One product, 8 weeks of units 0,0,1,1, 3,3,7,7: recent = mean log1p of the last 4, growth = that minus the 4 before.
    units = np.array([0, 0, 1, 1, 3, 3, 7, 7], dtype=np.float64)
    seq = np.zeros((1, 8, len(SEQ_CHANNELS)), dtype=np.float32)
    seq[0, :, SEQ_CHANNELS.index("log_units")] = np.log1p(units)
    examples = pl.DataFrame({"cutoff": [7], "product_idx": [0], "category_idx": [0], "s_x": [1.0]}).with_columns(
        pl.col("product_idx").cast(pl.UInt32), pl.Series("seq", seq.reshape(1, -1)))  # an Array column, as features writes
    edges = pl.DataFrame(schema={"cutoff": pl.Int32, "src": pl.UInt32, "dst": pl.UInt32, "kind": pl.String})
    _, _, heuristics = design(examples, edges.lazy())
    recent = (2 * np.log(4) + 2 * np.log(8)) / 4
    before = (2 * np.log(1) + 2 * np.log(2)) / 4
    assert np.isclose(heuristics["persistence"][0], recent)
    assert np.isclose(heuristics["momentum"][0], recent + (recent - before))


def test_logit_and_sigmoid_by_hand():
    """hotseller.logits: logit(0.75) = ln 3, sigmoid(ln 3) = 0.75, sigmoid(0) = 0.5; 0 and 1 clip to finite logits
    +-ln((1 - 1e-7) / 1e-7); and the two invert each other inside the clip."""
    from hotseller.logits import logit, sigmoid

    np.testing.assert_allclose(logit(np.array([0.75, 0.5, 0.25])), [np.log(3.0), 0.0, -np.log(3.0)], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sigmoid(np.array([np.log(3.0), 0.0])), [0.75, 0.5], rtol=1e-12)
    edge = np.log((1 - 1e-7) / 1e-7)
    np.testing.assert_allclose(logit(np.array([0.0, 1.0])), [-edge, edge], rtol=1e-9)
    p = np.linspace(0.001, 0.999, 101)
    np.testing.assert_allclose(sigmoid(logit(p)), p, rtol=1e-12)
    assert logit(np.float32([0.3])).dtype == np.float64 and sigmoid(np.float32([0.3])).dtype == np.float64


def test_an_ensembles_logit_is_its_members_logits_averaged_by_hand():
    """mean_logit: 0.9 and 0.75 are ln 9 and ln 3, averaged ln sqrt(27), i.e. odds sqrt(27), not the probabilities'
    mean 0.825; two members that disagree symmetrically (0.8 and 0.2) average to 0.5."""
    from hotseller.logits import mean_logit, sigmoid

    averaged = mean_logit([np.array([0.9, 0.8]), np.array([0.75, 0.2])])
    np.testing.assert_allclose(averaged, [np.log(27.0) / 2, 0.0], rtol=1e-12, atol=1e-15)
    assert sigmoid(averaged)[0] == pytest.approx(27**0.5 / (1 + 27**0.5), rel=1e-12)


def test_recency_weights_are_halved_per_half_life_of_cutoffs_and_average_one():
    """By hand: cutoffs 3, 3, 7, 11 with a half-life of one cutoff are 2, 2, 1 and 0 cutoffs old, so 1/4, 1/4, 1/2 and 1
    before scaling (mean 1/2), 1/2, 1/2, 1 and 2 after; off (0) is all ones; a negative half-life is named."""
    from hotseller.errors import UserError
    from hotseller.recency import cutoff_weights, snapshot_weights

    np.testing.assert_allclose(cutoff_weights(np.array([11, 3, 7, 3]), 1.0), [2.0, 0.5, 1.0, 0.5])
    np.testing.assert_allclose(cutoff_weights(np.array([3, 7, 11]), 2.0), np.array([0.5, 2**-0.5, 1.0]) / ((1.5 + 2**-0.5) / 3))
    np.testing.assert_array_equal(cutoff_weights(np.array([3, 7, 11]), 0.0), [1.0, 1.0, 1.0])
    # Snapshots of 1, 3 and 2 examples at cutoffs 3, 7, 11, half-life 1: 1/4, 1/2, 1 scaled by 6 / (1/4 + 3/2 + 2).
    np.testing.assert_allclose(snapshot_weights([3, 7, 11], [1, 3, 2], 1.0), np.array([0.25, 0.5, 1.0]) * 6 / 3.75)
    with pytest.raises(UserError, match="recency_half_life is -1"):
        cutoff_weights(np.array([3, 7]), -1.0)
    from hotseller.recency import half_lives

    assert half_lives(15) == [15.0] and half_lives([0, 15]) == [0.0, 15.0]
    with pytest.raises(UserError, match="baselines.recency_half_life is empty"):
        half_lives([])
    with pytest.raises(UserError, match=r"lists a half-life twice \(15, 0, 15\)"):
        half_lives([15, 0, 15.0])


def test_the_trees_keep_the_first_listed_of_equally_good_half_lives():
    """On one training cutoff every half-life weighs all rows 1, so two non-zero candidates fit the same models: an
    exact tie on validation, which goes to the first listed, in either order."""
    from hotseller.baselines import fit_logreg, tune_weighted_gbt

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=400) > 1.2).astype(int)
    cutoffs = np.full(300, 9)
    for candidates in ([2.0, 3.0], [3.0, 2.0]):
        _, kept, search = fit_logreg(X[:300], y[:300], X[300:], y[300:], cutoffs, candidates)
        assert kept == candidates[0] and search[0]["val_pr_auc"] == search[1]["val_pr_auc"]
        arms, records = tune_weighted_gbt(X[:300], y[:300], X[300:], y[300:], 0, cutoffs, candidates)
        assert list(arms) == [False] and arms[False][3] == candidates[0] and [r["val_pr_auc"] for r in records[:8]] == [r["val_pr_auc"] for r in records[8:]]


def test_the_model_card_states_the_trees_recency_weights_only_when_they_had_one():
    from hotseller.model_card import baseline_lines

    search = {"grid": {"learning_rate": [0.05]}, "fixed": {"max_iter": 200}, "search": [{}], "chosen": {"learning_rate": 0.05},
              "chosen_val_pr_auc": 0.5, "training": {"recency_half_life": 15.0, "recency_half_lives": [0.0, 15.0]},
              "logreg": {"recency_half_life": 0.0}}

    def recency(document: dict) -> list[str]:
        return [line for line in baseline_lines(document) if line.startswith("Recency weight")]

    assert recency(search) == ["Recency weight (each training example 0.5 ** (training cutoffs after its own / half-life), scaled to mean 1; "
                               "baselines.recency_half_life): the models chose on validation from half-lives 0, 15: logreg none; "
                               "gbt and gnn_gbt 15."]
    older = search | {"training": {"recency_half_life": 15.0}, "logreg": {}}  # recorded before the candidates: one for all
    assert recency(older) == ["Recency weight (each training example 0.5 ** (training cutoffs after its own / half-life), scaled to mean 1; "
                              "baselines.recency_half_life): the models were given: logreg 15; gbt and gnn_gbt 15."]
    lines = baseline_lines(search)
    assert not [line for line in lines if line.startswith("Transfer source")]  # no source offered
    offered = baseline_lines(search | {"training": search["training"] | {"source_rows": {"offered": 42041, "of": 42041, "kept": True}},
                                       "logreg_gbt": {"source_rows": False}, "hybrid_trees": {"recency_half_life": 0.0}})
    assert offered[-1] == ("Transfer source (transfer.source, whose network the network starts from): gbt was offered its 42,041 "
                           "training rows as a second arm of its search and kept them on validation; logreg_gbt chose its gbt on its "
                           "own validation, which left them out; logreg learns from this market's rows alone, and gnn_gbt takes the "
                           "settings of the best fit on them (the embeddings exist for them only).")
    assert offered[-2].endswith("the models chose on validation from half-lives 0, 15: logreg none; gbt 15; gnn_gbt none.")
    assert "each at recency_half_life in [0, 15], each without and with the transfer source's rows;" in offered[-3]
    assert "gbt search on validation PR-AUC over 1 settings (learning_rate in [0.05], each at recency_half_life in [0, 15]; " in lines[-2]
    for training in ({"recency_half_life": 0.0, "recency_half_lives": [0.0]}, {"recency_half_life": 0.0}, {}):  # off, or before the option
        assert not [line for line in baseline_lines(search | {"training": training, "logreg": {}}) if "recency" in line.lower()]


def test_the_trees_keep_the_candidate_half_life_best_on_validation_each_for_itself(tiny_training, tmp_path):
    """With candidates [0, 2], logistic regression and the GBT each give exactly the scores of the single-candidate run
    whose model has the better validation PR-AUC (those runs are checked against hand-weighted fits below), and the
    record lists every candidate's fits."""
    runs = {}
    for name, candidates in (("off", 0.0), ("two", 2.0), ("both", [0.0, 2.0])):
        run_baselines(tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path / name, seed=0, threads=1,
                      recency_half_life=candidates)
        runs[name] = json.loads((tmp_path / name / "gbt_search.json").read_text())
    both = runs["both"]

    def val_pr_auc(run: str, model: str) -> float:
        val = pl.read_parquet(tmp_path / run / f"{model}.parquet").filter(pl.col("split") == "val")
        return average_precision_score(val["hot"].to_numpy(), val["score"].to_numpy())

    for model, kept in (("logreg", both["logreg"]["recency_half_life"]), ("gbt", both["training"]["recency_half_life"])):
        scores = {run: val_pr_auc(run, model) for run in ("off", "two")}
        better = "off" if scores["off"] >= scores["two"] else "two"
        assert kept == {"off": 0.0, "two": 2.0}[better], model
        assert pl.read_parquet(tmp_path / "both" / f"{model}.parquet").equals(pl.read_parquet(tmp_path / better / f"{model}.parquet")), model
    # Listed the other way round, each model keeps the same half-life (the fixture's two fits differ, so order is no tie-break).
    run_baselines(tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path / "reversed", seed=0, threads=1,
                  recency_half_life=[2.0, 0.0])
    reversed_run = json.loads((tmp_path / "reversed" / "gbt_search.json").read_text())
    logreg_fits = [r["val_pr_auc"] for r in both["logreg"]["search"]]
    assert logreg_fits[0] != logreg_fits[1] and runs["off"]["chosen_val_pr_auc"] != runs["two"]["chosen_val_pr_auc"]
    assert reversed_run["logreg"]["recency_half_life"] == both["logreg"]["recency_half_life"]
    assert reversed_run["training"]["recency_half_life"] == both["training"]["recency_half_life"]
    assert both["training"]["recency_half_lives"] == [0.0, 2.0]
    assert [r["recency_half_life"] for r in both["search"]] == [0.0] * 8 + [2.0] * 8
    assert [r["val_pr_auc"] for r in both["search"]] == [r["val_pr_auc"] for run in ("off", "two") for r in runs[run]["search"]]
    assert both["chosen"] == runs[{0.0: "off", 2.0: "two"}[both["training"]["recency_half_life"]]]["chosen"]
    assert [r["val_pr_auc"] for r in both["logreg"]["search"]] == pytest.approx([val_pr_auc(run, "logreg") for run in ("off", "two")], rel=1e-12)


def test_recency_weighted_baselines_fit_the_weights_by_hand(tiny_training, tmp_path):
    """With a half-life, logistic regression is fitted with each training example weighted 0.5 ** (age / h), scaled to
    mean 1 (the reference fit here, from sklearn with those weights computed by hand), and the run records it; the
    trees' chosen setting refits with the same weights to the same scores, which differ from the unweighted trees'."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from hotseller.design import design

    half_life = 2.0
    run_baselines(tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path / "weighted", seed=0, threads=1,
                  recency_half_life=half_life)
    run_baselines(tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path / "plain", seed=0, threads=1)
    assert json.loads((tmp_path / "weighted/gbt_search.json").read_text())["training"]["recency_half_life"] == half_life
    split = json.loads(tiny_training["split"].read_text())["cutoffs"]
    examples = pl.read_parquet(tiny_training["examples"])
    X, n_tabular, _ = design(examples, pl.scan_parquet(tiny_training["edges"]))
    cutoffs = examples["cutoff"].to_numpy()
    train = np.isin(cutoffs, split["train"])
    ages = {c: len(split["train"]) - 1 - i for i, c in enumerate(sorted(split["train"]))}
    weight = np.array([0.5 ** (ages[c] / half_life) for c in cutoffs[train]])
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    reference.fit(X[train, :n_tabular].astype(np.float64), examples["hot"].to_numpy()[train], logisticregression__sample_weight=weight / weight.mean())
    val = np.isin(cutoffs, split["val"])

    def assert_val_scores(model: str, expected: np.ndarray, **tolerance: float) -> None:
        """The run's validation scores of `model`, product by product, against the reference's."""
        reference_scores = pl.DataFrame({"cutoff": cutoffs[val], "product_id": examples["product_id"].to_numpy()[val], "expected": expected})
        got = pl.read_parquet(tmp_path / f"weighted/{model}.parquet").filter(pl.col("split") == "val").join(
            reference_scores, on=["cutoff", "product_id"])
        assert got.height == int(val.sum())
        np.testing.assert_allclose(got["score"].to_numpy(), got["expected"].to_numpy(), **tolerance)

    assert_val_scores("logreg", reference.predict_proba(X[val, :n_tabular].astype(np.float64))[:, 1], rtol=1e-6, atol=1e-9)
    # The trees: the setting their weighted search chose, refitted here with the same hand-computed weights.
    from hotseller.baselines import make_gbt

    chosen = json.loads((tmp_path / "weighted/gbt_search.json").read_text())["chosen"]
    trees = make_gbt(0, chosen).fit(X[train], examples["hot"].to_numpy()[train], sample_weight=weight / weight.mean())
    assert_val_scores("gbt", trees.predict_proba(X[val])[:, 1], rtol=1e-9)
    plain = pl.read_parquet(tmp_path / "plain/gbt.parquet")["score"].to_numpy()
    assert not np.allclose(pl.read_parquet(tmp_path / "weighted/gbt.parquet")["score"].to_numpy(), plain)
