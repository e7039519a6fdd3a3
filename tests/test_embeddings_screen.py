"""benchmarks/embeddings.py (the seventeenth round's second screen): the training cutoffs cut in time."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_time_blocks_leave_the_horizon_between_early_labels_and_late_examples():
    from embeddings import time_blocks

    # Worked by hand. Fifteen 4-weekly cutoffs 11..67: the late third is 51..67; an early label window (t, t + 4]
    # must end by week 51, so the early block is 11..47. Fifteen weekly cutoffs 11..25: late 21..25, early 11..17.
    four_weekly = list(range(11, 68, 4))
    assert time_blocks(four_weekly, 4) == (list(range(11, 48, 4)), list(range(51, 68, 4)))
    assert time_blocks(list(range(25, 10, -1)), 4) == (list(range(11, 18)), list(range(21, 26)))  # any order in
    with pytest.raises(SystemExit, match="no early block"):
        time_blocks([10, 11, 12], 4)
