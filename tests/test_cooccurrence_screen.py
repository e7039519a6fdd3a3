"""benchmarks/cooccurrence.py (the seventeenth round's screen): event partners weighted, and ranked by cosine."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_cutoff_columns_match_a_hand_worked_graph():
    from cooccurrence import cutoff_columns, directed_events

    # Pair (0, 1) is linked by two event kinds, 2 + 1 = 3; (0, 2) 1; (2, 3) 1; (5, 6) and (5, 7) 1 each. The category
    # ring edge (1, 3) is not an event. Summed weights d: 0: 4, 1: 3, 2: 2, 3: 1, 5: 2, 6: 1, 7: 1. Cosines w/sqrt(d d):
    # 0-1 3/sqrt(12) = 0.87, 0-2 1/sqrt(8) = 0.35, 2-3 1/sqrt(2) = 0.71, 5-6 = 5-7 = 0.71 (a tie: the lower index).
    cut = pl.DataFrame({
        "src": [0, 0, 0, 2, 1, 5, 5], "dst": [1, 1, 2, 3, 3, 6, 7],
        "kind": ["co_purchase", "co_review", "co_purchase", "co_purchase", "category", "co_purchase", "co_purchase"],
        "weight": [2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    })
    recent = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    part = pl.DataFrame({"product_idx": [3, 0, 1, 2, 4, 5, 6, 7], "recent": [recent[i] for i in (3, 0, 1, 2, 4, 5, 6, 7)]})
    part = part.with_columns(growth=pl.col("recent") / 10)
    got = cutoff_columns(directed_events(cut), part, k=1)
    # columns: log1p d, w-weighted mean recent, growth; top-1 cosine partner's count, recent, growth
    expected = {
        3: [np.log1p(1), 3.0, 0.3, 1, 3.0, 0.3],
        0: [np.log1p(4), (3 * 2 + 1 * 3) / 4, (3 * 0.2 + 1 * 0.3) / 4, 1, 2.0, 0.2],
        1: [np.log1p(3), 1.0, 0.1, 1, 1.0, 0.1],
        2: [np.log1p(2), (1 + 4) / 2, (0.1 + 0.4) / 2, 1, 4.0, 0.4],
        4: [0, 0, 0, 0, 0, 0],
        5: [np.log1p(2), (7 + 8) / 2, (0.7 + 0.8) / 2, 1, 7.0, 0.7],
        6: [np.log1p(1), 6.0, 0.6, 1, 6.0, 0.6],
        7: [np.log1p(1), 6.0, 0.6, 1, 6.0, 0.6],
    }
    np.testing.assert_allclose(got, [expected[p] for p in part["product_idx"]], rtol=1e-6, atol=1e-6)
    both = cutoff_columns(directed_events(cut), part, k=2)
    assert both[3, 3:].tolist() == [2.0, 2.5, np.float32(0.25)]  # product 2 keeps both partners at k = 2
