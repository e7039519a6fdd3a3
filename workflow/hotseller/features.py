"""Features and labels: one example per (product, cutoff week t) for products listed at t.

Inputs use only weeks <= t; labels use only weeks t+1 .. t+H. The weekly series are laid out as dense
product x week matrices once, so each cutoff is a slice rather than a join. With `text_embeddings` on, the
review texts are embedded (hotseller.text) and their weekly sums laid out the same way.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from hotseller.specs import LabelSpec
from hotseller.tables import Calendar, calendar, indexed_products, timed
from hotseller.weeks import cutoff_weeks, week_index

log = logging.getLogger(__name__)
SEQ_CHANNELS = ["log_units", "log_price", "promo", "log_reviews", "rating_centered"]
STATIC_PREFIX = "s_"
TEXT_PREFIX = f"{STATIC_PREFIX}text_"  # static, so the model reads them with the other static features
RECENT_WEEKS = 4  # the recent level persistence ranks by, and the span its growth is measured over


@dataclass
class Series:
    """Dense product x week matrices of the panel and review streams."""

    units: np.ndarray
    price: np.ndarray
    promo: np.ndarray
    reviews: np.ndarray
    rating_sum: np.ndarray
    first_seen: np.ndarray  # week index a product is listed from; a large number when never
    text_sum: np.ndarray | None = None  # product x week x text_dims: summed projected embeddings of that week's reviews
    text_count: np.ndarray | None = None  # product x week: reviews with a text


def dense(lf: pl.LazyFrame, value: pl.Expr, shape: tuple[int, int]) -> np.ndarray:
    """Scatter a (product_idx, t) -> value aggregate into a dense float matrix (zeros elsewhere)."""
    agg = lf.group_by("product_idx", "t").agg(value.alias("v")).collect()
    out = np.zeros(shape, dtype=np.float64)
    out[agg["product_idx"].to_numpy(), agg["t"].to_numpy()] = agg["v"].to_numpy()
    return out


def forward_fill(matrix: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Carry each row's last present value forward in time (zeros before the first one)."""
    idx = np.where(present, np.arange(matrix.shape[1])[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    filled = np.take_along_axis(matrix, idx, axis=1)
    seen = np.maximum.accumulate(present, axis=1)
    return np.where(seen, filled, 0.0)


def timed_reviews(reviews: pl.LazyFrame, products: pl.DataFrame, cal: Calendar) -> pl.LazyFrame:
    """Reviews of known products with their week index, inside the panel's weeks."""
    ids = products.select("product_id", "product_idx").lazy()
    return timed(reviews.join(ids, on="product_id"), "ts", cal).filter(pl.col("t").is_between(0, cal.n_weeks - 1))


def load_series(panel: pl.LazyFrame, reviews: pl.LazyFrame, products: pl.DataFrame, cal: Calendar) -> Series:
    """Dense series of the panel rows and reviews (with their week index `t`) of known products."""
    ids = products.select("product_id", "product_idx").lazy()
    shape = (products.height, cal.n_weeks)
    panel = panel.join(ids, on="product_id").with_columns(t=week_index(pl.col("week"), cal.origin))
    has_price = dense(panel.filter(pl.col("price").is_not_null()), pl.len(), shape) > 0
    price = forward_fill(dense(panel, pl.col("price").mean(), shape), has_price)
    first_seen = products.select(week_index(pl.col("first_seen_week"), cal.origin).fill_null(np.iinfo(np.int32).max))
    return Series(
        units=dense(panel, pl.col("units").sum(), shape),
        price=price,
        promo=dense(panel, pl.col("promo").max(), shape),
        reviews=dense(reviews, pl.len(), shape),
        rating_sum=dense(reviews, pl.col("rating").sum(), shape),
        first_seen=first_seen.to_series().to_numpy(),
    )


def add_text_sums(series: Series, reviews: pl.LazyFrame, text_dims: int) -> None:
    """Fill series.text_sum / text_count from the reviews' texts (null or blank texts count as no text)."""
    from hotseller.text import projected_embeddings, require_model_package

    require_model_package()
    n_products, n_weeks = series.units.shape
    series.text_sum = np.zeros((n_products, n_weeks, text_dims))
    series.text_count = np.zeros((n_products, n_weeks))
    texted = reviews.filter(pl.col("text").str.strip_chars().str.len_chars() > 0)
    # Each distinct text is embedded once; rows are (product, week, text) with how many reviews said it.
    counts = texted.group_by("product_idx", "t", "text").agg(n=pl.len()).collect()
    if counts.is_empty():
        log.info("text_embeddings: no review texts in this dataset; the %s* features are all zero", TEXT_PREFIX)
        return
    distinct = counts.select(pl.col("text").unique().sort()).with_row_index("text_code")
    counts = counts.join(distinct, on="text")
    vectors = projected_embeddings(distinct["text"].to_list(), text_dims)
    at = (counts["product_idx"].to_numpy(), counts["t"].to_numpy())
    n = counts["n"].to_numpy().astype(np.float64)
    np.add.at(series.text_sum, at, vectors[counts["text_code"].to_numpy()] * n[:, None])
    np.add.at(series.text_count, at, n)
    log.info("text_embeddings: %d distinct texts of %d reviews, projected to %d dims", distinct.height, int(n.sum()), text_dims)


def text_features(series: Series, listed: np.ndarray, hi: int) -> dict[str, np.ndarray]:
    """Mean projected embedding of each listed product's reviews in weeks < hi (all reviews to date; zeros when none)."""
    total = series.text_sum[listed, :hi].sum(1)
    count = series.text_count[listed, :hi].sum(1)[:, None]
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return {f"{TEXT_PREFIX}{k:02d}": mean[:, k].astype(np.float32) for k in range(mean.shape[1])}


def window(matrix: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Columns start..stop-1 of a matrix, zero-padded on the left where start < 0."""
    part = matrix[:, max(start, 0) : stop]
    return np.pad(part, ((0, 0), (max(-start, 0), 0)))


def hot_labels(future_units: np.ndarray, hot_quantile: float) -> np.ndarray:
    """1 for the top ceil(q * n) products by future units (ties broken by product order), if they sold at all."""
    n_hot = math.ceil(hot_quantile * future_units.size)
    order = np.lexsort((np.arange(future_units.size), -future_units))
    hot = np.zeros(future_units.size, dtype=np.int8)
    hot[order[:n_hot]] = 1
    return hot * (future_units > 0)


def cutoff_examples(series: Series, t: int, spec: LabelSpec) -> dict[str, np.ndarray]:
    """Inputs (weeks <= t) and targets (weeks t+1..t+H) for the products listed at cutoff t."""
    listed = np.flatnonzero(series.first_seen <= t)
    lo, hi, end = t - spec.window_weeks + 1, t + 1, t + 1 + spec.horizon_weeks

    def past(m: np.ndarray) -> np.ndarray:
        return window(m[listed], lo, hi)

    n_rev, r_sum = past(series.reviews), past(series.rating_sum)
    mean_rating = np.divide(r_sum, n_rev, out=np.full_like(r_sum, 3.0), where=n_rev > 0)
    seq = np.stack(
        [np.log1p(past(series.units)), np.log1p(past(series.price)), past(series.promo), np.log1p(n_rev), mean_rating - 3.0],
        axis=-1,
    )
    cum_reviews = series.reviews[listed, :hi].sum(1)
    cum_rating = series.rating_sum[listed, :hi].sum(1)
    future_units = series.units[listed, hi:end].sum(1)
    future_reviews = series.reviews[listed, hi:end].sum(1)
    future_rating = series.rating_sum[listed, hi:end].sum(1)
    text = text_features(series, listed, hi) if series.text_sum is not None else {}
    return {
        "product_idx": listed,
        "seq": seq.reshape(listed.size, -1).astype(np.float32),
        f"{STATIC_PREFIX}log_age": np.log1p(t - series.first_seen[listed]).astype(np.float32),
        f"{STATIC_PREFIX}log_cum_units": np.log1p(series.units[listed, :hi].sum(1)).astype(np.float32),
        f"{STATIC_PREFIX}log_cum_reviews": np.log1p(cum_reviews).astype(np.float32),
        f"{STATIC_PREFIX}rating_to_date": (np.divide(cum_rating, cum_reviews, out=np.full_like(cum_rating, 3.0), where=cum_reviews > 0) - 3.0).astype(np.float32),
        **text,
        "hot": hot_labels(future_units, spec.hot_quantile),
        "future_units": future_units,
        "rating_target": np.where(future_reviews > 0, future_rating / np.maximum(future_reviews, 1), np.nan),
        "engagement": np.log1p(future_reviews),
    }


def recent_units(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean log units over the last 4 weeks and its change from the 4 weeks before (raw, unscaled)."""
    log_units = seq[:, :, SEQ_CHANNELS.index("log_units")].astype(np.float64)
    recent = log_units[:, -RECENT_WEEKS:].mean(1)
    before = log_units[:, -2 * RECENT_WEEKS : -RECENT_WEEKS].mean(1)
    return recent, recent - before


@dataclass
class Market:
    """What every cutoff's examples are cut from: the indexed products, the calendar and the dense series."""

    products: pl.DataFrame
    cal: Calendar
    series: Series
    spec: LabelSpec
    attrs: pl.DataFrame  # per product: ids, category index and s_attr_* columns, joined onto every cutoff's examples

    @property
    def cutoffs(self) -> list[int]:
        return cutoff_weeks(self.cal.n_weeks, self.spec.window_weeks, self.spec.horizon_weeks, self.spec.example_stride)


def load_market(panel: pl.LazyFrame, reviews: pl.LazyFrame, products: Path | pl.DataFrame, spec: LabelSpec, cal: Calendar | None = None) -> Market:
    """Series of a panel and reviews. `cal` defaults to the panel's own weeks (the audit passes the full panel's
    when it rebuilds some products only); one LazyFrame of the reviews serves the counts and the texts."""
    products = indexed_products(products)
    cal = cal or calendar(panel)
    timed_rev = timed_reviews(reviews, products, cal)
    series = load_series(panel, timed_rev, products, cal)
    if spec.text_embeddings:
        add_text_sums(series, timed_rev, spec.text_dims)
    attrs = [c for c in products.columns if c.startswith("attr_")]
    static_attrs = products.select(
        "product_idx", "product_id", "category_idx", *[pl.col(a).fill_null(0.0).cast(pl.Float32).alias(f"{STATIC_PREFIX}{a}") for a in attrs]
    )
    return Market(products, cal, series, spec, static_attrs)


def cutoff_frame(market: Market, t: int) -> pl.DataFrame:
    """The examples of cutoff t with the products' static attributes, in product order."""
    block = cutoff_examples(market.series, t, market.spec)
    seq = block.pop("seq")
    frame = (
        pl.DataFrame(block)
        .with_columns(pl.Series("seq", seq), pl.col("product_idx").cast(pl.UInt32), cutoff=pl.lit(t, pl.Int32),
                      rating_target=pl.col("rating_target").fill_nan(None))
        .join(market.attrs, on="product_idx", how="left", maintain_order="left")
    )
    week_of = pl.lit(market.cal.origin) + pl.duration(weeks=pl.col("cutoff"))
    return frame.with_columns(cutoff_week=week_of.cast(pl.Date)).select(
        "product_id", "product_idx", "category_idx", "cutoff", "cutoff_week",
        pl.col(f"^{STATIC_PREFIX}.*$"), "seq", "hot", "future_units", "rating_target", "engagement",
    )


LABEL_COLUMNS = ("hot", "future_units", "rating_target", "engagement")


def forecast_frame(market: Market, t: int | None = None) -> pl.DataFrame:
    """The inputs of every product listed at week t (default: the last week of the data), where no label exists
    yet: the same columns as a cutoff's examples, labels null. Only weeks <= t are read."""
    t = market.cal.n_weeks - 1 if t is None else t
    if not 0 <= t < market.cal.n_weeks:
        raise ValueError(f"forecast week index {t} is outside the data's weeks 0..{market.cal.n_weeks - 1}")
    frame = cutoff_frame(market, t)
    return frame.with_columns(pl.lit(None, frame.schema[c]).alias(c) for c in LABEL_COLUMNS)


def market_from_files(panel_path: Path, reviews_path: Path, products_path: Path, spec: LabelSpec) -> Market:
    return load_market(pl.scan_parquet(panel_path), pl.scan_parquet(reviews_path), products_path, spec)


def all_examples(market: Market) -> pl.DataFrame:
    """All examples at every cutoff, sorted by cutoff then product (each cutoff is made in product order)."""
    return pl.concat([cutoff_frame(market, t) for t in market.cutoffs])


def build_examples(panel_path: Path, reviews_path: Path, products_path: Path, spec: LabelSpec) -> pl.DataFrame:
    return all_examples(market_from_files(panel_path, reviews_path, products_path, spec))
