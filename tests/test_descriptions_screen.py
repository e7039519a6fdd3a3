"""benchmarks/descriptions.py (the sixteenth round's screen): neighbours by description and their aggregates."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_nearest_ranks_by_cosine_and_never_picks_itself():
    from descriptions import nearest

    # Worked by hand: row 1 is 10x row 0 (cosine 1); row 2 at 45 degrees has cosine 0.71 to both and 0.83 to row 3,
    # (0.2, 1), whose cosine to rows 0 and 1 is 0.20; ties go to the lower index.
    vectors = np.array([[1.0, 0.0], [10.0, 0.0], [1.0, 1.0], [0.2, 1.0]])
    assert nearest(vectors, 2).tolist() == [[1, 2], [0, 2], [3, 0], [2, 0]]


def test_knn_aggregates_match_a_loop_over_the_examples():
    from descriptions import knn_aggregates

    rng = np.random.default_rng(3)
    n_products, k = 12, 3
    neighbours = np.stack([rng.choice(np.delete(np.arange(n_products), i), k, replace=False) for i in range(n_products)])
    rows = [(t, p) for t in (5, 9) for p in rng.choice(n_products, 8, replace=False)]  # 8 listed products a cutoff
    examples = pl.DataFrame({"cutoff": [t for t, _ in rows], "product_idx": [int(p) for _, p in rows]})
    recent, growth = rng.normal(size=len(rows)), rng.normal(size=len(rows))
    got = knn_aggregates(examples, neighbours, recent, growth)
    for i, (t, p) in enumerate(rows):
        at_cutoff = {q: j for j, (u, q) in enumerate(rows) if u == t}
        listed = [at_cutoff[q] for q in neighbours[p] if q in at_cutoff]
        expected = [len(listed), np.mean(recent[listed]) if listed else 0.0, np.mean(growth[listed]) if listed else 0.0]
        np.testing.assert_allclose(got[i], expected, rtol=1e-6, atol=1e-6)
