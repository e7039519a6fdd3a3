"""benchmarks/ablation_pair.py: the 2 x 2 of two techniques from two ablation records, against cells worked by hand."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def row(values: list[float]) -> dict:
    return {"seeds": [0, 1], "val_pr_auc": values}


def records(shared_on_off: list[float]) -> dict[str, dict[str, dict]]:
    """Both on: 0.30 / 0.32 (mean 0.31); on / off 0.34 / 0.36 (0.35); off / on 0.20 / 0.22 (0.21); both off 0.10 / 0.14 (0.12)."""
    return {"both_on": {"full": row([0.30, 0.32]), "no_neighbour_inputs": row([0.34, 0.36]), "whole_graph": row([0.20, 0.22])},
            "both_off": {"full": row([0.10, 0.14]), "with_steps": row(shared_on_off), "with_neighbour_inputs": row([0.20, 0.22])}}


def test_each_cell_is_the_mean_over_seeds_of_the_row_that_holds_it():
    from ablation_pair import cell_means

    means = cell_means(records([0.34, 0.36]))
    assert means == pytest.approx({("on", "on"): 0.31, ("on", "off"): 0.35, ("off", "on"): 0.21, ("off", "off"): 0.12})


def test_a_cell_whose_two_records_disagree_is_refused_and_rerun_noise_is_not():
    from ablation_pair import cell_means

    assert cell_means(records([0.34 + 2e-7, 0.36]))[("on", "off")] == pytest.approx(0.35)
    with pytest.raises(SystemExit, match=r"cell \('on', 'off'\)"):
        cell_means(records([0.34, 0.37]))


def test_the_table_has_a_row_per_cell_and_the_datasets_mean():
    from ablation_pair import cell_means, table

    cells = cell_means(records([0.34, 0.36]))
    lines = table({"realistic": cells, "olist": {k: v + 0.1 for k, v in cells.items()}})
    assert lines[0].endswith("| realistic | Olist | mean |")
    assert lines[2] == "| on / on | 0.3100 | 0.4100 | 0.3600 |"
    assert lines[5] == "| off / off | 0.1200 | 0.2200 | 0.1700 |"
