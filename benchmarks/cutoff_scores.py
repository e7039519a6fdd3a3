"""Twenty-ninth round (docs/rounds.md): do the models lose pooled PR-AUC to scores that shift from cutoff to cutoff?

Every cutoff's label is its own top 5%, so a merchandiser only ever ranks within one cutoff, while the headline pools
the cutoffs' examples into one ranking: a model whose scores rise or fall with a cutoff as a whole is marked down for it.
Each model's validation scores are read as they are and as a within-cutoff transform that removes any such shift (the
percentile of the score in its cutoff, and its logit standardised in its cutoff); nothing is fitted. If the transforms
moved the models with the network inside more than the baselines, the shift would be one thing the network gets wrong.
Reads the headline run's predictions; validation only.

    .venv/bin/python benchmarks/cutoff_scores.py --dataset <name> --out benchmarks/results/cutoff_scores_round29.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from calibration import MODELS  # noqa: E402 - benchmarks/calibration.py: where each learned model's predictions are
from hotseller.logits import logit  # noqa: E402
from hotseller.scoring import is_probability  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script

PREDICTIONS = {**MODELS, "persistence": "baselines/persistence.parquet"}


def as_logit(scores: np.ndarray) -> np.ndarray:
    """Probabilities as logits (ranks unchanged); any other score (persistence's mean units) as it is."""
    return logit(scores) if is_probability(scores) else scores


def within_cutoff(frame: pl.DataFrame) -> pl.DataFrame:
    """The score's percentile in its cutoff (ties averaged) and its logit standardised in its cutoff."""
    z = pl.col("z")
    return frame.with_columns(z=pl.Series(as_logit(frame["score"].to_numpy()))).with_columns(
        percentile=z.rank("average").over("cutoff") / pl.len().over("cutoff"),
        standardised=((z - z.mean().over("cutoff")) / z.std().over("cutoff")).fill_nan(0.0).fill_null(0.0),
    )


def pooled_pr_auc(frame: pl.DataFrame) -> dict[str, float]:
    """PR-AUC of the pooled cutoffs for each reading, and the mean of the cutoffs' own PR-AUCs (no pooling at all)."""
    y = frame["hot"].to_numpy()
    per_cutoff = [average_precision_score(part["hot"], part["z"]) for _, part in frame.group_by("cutoff") if part["hot"].sum()]
    return {"raw": float(average_precision_score(y, frame["z"])),
            "percentile": float(average_precision_score(y, frame["percentile"])),
            "standardised": float(average_precision_score(y, frame["standardised"])),
            "mean_of_cutoffs": float(np.mean(per_cutoff))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    found = {}
    for model, path in PREDICTIONS.items():
        frame = pl.read_parquet(args.results / args.dataset / path).filter(pl.col("split") == "val")
        found[model] = pooled_pr_auc(within_cutoff(frame))
        print(args.dataset, model, " ".join(f"{k} {v:.4f}" for k, v in found[model].items()))
    update_record(args.out, [args.dataset], found)


if __name__ == "__main__":
    main()
