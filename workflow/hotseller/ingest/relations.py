"""Product-product relations derived from purchases, shared by the adapters of transaction data.

Each builder returns timestamped events between two products, stored once per unordered pair (src < dst),
summed per week: a relation observed in week w is known from cutoff w on (see graph.py), so finer time
adds nothing and weekly sums keep the table small.
"""

from __future__ import annotations

import polars as pl

from hotseller.ingest.contract import RELATIONS, conform
from hotseller.weeks import week_start

# Baskets with more distinct products than this are left out of co-purchase relations: a wholesale
# restock of hundreds of lines links everything to everything and grows the table quadratically.
MAX_BASKET = 50


def weekly_events(pairs: pl.LazyFrame, kind: str) -> pl.LazyFrame:
    """Pair events (a, b, ts) as relation rows: one per unordered pair and week, weight = events that week."""
    ordered = pairs.select(
        src=pl.min_horizontal("a", "b"), dst=pl.max_horizontal("a", "b"), ts=pl.col("ts"), week=week_start(pl.col("ts"))
    )
    summed = ordered.group_by("src", "dst", "week").agg(pl.col("ts").min(), pl.len().cast(pl.Float64).alias("weight"))
    return conform(summed.with_columns(kind=pl.lit(kind)), RELATIONS)


def co_purchases(baskets: pl.LazyFrame, max_basket: int = MAX_BASKET) -> pl.LazyFrame:
    """Every pair of distinct products bought in one basket (columns basket, product_id, ts), at the basket's time."""
    distinct = baskets.group_by("basket", "product_id").agg(pl.col("ts").min())
    sizes = distinct.group_by("basket").agg(pl.len().alias("size")).filter(pl.col("size").is_between(2, max_basket))
    kept = distinct.join(sizes.select("basket"), on="basket", how="semi")
    pairs = kept.join(kept, on="basket", suffix="_b").filter(pl.col("product_id") < pl.col("product_id_b"))
    return weekly_events(pairs.select(a="product_id", b="product_id_b", ts=pl.min_horizontal("ts", "ts_b")), "co_purchase")


def repeat_customers(purchases: pl.LazyFrame) -> pl.LazyFrame:
    """Pairs of distinct products one customer bought in two different baskets, known at the later purchase.

    Columns in: customer, basket, product_id, ts. Quadratic in a customer's purchases, which suits retail
    customers (olist: a handful of orders each), not wholesale accounts with thousands of lines.
    """
    distinct = purchases.filter(pl.col("customer").is_not_null()).group_by("customer", "basket", "product_id").agg(pl.col("ts").min())
    later = (pl.col("ts") < pl.col("ts_b")) | ((pl.col("ts") == pl.col("ts_b")) & (pl.col("basket") < pl.col("basket_b")))
    pairs = distinct.join(distinct, on="customer", suffix="_b").filter(later & (pl.col("product_id") != pl.col("product_id_b")))
    return weekly_events(pairs.select(a="product_id", b="product_id_b", ts="ts_b"), "repeat_customer")
