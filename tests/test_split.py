"""The temporal split: its cutoffs by hand, and the no-leakage check catching a planted leak."""

from __future__ import annotations

import pytest

from hotseller.split import LeakageError, check_no_leakage, choose_cutoffs


def test_choose_cutoffs_by_hand():
    # Cutoffs every 2 weeks, horizon 4: test = 30, val = last c with c + 4 <= 30 -> 26, train c + 4 <= 26 -> <= 22.
    split = choose_cutoffs(list(range(10, 31, 2)), horizon_weeks=4)
    assert split == {"train": [10, 12, 14, 16, 18, 20, 22], "val": [26], "test": [30]}
    assert choose_cutoffs(list(range(10, 31, 2)), 4, max_train_cutoffs=2)["train"] == [20, 22]


def test_every_label_window_ends_before_the_next_split_starts():
    for stride in (1, 2, 3, 5):
        for horizon in (1, 4, 6):
            cutoffs = list(range(12, 80, stride))
            split = choose_cutoffs(cutoffs, horizon)
            val, test = split["val"][0], split["test"][0]
            assert all(c + horizon <= val for c in split["train"])
            assert val + horizon <= test
            assert not set(split["train"]) & {val, test}
            check_no_leakage(split, horizon)


def test_planted_leak_is_caught():
    with pytest.raises(LeakageError, match=r"training cutoffs \[24\]"):
        check_no_leakage({"train": [20, 24], "val": [26], "test": [30]}, horizon_weeks=4)
    with pytest.raises(LeakageError, match="validation cutoff 28"):
        check_no_leakage({"train": [20], "val": [28], "test": [30]}, horizon_weeks=4)


def test_too_short_panel_is_a_clear_error():
    with pytest.raises(ValueError, match="too short"):
        choose_cutoffs([10, 12], horizon_weeks=4)
