"""The graph stage's edge order (the packed-key sort against polars' own sort on the four columns) and its summed
relation weights (worked by hand)."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from hotseller.graph import GraphSpec, relation_edges, sort_edges

KINDS = ["category", "co_purchase", "co_review", "repeat_customer", "seller"]


@pytest.mark.parametrize("node_offset", [0, 2**31], ids=["packed key", "too wide to pack"])
def test_edges_sort_as_the_four_columns_do(node_offset):
    rng = np.random.default_rng(0)
    n = 20_000  # few distinct values, so every tie-break (src, then dst, then kind) is exercised
    edges = pl.DataFrame({
        "cutoff": rng.integers(0, 100, n).astype(np.int32),
        "src": (rng.integers(0, 40, n) + node_offset).astype(np.uint32),
        "dst": (rng.integers(0, 40, n) + node_offset).astype(np.uint32),
        "kind": rng.choice(KINDS, n),
        "weight": rng.random(n),
    }).unique(["cutoff", "src", "dst", "kind"])  # one row per key, as the stage makes them
    assert sort_edges(edges, KINDS).equals(edges.sort("cutoff", "src", "dst", "kind"))


def test_an_empty_table_stays_empty():
    empty = pl.DataFrame(schema={"cutoff": pl.Int32, "src": pl.UInt32, "dst": pl.UInt32, "kind": pl.String})
    assert sort_edges(empty, KINDS).equals(empty)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=str)
def test_fractional_relation_weights_sum_exactly_in_any_row_order(order):
    """0.1 + 0.2 + 0.3 is 0.6 in every order of the rows (a float sum gives 0.6000000000000001 in some), so a pair
    at min_weight 0.6 is kept whatever order the events arrive in; events after the cutoff and unlisted products
    do not count."""
    events = [(1, 0, 5, 0.1), (0, 1, 6, 0.2), (0, 1, 7, 0.3)]  # (a, b, week, weight): either direction is the pair
    rows = [events[i] for i in order] + [(0, 1, 9, 5.0), (0, 2, 3, 4.0)]  # after the cutoff; product 2 not listed
    relations = pl.LazyFrame([(a, b, t, "co_purchase", w) for a, b, t, w in rows], orient="row",
                             schema={"a": pl.UInt32, "b": pl.UInt32, "t": pl.Int32, "kind": pl.String, "weight": pl.Float64})
    listed = pl.LazyFrame({"product_idx": pl.Series([0, 1], dtype=pl.UInt32)})
    edges = relation_edges(relations, listed, 8, GraphSpec(min_weight=0.6)).collect()
    assert edges.rows() == [(0, 1, "co_purchase", 0.6, 7)]
