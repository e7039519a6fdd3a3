"""Product-product relations derived from purchases, shared by the adapters of transaction data.

Each builder returns timestamped events between two products, stored once per unordered pair (src < dst),
summed per week: a relation observed in week w is known from cutoff w on (see graph.py), so finer time
adds nothing and weekly sums keep the table small. Pairs are formed on integer codes of the product ids
(a self-join's output is the large intermediate here) and named again at the end.
"""

from __future__ import annotations

import polars as pl

from hotseller.ingest.contract import RELATIONS, conform
from hotseller.weeks import week_start

# Baskets with more distinct products than this are left out of co-purchase relations: a wholesale
# restock of hundreds of lines links everything to everything and grows the table quadratically.
MAX_BASKET = 50


def coded(events: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Replace product_id by a dense integer `code`; return (coded events, code -> product_id).

    The codes are the sorted ids' ranks: the lazy `names` is evaluated once per join that uses it, and
    `unique()` alone gives a different order each time, which would name a pair by the wrong products.
    """
    names = events.select("product_id").unique().sort("product_id").with_row_index("code")
    return events.join(names, on="product_id").drop("product_id"), names


def weekly_events(pairs: pl.LazyFrame, names: pl.LazyFrame, kind: str) -> pl.LazyFrame:
    """Pair events (codes a, b and ts) as relation rows: one per unordered pair and week, weight = events."""
    summed = (
        pairs.with_columns(week=week_start(pl.col("ts")))
        .group_by(lo=pl.min_horizontal("a", "b"), hi=pl.max_horizontal("a", "b"), week="week")
        .agg(pl.col("ts").min(), pl.len().cast(pl.Float64).alias("weight"))
    )
    named = summed.join(names.rename({"code": "lo", "product_id": "x"}), on="lo").join(
        names.rename({"code": "hi", "product_id": "y"}), on="hi"
    )
    return conform(
        named.with_columns(src=pl.min_horizontal("x", "y"), dst=pl.max_horizontal("x", "y"), kind=pl.lit(kind)), RELATIONS
    )


def co_purchases(baskets: pl.LazyFrame, max_basket: int = MAX_BASKET) -> pl.LazyFrame:
    """Every pair of distinct products bought in one basket (columns basket, product_id, ts), at the basket's time."""
    distinct, names = coded(baskets.group_by("basket", "product_id").agg(pl.col("ts").min()))
    sizes = distinct.group_by("basket").agg(pl.len().alias("size")).filter(pl.col("size").is_between(2, max_basket))
    kept = distinct.join(sizes.select("basket"), on="basket", how="semi")
    pairs = kept.join(kept, on="basket", suffix="_b").filter(pl.col("code") < pl.col("code_b"))
    return weekly_events(pairs.select(a="code", b="code_b", ts=pl.min_horizontal("ts", "ts_b")), names, "co_purchase")


def repeat_customers(purchases: pl.LazyFrame) -> pl.LazyFrame:
    """Pairs of distinct products one customer bought in two different baskets, known at the later purchase.

    Columns in: customer, basket, product_id, ts. Quadratic in a customer's purchases, which suits retail
    customers (olist: a handful of orders each), not wholesale accounts with thousands of lines.
    """
    known = purchases.filter(pl.col("customer").is_not_null())
    distinct, names = coded(known.group_by("customer", "basket", "product_id").agg(pl.col("ts").min()))
    later = (pl.col("ts") < pl.col("ts_b")) | ((pl.col("ts") == pl.col("ts_b")) & (pl.col("basket") < pl.col("basket_b")))
    pairs = distinct.join(distinct, on="customer", suffix="_b").filter(later & (pl.col("code") != pl.col("code_b")))
    return weekly_events(pairs.select(a="code", b="code_b", ts="ts_b"), names, "repeat_customer")
