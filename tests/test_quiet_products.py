"""benchmarks/quiet_products.py: the top k split by recent sales, against a fixture counted by hand."""

from __future__ import annotations

import math
import sys

import polars as pl
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_each_cutoffs_top_k_is_its_hot_count_and_is_split_by_recent_sales():
    from quiet_products import top_k_by_quiet

    # Cutoff 1: 2 hot, so its top 2 by score are a (quiet, hot) and b (selling, not hot).
    # Cutoff 2: 1 hot, so its top 1 is f (quiet, not hot); g (selling, hot) is second and outside it.
    scored = pl.DataFrame({
        "cutoff": [1, 1, 1, 1, 2, 2, 2],
        "score": [0.9, 0.8, 0.7, 0.1, 0.6, 0.5, 0.4],
        "hot": [1, 0, 1, 0, 0, 1, 0],
        "units_last_4w": [0.0, 3.0, 5.0, 0.0, 0.0, 2.0, 0.0],
    })
    got = {row["quiet"]: row for row in top_k_by_quiet(scored).iter_rows(named=True)}
    assert (got[True]["top_k"], got[True]["top_k_hot"]) == (2, 1)    # a and f
    assert (got[False]["top_k"], got[False]["top_k_hot"]) == (1, 0)  # b
    assert (got[True]["all"], got[True]["all_hot"]) == (4, 1)        # a, d, f, h
    assert (got[False]["all"], got[False]["all_hot"]) == (3, 2)      # b, c, g


def test_a_group_absent_from_the_top_k_counts_zero_there():
    from quiet_products import top_k_by_quiet

    scored = pl.DataFrame({"cutoff": [1, 1, 1], "score": [0.9, 0.2, 0.1], "hot": [1, 0, 0],
                           "units_last_4w": [4.0, 0.0, 0.0]})
    got = {row["quiet"]: row for row in top_k_by_quiet(scored).iter_rows(named=True)}
    assert (got[True]["top_k"], got[True]["top_k_hot"], got[True]["all"]) == (0, 0, 2)


def test_the_wilson_interval_matches_its_formula():
    from quiet_products import wilson

    hits, n, z = 45, 106, 1.959963984540054
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert wilson(hits, n) == pytest.approx([centre - half, centre + half], rel=1e-9)
    assert wilson(0, 0) == [None, None]
