"""benchmarks/blend_rule.py, stop_bias.py and recency.py (the eighteenth round's screens): the blends' share picked by
each rule and judged on held-out validation cutoffs, the derived splits, and the picks."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import average_precision_score

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_rules_pick_the_best_the_most_even_within_noise_and_the_best_even_share():
    from blend_rule import Candidate, choose

    # Four examples, hot 1, 0, 1, 0: scores ranking them 1, 0, 1, 0 give PR-AUC (1/1 + 2/3) / 2 = 0.833; ranking them
    # 1, 1, 0, 0 give 1.0. Identical scores differ by 0 on every resample, so only an exact tie is within one SE.
    labels = np.array([1, 0, 1, 0])
    products = np.arange(4)
    weak, perfect = np.array([0.9, 0.8, 0.7, 0.1]), np.array([0.9, 0.1, 0.8, 0.2])
    tied = [Candidate("single", None, weak), Candidate("even", 0.5, weak), Candidate("skewed", 0.8, weak)]
    assert choose(tied, labels, products, "best").name == "single"  # a tie: the first listed
    assert choose(tied, labels, products, "one_se").name == "even"  # a tie: the most even
    assert choose(tied, labels, products, "half").name == "single"
    # Only 0.5 blends and single models are in the "half" pool, however good the rest.
    mixed = [Candidate("single", None, weak), Candidate("skewed", 0.9, perfect)]
    assert choose(mixed, labels, products, "best").name == "skewed"
    assert choose(mixed, labels, products, "half").name == "single"


def test_one_se_keeps_a_clearly_better_candidate():
    from blend_rule import Candidate, choose

    # 2,000 examples, 100 hot: a perfect ranking against a random one differs by about 0.95, far beyond the noise of
    # product resamples, so the one-SE rule cannot trade it for the even random blend.
    rng = np.random.default_rng(0)
    labels = np.zeros(2000, dtype=int)
    labels[rng.choice(2000, 100, replace=False)] = 1
    perfect = labels + rng.uniform(0, 0.5, 2000)
    noise = rng.uniform(0, 1, 2000)
    cands = [Candidate("even_noise", 0.5, noise), Candidate("perfect", 0.9, perfect)]
    assert choose(cands, labels, np.arange(2000), "one_se").name == "perfect"


def test_folds_choose_on_one_half_and_score_on_the_other():
    from blend_rule import folds

    assert folds([30, 10, 20, 40]) == [([10, 20], [30, 40]), ([30, 40], [10, 20])]
    assert folds([7, 3]) == [([3], [7]), ([7], [3])]
    assert folds([5, 1, 3]) == [([1], [3, 5]), ([3, 5], [1])]
    with pytest.raises(SystemExit, match="needs at least 2"):
        folds([5])


def two_cutoffs(seed: int, products: int, perfect_on: tuple[int, ...]) -> pl.DataFrame:
    """Validation scores at cutoffs 1 and 2, a tenth of the products hot at each: the GNN ranks them perfectly at the
    cutoffs in `perfect_on` and at random elsewhere; every baseline scores at random."""
    rng = np.random.default_rng(seed)
    rows = []
    for cutoff in (1, 2):
        hot = np.zeros(products, dtype=int)
        hot[rng.choice(products, products // 10, replace=False)] = 1
        gnn = np.where(hot == 1, 0.9999, 0.0001) if cutoff in perfect_on else rng.uniform(0.01, 0.99, products)
        rows.append(pl.DataFrame({"cutoff": cutoff, "product_id": np.arange(products), "hot": hot, "gnn": gnn,
                                  **{m: rng.uniform(0.01, 0.99, products) for m in ("persistence", "momentum", "logreg", "gbt", "logreg_gbt")}}))
    return pl.concat(rows)


def test_held_out_scores_a_perfect_gnn_at_one():
    from blend_rule import held_out

    # The GNN ranks perfectly at both cutoffs: every rule on the graph side keeps the GNN or a blend whose GNN share
    # still ranks the hot products first (its logits +-9.2 outweigh a random partner's, within +-4.6).
    record = held_out(two_cutoffs(1, 200, perfect_on=(1, 2)))
    assert [f["choose_on"] for f in record["folds"]] == [[1], [2]]
    assert record["mean_held_out"]["graph"] == {"best": 1.0, "one_se": 1.0, "half": 1.0}
    assert all(v < 0.5 for v in record["mean_held_out"]["baseline"].values())
    assert record["folds"][0]["graph"]["best"]["chosen"] == "gnn"


def test_stop_bias_split_and_picks():
    from stop_bias import champions, derived_split, scored_on

    split = {"horizon_weeks": 4, "cutoffs": {"train": [1, 5], "val": [9, 13], "test": [17]}}
    assert derived_split(split | {"balance": {}, "cutoff_weeks": {}}, [9], [13]) == {
        "horizon_weeks": 4, "cutoffs": {"train": [1, 5], "val": [9], "test": [13]}}
    # The GNN ranks both splits perfectly, the baselines do not: the graph side keeps the GNN (a blend at share 1.0 ties
    # it and the GNN comes first), the baseline side picks gbt, the only one ranking val's hot product first.
    hot = [1, 0, 0, 1, 0, 0]
    frame = pl.DataFrame({"split": ["val"] * 3 + ["test"] * 3, "cutoff": [9] * 3 + [13] * 3, "product_id": [0, 1, 2] * 2,
                          "hot": hot, "gnn_score": [0.9, 0.1, 0.2, 0.8, 0.3, 0.1],
                          "persistence": [0.1, 0.5, 0.9] * 2, "momentum": [0.1, 0.9, 0.5] * 2, "logreg": [0.5, 0.9, 0.1] * 2,
                          "gbt": [0.9, 0.5, 0.1] * 2, "logreg_gbt": [0.5, 0.1, 0.9] * 2})
    frame, picks = champions(frame, "val")
    assert picks["graph"] == "gnn_score" and picks["baseline"] == "gbt"
    got = scored_on(frame, picks, "test")
    assert got["gnn"] == 1.0 and got["baseline_pick"] == 1.0 and got["margin"] == 0.0
    assert got["logreg_gbt"] == 0.5  # the hot product ranked second of three: precision 1/2 at recall 1


def test_one_se_takes_the_even_blend_only_within_the_paired_spread():
    from blend_rule import RESAMPLES, Candidate, choose
    from hotseller.scoring import Ranking, average_precision, product_resamples

    # 400 examples, 40 hot. "best" ranks them a little better than "even" (two hot examples swapped lower); the rule
    # takes "even" exactly when the drop is within the sd of the paired difference over the same product resamples,
    # computed here from scoring's own functions (the reference).
    rng = np.random.default_rng(3)
    labels = np.zeros(400, dtype=int)
    labels[rng.choice(400, 40, replace=False)] = 1
    best = labels * 1.0 + rng.normal(0, 0.6, 400)
    for gap in (0.01, 0.3, 3.0):
        even = best - gap * labels * (np.arange(400) % 7 == 0)
        products = np.arange(400)
        aps = {name: average_precision(Ranking.of(labels, s), np.ones((1, 400)))[0] for name, s in (("best", best), ("even", even))}
        draws = {name: np.concatenate([average_precision(Ranking.of(labels, s), w) for w in product_resamples(products, RESAMPLES, 0)])
                 for name, s in (("best", best), ("even", even))}
        assert aps["best"] > aps["even"]
        within = aps["best"] - aps["even"] <= np.nanstd(draws["best"] - draws["even"])
        picked = choose([Candidate("best", 0.9, best), Candidate("even", 0.5, even)], labels, products, "one_se").name
        assert picked == ("even" if within else "best"), gap
        assert within == (gap == 0.01)  # 0.0005 vs sd 0.0007; 0.034 vs 0.014 (inside best's unpaired sd, 0.08); 0.14 vs 0.05


def test_held_out_figures_are_scored_on_the_other_half_only():
    from blend_rule import held_out

    # The GNN is perfect on cutoff 1 and random on cutoff 2; fold 1 chooses on 1 and scores on 2, so its held-out
    # figure is the GNN's (or its blend's) PR-AUC on cutoff 2 alone, checked against sklearn on those rows.
    frame = two_cutoffs(4, 300, perfect_on=(1,))
    record = held_out(frame)
    fold = record["folds"][0]
    assert fold["choose_on"] == [1] and fold["graph"]["best"]["chosen"] == "gnn"
    late = frame.filter(pl.col("cutoff") == 2)
    assert fold["graph"]["best"]["held_out_pr_auc"] == pytest.approx(average_precision_score(late["hot"], late["gnn"]), abs=1e-12)
    assert fold["graph"]["best"]["choosing_pr_auc"] == 1.0


def test_recency_lists_the_last_or_first_third_of_training_cutoffs_twice():
    from recency import weighted_split

    split = {"horizon_weeks": 4, "cutoffs": {"train": [13, 1, 5, 9, 17, 21, 25], "val": [29, 33], "test": [37]}}
    assert weighted_split(split, "defaults")["cutoffs"]["train"] == [1, 5, 9, 13, 17, 21, 25]
    assert weighted_split(split, "recent")["cutoffs"]["train"] == [1, 5, 9, 13, 17, 21, 25, 21, 25]  # a third of 7 is 2
    assert weighted_split(split, "early")["cutoffs"]["train"] == [1, 5, 9, 13, 17, 21, 25, 1, 5]
    assert weighted_split(split, "recent")["cutoffs"]["val"] == [29, 33] and weighted_split(split, "early")["horizon_weeks"] == 4
