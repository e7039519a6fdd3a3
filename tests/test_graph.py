"""The graph stage's edge order: the packed-key sort against polars' own sort on the four columns."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hotseller.graph import sort_edges

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
