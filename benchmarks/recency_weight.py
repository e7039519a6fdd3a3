"""Nineteenth round's screen (docs/rounds.md): a recency weight for the GNN's loss and the trees' sample weights.

Each arm is a half-life h in training cutoffs (0 = off): every training example weighs 0.5 ** (age / h), its age the
number of training cutoffs after its own, scaled to mean 1 (hotseller.recency). Per arm, on a dataset's prepared files:
  trees  the baselines stage itself (logistic regression, the GBT's search, their `logreg_gbt` blend) with those sample
         weights: each model's validation PR-AUC;
  gnn    the shipped trainer with train.recency_half_life = h, one network a run, seeds 0-2: each seed's validation
         PR-AUC, their mean and sd, and the seeds' averaged logits.
Validation only: both also score the test cutoffs, which this screen never reads. One job at a time (2 cores).

    .venv/bin/python benchmarks/recency_weight.py --dataset <name> --trees 0 5 15 --gnn 5 15 --work /tmp/r19 \\
        --out benchmarks/results/recency_weight_round19_<name>.json
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.baselines import run_baselines  # noqa: E402
from hotseller.settings import stage_params  # noqa: E402
from hotseller.train.loop import ranking_metrics, train  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script
from variants import one_network, summarise  # noqa: E402 - benchmarks/variants.py, beside this script

TREE_MODELS = ("logreg", "gbt", "logreg_gbt")


def arm(half_life: float) -> str:
    return f"h{half_life:g}"


def tree_arm(config: dict, data: Path, half_life: float, work: Path, threads: int) -> dict[str, float]:
    """The baselines stage with sample weights of `half_life`, as configured otherwise: each fitted model's validation
    PR-AUC."""
    section = stage_params(config, "baselines")
    run_baselines(data / "features/examples.parquet", data / "graph/edges.parquet", data / "split/split.json", work, section["seed"],
                  threads, section["max_train_rows"], recency_half_life=half_life)
    val = {m: pl.read_parquet(work / f"{m}.parquet").filter(pl.col("split") == "val") for m in TREE_MODELS}
    return {m: ranking_metrics(v["hot"].to_numpy(), v["score"].to_numpy())["pr_auc"] for m, v in val.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--trees", type=float, nargs="*", default=[0.0], help="half-lives for the trees (0 = off)")
    parser.add_argument("--gnn", type=float, nargs="*", default=[], help="half-lives for the GNN (0 = off)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", default="/tmp/recency_weight")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config = yaml.safe_load(Path(args.config).read_text()) | {"dataset": args.dataset}
    data = Path("results") / args.dataset
    work = Path(args.work) / args.dataset
    out = Path(args.out)
    for half_life in args.trees:
        started = time.perf_counter()
        row = tree_arm(config, data, half_life, work / "trees" / arm(half_life), args.threads)
        update_record(out, [args.dataset, "trees", arm(half_life)], row)
        print(f"== {args.dataset} trees {arm(half_life)}: " + ", ".join(f"{m} {v:.4f}" for m, v in row.items())
              + f" ({time.perf_counter() - started:.0f} s)", flush=True)
    base = stage_params(config, "train")
    inputs = (data / "features/examples.parquet", data / "graph/edges.parquet", data / "split/split.json")
    for half_life in args.gnn:
        runs = {}
        for seed in range(args.seeds):
            runs[seed] = work / "gnn" / arm(half_life) / f"seed{seed}"
            started = time.perf_counter()
            summary = train(one_network(base, seed, args.threads, {"recency_half_life": half_life}), *inputs, runs[seed])
            print(f"{args.dataset} gnn {arm(half_life)} seed {seed}: val {summary['val']['pr_auc']:.4f} best epoch "
                  f"{summary['best_epoch']} ({time.perf_counter() - started:.0f} s)", flush=True)
        row = summarise(runs)
        update_record(out, [args.dataset, "gnn", arm(half_life)], row)
        print(f"== {args.dataset} gnn {arm(half_life)}: val mean {row['mean']:.4f} sd {row['sd']:.4f} ensemble {row['ensemble']:.4f}",
              flush=True)


if __name__ == "__main__":
    main()
