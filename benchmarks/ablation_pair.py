"""Two techniques' 2 x 2 from two ablation records (thirty-fourth round, docs/rounds.md): the ablation reads one
technique at a time, so two flips applied together land on a design no run measured. Where one record's full model
has both techniques on and the other's has both off, their rows hold all four cells: each dataset's mean validation
PR-AUC per cell. A cell found in both records must hold the same runs (same settings and seeds): checked seed by
seed within TOLERANCE (reruns of a whole-graph run have differed by 1e-8 to 1e-7). Prints a Markdown table.

    .venv/bin/python benchmarks/ablation_pair.py benchmarks/results/ablation_round32_{}.json \\
        benchmarks/results/ablation_round33_{}.json
"""

from __future__ import annotations

import argparse
import statistics

from ablation_rule import NAMES, variants

TOLERANCE = 1e-6
# (several steps per cutoff, neighbour aggregates as inputs) -> the rows that hold the cell, in the record whose full
# model has both on (round 32) and the one whose full model has both off (round 33).
CELLS = {
    ("on", "on"): [("both_on", "full")],
    ("on", "off"): [("both_on", "no_neighbour_inputs"), ("both_off", "with_steps")],
    ("off", "on"): [("both_on", "whole_graph"), ("both_off", "with_neighbour_inputs")],
    ("off", "off"): [("both_off", "full")],
}


def cell_means(records: dict[str, dict[str, dict]]) -> dict[tuple[str, str], float]:
    """Mean validation PR-AUC of each cell, from records {"both_on" | "both_off": {variant: its row}}; a cell held by
    both records must hold the same figures seed by seed (within TOLERANCE)."""
    means = {}
    for cell, sources in CELLS.items():
        runs = [dict(zip(records[rec][row]["seeds"], records[rec][row]["val_pr_auc"])) for rec, row in sources]
        for other in runs[1:]:
            if other.keys() != runs[0].keys() or max(abs(other[k] - runs[0][k]) for k in other) > TOLERANCE:
                raise SystemExit(f"cell {cell}: the two records differ ({runs}); not the same runs")
        means[cell] = statistics.mean(runs[0].values())
    return means


def table(by_dataset: dict[str, dict[tuple[str, str], float]]) -> list[str]:
    """Markdown lines: one row per cell, a column per dataset and their mean."""
    names = list(by_dataset)
    lines = ["| several steps per cutoff / neighbour aggregates as inputs | " + " | ".join(NAMES[n] for n in names) + " | mean |",
             "|---|" + "---|" * (len(names) + 1)]
    for cell in CELLS:
        values = [by_dataset[n][cell] for n in names]
        lines.append(f"| {cell[0]} / {cell[1]} | " + " | ".join(f"{v:.4f}" for v in values) + f" | {statistics.mean(values):.4f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("both_on", help="records whose full model has both on, with {} for the dataset")
    parser.add_argument("both_off", help="records whose full model has both off, with {} for the dataset")
    args = parser.parse_args()
    by_dataset = {}
    for name in NAMES:
        records = {key: variants(pattern.format(name)) for key, pattern in (("both_on", args.both_on), ("both_off", args.both_off))}
        by_dataset[name] = cell_means(records)
    print("\n".join(table(by_dataset)))


if __name__ == "__main__":
    main()
