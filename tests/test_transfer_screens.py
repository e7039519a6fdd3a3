"""benchmarks/transfer_trees.py and shipped_val.py (the forty-second round's diagnostics): the source market's rows
laid into the target's columns, and a run's validation read from its prediction files."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import average_precision_score

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

SHARED = ["s_log_age", "s_log_cum_units", "s_log_cum_reviews", "s_rating_to_date"]


def market(X: list[list[float]], n_seq: int, statics: list[str]) -> dict:
    return {"X": np.array(X, dtype=np.float32), "n_seq": n_seq, "statics": statics}


def test_source_rows_fill_the_shared_columns_and_leave_the_targets_own_missing():
    from transfer_trees import as_target

    # target: 2 sequence columns, statics [4 shared, an attribute, category], 2 aggregates (10 columns)
    target = market([[0.0] * 10], 2, [*SHARED[::-1], "s_attr_a", "category_idx"])  # another order of the shared four
    # source: 2 sequence columns, statics [4 shared, two attributes, category], 2 aggregates (11 columns)
    source = market([[1, 2, 10, 11, 12, 13, 90, 91, 99, 7, 8]], 2, [*SHARED, "s_attr_x", "s_attr_y", "category_idx"])
    out = as_target(source, target)
    expected = [1, 2, 13, 12, 11, 10, np.nan, np.nan, 7, 8]  # by hand: the shared four in the target's order
    np.testing.assert_array_equal(out, np.array([expected], dtype=np.float32))


def test_markets_with_other_windows_are_refused():
    from transfer_trees import as_target

    target = market([[0.0] * 9], 3, [*SHARED, "category_idx"])
    source = market([[0.0] * 8], 2, [*SHARED, "category_idx"])
    with pytest.raises(ValueError, match="sequences"):
        as_target(source, target)


def test_a_runs_validation_is_read_per_model_and_the_best_with_the_network_picked(tmp_path):
    from shipped_val import FILES, validation

    rng = np.random.default_rng(0)
    hot = rng.integers(0, 2, 200)
    strength = {"gnn": 0.5, "gnn_gbt": 0.2, "blend": 1.0, "logreg_gbt": 0.7}
    for name, file in FILES.items():
        score = hot * strength[name] + rng.random(200)
        split = np.where(np.arange(200) < 120, "val", "test")
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"split": split, "score": score, "hot": hot}).write_parquet(tmp_path / file)
    row = validation(tmp_path)
    for name, file in FILES.items():
        val = pl.read_parquet(tmp_path / file).filter(pl.col("split") == "val")
        assert row["val_pr_auc"][name] == average_precision_score(val["hot"], val["score"])
    best = max(("gnn", "gnn_gbt", "blend"), key=row["val_pr_auc"].get)
    assert row["best_with_network"] == best == "blend"
    assert row["margin_over_logreg_gbt"] == row["val_pr_auc"]["blend"] - row["val_pr_auc"]["logreg_gbt"]
