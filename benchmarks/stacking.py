"""Validation-only check of stacking on the GNN (issue 18): a cross-fitted GNN ensemble (train.crossfit: member m never
learns from the products of fold m) gives every training example an out-of-fold score; gradient-boosted trees with the
baseline GBT's chosen settings then learn from the tabular features plus that score's within-cutoff percentile (and
its logit). Reported beside the blends of the same GNN with each fitted baseline. Needs the dataset's prepared files
and baselines (`snakemake --cores 2 results/<dataset>/baselines/gbt.parquet`). One training at a time (2 cores).

    .venv/bin/python benchmarks/stacking.py --dataset online_retail --out benchmarks/results/stacking.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.baselines import GBT_FIXED, blend_weight, design, logit, training_rows  # noqa: E402
from hotseller.hybrid import BLEND_PARTNERS, BLEND_WEIGHTS  # noqa: E402
from hotseller.settings import stage_params  # noqa: E402
from hotseller.split import load_split  # noqa: E402
from hotseller.train.config import TrainConfig  # noqa: E402
from hotseller.train.loop import train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--work", default="/tmp/stacking")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    data, run = Path("results") / args.dataset, Path(args.work) / args.dataset
    config = yaml.safe_load(Path(args.config).read_text()) | {"dataset": args.dataset}
    cfg = TrainConfig.from_section(stage_params(config, "train") | {"crossfit": True, "threads": 2})
    started, trained = time.perf_counter(), not (run / "metrics.json").exists()
    if trained:
        train(cfg, data / "features/examples.parquet", data / "graph/edges.parquet", data / "split/split.json", run)
    row = {"ensemble": cfg.ensemble, "train_seconds": round(time.perf_counter() - started) if trained else None,
           "gnn_val_pr_auc": json.loads((run / "metrics.json").read_text())["val"]["pr_auc"]}

    split = load_split(data / "split/split.json")
    examples = pl.read_parquet(data / "features/examples.parquet")
    X, _, _ = design(examples, pl.scan_parquet(data / "graph/edges.parquet"))
    examples = examples.drop("seq")
    scores = pl.concat([pl.read_parquet(run / "train_scores.parquet").select("cutoff", "product_id", "score"),
                        pl.read_parquet(run / "predictions.parquet").select("cutoff", "product_id", "score")])
    scores = scores.with_columns(pct=pl.col("score").rank("average").over("cutoff") / pl.len().over("cutoff"))
    joined = examples.select("cutoff", "product_id").join(scores, on=["cutoff", "product_id"], how="left", maintain_order="left")
    masks = {name: examples["cutoff"].is_in(cutoffs).to_numpy() for name, cutoffs in split.items()}
    y, rows = examples["hot"].to_numpy(), training_rows(masks["train"], 2_000_000, 0)
    params = json.loads((data / "baselines/gbt_search.json").read_text())["chosen"]
    pct, lgt = joined["pct"].to_numpy()[:, None], logit(joined["score"].to_numpy())[:, None]
    for name, extra in (("stack_pct", pct), ("stack_pct_logit", np.hstack([pct, lgt]))):
        Xs = np.hstack([X, extra.astype(np.float32)])
        trees = HistGradientBoostingClassifier(random_state=0, **GBT_FIXED, **params).fit(Xs[rows], y[rows])
        row[name] = float(average_precision_score(y[masks["val"]], trees.predict_proba(Xs[masks["val"]])[:, 1]))
    gnn = pl.read_parquet(run / "predictions.parquet").filter(pl.col("split") == "val").select("cutoff", "product_id", "hot", "score")
    for partner in BLEND_PARTNERS:
        base = pl.read_parquet(data / f"baselines/{partner}.parquet").filter(pl.col("split") == "val")
        pair = gnn.join(base.select("cutoff", "product_id", partner="score"), on=["cutoff", "product_id"])
        weight, search = blend_weight(pair["score"].to_numpy(), pair["partner"].to_numpy(), pair["hot"].to_numpy(), BLEND_WEIGHTS)
        row[f"{partner}_val_pr_auc"] = float(average_precision_score(pair["hot"], pair["partner"]))
        row[f"blend_{partner}"] = {"gnn_weight": weight, "val_pr_auc": max(r["val_pr_auc"] for r in search)}
    out = Path(args.out)
    document = json.loads(out.read_text()) if out.exists() else {}
    document[args.dataset] = row
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps({args.dataset: row}, indent=2))


if __name__ == "__main__":
    main()
