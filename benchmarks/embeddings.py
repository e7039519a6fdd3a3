"""Validation-only screen (issue 18, seventeenth round): the trees on GNN embeddings the network never trained on.
The workflow's `gnn_gbt` (RelBench's GNN + LightGBM) fits its trees on the training examples' embeddings from the very
network that learnt those examples' labels, so on training rows the embeddings know the answer and on validation they
do not: on Online Retail it scores 0.358 on validation against the same trees' 0.400 without them. This screen cuts
the training cutoffs in time instead:
  early   the training cutoffs up to the first late one minus the horizon (their label windows end before any late
          example's starts): the network learns from these only (the shipped trainer, one network, seeds 0-2,
          early-stopped on validation as shipped);
  late    the last third of the training cutoffs: the trees learn from these, which the network never saw.
Arms, each the GBT's validation search (baselines.tune_gbt) on the late rows only, and its `logreg_gbt` blend with the
workflow's own logistic regression (benchmarks/screens.py; that one learnt from every training cutoff):
  plain     the workflow's typed design (the reference: the same rows without the network);
  score     plus the early network's logit;
  embedding plus its embedding (the representation its heads read), as gnn_gbt has it.
The network's own validation PR-AUC is recorded beside them. The real test cutoffs are never scored: the trainer's
"test" split here is the late block. Needs the workflow run up to its baselines stage. One job at a time (2 cores).

    .venv/bin/python benchmarks/embeddings.py --dataset <name> --out benchmarks/results/embeddings_round17_<name>.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

import numpy as np
import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hotseller.design import design  # noqa: E402
from hotseller.hybrid import gnn_outputs, with_embeddings  # noqa: E402
from hotseller.logits import logit  # noqa: E402
from hotseller.settings import stage_params  # noqa: E402
from hotseller.train.loop import train  # noqa: E402
from screens import fit_arm, load_screen  # noqa: E402
from variants import one_network  # noqa: E402


def time_blocks(train_cutoffs: list[int], horizon: int) -> tuple[list[int], list[int]]:
    """(early, late): late the last third of the training cutoffs (at least one), early those whose label window
    (t, t + horizon] ends by the first late cutoff."""
    ordered = sorted(train_cutoffs)
    late = ordered[len(ordered) - max(1, len(ordered) // 3):]
    early = [t for t in ordered if t + horizon <= late[0]]
    if not early:
        raise SystemExit(f"training cutoffs {ordered} leave no early block {horizon} weeks before the late one")
    return early, late


def early_network(dataset: str, data: Path, early: list[int], late: list[int], val: list[int], horizon: int,
                  seed: int, work: Path) -> Path:
    """Train the shipped trainer's one network of `seed` on the early cutoffs; the folder its model is saved in."""
    run = work / dataset / f"seed{seed}"
    split = run / "split_early.json"
    run.mkdir(parents=True, exist_ok=True)
    split.write_text(json.dumps({"horizon_weeks": horizon, "cutoffs": {"train": early, "val": val, "test": late}}) + "\n")
    config = yaml.safe_load((ROOT / "config.yaml").read_text()) | {"dataset": dataset}
    base = stage_params(config, "train")
    cfg = one_network(base, seed, threads=2)
    summary = train(cfg, data / "features/examples.parquet", data / "graph/edges.parquet", split, run)
    print(f"{dataset} early network seed {seed}: val {summary['val']['pr_auc']:.4f} best epoch {summary['best_epoch']}", flush=True)
    return run


def with_network(X: np.ndarray, model_dir: Path, data: Path, examples: pl.DataFrame, cutoffs: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """X plus the saved network's logit, and X plus its embedding (hybrid.with_embeddings), on the rows of `cutoffs`;
    the other rows stay zero: the network scores only those cutoffs."""
    outputs = gnn_outputs(model_dir, pl.scan_parquet(data / "features/examples.parquet"), pl.scan_parquet(data / "graph/edges.parquet"),
                          cutoffs)
    inside = examples["cutoff"].is_in(cutoffs).to_numpy()
    keys = examples.filter(pl.Series(inside)).select("cutoff", "product_id")
    score = keys.join(outputs, on=["cutoff", "product_id"], how="left", maintain_order="left")["gnn_score"].to_numpy()
    plus_score = np.zeros((X.shape[0], X.shape[1] + 1), dtype=np.float32)
    plus_score[inside] = np.hstack([X[inside], logit(score)[:, None]])
    embedded = with_embeddings(X[inside], keys, outputs)
    plus_embedding = np.zeros((X.shape[0], embedded.shape[1]), dtype=np.float32)
    plus_embedding[inside] = embedded
    return plus_score, plus_embedding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/embeddings"))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    screen = load_screen(args.dataset)
    document = json.loads((screen.data / "split/split.json").read_text())
    split, horizon = document["cutoffs"], document["horizon_weeks"]
    early, late = time_blocks(split["train"], horizon)
    examples = screen.examples
    late_rows = np.flatnonzero(examples["cutoff"].is_in(late).to_numpy())
    late_screen = dataclasses.replace(screen, rows=late_rows)
    X, _, _ = design(examples, screen.edges, True)
    record = {"dataset": args.dataset, "early": early, "late": late, "late_rows": int(late_rows.size),
              "plain": fit_arm(late_screen, X), "seeds": {}}
    print("plain", json.dumps(record["plain"]), flush=True)
    for seed in range(args.seeds):
        run = early_network(args.dataset, screen.data, early, late, split["val"], horizon, seed, args.work)
        plus_score, plus_embedding = with_network(X, run / "model", screen.data, examples.drop("seq"), late + split["val"])
        row = {"network_val_pr_auc": json.loads((run / "metrics.json").read_text())["val"]["pr_auc"],
               "score": fit_arm(late_screen, plus_score),
               "embedding": fit_arm(late_screen, plus_embedding)}
        record["seeds"][seed] = row
        print(seed, json.dumps(row), flush=True)
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    for arm in ("score", "embedding"):
        for key in ("val_pr_auc", "logreg_gbt_val_pr_auc"):
            record[f"{arm}_mean_{key}"] = float(np.mean([row[arm][key] for row in record["seeds"].values()]))
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
