"""Calibration: a temperature alone (Guo et al. 2017) against a temperature and a bias (Platt scaling on the logit),
judged on validation only: each is fitted on the earlier half of the validation cutoffs and scored on the later half
(ECE with 15 equal-width bins, log loss). Reads the headline run's results/<dataset>/{train,baselines,hybrid} predictions.

    .venv/bin/python benchmarks/calibration.py --dataset <name> --out benchmarks/results/calibration.json
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import polars as pl
from scipy.optimize import minimize_scalar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.logits import logit, sigmoid  # noqa: E402
from hotseller.scoring import expected_calibration_error, fit_calibration, is_probability  # noqa: E402
from hotseller.settings import HEURISTICS  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script

MODELS = {"gnn": "train/predictions.parquet", "logreg": "baselines/logreg.parquet", "gbt": "baselines/gbt.parquet",
          "logreg_gbt": "baselines/logreg_gbt.parquet", "gnn_gbt": "hybrid/gnn_gbt.parquet", "blend": "hybrid/blend.parquet"}


def temperature_alone(labels: np.ndarray, probs: np.ndarray) -> float:
    """The temperature minimising the log loss of sigmoid(logit(p) / T), T in [0.01, 100] (what evaluate fitted before)."""
    z, y = logit(probs), labels.astype(np.float64)

    def log_loss(log_t: float) -> float:
        scaled = z / math.exp(log_t)
        return float(np.mean(np.logaddexp(0.0, scaled) - y * scaled))

    return math.exp(minimize_scalar(log_loss, bounds=(math.log(0.01), math.log(100.0)), method="bounded").x)


def log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    p = np.clip(probs, 1e-12, 1 - 1e-12)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def compare(frame: pl.DataFrame) -> dict:
    """Both calibrations fitted on the earlier validation cutoffs and scored on the later ones."""
    val = frame.filter(pl.col("split") == "val")
    cutoffs = sorted(val["cutoff"].unique().to_list())
    if len(cutoffs) < 2:
        raise SystemExit(f"calibration.py: {len(cutoffs)} validation cutoff(s); the comparison needs two or more (split.val_cutoffs)")
    early, late = (val.filter(pl.col("cutoff").is_in(part)) for part in (cutoffs[: len(cutoffs) // 2], cutoffs[len(cutoffs) // 2:]))
    y_fit, p_fit = early["hot"].to_numpy(), early["score"].to_numpy().astype(np.float64)
    y, p = late["hot"].to_numpy(), late["score"].to_numpy().astype(np.float64)
    t = temperature_alone(y_fit, p_fit)
    platt = fit_calibration(y_fit, p_fit)
    scaled = {"as_predicted": p, "temperature": sigmoid(logit(p) / t), "platt": platt(p)}
    return {"fitted_on_cutoffs": cutoffs[: len(cutoffs) // 2], "scored_on_cutoffs": cutoffs[len(cutoffs) // 2:],
            "temperature_alone": t, "platt_fit": {"temperature": platt.temperature, "bias": platt.bias},
            **{name: {"ece": float(expected_calibration_error(y, q)), "log_loss": log_loss(y, q)} for name, q in scaled.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = {}
    for name, path in MODELS.items():
        frame = pl.read_parquet(args.results / args.dataset / path)
        if name in HEURISTICS or not is_probability(frame["score"].to_numpy()):
            continue
        rows[name] = compare(frame)
        r = rows[name]
        print(f"{args.dataset:14s} {name:11s} later-validation ECE: temperature {r['temperature']['ece']:.4f}, "
              f"Platt {r['platt']['ece']:.4f}; log loss {r['temperature']['log_loss']:.4f}, {r['platt']['log_loss']:.4f}")
    update_record(args.out, [args.dataset], rows)


if __name__ == "__main__":
    main()
