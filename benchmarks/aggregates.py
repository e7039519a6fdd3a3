"""Validation-only check of the baselines' graph aggregates (issue 18): the GBT's search (baselines.tune_gbt) with the
neighbour aggregates over all edges alike (flat: degree, neighbours' mean recent level and growth) and per relation
group (typed: the same three for the category ring, the seller ring and the event relations). Needs the dataset's
prepared files (`snakemake --cores 2 results/<dataset>/split/split.json`). One fit at a time (2 cores).

    .venv/bin/python benchmarks/aggregates.py --datasets online_retail olist realistic --out benchmarks/results/aggregates.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.baselines import design, training_rows, tune_gbt  # noqa: E402
from hotseller.split import load_split  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--max-train-rows", type=int, default=2_000_000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    document = {}
    for dataset in args.datasets:
        data = Path("results") / dataset
        split = load_split(data / "split/split.json")
        examples = pl.read_parquet(data / "features/examples.parquet")
        y = examples["hot"].to_numpy()
        masks = {name: examples["cutoff"].is_in(cutoffs).to_numpy() for name, cutoffs in split.items()}
        rows = training_rows(masks["train"], args.max_train_rows, 0)
        for typed in (False, True):
            started = time.perf_counter()
            X, _, _ = design(examples, pl.scan_parquet(data / "graph/edges.parquet"), typed)
            _, params, val_ap, _ = tune_gbt(X[rows], y[rows], X[masks["val"]], y[masks["val"]], 0)
            row = {"val_pr_auc": val_ap, "chosen": params, "features": int(X.shape[1]), "seconds": round(time.perf_counter() - started, 1)}
            document.setdefault(dataset, {})["typed" if typed else "flat"] = row
            print(dataset, "typed" if typed else "flat", json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
