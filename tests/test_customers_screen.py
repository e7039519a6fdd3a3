"""benchmarks/customers.py (the sixteenth round's second screen): customer-side features, worked by hand."""

from __future__ import annotations

import math
import sys

import numpy as np
import polars as pl

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_customer_features_by_hand():
    from customers import customer_features

    lines = pl.DataFrame(
        {
            "customer": ["A", "A", "A", "B", "B", "C"],
            "product_id": ["P1", "P1", "P3", "P1", "P2", "P1"],
            "t": [0, 5, 4, 5, 1, 6],  # C's line is after every cutoff below: it must count nowhere
        },
        schema_overrides={"t": pl.Int32},
    )
    keys = pl.DataFrame({"product_id": ["P1", "P2", "P4", "P1"], "cutoff": [5, 5, 5, 1]})
    got = customer_features(lines, keys)
    log = math.log
    # At cutoff 5 the recent weeks are 2..5, the 4 before them -2..1. A has 2 lines now (t 4, 5) and 1 before (t 0);
    # B 1 now (t 5) and 1 before (t 1). P1's buyers A and B are both recent, and only A bought it before week 2.
    expected = [
        [log(3), 1 / 2, (log(3) + log(2)) / 2, ((log(3) - log(2)) + 0.0) / 2],
        [0.0, 0.0, log(2), 0.0],  # P2: bought by B at t 1 only, not recently
        [0.0, 0.0, 0.0, 0.0],  # P4: never bought
        # At cutoff 1 (recent weeks -2..1): only A's line at t 0; nobody bought P1 before it; A went from 0 lines to 1.
        [log(2), 0.0, log(2), log(2)],
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
