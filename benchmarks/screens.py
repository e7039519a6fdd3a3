"""What the trees-first screens share (benchmarks/aggregates.py, descriptions.py, customers.py, cooccurrence.py,
embeddings.py): a dataset's workflow outputs as the baselines stage reads them, and one arm's fit, the GBT's validation
search (baselines.tune_gbt) and its blend with the workflow's own logistic regression, chosen on validation as the
baselines stage chooses it; the arms run one after another into one record."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.baselines import BASELINE_BLEND_WEIGHTS, blend_weight, training_rows, tune_gbt  # noqa: E402
from hotseller.features import SEQ_CHANNELS, recent_units  # noqa: E402
from hotseller.split import load_split  # noqa: E402


@dataclass
class Screen:
    """One dataset's examples, labels, split masks, sampled training rows, edges and shipped logistic regression."""

    data: Path
    examples: pl.DataFrame
    y: np.ndarray
    masks: dict[str, np.ndarray]
    rows: np.ndarray
    edges: pl.LazyFrame
    logreg: np.ndarray  # its validation scores, in the order of the validation examples


def shipped_logreg(data: Path, val: pl.DataFrame) -> np.ndarray:
    """The workflow's logistic regression's validation scores in `val`'s row order (it reads no graph input, so
    every arm's `logreg_gbt` blends the same scores with its own GBT, as the baselines stage does)."""
    keys = ["cutoff", "product_id"]
    scores = val.select(keys).join(pl.read_parquet(data / "baselines/logreg.parquet").filter(pl.col("split") == "val"), on=keys,
                                   how="left", maintain_order="left")
    if scores["score"].null_count():
        raise SystemExit(f"{data}/baselines/logreg.parquet lacks validation examples: rerun the workflow's baselines stage")
    return scores["score"].to_numpy()


def load_screen(dataset: str, max_train_rows: int = 2_000_000) -> Screen:
    """results/<dataset> after the workflow's baselines stage, as that stage reads it (its training-row sample, seed 0)."""
    data = Path("results") / dataset
    split = load_split(data / "split/split.json")
    examples = pl.read_parquet(data / "features/examples.parquet")
    masks = {name: examples["cutoff"].is_in(cutoffs).to_numpy() for name, cutoffs in split.items()}
    return Screen(data, examples, examples["hot"].to_numpy(), masks, training_rows(masks["train"], max_train_rows, 0),
                  pl.scan_parquet(data / "graph/edges.parquet"), shipped_logreg(data, examples.filter(pl.Series(masks["val"]))))


def fit_arm(screen: Screen, X: np.ndarray) -> dict:
    """The GBT's search on features X and its `logreg_gbt` blend: validation PR-AUC of each, the settings and share chosen."""
    started = time.perf_counter()
    val = screen.masks["val"]
    model, params, val_ap, _ = tune_gbt(X[screen.rows], screen.y[screen.rows], X[val], screen.y[val], 0)
    weight, search = blend_weight(screen.logreg, model.predict_proba(X[val])[:, 1], screen.y[val], BASELINE_BLEND_WEIGHTS)
    blend_ap = next(r["val_pr_auc"] for r in search if r["weight"] == weight)
    return {"val_pr_auc": val_ap, "chosen": params, "logreg_gbt_val_pr_auc": blend_ap, "logreg_weight": weight,
            "features": int(X.shape[1]), "seconds": round(time.perf_counter() - started, 1)}


def recent_levels(screen: Screen) -> tuple[np.ndarray, np.ndarray]:
    """Each example's recent level and growth, as the trees' graph aggregates read its neighbours'."""
    examples = screen.examples
    return recent_units(examples["seq"].to_numpy().reshape(examples.height, -1, len(SEQ_CHANNELS)))


def run_arms(screen: Screen, X: np.ndarray, extra: dict[str, list[np.ndarray]], document: dict, out: str | Path) -> None:
    """fit_arm on X plus each arm's extra columns, each printed as it ends, all written into `document` at `out`."""
    for arm, columns in extra.items():
        document[arm] = fit_arm(screen, np.hstack([X, *columns]))
        print(arm, json.dumps(document[arm]), flush=True)
    Path(out).write_text(json.dumps(document, indent=2) + "\n")
