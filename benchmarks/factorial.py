"""Each technique's main effect over a two-level fractional factorial of the ablation (thirty-seventh round,
docs/rounds.md). The one-at-a-time ablation reads a technique with every other one at today's setting; a factorial
reads it averaged over the others' settings, so a gap between the two readings is an interaction.

The design's rows are the `full` model and the variants of the design file (an ablation YAML such as
benchmarks/ablation_factorial.yaml); the factors are single-technique rows of the same records (`whole_graph`,
`with_focal`, ...). A design row's level of a factor is +1 (flipped from today) when the row changes that factor's
settings, else -1, and its changes must be exactly the union of its flipped factors' (checked). The columns must be
balanced and orthogonal (checked), so each main effect is a plain difference of means: per seed, the mean validation
PR-AUC of the rows with the factor flipped minus the rows at today's setting, signed like benchmarks/ablation_rule.py
(g > 0: the technique helps), then the mean and standard error over seeds, read with the same bar. Prints a Markdown
table and the aliases among main effects and two-technique interactions.

    .venv/bin/python benchmarks/factorial.py 'benchmarks/results/factorial_round37_{}.json' \\
        --design benchmarks/ablation_factorial.yaml --level 0.05 --floor 0.001 \\
        whole_graph with_neighbour_inputs with_focal no_sales no_mixup no_rank
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import statistics

import numpy as np
import yaml
from ablation_rule import NAMES, TECHNIQUES, adds_technique, bar, decision, gain, reading, variants


def changes(row: dict) -> set[str]:
    """A record row's settings as a set of 'key=value' strings (the full model's '-' is none): split where ', ' starts
    the next key, since a value may hold ', ' itself (hotseller.ablation.describe writes num_neighbors=[10, 5])."""
    return set() if row["changes"] == "-" else set(re.split(r", (?=\w+=)", row["changes"]))


def levels(rows: dict[str, dict], design: list[str], factors: list[str]) -> np.ndarray:
    """The design matrix (rows x factors) in +-1 coding, +1 = flipped from today's setting. Factors must set disjoint
    settings, else a row flipping one (e.g. whole graphs, which also set batch_size) would count as flipping another."""
    columns = [changes(rows[f]) for f in factors]
    for (a, ca), (b, cb) in itertools.combinations(zip(factors, columns), 2):
        if shared := {c.split("=")[0] for c in ca} & {c.split("=")[0] for c in cb}:
            raise SystemExit(f"factors {a} and {b} both set {', '.join(sorted(shared))}: a factor's settings must be its own")
    matrix = []
    for name in design:
        have = changes(rows[name])
        level = [1 if column <= have else -1 for column in columns]
        union = set().union(*(c for c, x in zip(columns, level) if x > 0))
        if union != have:
            raise SystemExit(f"design row {name}: its changes ({rows[name]['changes']}) are not a union of the factors'")
        matrix.append(level)
    return np.array(matrix)


def check_orthogonal(matrix: np.ndarray, factors: list[str]) -> None:
    """Main effects are differences of means only when every column is balanced and orthogonal to every other."""
    gram = matrix.T @ matrix
    if np.any(matrix.sum(axis=0) != 0) or not np.array_equal(gram, len(matrix) * np.eye(len(factors), dtype=int)):
        raise SystemExit("the design is not balanced and orthogonal: main effects would be confounded with each other")


def alias_chains(matrix: np.ndarray, factors: list[str]) -> list[list[str]]:
    """Main effects and two-technique interactions whose columns are equal up to sign: the design cannot tell a
    chain's members apart (resolution IV: no main effect in a chain; resolution III: main effects are)."""
    terms = [((i,), factors[i]) for i in range(len(factors))]
    terms += [((i, j), f"{factors[i]} x {factors[j]}") for i, j in itertools.combinations(range(len(factors)), 2)]
    chains: dict[tuple[int, ...], list[str]] = {}
    for index, name in terms:
        column = np.prod(matrix[:, list(index)], axis=1)
        chains.setdefault(tuple(column * column[0]), []).append(name)
    return [chain for chain in chains.values() if len(chain) > 1]


def main_effect(rows: dict[str, dict], design: list[str], column: np.ndarray, adds: bool) -> tuple[float, float]:
    """(g, se) over seeds: per seed, mean PR-AUC where flipped minus where not, signed so that g > 0 = it helps."""
    seeds = rows[design[0]]["seeds"]
    if other := [name for name in design if rows[name]["seeds"] != seeds]:
        raise SystemExit(f"design rows {', '.join(other)} have other seeds than {design[0]}'s {seeds}: effects are paired by seed")
    if len(seeds) < 2:
        raise SystemExit(f"{len(seeds)} seed: a standard error needs two or more")
    by_seed = [dict(zip(rows[name]["seeds"], rows[name]["val_pr_auc"])) for name in design]
    sign = 1 if adds else -1
    effects = [sign * (statistics.mean(v[s] for v, x in zip(by_seed, column) if x > 0)
                       - statistics.mean(v[s] for v, x in zip(by_seed, column) if x < 0)) for s in seeds]
    return statistics.mean(effects), statistics.stdev(effects) / math.sqrt(len(effects))


def table(records: dict[str, dict[str, dict]], design: list[str], factors: list[str], level: float | None,
          floor: float) -> list[str]:
    """Markdown lines: per technique and dataset its main effect over the fraction and its one-at-a-time gain."""
    names = list(records)
    matrices = {n: levels(records[n], design, factors) for n in names}
    for n in names:
        check_orthogonal(matrices[n], factors)
    k = bar(len(records[names[0]]["full"]["seeds"]), level)
    lines = ["| technique | " + " | ".join(f"{NAMES[n]}: main effect g +- se; one at a time" for n in names)
             + f" | main effect helps / hurts (beyond {k:.2f} se and {floor:g}) | main effect would read | one at a time reads |",
             "|---|" + "---|" * (len(names) + 3)]
    for i, factor in enumerate(factors):
        adds = adds_technique(factor)
        cells, helps, hurts, single_helps, single_hurts = [], [], [], [], []
        for n in names:
            g, se = main_effect(records[n], design, matrices[n][:, i], adds)
            g1, se1 = gain(records[n]["full"], records[n][factor], adds)
            cells.append(f"{g:+.4f} +- {se:.4f}; {g1:+.4f} +- {se1:.4f}")
            helps += [NAMES[n]] if reading(g, se, k, floor) > 0 else []
            hurts += [NAMES[n]] if reading(g, se, k, floor) < 0 else []
            single_helps += [NAMES[n]] if reading(g1, se1, k, floor) > 0 else []
            single_hurts += [NAMES[n]] if reading(g1, se1, k, floor) < 0 else []
        lines.append(f"| {TECHNIQUES.get(factor, factor)} | " + " | ".join(cells)
                     + f" | {', '.join(helps) or 'none'} / {', '.join(hurts) or 'none'} | {decision(adds, helps, hurts)}"
                     + f" | {decision(adds, single_helps, single_hurts)} |")
    chains = alias_chains(matrices[names[0]], factors)
    lines += ["", "Aliased (the design cannot tell each chain's members apart; three-technique interactions not listed): "
              + "; ".join(" = ".join(chain) for chain in chains) + "." if chains else "No main effect or two-technique interaction is aliased."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pattern", help="path of each dataset's ablation.json with {} for its name")
    parser.add_argument("factors", nargs="+", help="the single-technique rows that are the design's factors")
    parser.add_argument("--design", required=True, help="the ablation YAML whose variants are the design's rows")
    parser.add_argument("--floor", type=float, default=0.0, help="smallest |gain| that counts (see ablation_rule.py)")
    parser.add_argument("--level", type=float, default=None, help="Student's t bar's two-sided level (see ablation_rule.py)")
    args = parser.parse_args()
    with open(args.design) as f:
        design = ["full", *yaml.safe_load(f)["ablation"]["variants"]]
    records = {n: variants(args.pattern.format(n)) for n in NAMES}
    print("\n".join(table(records, design, args.factors, args.level, args.floor)))


if __name__ == "__main__":
    main()
