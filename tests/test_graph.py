"""The graph stage: its edge order (the packed-key sort against polars' own sort on the four columns), its summed
relation weights (worked by hand) and its category and seller rings (by their graph's properties)."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from hotseller.graph import GraphSpec, relation_edges, sort_edges, warn_unread_kinds

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
    """0.01 + 0.03 + 0.06 is 0.1 in every order of the rows (a float sum gives 0.09999999999999999 in some, below the
    cut), so a pair at min_weight 0.1 is kept whatever order the events arrive in; events after the cutoff and
    unlisted products do not count."""
    events = [(1, 0, 5, 0.01), (0, 1, 6, 0.03), (0, 1, 7, 0.06)]  # (a, b, week, weight): either direction is the pair
    rows = [events[i] for i in order] + [(0, 1, 9, 5.0), (0, 2, 3, 4.0)]  # after the cutoff; product 2 not listed
    relations = pl.LazyFrame([(a, b, t, "co_purchase", w) for a, b, t, w in rows], orient="row",
                             schema={"a": pl.UInt32, "b": pl.UInt32, "t": pl.Int32, "kind": pl.String, "weight": pl.Float64})
    listed = pl.LazyFrame({"product_idx": pl.Series([0, 1], dtype=pl.UInt32)})
    edges = relation_edges(relations, listed, 8, GraphSpec(min_weight=0.1)).collect()
    assert edges.rows() == [(0, 1, "co_purchase", 0.1, 7)]


def ring_fixture() -> pl.LazyFrame:
    """Groups of 7, 3, 2 and 1 products, and two products without a group."""
    groups = ["a"] * 7 + ["b"] * 3 + ["c"] * 2 + ["d"] + [None, None]
    return pl.LazyFrame({"product_id": [f"p{i}" for i in range(len(groups))], "product_idx": pl.Series(range(len(groups)), dtype=pl.UInt32),
                         "category": groups})


def neighbours(edges: pl.DataFrame) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for src, dst in edges.select("src", "dst").iter_rows():
        out.setdefault(src, set()).add(dst)
        out.setdefault(dst, set()).add(src)
    return out


@pytest.mark.parametrize("degree", [1, 2])
def test_ring_links_each_product_to_its_nearest_in_one_cyclic_order_of_its_group(degree):
    """A ring of degree k over a group of n > 2k products is the circulant graph C_n(1..k): n * k edges, 2k neighbours
    each, and one cyclic order in which each product's neighbours are the k on either side. Smaller groups are
    complete; an ungrouped product has no ring."""
    from hotseller.graph import ring_edges

    edges = ring_edges(ring_fixture(), "category", degree, seed=0).collect()
    assert (edges["src"] < edges["dst"]).all() and edges.select("src", "dst").is_unique().all()
    near = neighbours(edges)
    group_a = set(range(7))
    assert edges.filter(pl.col("src") < 7).height == 7 * degree
    assert all(near[p] <= group_a and len(near[p]) == 2 * degree for p in group_a)
    # Some cyclic order of the 7 (product 0 first: 6! = 720 to try) puts each product's neighbours k on either side.
    assert any(all(near[p] == {order[(i + s) % 7] for s in range(-degree, degree + 1) if s} for i, p in enumerate(order))
               for order in ((0, *rest) for rest in itertools.permutations(range(1, 7))))
    assert near[7] == {8, 9} and near[8] == {7, 9} and near[9] == {7, 8}  # 3 products, k >= 1: each links the others
    assert near[10] == {11} and near[11] == {10}
    assert not {12, 13, 14} & set(near)  # a group of one and no group: no ring


def test_a_ring_of_degree_0_is_empty_and_its_order_follows_the_seed():
    from hotseller.graph import ring_edges

    assert ring_edges(ring_fixture(), "category", 0, seed=0).collect().height == 0
    seven = {seed: ring_edges(ring_fixture(), "category", 1, seed).collect().filter(pl.col("src") < 7).sort("src", "dst")
             for seed in (0, 1)}
    assert not seven[0].equals(seven[1])  # another seed, another cycle through the same 7 products


def test_relation_kinds_the_config_does_not_name_are_one_warning(tmp_path, caplog):
    pl.DataFrame({"kind": ["co_purchase", "copurchase", "co_purchase", "bundle", None]}).write_parquet(tmp_path / "relations.parquet")
    with caplog.at_level("WARNING", logger="hotseller.graph"):
        warn_unread_kinds(("co_purchase", "co_review"), tmp_path / "relations.parquet")
        warn_unread_kinds(("co_purchase", "co_review", "bundle", "copurchase"), tmp_path / "relations.parquet")
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'relations.parquet'} has relations of kind(s) ['bundle', 'copurchase'], which graph.relation_kinds "
        "(['co_purchase', 'co_review']) does not name: they build no edge; add them there to use them"]
