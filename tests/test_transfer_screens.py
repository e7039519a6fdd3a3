"""benchmarks/shipped_val.py (the forty-second round's diagnostic): a run's validation read from its prediction files.
(transfer_trees.py lays the source's rows out with hotseller.source_rows, tested in test_source_rows.py.)"""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

def test_a_runs_validation_is_read_per_model_and_the_best_with_the_network_picked(tmp_path):
    from shipped_val import FILES, validation

    rng = np.random.default_rng(0)
    hot = rng.integers(0, 2, 200)
    strength = {"gnn": 0.5, "gnn_gbt": 0.2, "blend": 1.0, "logreg_gbt": 0.7}
    for name, file in FILES.items():
        score = hot * strength[name] + rng.random(200)
        split = np.where(np.arange(200) < 120, "val", "test")
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"split": split, "score": score, "hot": hot}).write_parquet(tmp_path / file)
    row = validation(tmp_path)
    for name, file in FILES.items():
        val = pl.read_parquet(tmp_path / file).filter(pl.col("split") == "val")
        assert row["val_pr_auc"][name] == average_precision_score(val["hot"], val["score"])
    best = max(("gnn", "gnn_gbt", "blend"), key=row["val_pr_auc"].get)
    assert row["best_with_network"] == best == "blend"
    assert row["margin_over_logreg_gbt"] == row["val_pr_auc"]["blend"] - row["val_pr_auc"]["logreg_gbt"]
