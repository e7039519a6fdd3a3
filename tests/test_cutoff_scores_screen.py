"""benchmarks/cutoff_scores.py (the twenty-ninth round's screen): scores read within their cutoff."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_a_shift_between_cutoffs_costs_pooled_pr_auc_and_the_within_cutoff_readings_undo_it():
    from cutoff_scores import pooled_pr_auc, within_cutoff

    # Each cutoff ranks its one hot product first, but cutoff 2's scores all sit above cutoff 1's. Pooled, the order is
    # 0.8 (hot), 0.7, 0.6, 0.3 (hot), ...: PR-AUC (1/1 + 2/4) / 2 = 0.75. Within their cutoffs both hot products are on
    # top (percentile 1; standardised logit 0.93 and 1.03, above every cold product's): 1.0, as is each cutoff's own.
    frame = pl.DataFrame({"cutoff": [1, 1, 1, 2, 2, 2], "score": [0.1, 0.2, 0.3, 0.6, 0.7, 0.8], "hot": [0, 0, 1, 0, 0, 1]})
    got = pooled_pr_auc(within_cutoff(frame))
    assert got == pytest.approx({"raw": 0.75, "percentile": 1.0, "standardised": 1.0, "mean_of_cutoffs": 1.0})


def test_scores_that_are_not_probabilities_are_ranked_as_they_are():
    from cutoff_scores import as_logit

    units = np.array([0.0, 3.5, 12.0])  # persistence: mean units, not a probability
    assert as_logit(units).tolist() == units.tolist()
    assert as_logit(np.array([0.5, 0.8])) == pytest.approx([0.0, np.log(4.0)])
