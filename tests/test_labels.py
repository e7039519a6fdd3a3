"""The label definition and the past-only property of the features, against hand-worked references."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hotseller.features import LabelSpec, Series, build_examples, cutoff_examples, hot_labels
from hotseller.weeks import cutoff_weeks


def test_hot_is_top_quantile_of_future_units_by_hand():
    # 20 listed products, q = 0.1 -> ceil(2.0) = 2 hot: the two largest future sales.
    future = np.array([5, 0, 9, 1, 1, 30, 2, 8, 0, 0, 3, 3, 4, 7, 6, 2, 1, 0, 12, 0], dtype=float)
    hot = hot_labels(future, 0.1)
    assert hot.tolist() == [1 if i in (5, 18) else 0 for i in range(20)]


def test_hot_ties_break_by_product_order_and_zero_sales_are_never_hot():
    assert hot_labels(np.array([4.0, 4.0, 4.0, 1.0]), 0.5).tolist() == [1, 1, 0, 0]
    assert hot_labels(np.zeros(10), 0.2).tolist() == [0] * 10


def make_series(units: np.ndarray, first_seen: np.ndarray) -> Series:
    zeros = np.zeros_like(units)
    reviews = zeros.copy()
    reviews[0, 6] = 2  # two reviews of product 0 in week 6, rating sum 9 -> mean 4.5
    rating_sum = zeros.copy()
    rating_sum[0, 6] = 9
    return Series(units=units, price=np.ones_like(units), promo=zeros, reviews=reviews, rating_sum=rating_sum, first_seen=first_seen)


def test_cutoff_example_windows_by_hand():
    # 3 products x 10 weeks; product 2 is listed from week 5, so not at cutoff t = 4.
    units = np.arange(30, dtype=float).reshape(3, 10)
    series = make_series(units, np.array([0, 0, 5]))
    spec = LabelSpec(window_weeks=3, horizon_weeks=2, hot_quantile=0.5, stride_weeks=1)
    block = cutoff_examples(series, 4, spec)
    assert block["product_idx"].tolist() == [0, 1]
    seq = block["seq"].reshape(2, 3, -1)
    assert np.allclose(np.expm1(seq[:, :, 0]), [[2, 3, 4], [12, 13, 14]])  # weeks 2..4 only
    assert block["future_units"].tolist() == [5 + 6, 15 + 16]  # weeks 5..6
    assert block["hot"].tolist() == [0, 1]  # ceil(0.5 * 2) = 1 hot: product 1
    assert np.isclose(block["rating_target"][0], 4.5) and np.isnan(block["rating_target"][1])
    assert np.allclose(block["engagement"], [np.log1p(2), 0.0])


def test_inputs_ignore_the_future_and_labels_ignore_the_past():
    rng = np.random.default_rng(0)
    units = rng.poisson(5, (4, 12)).astype(float)
    spec = LabelSpec(window_weeks=4, horizon_weeks=3, hot_quantile=0.25, stride_weeks=1)
    base = cutoff_examples(make_series(units, np.zeros(4, int)), 6, spec)
    future_changed = units.copy()
    future_changed[:, 7:] *= 100
    after = cutoff_examples(make_series(future_changed, np.zeros(4, int)), 6, spec)
    assert np.array_equal(base["seq"], after["seq"])
    assert not np.array_equal(base["future_units"], after["future_units"])
    past_changed = units.copy()
    past_changed[:, :7] += 50
    later = cutoff_examples(make_series(past_changed, np.zeros(4, int)), 6, spec)
    assert np.array_equal(base["future_units"], later["future_units"])


def test_cutoffs_end_at_the_last_full_label_window():
    assert cutoff_weeks(20, 4, 3, 5) == [6, 11, 16]  # first = W-1 = 3 is not on the stride back from 16
    with pytest.raises(ValueError, match="fewer than window_weeks"):
        cutoff_weeks(5, 4, 3, 1)


def test_examples_about_five_percent_hot_and_past_only(tiny_tables):
    spec = LabelSpec(window_weeks=8, horizon_weeks=4, hot_quantile=0.05, stride_weeks=4)
    paths = [tiny_tables / f"{t}.parquet" for t in ("panel", "reviews", "products")]
    examples = build_examples(*paths, spec)
    per_cutoff = examples.group_by("cutoff").agg(pl.col("hot").sum(), pl.len(), sold=(pl.col("future_units") > 0).sum())
    for hot, n, sold in per_cutoff.select("hot", "len", "sold").iter_rows():
        assert hot == min(int(np.ceil(0.05 * n)), sold)
    assert 0.03 < examples["hot"].mean() < 0.06
    # Perturbing the panel after a cutoff leaves that cutoff's inputs untouched.
    panel = pl.read_parquet(paths[0])
    t0 = int(examples["cutoff"].min())
    origin = panel["week"].min()
    shifted = panel.with_columns(
        units=pl.when(((pl.col("week") - origin).dt.total_days() // 7) > t0).then(pl.col("units") * 7 + 1).otherwise(pl.col("units"))
    )
    alt = paths[0].with_name("panel_alt.parquet")
    shifted.write_parquet(alt)
    again = build_examples(alt, paths[1], paths[2], spec)
    first = examples.filter(pl.col("cutoff") == t0)
    first_again = again.filter(pl.col("cutoff") == t0)
    assert first.select("seq", pl.col("^s_.*$")).equals(first_again.select("seq", pl.col("^s_.*$")))
    assert not first["future_units"].equals(first_again["future_units"])


def test_a_finer_training_grid_adds_cutoffs_and_changes_none_of_the_strides(tiny_tables):
    """train_stride_weeks 2 with stride 4: the examples and graph edges of every stride-4 cutoff are exactly those of
    the stride-4 build; the cutoffs in between are added, counted back from the same last cutoff."""
    from hotseller.graph import GraphSpec, build_edges

    t = {name: tiny_tables / f"{name}.parquet" for name in ("panel", "reviews", "products", "relations")}
    coarse_spec = LabelSpec(window_weeks=8, horizon_weeks=4, hot_quantile=0.05, stride_weeks=4)
    fine_spec = LabelSpec(window_weeks=8, horizon_weeks=4, hot_quantile=0.05, stride_weeks=4, train_stride_weeks=2)
    coarse = build_examples(t["panel"], t["reviews"], t["products"], coarse_spec)
    fine = build_examples(t["panel"], t["reviews"], t["products"], fine_spec)
    coarse_cutoffs = sorted(coarse["cutoff"].unique().to_list())
    fine_cutoffs = sorted(fine["cutoff"].unique().to_list())
    assert fine_cutoffs[-1] == coarse_cutoffs[-1] and set(coarse_cutoffs) < set(fine_cutoffs)
    assert fine_cutoffs == list(range(fine_cutoffs[-1], 6, -2))[::-1]  # every 2nd week back to W - 1 = 7 at most
    assert fine.filter(pl.col("cutoff").is_in(coarse_cutoffs)).equals(coarse)
    edges = {stride: build_edges(t["products"], t["relations"], t["panel"], 8, 4, stride, GraphSpec()) for stride in (4, 2)}
    assert edges[2].filter(pl.col("cutoff").is_in(coarse_cutoffs)).equals(edges[4])
    assert sorted(edges[2]["cutoff"].unique().to_list()) == fine_cutoffs
