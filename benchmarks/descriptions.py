"""Validation-only screen (issue 18, sixteenth round): do Online Retail's product descriptions carry what the trees
miss? The workflow drops text columns of products; its Online Retail category is only the description's last word.
Arms, each the GBT's search (baselines.tune_gbt) on the workflow's typed design plus:
  desc        the main description's all-MiniLM-L6-v2 embedding, projected to --dims dimensions (hotseller.text);
  text_knn    per example, its --k most similar descriptions (cosine, among all products; only those listed at the
              cutoff count): how many are listed, and their mean recent level and growth (the graph aggregates'
              three columns, for one more relation group);
  both        the two together.
Both inputs are static over the whole file, as the adapter's category is: each product's main description counts all
its lines (future ones and those the adapter quarantines included), and the 10 neighbours are ranked among all
products, later ones included (only the neighbours' recent level and growth are read at the cutoff). Any leak that
makes could only favour the arms. Needs the workflow run up to its baselines stage and the text extra. One fit at a
time (2 cores).

    .venv/bin/python benchmarks/descriptions.py --source "../shared/data/online_retail_sample/Online Retail.xlsx" \
        --out benchmarks/results/descriptions_round16.json
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
from hotseller.text import embed_texts, projected_embeddings  # noqa: E402
from screens import load_screen, recent_levels, run_arms  # noqa: E402

ARMS = ("typed", "desc", "text_knn", "both")


def main_descriptions(source: Path, product_ids: list[str]) -> list[str]:
    """Each product's most frequent description in the workbook (ties: the first in sort order), '' when none, read
    as the adapter reads the workbook and keys its products."""
    lines = read_lines(source).collect()
    counts = (
        lines.select(product_id=product_key(pl.col("StockCode")), description=pl.col("Description").str.strip_chars())
        .filter(pl.col("description").is_not_null() & (pl.col("description") != ""))
        .group_by("product_id", "description").len()
    )
    main = counts.group_by("product_id").agg(pl.col("description").sort_by(["len", "description"], descending=[True, False]).first())
    found = pl.DataFrame({"product_id": product_ids}).join(main, on="product_id", how="left", maintain_order="left")
    return found["description"].fill_null("").to_list()


def nearest(vectors: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of each row's k most cosine-similar other rows."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    return np.argsort(-sim, axis=1, kind="stable")[:, :k]


def knn_aggregates(examples: pl.DataFrame, neighbours: np.ndarray, recent: np.ndarray, growth: np.ndarray) -> np.ndarray:
    """Per example: how many of its text neighbours are listed at its cutoff, and their mean recent level and growth
    there (0 when none): graph.neighbour_aggregates' three columns, over each product's own k nearest (directed)
    rather than over undirected edges, which is why that function is not reused."""
    out = np.zeros((examples.height, 3), dtype=np.float32)
    node = examples.select("cutoff", "product_idx").with_columns(row=pl.int_range(pl.len()))
    n = neighbours.shape[0]
    for _, part in node.group_by("cutoff"):
        rows = part["row"].to_numpy()
        at = np.full(n, -1)
        at[part["product_idx"].to_numpy()] = rows
        nb = at[neighbours[part["product_idx"].to_numpy()]]  # rows of the listed neighbours, -1 where not listed
        listed = nb >= 0
        count = listed.sum(1)
        safe = np.where(listed, nb, 0)
        denom = np.maximum(count, 1)
        out[rows, 0] = count
        out[rows, 1] = np.where(listed, recent[safe], 0.0).sum(1) / denom
        out[rows, 2] = np.where(listed, growth[safe], 0.0).sum(1) / denom
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--dataset", default="online_retail")
    parser.add_argument("--dims", type=int, default=8)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    screen = load_screen(args.dataset)
    examples = screen.examples
    products = pl.read_parquet(screen.data / "ingest/products.parquet").sort("product_id")  # product_idx is this order
    texts = main_descriptions(args.source, products["product_id"].to_list())
    X, _, _ = design(examples, screen.edges, True)
    idx = examples["product_idx"].to_numpy()
    desc = projected_embeddings(texts, args.dims).astype(np.float32)[idx]
    knn = knn_aggregates(examples, nearest(embed_texts(texts), args.k), *recent_levels(screen))
    extra = {"typed": [], "desc": [desc], "text_knn": [knn], "both": [desc, knn]}
    document = {"described_products": int(sum(bool(t) for t in texts)), "products": len(texts), "dims": args.dims, "k": args.k}
    run_arms(screen, X, {arm: extra[arm] for arm in args.arms}, document, args.out)


if __name__ == "__main__":
    main()
