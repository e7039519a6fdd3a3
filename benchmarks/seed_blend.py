"""Validation PR-AUC of a variants screen's seeds as one ensemble (mean logit) and of its best blend with the baselines,
chosen as the hybrid stage chooses (hybrid.choose_blend): what the pipeline's champion would be on validation, without a
full run. Reads benchmarks/variants.py's work folder and results/<dataset>/baselines/; validation only.

    .venv/bin/python benchmarks/seed_blend.py --dataset online_retail_s1 --variant defaults --seeds 3 --out <file>

--runs averages finished workflow runs instead (their train folders' ensembles, e.g. the headline's and
benchmarks/seeds.yaml's: 3 runs of 3 networks make an ensemble of 9).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import polars as pl
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.hybrid import BLEND_PARTNERS, choose_blend  # noqa: E402
from hotseller.logits import mean_logit, sigmoid  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script
from variants import seed_frames  # noqa: E402 - benchmarks/variants.py, beside this script


def seed_ensemble(run_dirs: list[Path]) -> pl.DataFrame:
    """The seeds' validation predictions as one ensemble (their logits averaged, logits.mean_logit) in the blend's score column."""
    frames = seed_frames(dict(enumerate(run_dirs)))
    first = next(iter(frames.values()))
    averaged = mean_logit([f["score"].to_numpy() for f in frames.values()])
    return first.select("cutoff", "product_id", "hot").with_columns(gnn_score=pl.Series(sigmoid(averaged)))


def main() -> None:
    """One record: the seeds' ensemble, each partner and the best blend on validation, added to --out."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", default="/tmp/variants")
    parser.add_argument("--baselines", help="the baselines' folder (default results/<dataset>/baselines; a screen on derived "
                        "inputs, e.g. benchmarks/boosted.py's, names its source dataset's)")
    parser.add_argument("--runs", nargs="+", type=Path, help="train folders of finished runs to average instead of the screen's seeds")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    baselines = Path(args.baselines or Path("results") / args.dataset / "baselines")
    val = seed_ensemble(args.runs or [Path(args.work) / args.dataset / args.variant / f"seed{s}" for s in range(args.seeds)])
    for name in BLEND_PARTNERS:
        scores = pl.read_parquet(baselines / f"{name}.parquet").filter(pl.col("split") == "val")
        joined = val.join(scores.select("cutoff", "product_id", pl.col("score").alias(name)), on=["cutoff", "product_id"], how="inner",
                           maintain_order="left")
        if joined.height != val.height or scores.height != val.height:
            raise SystemExit(f"{name}'s validation examples differ from the screen's: rebuild {baselines} with its split")
        val = joined
    partner, weight, search = choose_blend(val)
    y = val["hot"].to_numpy()
    row = {**({"runs": [str(r) for r in args.runs]} if args.runs else {"seeds": args.seeds}), "gnn_ensemble": float(average_precision_score(y, val["gnn_score"])),
           **{name: float(average_precision_score(y, val[name])) for name in BLEND_PARTNERS},
           "blend": {"partner": partner, "gnn_weight": weight,
                     "val_pr_auc": next(r["val_pr_auc"] for r in search[partner] if r["weight"] == weight)}}
    update_record(Path(args.out), [args.dataset, args.variant], row)
    print(json.dumps({args.dataset: {args.variant: row}}))


if __name__ == "__main__":
    main()
