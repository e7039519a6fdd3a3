"""Validation-only screen (issue 18, seventeenth round): do the event edges' weights say which neighbours matter?
Every model reads a product's event neighbours (co-purchase, co-review, repeat customer) as equals: the trees' graph
aggregates are plain means over all of them, and the GNN samples 10 of them uniformly. On Online Retail a product has
about 70 co-purchase partners at the last cutoff (up to 558 of 3,049), most of them from one shared basket.
Item-to-item recommenders rank partners by a normalised co-occurrence instead; this asks whether
that ranking carries what the plain mean misses, as three more columns for the trees (per example, from the edges of
its own cutoff, so past-only as the graph is; w is a pair's summed event weight, d a product's summed w):
  weighted    log1p(d), and the w-weighted mean of the event neighbours' recent level and growth;
  cosine      the k partners with the highest w / sqrt(d_i d_j) (ties: the lower product index): how many, and their
              mean recent level and growth (graph.neighbour_aggregates' three columns over those partners only);
  both        the two together.
Each arm is the GBT's search (baselines.tune_gbt) on the workflow's typed design plus its columns, and its
`logreg_gbt` blend (benchmarks/screens.py). Needs the workflow run up to its baselines stage. One fit at a time.

    .venv/bin/python benchmarks/cooccurrence.py --dataset <name> --out benchmarks/results/cooccurrence_round17_<name>.json
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

from hotseller.design import design  # noqa: E402
from hotseller.graph import RELATION_GROUPS  # noqa: E402
from screens import Screen, load_screen, recent_levels, run_arms  # noqa: E402

ARMS = ("typed", "weighted", "cosine", "both")
RINGS = list(RELATION_GROUPS[:-1])  # the structural kinds; every other kind is an event relation


def directed_events(cut: pl.DataFrame) -> pl.DataFrame:
    """One cutoff's event edges in both directions, (src, dst, w), a pair's kinds summed, with each end's summed w."""
    events = cut.filter(~pl.col("kind").is_in(RINGS)).group_by("src", "dst").agg(w=pl.col("weight").sum())
    both = pl.concat([events, events.select(src="dst", dst="src", w="w")])
    degree = both.group_by("src").agg(d=pl.col("w").sum())
    return (both.join(degree, on="src").join(degree.rename({"src": "dst", "d": "d_dst"}), on="dst")
            .with_columns(cosine=pl.col("w") / (pl.col("d") * pl.col("d_dst")).sqrt()))


def weighted_columns(joined: pl.DataFrame) -> pl.DataFrame:
    """Per product (src): log1p of its summed w, and the w-weighted mean recent level and growth of its partners."""
    return joined.group_by("src").agg(
        log_d=pl.col("d").first().log1p(),
        w_recent=(pl.col("w") * pl.col("r")).sum() / pl.col("w").sum(),
        w_growth=(pl.col("w") * pl.col("g")).sum() / pl.col("w").sum(),
    )


def cosine_columns(joined: pl.DataFrame, k: int) -> pl.DataFrame:
    """Per product (src): how many of its k partners by cosine there are, and their mean recent level and growth."""
    return (joined.sort(["src", "cosine", "dst"], descending=[False, True, False])
            .filter(pl.int_range(pl.len()).over("src") < k)
            .group_by("src").agg(c_count=pl.len().cast(pl.Float64), c_recent=pl.col("r").mean(), c_growth=pl.col("g").mean()))


def cutoff_columns(directed: pl.DataFrame, part: pl.DataFrame, k: int) -> np.ndarray:
    """The weighted and the cosine columns (three each) for the products of `part` (product_idx, recent, growth), in
    its row order. Only partners with an example at this cutoff carry a level, so a product none of whose event
    partners has one gets zeros (on the three datasets every edge's ends have an example at its cutoff)."""
    joined = directed.join(part.select(dst="product_idx", r="recent", g="growth"), on="dst")
    rows = part.select(src="product_idx")
    for columns in (weighted_columns(joined), cosine_columns(joined, k)):
        rows = rows.join(columns, on="src", how="left", maintain_order="left")
    return rows.drop("src").fill_null(0.0).to_numpy().astype(np.float32)


def edge_columns(screen: Screen, recent: np.ndarray, growth: np.ndarray, k: int) -> np.ndarray:
    """cutoff_columns for every example, one cutoff at a time."""
    examples = screen.examples
    out = np.zeros((examples.height, 6), dtype=np.float32)
    node = examples.select("cutoff", "product_idx").with_columns(row=pl.int_range(pl.len()))
    for (t,), part in node.group_by("cutoff"):
        cut = screen.edges.filter(pl.col("cutoff") == t).select("src", "dst", "kind", "weight").collect()
        rows = part["row"].to_numpy()
        frame = part.select("product_idx").with_columns(recent=pl.Series(recent[rows]), growth=pl.Series(growth[rows]))
        out[rows] = cutoff_columns(directed_events(cut), frame, k)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    screen = load_screen(args.dataset)
    examples = screen.examples
    X, _, _ = design(examples, screen.edges, True)
    columns = edge_columns(screen, *recent_levels(screen), args.k)
    extra = {"typed": [], "weighted": [columns[:, :3]], "cosine": [columns[:, 3:]], "both": [columns]}
    document = {"dataset": args.dataset, "k": args.k,
                "val_examples_with_event_partners": float((columns[screen.masks["val"], 0] > 0).mean())}
    run_arms(screen, X, {arm: extra[arm] for arm in args.arms}, document, args.out)


if __name__ == "__main__":
    main()
