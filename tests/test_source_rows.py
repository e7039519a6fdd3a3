"""hotseller.source_rows and the baselines' GBT offered a transfer source's rows (forty-third round)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import average_precision_score

from hotseller.errors import UserError
from hotseller.logits import CLIP
from hotseller.source_rows import in_target_columns
from hotseller.split import load_split

SHARED = ["s_log_age", "s_log_cum_units", "s_log_cum_reviews", "s_rating_to_date"]


def test_source_rows_fill_the_shared_columns_and_leave_the_targets_own_missing():
    # target: 2 sequence columns, statics [4 shared in another order, an attribute, category], 2 aggregates (10 columns)
    target = (2, [*SHARED[::-1], "s_attr_a", "category_idx"])
    # source: 2 sequence columns, statics [4 shared, two attributes, category], 2 aggregates (11 columns)
    source = (2, [*SHARED, "s_attr_x", "s_attr_y", "category_idx"])
    X = np.array([[1, 2, 10, 11, 12, 13, 90, 91, 99, 7, 8]], dtype=np.float32)
    expected = [1, 2, 13, 12, 11, 10, np.nan, np.nan, 7, 8]  # by hand: the shared four in the target's order
    np.testing.assert_array_equal(in_target_columns(X, source, target, 10), np.array([expected], dtype=np.float32))


def test_markets_with_other_windows_are_refused_naming_the_setting():
    with pytest.raises(UserError, match=r"transfer.source: its weekly sequences \(2 columns, here 3\)"):
        in_target_columns(np.zeros((1, 8), dtype=np.float32), (2, [*SHARED, "category_idx"]), (3, [*SHARED, "category_idx"]), 9)


def test_the_gbt_offered_a_sources_rows_keeps_the_arm_validation_prefers(tiny_training, tmp_path):
    """The tiny market as its own source: the offer adds an arm with its training rows (counted here from the split),
    weighted beside the target's recency-weighted rows; the target's arm is searched exactly as without a source; the GBT keeps the setting
    best on validation over both arms, and its validation scores give the PR-AUC the record states."""
    from hotseller.baselines import run_baselines

    files = (tiny_training["examples"], tiny_training["edges"], tiny_training["split"])
    for name, source in (("alone", None), ("offered", files)):
        forecast = (tiny_training["examples"], tiny_training["edges"]) if source else None  # every example scored again
        run_baselines(*files, tmp_path / name, seed=0, threads=1, recency_half_life=2.0, source=source, forecast=forecast)
    alone, offered = (json.loads((tmp_path / name / "gbt_search.json").read_text()) for name in ("alone", "offered"))
    examples = pl.read_parquet(tiny_training["examples"])
    train = load_split(tiny_training["split"])["train"]
    assert offered["training"]["source_rows"]["offered"] == examples.filter(pl.col("cutoff").is_in(train)).height
    assert "source_rows" not in alone["training"]
    target_arm = [{k: v for k, v in r.items() if k != "source_rows"} for r in offered["search"] if not r["source_rows"]]
    assert target_arm == alone["search"]
    with_rows = [r for r in offered["search"] if r["source_rows"]]
    assert len(with_rows) == len(target_arm) == len(alone["search"])
    best = max(offered["search"], key=lambda r: r["val_pr_auc"])
    assert offered["chosen_val_pr_auc"] == best["val_pr_auc"] and offered["chosen"] == best["params"]
    assert offered["training"]["source_rows"]["kept"] == best["source_rows"]
    val = pl.read_parquet(tmp_path / "offered/gbt.parquet").filter(pl.col("split") == "val")
    assert average_precision_score(val["hot"], val["score"]) == pytest.approx(offered["chosen_val_pr_auc"], abs=1e-12)
    # logreg_gbt chooses its GBT arm with its share on its own validation: by hand (sigmoid(w logit a + (1 - w) logit b)),
    # at least as good there as the blend with the GBT that was best alone, and as the blend without any offer
    def val_ap(run: str, model: str) -> float:
        frame = pl.read_parquet(tmp_path / run / f"{model}.parquet").filter(pl.col("split") == "val")
        return average_precision_score(frame["hot"], frame["score"])

    def logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, CLIP, 1 - CLIP)  # the package's clip, so the two blends rank alike at the extremes
        return np.log(p / (1 - p))

    lr, trees = (pl.read_parquet(tmp_path / f"offered/{m}.parquet").filter(pl.col("split") == "val")["score"].to_numpy() for m in ("logreg", "gbt"))
    with_the_gbt = max(average_precision_score(val["hot"], 1 / (1 + np.exp(-(w * logit(lr) + (1 - w) * logit(trees))))) for w in np.linspace(0, 1, 11))
    assert val_ap("offered", "logreg_gbt") >= max(with_the_gbt, val_ap("alone", "logreg_gbt")) - 1e-9
    assert isinstance(offered["logreg_gbt"]["source_rows"], bool) and "source_rows" not in alone["logreg_gbt"]
    # gnn_gbt's trees: the best fit without the source's rows, which is the search without an offer
    assert offered["hybrid_trees"]["chosen"] == alone["chosen"] and offered["hybrid_trees"]["val_pr_auc"] == alone["chosen_val_pr_auc"]
    # the forecast scores with the same models as the backtest: each model's scores of the test rows again, so a
    # GBT read without its market column, or the other arm's, would show
    again = pl.read_parquet(tmp_path / "offered/forecast.parquet")
    for model in ("gbt", "logreg_gbt", "logreg"):
        test = pl.read_parquet(tmp_path / f"offered/{model}.parquet").filter(pl.col("split") == "test")
        joined = test.join(again.select("cutoff", "product_id", model), on=["cutoff", "product_id"])
        assert joined.height == test.height > 0
        np.testing.assert_allclose(joined["score"], joined[model], rtol=0, atol=1e-12, err_msg=model)
    # logistic regression learns from the target's rows alone: the offer leaves it as it was
    for model in ("logreg", "persistence"):
        assert pl.read_parquet(tmp_path / f"offered/{model}.parquet").equals(pl.read_parquet(tmp_path / f"alone/{model}.parquet"))


def test_the_source_rows_are_capped_as_the_targets_are(tiny_training, tmp_path):
    """baselines.max_train_rows caps the source's rows by a seeded sample of their own; the record says how many of
    how many."""
    from hotseller.baselines import run_baselines

    files = (tiny_training["examples"], tiny_training["edges"], tiny_training["split"])
    run_baselines(*files, tmp_path, seed=0, threads=1, max_train_rows=60, source=files)
    search = json.loads((tmp_path / "gbt_search.json").read_text())
    examples = pl.read_parquet(tiny_training["examples"])
    rows = examples.filter(pl.col("cutoff").is_in(load_split(tiny_training["split"])["train"])).height
    assert rows > 60 and search["training"]["source_rows"]["offered"] == 60 and search["training"]["source_rows"]["of"] == rows
    assert search["training"]["examples"] == 60
