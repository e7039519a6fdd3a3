"""Loading the standard tables for the stages after ingest, with the shared product and week indices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hotseller.weeks import week_index, week_start


@dataclass(frozen=True)
class Calendar:
    """The panel's week range: week index 0 is `origin`, the last index is n_weeks - 1."""

    origin: dt.date
    n_weeks: int


def calendar(panel: pl.LazyFrame) -> Calendar:
    """Read the week range off the panel (the panel defines the time axis of the whole pipeline)."""
    bounds = panel.select(pl.col("week").min().alias("lo"), pl.col("week").max().alias("hi")).collect()
    lo, hi = bounds.row(0)
    if lo is None:
        # A user-data problem, so one line and exit 2 at the command line (IngestError), not a traceback.
        from hotseller.ingest.contract import IngestError

        raise IngestError("the panel is empty: no accepted rows to build features from (see the ingest stage's accounting.json)")
    return Calendar(lo, (hi - lo).days // 7 + 1)


def indexed_products(products: Path | pl.DataFrame) -> pl.DataFrame:
    """Products (a file, or a table of them) with a dense product_idx (sorted by product_id) and a category index,
    the node order of every graph."""
    products = (products if isinstance(products, pl.DataFrame) else pl.read_parquet(products)).sort("product_id").with_row_index("product_idx")
    categories = products.select(pl.col("category").unique().sort()).with_row_index("category_idx")
    return products.join(categories, on="category", how="left").sort("product_idx")


def timed(lf: pl.LazyFrame, ts_col: str, cal: Calendar) -> pl.LazyFrame:
    """Add the week index `t` of a timestamp column (events in week t are known at cutoff t)."""
    return lf.with_columns(t=week_index(week_start(pl.col(ts_col)), cal.origin))
