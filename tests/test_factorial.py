"""benchmarks/factorial.py: main effects over a fractional factorial of the ablation, against effects worked by hand
and the aliases that the design's defining relation gives."""

from __future__ import annotations

import sys

import pytest
import yaml

from conftest import ROOT
from hotseller.ablation import describe

sys.path.insert(0, str(ROOT / "benchmarks"))

FACTORS = {"with_a": "a=1", "no_b": "b=0", "with_c": "c=1"}


def row(variant: str, changes: str, val: list[float]) -> dict:
    return {"variant": variant, "changes": changes, "seeds": [0, 1, 2], "val_pr_auc": val}


def half_fraction() -> tuple[dict[str, dict], list[str]]:
    """The 2^(3-1) design with c = -ab (so the full model, all three at today's setting, is in it). Validation per
    seed: base 0.30 / 0.31 / 0.32; adding a +0.01; removing b -0.02; adding c +0.003 / +0.004 / +0.005."""
    base = [0.30, 0.31, 0.32]
    c = [0.003, 0.004, 0.005]
    rows = {"full": row("full", "-", base),
            "d_ac": row("d_ac", "a=1, c=1", [x + 0.01 + y for x, y in zip(base, c)]),
            "d_bc": row("d_bc", "b=0, c=1", [x - 0.02 + y for x, y in zip(base, c)]),
            "d_ab": row("d_ab", "a=1, b=0", [x + 0.01 - 0.02 for x in base])}
    rows |= {name: row(name, changes, base) for name, changes in FACTORS.items()}  # the one-at-a-time rows
    return rows, ["full", "d_ac", "d_bc", "d_ab"]


def test_main_effects_are_the_hand_worked_differences_signed_so_that_positive_helps():
    from factorial import levels, main_effect

    rows, design = half_fraction()
    matrix = levels(rows, design, list(FACTORS))
    assert matrix.tolist() == [[-1, -1, -1], [1, -1, 1], [-1, 1, 1], [1, 1, -1]]
    # a: rows with a flipped (d_ac, d_ab) minus the others (full, d_bc): +0.01 every seed.
    assert main_effect(rows, design, matrix[:, 0], adds=True) == pytest.approx((0.01, 0.0), abs=1e-12)
    # b: removing it lowers by 0.02, so the technique's gain is +0.02.
    assert main_effect(rows, design, matrix[:, 1], adds=False) == pytest.approx((0.02, 0.0), abs=1e-12)
    # c: +0.003, +0.004, +0.005 per seed: mean 0.004, se 0.001 / sqrt(3).
    g, se = main_effect(rows, design, matrix[:, 2], adds=True)
    assert g == pytest.approx(0.004) and se == pytest.approx(0.001 / 3 ** 0.5)


def test_a_resolution_three_design_shows_each_main_effect_aliased_with_a_two_technique_interaction():
    from factorial import alias_chains, check_orthogonal, levels

    rows, design = half_fraction()
    matrix = levels(rows, design, list(FACTORS))
    check_orthogonal(matrix, list(FACTORS))
    # Columns a = (-1, 1, -1, 1), b = (-1, -1, 1, 1), c = (-1, 1, 1, -1): ab = -c, ac = -b, bc = -a.
    chains = {frozenset(chain) for chain in alias_chains(matrix, list(FACTORS))}
    assert chains == {frozenset({"with_a", "no_b x with_c"}), frozenset({"no_b", "with_a x with_c"}),
                      frozenset({"with_c", "with_a x no_b"})}


def test_the_round_s_design_is_resolution_four_with_the_chains_of_its_defining_relation():
    # Defining relation I = ABCE = BCDF = ADEF, worked by hand: AB = CE, AC = BE, AD = EF, AE = BC = DF, AF = DE,
    # BD = CF, BF = CD; no main effect in a chain.
    from factorial import alias_chains, check_orthogonal, levels

    singles = yaml.safe_load((ROOT / "config.yaml").read_text())["ablation"]["variants"]
    letters = {"whole_graph": "A", "with_neighbour_inputs": "B", "with_focal": "C", "no_sales": "D", "no_mixup": "E",
               "no_rank": "F"}
    design_yaml = yaml.safe_load((ROOT / "benchmarks" / "ablation_factorial.yaml").read_text())["ablation"]["variants"]
    rows = {name: row(name, describe(singles[name]), [0.0] * 3) for name in letters}
    rows |= {name: row(name, describe(o), [0.0] * 3) for name, o in design_yaml.items()}
    rows["full"] = row("full", "-", [0.0] * 3)
    design = ["full", *design_yaml]
    matrix = levels(rows, design, list(letters))
    assert len(design) == 16 and len({tuple(r) for r in matrix.tolist()}) == 16
    check_orthogonal(matrix, list(letters))
    chains = {frozenset("".join(sorted(letters[t] for t in term.split(" x "))) for term in chain)
              for chain in alias_chains(matrix, list(letters))}
    assert chains == {frozenset(c) for c in [{"AB", "CE"}, {"AC", "BE"}, {"AD", "EF"}, {"AE", "BC", "DF"},
                                             {"AF", "DE"}, {"BD", "CF"}, {"BF", "CD"}]}


def test_a_design_row_that_changes_more_than_its_factors_or_a_confounded_design_is_refused():
    from factorial import check_orthogonal, levels

    rows, design = half_fraction()
    rows["d_ab"]["changes"] = "a=1, b=0, lr=0.1"
    with pytest.raises(SystemExit, match="d_ab"):
        levels(rows, design, list(FACTORS))
    rows, design = half_fraction()
    with pytest.raises(SystemExit, match="not balanced"):
        check_orthogonal(levels(rows, design[:3], list(FACTORS)), list(FACTORS))  # 3 rows: no column sums to 0
    rows["d_bc"]["changes"], rows["d_ab"]["changes"] = "b=0", "a=1, b=0, c=1"  # balanced, but c's column equals a's
    matrix = levels(rows, design, list(FACTORS))
    assert matrix.sum(axis=0).tolist() == [0, 0, 0] and matrix[:, 0].tolist() == matrix[:, 2].tolist()
    with pytest.raises(SystemExit, match="not balanced and orthogonal"):
        check_orthogonal(matrix, list(FACTORS))


def test_factors_that_share_a_setting_or_rows_with_other_seeds_are_refused():
    from factorial import levels, main_effect

    rows, design = half_fraction()
    rows["with_c"]["changes"] = "a=2"
    with pytest.raises(SystemExit, match="with_a and with_c both set a"):
        levels(rows, design, list(FACTORS))
    rows, design = half_fraction()
    rows["d_bc"]["seeds"] = [0, 1, 3]
    with pytest.raises(SystemExit, match="d_bc"):
        main_effect(rows, design, levels(rows, design, list(FACTORS))[:, 0], adds=True)


def test_the_table_signs_each_factor_by_its_name_and_reads_it_with_the_bar():
    from factorial import table

    rows, design = half_fraction()
    # The same records on all three datasets: a (added, +0.01 every seed) helps everywhere; b (removing it costs 0.02)
    # helps everywhere; c (+0.004, se 0.00058, t = 6.9 > 4.30 with 3 seeds) helps too. A technique that is on and helps
    # is kept; one that is off and helps without hurting goes on.
    lines = table({"realistic": rows, "olist": rows, "online_retail": rows}, design, list(FACTORS), level=0.05, floor=0.001)
    body = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in lines[2:5]}
    assert body["with_a"][1].startswith("+0.0100 +- 0.0000") and body["no_b"][1].startswith("+0.0200 +- 0.0000")
    assert body["with_a"][-2] == "**on**" and body["no_b"][-2] == "keep" and body["with_c"][-2] == "**on**"
    assert "realistic, Olist, Online Retail / none" in body["with_c"][4]
    assert lines[-1].startswith("Aliased") and "with_a = no_b x with_c" in lines[-1]


def test_a_setting_whose_value_holds_a_comma_stays_one_setting():
    from factorial import changes

    overrides = {"num_neighbors": [10, 5], "lr": 0.1}
    assert changes({"changes": describe(overrides)}) == {"num_neighbors=[10, 5]", "lr=0.1"}
    assert changes({"changes": "-"}) == set()
