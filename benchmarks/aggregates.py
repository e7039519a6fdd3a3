"""Validation-only check of the baselines' graph aggregates (issue 18): the GBT's search (baselines.tune_gbt) with the
neighbour aggregates over all edges alike (flat: degree, neighbours' mean recent level and growth) and per relation
group (typed: the same three for the category ring, the seller ring and the event relations, the workflow's GBT); or
(`--arms typed_neighbour_sequences`) typed plus the network's train.neighbour_sequences inputs (per relation group, the
neighbours' mean log units in each week of the window), flattened as the trees read the product's own weeks. Needs
the dataset's workflow run up to its baselines stage (`snakemake --cores 2 results/<dataset>/baselines/logreg.parquet`).
One fit at a time (2 cores).

    .venv/bin/python benchmarks/aggregates.py --datasets online_retail olist realistic --out benchmarks/results/aggregates.json

Each arm also reports `logreg_gbt`: its GBT blended with the workflow's logistic regression (after the workflow's
baselines stage), the share chosen on validation as the baselines stage chooses it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hotseller.design import design  # noqa: E402
from hotseller.features import SEQ_CHANNELS  # noqa: E402
from hotseller.graph import RELATION_GROUPS  # noqa: E402
from hotseller.train.data import neighbour_sequences, node_positions  # noqa: E402
from screens import fit_arm, load_screen  # noqa: E402


ARMS = ("flat", "typed", "typed_neighbour_sequences")


def sequence_columns(examples: pl.DataFrame, edges: pl.LazyFrame) -> np.ndarray:
    """Every example's neighbour_sequences (weeks x relation groups), flattened: the network's inputs of
    train.neighbour_sequences, one cutoff at a time as its snapshots build them."""
    weeks = len(examples["seq"][0]) // len(SEQ_CHANNELS)
    log_units = examples["seq"].to_numpy().reshape(examples.height, weeks, len(SEQ_CHANNELS))[:, :, SEQ_CHANNELS.index("log_units")]
    out = np.zeros((examples.height, weeks * len(RELATION_GROUPS)), dtype=np.float32)
    rows_of = examples.select("cutoff", "product_idx").with_columns(row=pl.int_range(pl.len()))
    for (t,), part in rows_of.group_by("cutoff"):
        part = part.sort("product_idx")
        position = node_positions(part["product_idx"].to_numpy())
        cut = edges.filter(pl.col("cutoff") == t).select("src", "dst", "kind").collect()
        rows = part["row"].to_numpy()
        out[rows] = neighbour_sequences(position, cut, log_units[rows].astype(np.float32)).reshape(part.height, -1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--max-train-rows", type=int, default=2_000_000)
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS[:2]))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    document = {}
    for dataset in args.datasets:
        screen = load_screen(dataset, args.max_train_rows)
        for arm in args.arms:
            started = time.perf_counter()
            X, _, _ = design(screen.examples, screen.edges, arm != "flat")
            if arm == "typed_neighbour_sequences":
                X = np.hstack([X, sequence_columns(screen.examples, screen.edges)])
            row = fit_arm(screen, X) | {"seconds": round(time.perf_counter() - started, 1)}
            document.setdefault(dataset, {})[arm] = row
            print(dataset, arm, json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
