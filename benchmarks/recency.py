"""Eighteenth round's third screen (docs/rounds.md): does the GNN gain from weighting its latest training cutoffs?

Without changing the trainer: a derived split lists some training cutoffs twice, so each epoch shows those snapshots
twice (and the normaliser counts them twice). Arms, each the shipped trainer as one network a run (seeds 0-2):
  defaults  the configured split (the reference, rerun on this machine);
  recent    the last third of the training cutoffs listed twice;
  early     the first third listed twice (the control: the same number of steps, the opposite weighting).
Validation only: the trainer also scores the split's test cutoffs, which this screen never reads. One job at a time.

    .venv/bin/python benchmarks/recency.py --dataset <name> --work /tmp/recency --out benchmarks/results/recency_round18_<name>.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.settings import stage_params  # noqa: E402
from hotseller.train.loop import train  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script
from variants import one_network, summarise  # noqa: E402 - benchmarks/variants.py, beside this script

ARMS = ("defaults", "recent", "early")


def weighted_split(split: dict, arm: str) -> dict:
    """The split with a third of its training cutoffs listed twice: the last third (`recent`), the first (`early`),
    or none (`defaults`)."""
    train = sorted(split["cutoffs"]["train"])
    third = len(train) // 3
    twice = {"defaults": [], "recent": train[len(train) - third:], "early": train[:third]}[arm]
    return {**split, "cutoffs": {**split["cutoffs"], "train": train + twice}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", default="/tmp/recency")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    base = stage_params(yaml.safe_load(Path(args.config).read_text()) | {"dataset": args.dataset}, "train")
    data = Path("results") / args.dataset
    split = json.loads((data / "split/split.json").read_text())
    for arm in ARMS:
        work = Path(args.work) / args.dataset / arm
        work.mkdir(parents=True, exist_ok=True)
        split_path = work / "split.json"
        split_path.write_text(json.dumps(weighted_split(split, arm)))
        runs = {}
        for seed in range(args.seeds):
            started = time.perf_counter()
            summary = train(one_network(base, seed, args.threads), data / "features/examples.parquet", data / "graph/edges.parquet",
                            split_path, work / f"seed{seed}")
            print(f"{args.dataset} {arm} seed {seed}: val {summary['val']['pr_auc']:.4f} best epoch {summary['best_epoch']} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
            runs[seed] = work / f"seed{seed}"
        row = {"train_cutoffs": weighted_split(split, arm)["cutoffs"]["train"], **summarise(runs)}
        update_record(Path(args.out), [args.dataset, arm], row)
        print(f"== {args.dataset} {arm}: val mean {row['mean']:.4f} sd {row['sd']:.4f} ensemble {row['ensemble']:.4f}", flush=True)


if __name__ == "__main__":
    main()
