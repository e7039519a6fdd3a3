"""Validation PR-AUC of a finished run's models with the network inside (the network, `gnn_gbt`, the blend) and of
the best baseline's blend (`logreg_gbt`), and which of the first three evaluate would pick (evaluate.best_on_validation),
read from the prediction files up to the hybrid stage: validation only, for a design whose test is not looked at.

    .venv/bin/python benchmarks/shipped_val.py results/olist results/olist_transfer --out benchmarks/results/<file>.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.evaluate import best_on_validation  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script

FILES = {"gnn": "train/predictions.parquet", "gnn_gbt": "hybrid/gnn_gbt.parquet", "blend": "hybrid/blend.parquet",
         "logreg_gbt": "baselines/logreg_gbt.parquet"}
GRAPH_MODELS = ["gnn", "gnn_gbt", "blend"]  # evaluate's order: ties go to the first


def validation(run: Path) -> dict:
    """Each model's validation PR-AUC in `run` (a results/<dataset> folder), the best with the network and its margin."""
    scores = {}
    for name, file in FILES.items():
        val = pl.read_parquet(run / file).filter(pl.col("split") == "val")
        scores[name] = float(average_precision_score(val["hot"].to_numpy(), val["score"].to_numpy()))
    best = best_on_validation(GRAPH_MODELS, {n: {"val": {"pr_auc": scores[n]}} for n in GRAPH_MODELS})
    return {"val_pr_auc": scores, "best_with_network": best, "margin_over_logreg_gbt": scores[best] - scores["logreg_gbt"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    for run in args.runs:
        row = validation(run)
        update_record(Path(args.out), [run.name], row)
        print(f"{run.name}: network {row['val_pr_auc']['gnn']:.4f}, best with it {row['best_with_network']} "
              f"{row['val_pr_auc'][row['best_with_network']]:.4f}, logreg_gbt {row['val_pr_auc']['logreg_gbt']:.4f}")


if __name__ == "__main__":
    main()
