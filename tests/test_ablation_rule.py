"""benchmarks/ablation_rule.py: the noise bar's reading of ablation records, against gains worked by hand."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def row(variant: str, val: list[float], averaged: float = 0.0) -> dict:
    return {"variant": variant, "seeds": [0, 1, 2], "val_pr_auc": val, "val_pr_auc_mean": sum(val) / 3,
            "val_pr_auc_averaged": averaged, "difference": 0.0, "difference_ci": [-0.01, 0.01],
            "identical_to_full": False}


def test_gain_is_the_paired_mean_signed_for_the_technique_with_its_standard_error():
    from ablation_rule import gain

    full = row("full", [0.30, 0.31, 0.32])
    # Adding: differences +0.001, -0.001, +0.001; mean 1/3000, sd 0.0011547, se 0.0011547 / sqrt(3) = 0.00066667.
    g, se = gain(full, row("with_z", [0.301, 0.309, 0.321]), adds=True)
    assert g == pytest.approx(0.001 / 3) and se == pytest.approx(0.00066667, rel=1e-4)
    # Removing lowers every seed by 0.01, so the technique's gain is +0.01 and the differences do not vary.
    g, se = gain(full, row("no_x", [0.29, 0.30, 0.31]), adds=False)
    assert g == pytest.approx(0.01) and se == pytest.approx(0.0, abs=1e-12)


def test_the_noise_bar_and_the_standing_rule_read_the_same_records():
    from ablation_rule import table

    one = {"full": row("full", [0.30, 0.31, 0.32]),
           "no_x": row("no_x", [0.29, 0.30, 0.31]),          # technique helps beyond noise: keep
           "no_y": row("no_y", [0.31, 0.32, 0.33]),          # removing it helps beyond noise: drop (standing rule too)
           "with_z": row("with_z", [0.301, 0.309, 0.321])}   # +0.0003, se 0.0007: stays off; the standing rule: on
    lines = table({"realistic": one, "olist": one, "online_retail": one})
    decisions = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[-2:] for line in lines[3:]}
    assert decisions == {"no_x": ["keep", "keep |"], "no_y": ["**drop**", "drop |"], "with_z": ["stays off", "on |"]}
    assert "| the full model: mean validation PR-AUC (seeds 0-2) | 0.3100 | 0.3100 | 0.3100 | | | |" == lines[2]


def test_a_floor_stops_a_tiny_but_steady_gain_from_counting():
    from ablation_rule import table

    # Removing lowers every seed by 0.0004 (g +0.0004, se 0): beyond 2 se, but below a 0.001 floor.
    one = {"full": row("full", [0.30, 0.31, 0.32]), "no_t": row("no_t", [0.2996, 0.3096, 0.3196]),
           "with_u": row("with_u", [0.2985, 0.3085, 0.3185])}   # adding lowers by 0.0015: hurts past the floor too
    without, floored = (table({"realistic": one, "olist": one, "online_retail": one}, floor=f) for f in (0.0, 0.001))
    assert without[3].split(" | ")[-3:-1] == ["realistic, Olist, Online Retail / none", "keep"]
    assert floored[3].split(" | ")[-3:-1] == ["none / none", "keep (no measurable effect)"]
    assert floored[4].split(" | ")[-3:-1] == ["none / realistic, Olist, Online Retail", "stays off"]
    assert "beyond 2 se and 0.001" in floored[0] and "beyond 2 se)" in without[0]


def test_the_shipped_form_reads_the_averaged_logits_with_the_floor_as_its_bar():
    from ablation_rule import gain, table

    full = row("full", [0.30, 0.31, 0.32], averaged=0.320)
    # Removing the technique: the averaged logits fall from 0.320 to 0.3185, so its gain is +0.0015 (se 0: one figure),
    # though the single networks' differences (+0.01, -0.01, +0.01) are within noise.
    no_t = row("no_t", [0.29, 0.32, 0.31], averaged=0.3185)
    assert gain(full, no_t, adds=False, averaged=True) == pytest.approx((0.0015, 0.0))
    with_u = row("with_u", [0.30, 0.31, 0.32], averaged=0.3205)   # adding: +0.0005, below the floor
    one = {"full": full, "no_t": no_t, "with_u": with_u}
    shipped = table({"realistic": one, "olist": one, "online_retail": one}, floor=0.001, averaged=True)
    single = table({"realistic": one, "olist": one, "online_retail": one}, floor=0.001)
    assert shipped[2] == "| the full model: validation PR-AUC of the averaged logits (seeds 0-2) | 0.3200 | 0.3200 | 0.3200 | | | |"
    assert shipped[3].split(" | ")[-3:-1] == ["realistic, Olist, Online Retail / none", "keep"]
    assert single[3].split(" | ")[-3:-1] == ["none / none", "keep (no measurable effect)"]
    assert shipped[4].split(" | ")[-3:-1] == ["none / none", "stays off"]


def test_the_t_bar_is_students_critical_value_and_stops_a_three_se_gain_of_three_seeds():
    from ablation_rule import bar, table

    # Printed t tables: t(0.975, 2 df) = 4.303, t(0.975, 4 df) = 2.776; without a level the bar is 2 se.
    assert bar(3, 0.05) == pytest.approx(4.303, abs=5e-4) and bar(5, 0.05) == pytest.approx(2.776, abs=5e-4)
    assert bar(3, None) == 2.0
    # Removing lowers the seeds by 0.001, 0.004, 0.004: g = 0.003, sd = sqrt((4 + 1 + 1) e-6 / 2) = 0.0017321,
    # se = 0.001, so g / se = 3: past 2 se (and the 0.001 floor), short of 4.303 se.
    one = {"full": row("full", [0.30, 0.31, 0.32]), "no_t": row("no_t", [0.299, 0.306, 0.316])}
    two_se, t_bar = (table({"realistic": one, "olist": one, "online_retail": one}, floor=0.001, level=lv)
                     for lv in (None, 0.05))
    assert two_se[3].split(" | ")[-3:-1] == ["realistic, Olist, Online Retail / none", "keep"]
    assert t_bar[3].split(" | ")[-3:-1] == ["none / none", "keep (no measurable effect)"]
    assert "beyond 4.30 se (t, 0.05 two-sided) and 0.001" in t_bar[0]


def five(variant: str, val: list[float]) -> dict:
    return row(variant, val) | {"seeds": [0, 1, 2, 3, 4], "val_pr_auc_mean": sum(val) / 5}


FULL5 = [0.30, 0.31, 0.32, 0.33, 0.34]


def test_equivalence_is_two_one_sided_t_tests_as_scipy_reads_them():
    from scipy import stats

    from ablation_rule import equivalent

    # Paired differences worked by hand: mean 0, sd sqrt((4 + 1 + 0 + 1 + 4) e-8 / 4) = 1.5811e-4, se 7.0711e-5;
    # t(0.95, 4 df) = 2.1318, so the 90% interval is +-1.5075e-4: inside +-0.001, outside +-0.0001.
    null = [0.0002, -0.0001, 0.0, 0.0001, -0.0002]
    se = 1.5811e-4 / 5 ** 0.5
    assert equivalent(0.0, se, 5, 0.001, 0.05) and not equivalent(0.0, se, 5, 0.0001, 0.05)
    # The reference: both one-sided tests of scipy reject (p < 0.05) exactly when the interval lies inside the margin.
    for diffs, margin in [(null, 0.001), (null, 0.0001), ([0.002, -0.002, 0.001, -0.001, 0.0], 0.001),
                          ([0.0005, 0.0004, 0.0006, 0.0005, 0.0005], 0.001)]:
        mean = sum(diffs) / 5
        sd = (sum((d - mean) ** 2 for d in diffs) / 4) ** 0.5
        lower = stats.ttest_1samp(diffs, -margin, alternative="greater").pvalue
        upper = stats.ttest_1samp(diffs, margin, alternative="less").pvalue
        assert equivalent(mean, sd / 5 ** 0.5, 5, margin, 0.05) == (max(lower, upper) < 0.05)


def test_an_on_technique_drops_only_when_shown_to_do_nothing_on_every_dataset():
    from ablation_rule import table

    quiet = five("no_q", [v + d for v, d in zip(FULL5, [0.0002, -0.0001, 0.0, 0.0001, -0.0002])])   # within +-0.00015
    noisy = five("no_q", [v + d for v, d in zip(FULL5, [0.002, -0.002, 0.001, -0.001, 0.0])])        # +-0.0015: unknown
    added = five("with_a", [v + d for v, d in zip(FULL5, [0.0002, -0.0001, 0.0, 0.0001, -0.0002])])
    quiet_everywhere = {n: {"full": five("full", FULL5), "no_q": quiet, "with_a": added}
                        for n in ("realistic", "olist", "online_retail")}
    lines = table(quiet_everywhere, floor=0.001, level=0.05, equivalence=0.001)
    assert "no effect (within +-0.001, two one-sided t tests at 0.05)" in lines[0] and lines[1].count("---") == 8 == lines[0].count(" | ") + 1
    assert lines[3].split(" | ")[-3:] == ["**drop (no effect)**", "drop", "realistic, Olist, Online Retail |"]
    assert lines[4].split(" | ")[-3:] == ["stays off", "off", "realistic, Olist, Online Retail |"]  # off stays off
    one_unknown = quiet_everywhere | {"olist": {"full": five("full", FULL5), "no_q": noisy, "with_a": added}}
    lines = table(one_unknown, floor=0.001, level=0.05, equivalence=0.001)
    assert lines[3].split(" | ")[-3:] == ["keep (no measurable effect)", "drop", "realistic, Online Retail |"]
    # Without a margin the table is the one the earlier rounds printed.
    assert table(one_unknown, floor=0.001, level=0.05)[3].split(" | ")[-2:] == ["keep (no measurable effect)", "drop |"]


def test_a_record_for_a_name_that_is_not_a_dataset_is_refused_with_one_line():
    import subprocess

    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ablation_rule.py"), "missing_{}.json",
                             "--record", "olsit=elsewhere.json"], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--record names olsit: not a dataset (one of realistic, olist, online_retail)" in result.stderr


def test_the_history_marks_each_record_by_the_bar_and_skips_records_without_seeds(tmp_path):
    import json

    from ablation_history import readings

    def write(name: str, variants: list[dict]) -> object:
        path = tmp_path / name
        path.write_text(json.dumps({"variants": variants}))
        return path

    full = row("full", [0.30, 0.31, 0.32])
    # Round 5: removing x lowers every seed by 0.002 (helps, se 0); adding z lowers by 0.001, 0.004, 0.004 (hurts:
    # g = -0.003, se 0.001, 3 se: past 2 se, short of the t bar's 4.303). Round 6 has no per-seed figures: skipped.
    first = write("ablation_round5_olist.json", [full, row("no_x", [0.298, 0.308, 0.318]),
                                                  row("with_z", [0.299, 0.306, 0.316])])
    old = write("ablation_round6_realistic.json", [{"variant": "full", "seeds": [0]}, {"variant": "no_x", "seeds": [0]}])
    assert readings([first, old], floor=0.001, level=0.05) == {"no_x": ["5ol+"], "with_z": ["5ol."]}
    assert readings([first], floor=0.001, level=None) == {"no_x": ["5ol+"], "with_z": ["5ol-"]}


def test_the_full_model_row_names_the_records_seeds():
    from ablation_rule import table

    def five(variant: str, val: list[float]) -> dict:
        return row(variant, val) | {"seeds": [0, 1, 2, 3, 4], "val_pr_auc_mean": sum(val) / 5}

    one = {"full": five("full", [0.30, 0.31, 0.32, 0.33, 0.34]), "no_x": five("no_x", [0.29, 0.30, 0.31, 0.32, 0.33])}
    lines = table({"realistic": one, "olist": one, "online_retail": one}, level=0.05)
    assert lines[2].startswith("| the full model: mean validation PR-AUC (seeds 0-4) | 0.3200 |")
    assert "beyond 2.78 se (t, 0.05 two-sided)" in lines[0]


def test_equivalence_on_the_averaged_logits_is_refused_with_one_line():
    import subprocess

    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ablation_rule.py"), "missing_{}.json",
                             "--averaged", "--equivalence", "0.001"], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--equivalence needs the seeds' spread: it cannot read --averaged" in result.stderr


def test_a_negative_margin_and_a_margin_on_the_averaged_logits_are_refused():
    from ablation_rule import table

    one = {"full": five("full", FULL5), "no_q": five("no_q", FULL5)}
    records = {"realistic": one, "olist": one, "online_retail": one}
    for kwargs in ({"equivalence": -0.001}, {"equivalence": 0.001, "averaged": True}):
        with pytest.raises(ValueError, match="give a margin > 0"):
            table(records, **kwargs)
