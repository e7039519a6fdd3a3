"""The temporal split: its cutoffs by hand, and the no-leakage check catching a planted leak."""

from __future__ import annotations

import pytest

from hotseller.split import LeakageError, check_no_leakage, choose_cutoffs


def test_choose_cutoffs_by_hand():
    # Cutoffs every 2 weeks, horizon 4: test = 30, val = last c with c + 4 <= 30 -> 26, train c + 4 <= 26 -> <= 22.
    split = choose_cutoffs(list(range(10, 31, 2)), horizon_weeks=4)
    assert split == {"train": [10, 12, 14, 16, 18, 20, 22], "val": [26], "test": [30]}
    assert choose_cutoffs(list(range(10, 31, 2)), 4, max_train_cutoffs=2)["train"] == [20, 22]


def test_several_test_and_validation_cutoffs_by_hand():
    # Cutoffs 10..30 every 2 weeks, horizon 4, 3 test and 2 validation cutoffs:
    # test = 26, 28, 30; validation = the last two c with c + 4 <= 26 -> 20, 22; train c + 4 <= 20 -> 10..16.
    split = choose_cutoffs(list(range(10, 31, 2)), 4, test_cutoffs=3, val_cutoffs=2)
    assert split == {"train": [10, 12, 14, 16], "val": [20, 22], "test": [26, 28, 30]}
    # Stride 4 = horizon: each window ends exactly at the next cutoff, which is allowed.
    assert choose_cutoffs(list(range(11, 100, 4)), 4, test_cutoffs=4, val_cutoffs=2) == {
        "train": list(range(11, 76, 4)), "val": [79, 83], "test": [87, 91, 95, 99]}


def test_every_label_window_ends_before_the_next_split_starts():
    for stride in (1, 2, 3, 5):
        for horizon in (1, 4, 6):
            for n_test, n_val in ((1, 1), (4, 2), (3, 3)):
                cutoffs = list(range(12, 80, stride))
                split = choose_cutoffs(cutoffs, horizon, test_cutoffs=n_test, val_cutoffs=n_val)
                assert len(split["test"]) == n_test and len(split["val"]) == n_val
                assert split["test"] == sorted(cutoffs)[-n_test:]
                assert all(c + horizon <= min(split["val"]) for c in split["train"])
                assert all(c + horizon <= min(split["test"]) for c in split["val"])
                assert not set(split["train"]) & set(split["val"]) and not set(split["val"]) & set(split["test"])
                check_no_leakage(split, horizon)


def test_planted_leak_is_caught():
    with pytest.raises(LeakageError, match=r"training cutoffs \[24\]"):
        check_no_leakage({"train": [20, 24], "val": [26], "test": [30]}, horizon_weeks=4)
    with pytest.raises(LeakageError, match=r"validation cutoffs \[28\]"):
        check_no_leakage({"train": [20], "val": [28], "test": [30]}, horizon_weeks=4)
    # The second validation cutoff's window reaches past the first of several test cutoffs.
    with pytest.raises(LeakageError, match=r"validation cutoffs \[24\] .* first test cutoff 26"):
        check_no_leakage({"train": [12], "val": [20, 24], "test": [26, 28]}, horizon_weeks=4)


def test_too_short_panel_is_a_clear_error():
    with pytest.raises(ValueError, match="too short"):
        choose_cutoffs([10, 12], horizon_weeks=4)
    with pytest.raises(ValueError, match="lower split.test_cutoffs"):
        choose_cutoffs(list(range(10, 31, 2)), horizon_weeks=4, test_cutoffs=10)


def test_a_split_the_data_cannot_hold_is_one_line_at_the_command_line(tiny_training, tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "hotseller.cli", "split", "--examples", str(tiny_training["examples"]),
                             "--out", str(tmp_path / "split.json"), "--test-cutoffs", "50", "--stride-weeks", "4"], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "cannot hold 50 test cutoffs" in errors[0] and "lower split.test_cutoffs" in errors[0]
    assert not (tmp_path / "split.json").exists()


def test_a_finer_training_grid_leaves_validation_and_test_on_the_stride_by_hand():
    # Examples every week 11..99 (train_stride_weeks 1), stride 4, horizon 4, 4 test and 2 validation cutoffs: the
    # evaluation grid counted back from 99 is 99, 95, 91, 87 (test), 83, 79 (validation); training takes every week
    # whose label window ends by 79: 11..75, 65 cutoffs instead of the 17 of the stride-4 grid.
    split = choose_cutoffs(list(range(11, 100)), 4, test_cutoffs=4, val_cutoffs=2, stride_weeks=4)
    assert split == {"train": list(range(11, 76)), "val": [79, 83], "test": [87, 91, 95, 99]}
    check_no_leakage(split, 4)
    # The same grid at stride 4 gives the same validation and test cutoffs, training every 4th week only.
    coarse = choose_cutoffs(list(range(11, 100, 4)), 4, test_cutoffs=4, val_cutoffs=2, stride_weeks=4)
    assert coarse["val"] == split["val"] and coarse["test"] == split["test"] and set(coarse["train"]) < set(split["train"])
    # Every 2nd week from 13: the grid back from 99 is 99, 95, 91, ...; 97 and 93 are in no split (off the stride grid,
    # and too late for training).
    split = choose_cutoffs(list(range(13, 100, 2)), 4, test_cutoffs=2, val_cutoffs=1, stride_weeks=4)
    assert split == {"train": list(range(13, 88, 2)), "val": [91], "test": [95, 99]}


def test_the_training_grid_must_divide_the_stride():
    from hotseller.errors import UserError
    from hotseller.weeks import example_stride

    assert example_stride(4, 0) == 4 and example_stride(4, 1) == 1 and example_stride(4, 2) == 2 and example_stride(4, 4) == 4
    with pytest.raises(UserError, match=r"features.train_stride_weeks=3 must divide features.stride_weeks=4"):
        example_stride(4, 3)


def test_the_model_card_names_a_finer_training_grid_only_when_there_is_one():
    from hotseller.model_card import training_grid

    assert training_grid({"stride_weeks": 4, "train_stride_weeks": 1}) == " (training cutoffs every 1 week: more, overlapping windows)"
    assert training_grid({"stride_weeks": 4, "train_stride_weeks": 2}) == " (training cutoffs every 2 weeks: more, overlapping windows)"
    assert training_grid({"stride_weeks": 4, "train_stride_weeks": 4}) == ""
    assert training_grid({"stride_weeks": 4, "train_stride_weeks": 0}) == "" == training_grid({"stride_weeks": 4})


@pytest.mark.parametrize("empty", ["train", "val"])
def test_a_split_with_no_hot_example_where_choices_are_made_is_refused(tmp_path, empty):
    """No hot example in validation would pick every setting on NaN PR-AUC; none in training leaves nothing to learn."""
    import datetime as dt

    import polars as pl

    from hotseller.errors import UserError
    from hotseller.split import make_split

    cutoffs = list(range(3, 40, 4))  # 10 cutoffs, stride 4, horizon 4: test 1, val 1, the rest training
    rows = [(c, dt.date(2024, 1, 1) + dt.timedelta(weeks=c), int(p == 0)) for c in cutoffs for p in range(5)]
    examples = pl.DataFrame(rows, schema={"cutoff": pl.Int32, "cutoff_week": pl.Date, "hot": pl.Int8}, orient="row")
    split = choose_cutoffs(cutoffs, 4, 0, 1, 1, 4)
    examples = examples.with_columns(hot=pl.when(pl.col("cutoff").is_in(split[empty])).then(0).otherwise(pl.col("hot")).cast(pl.Int8))
    examples.write_parquet(tmp_path / "examples.parquet")
    with pytest.raises(UserError, match=f"the {empty} cutoffs .* hold no hot example"):
        make_split(tmp_path / "examples.parquet", 4, 0, 1, 1, 4)
    examples.with_columns(hot=pl.lit(1, pl.Int8)).write_parquet(tmp_path / "examples.parquet")
    assert make_split(tmp_path / "examples.parquet", 4, 0, 1, 1, 4)["cutoffs"] == split
