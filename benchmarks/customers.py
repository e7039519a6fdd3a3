"""Validation-only screen (issue 18, sixteenth round): does Online Retail's customer side carry what the trees miss?
The workflow reads customers only through products bought in one basket (co-purchase edges); a heterogeneous graph of
customers and products (RelBench's form) would let a GNN read each customer's own activity. Before building one, this
asks whether that information is there at all, as features the trees can read (per product and cutoff t, from the
workbook's sale lines with a CustomerID, weeks <= t only):
  recent_buyers      log1p of the distinct customers who bought it in weeks t-3..t;
  repeat_share       the share of those who had bought it before week t-3 (0 when none);
  buyers_active      the mean, over every customer who bought it up to t, of log1p(their lines of any product in
                     weeks t-3..t): are its past buyers ordering now?
  buyers_growth      the same mean of log1p(lines in t-3..t) - log1p(lines in t-7..t-4): are they ordering more?
Lines are the workbook's sale lines as they are (the adapter's quarantine of postage, zero prices or duplicates is not
applied here: a screen, not a stage).
The arm `customers` adds the four to the workflow's typed design; the GBT's search and `logreg_gbt` as in
benchmarks/descriptions.py. Needs the workflow run up to its baselines stage. One fit at a time (2 cores).

    .venv/bin/python benchmarks/customers.py --source "../shared/data/online_retail_sample/Online Retail.xlsx" \
        --out benchmarks/results/customers_round16.json
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hotseller.baselines import design  # noqa: E402
from hotseller.ingest.online_retail import product_key, read_lines  # noqa: E402
from screens import load_screen, run_arms  # noqa: E402

COLUMNS = ["recent_buyers", "repeat_share", "buyers_active", "buyers_growth"]
RECENT = 4  # weeks, as the trees' recent level


def sale_lines(source: Path, origin: pl.Expr | object) -> pl.DataFrame:
    """(customer, product_id, t) of every sale line with a customer: positive quantity, not a cancellation; t is the
    week index from `origin` (the panel's first Monday), product_id keyed as the adapter keys it."""
    lines = read_lines(source).collect()
    ts = pl.col("InvoiceDate").str.to_datetime(strict=False)
    monday = ts.dt.truncate("1w").dt.date()
    return lines.select(
        customer=pl.col("CustomerID").str.strip_chars(),
        product_id=product_key(pl.col("StockCode")),
        quantity=pl.col("Quantity").cast(pl.Float64, strict=False),
        cancelled=pl.col("InvoiceNo").str.strip_chars().str.to_uppercase().str.starts_with("C"),
        t=((monday - pl.lit(origin)).dt.total_days() // 7).cast(pl.Int32),
    ).filter((pl.col("quantity") > 0) & ~pl.col("cancelled") & pl.col("customer").is_not_null() & (pl.col("customer") != "")
             & pl.col("t").is_not_null()).select("customer", "product_id", "t")


def customer_features(lines: pl.DataFrame, keys: pl.DataFrame) -> np.ndarray:
    """COLUMNS for every (product_id, cutoff) row of `keys`, in its order, from lines in weeks <= cutoff."""
    out = np.zeros((keys.height, len(COLUMNS)), dtype=np.float32)
    keyed = keys.with_columns(row=pl.int_range(pl.len()))
    for (t,), part in keyed.group_by("cutoff"):
        past = lines.filter(pl.col("t") <= t)
        activity = past.group_by("customer").agg(
            now=(pl.col("t") > t - RECENT).sum(), before=((pl.col("t") <= t - RECENT) & (pl.col("t") > t - 2 * RECENT)).sum()
        ).with_columns(active=pl.col("now").log1p(), growth=pl.col("now").log1p() - pl.col("before").log1p())
        pairs = past.group_by("product_id", "customer").agg(first=pl.col("t").min(), last=pl.col("t").max())
        per_product = pairs.join(activity, on="customer").group_by("product_id").agg(
            recent_buyers=(pl.col("last") > t - RECENT).sum().log1p(),
            repeat_share=((pl.col("last") > t - RECENT) & (pl.col("first") <= t - RECENT)).sum()
            / pl.max_horizontal((pl.col("last") > t - RECENT).sum(), 1),
            buyers_active=pl.col("active").mean(),
            buyers_growth=pl.col("growth").mean(),
        )
        got = part.join(per_product, on="product_id", how="left", maintain_order="left").with_columns(pl.col(COLUMNS).fill_null(0.0))
        out[got["row"].to_numpy()] = got.select(COLUMNS).to_numpy().astype(np.float32)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--dataset", default="online_retail")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    screen = load_screen(args.dataset)
    origin = pl.read_parquet(screen.data / "ingest/panel.parquet")["week"].min()
    lines = sale_lines(args.source, origin)
    extra = customer_features(lines, screen.examples.select("product_id", "cutoff"))
    X, _, _ = design(screen.examples, screen.edges, True)
    document = {"sale_lines_with_customer": lines.height, "distinct_customers": lines["customer"].n_unique()}
    run_arms(screen, X, {"typed": [], "customers": [extra]}, document, args.out)


if __name__ == "__main__":
    main()
