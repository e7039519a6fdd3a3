"""The trees' side of transfer (forty-second round): does the baseline GBT gain from another market's training rows as
the network gained from that market's weights? The GBT is tuned as the baselines stage tunes it (its grid, at the
recency half-life the run kept), once on the target's training rows (which reproduces the run's own GBT) and once on
those plus the source market's training rows, then blended with the run's logistic regression as `logreg_gbt` is.
Validation only.

Columns: the source rows fill what the two markets share (the weekly sequence, age, cumulative units and reviews,
rating to date, the graph aggregates per relation group); the target's own attributes and category are missing
(NaN, which the trees route on their own) for them, and one more column says which market a row is from. Weights:
the target's rows keep the run's recency weights (mean 1 over them); each source row weighs 1, as a target row of
mean age does (no recency among the source's own cutoffs: they are another market's past, not the target's).

    .venv/bin/python benchmarks/transfer_trees.py --target results/olist --source results/realistic_draw8 --out <record>
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.baselines import BASELINE_BLEND_WEIGHTS, blend_weight, fit_weights, logit_blend, tune_gbt  # noqa: E402
from hotseller.design import design  # noqa: E402
from hotseller.source_rows import in_target_columns, layout  # noqa: E402
from hotseller.split import load_split  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script


def market(run: Path) -> dict:
    """A finished run's design matrix (hotseller.design) with its layout (sequence width, statics), labels, cutoffs and
    split."""
    examples = pl.read_parquet(run / "features/examples.parquet")
    X, n_tabular, _ = design(examples, pl.scan_parquet(run / "graph/edges.parquet"))
    split = load_split(run / "split/split.json")
    cutoffs = examples["cutoff"].to_numpy()
    return {"X": X, "layout": layout(examples, n_tabular), "y": examples["hot"].to_numpy(), "cutoffs": cutoffs,
            "masks": {name: np.isin(cutoffs, cs) for name, cs in split.items()}}


def as_target(source: dict, target: dict) -> np.ndarray:
    """The source's rows in the target's columns (hotseller.source_rows, as the baselines stage offers them)."""
    return in_target_columns(source["X"], source["layout"], target["layout"], target["X"].shape[1])


def screen(target_run: Path, source_run: Path, seed: int) -> dict:
    target, source = market(target_run), market(source_run)
    kept = json.loads((target_run / "baselines/gbt_search.json").read_text())["training"]["recency_half_life"]
    fit, val = target["masks"]["train"], target["masks"]["val"]
    X_fit, y_fit, w_fit = target["X"][fit], target["y"][fit], fit_weights(target["cutoffs"][fit], kept)
    X_src = as_target(source, target)[source["masks"]["train"]]
    flag = lambda n, v: np.full((n, 1), v, dtype=np.float32)  # noqa: E731 - which market a row is from
    pooled_X = np.vstack([np.hstack([X_fit, flag(len(X_fit), 0)]), np.hstack([X_src, flag(len(X_src), 1)])])
    pooled_y = np.concatenate([y_fit, source["y"][source["masks"]["train"]]])
    pooled_w = None if w_fit is None else np.concatenate([w_fit, np.ones(len(X_src))])
    X_val, y_val = target["X"][val], target["y"][val]
    logreg = pl.read_parquet(target_run / "baselines/logreg.parquet").filter(pl.col("split") == "val")["score"].to_numpy()
    row = {"recency_half_life": kept, "source_rows": int(len(X_src)), "target_rows": int(len(X_fit))}
    for arm, (X, y, w, Xv) in {"target": (X_fit, y_fit, w_fit, X_val),
                               "with_source": (pooled_X, pooled_y, pooled_w, np.hstack([X_val, flag(len(X_val), 0)]))}.items():
        model, params, ap, _ = tune_gbt(X, y, Xv, y_val, seed, name=arm, weight=w)
        gbt = model.predict_proba(Xv)[:, 1]
        mix, _ = blend_weight(logreg, gbt, y_val, BASELINE_BLEND_WEIGHTS)
        row[arm] = {"gbt_params": params, "gbt_val_pr_auc": ap, "logreg_weight": mix,
                    "logreg_gbt_val_pr_auc": float(average_precision_score(y_val, logit_blend(logreg, gbt, mix)))}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads):
        row = screen(args.target, args.source, args.seed)
    update_record(Path(args.out), [args.target.name], row)
    print(args.target.name, {arm: (round(row[arm]["gbt_val_pr_auc"], 4), round(row[arm]["logreg_gbt_val_pr_auc"], 4)) for arm in ("target", "with_source")})


if __name__ == "__main__":
    main()
