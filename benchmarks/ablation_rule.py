"""The ablation's decision table across datasets, read with the noise bar (twenty-fourth round, docs/rounds.md).

Per row and dataset the technique's gain g is the mean over seeds of the paired validation PR-AUC difference
(variant minus `full` at the same seed, signed so that g > 0 means the technique helps) and se the standard error of
those differences. A technique helps a dataset where g > 2 se and hurts it where g < -2 se, and, with a floor (the
twenty-fifth round's 0.001), only where |g| also reaches the floor. An option that is on
(a `no_` row, or the records' `whole_graph` before the thirty-third round) drops when it hurts a dataset and helps none; one that is off (a `with_` row) goes on
when it helps a dataset and hurts none; every other row keeps its default. The standing rule (any rise of the mean on
one dataset) is printed beside it. It reads the `ablation.json` records the workflow writes.

    .venv/bin/python benchmarks/ablation_rule.py 'benchmarks/results/ablation_round24b_{}.json'
    .venv/bin/python benchmarks/ablation_rule.py --floor 0.001 'benchmarks/results/ablation_round25_{}.json'
    .venv/bin/python benchmarks/ablation_rule.py --floor 0.001 --averaged 'benchmarks/results/ablation_round25_{}.json'
    .venv/bin/python benchmarks/ablation_rule.py --floor 0.001 'benchmarks/results/ablation_round28_{}.json' \
        --record realistic=benchmarks/results/ablation_round25_realistic.json

--level 0.05 (the thirtieth session's bar, stated before its ablation ran) replaces 2 se by the two-sided 5% critical
value of Student's t with n - 1 degrees of freedom for n paired seeds (4.30 se with 3 seeds, 2.78 with 5): a technique
with no effect then passes it about one time in twenty per dataset, where 2 se with 3 seeds passes it about one in five.

    .venv/bin/python benchmarks/ablation_rule.py --level 0.05 --floor 0.001 'benchmarks/results/ablation_round30_{}.json'

--equivalence M (forty-first round) adds the other side: where a technique is equivalent to no effect, by two one-sided
t tests at --level (default 5%): the (1 - 2 level) Student's t interval of g lies inside (-M, +M). An on technique
equivalent to none on every dataset reads "drop (no effect)": the ablation's bar alone cannot show "never helps".

    .venv/bin/python benchmarks/ablation_rule.py --level 0.05 --floor 0.001 --equivalence 0.001 'benchmarks/results/schedule_round40_{}.json'

--averaged reads the shipped form instead: each variant's PR-AUC of its seeds' averaged logits (`val_pr_auc_averaged`,
one figure, so se is 0 and the floor alone is the bar).

Stdlib and scipy (Student's t quantile) only.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics

from scipy import stats

NAMES = {"realistic": "realistic", "olist": "Olist", "online_retail": "Online Retail"}
TECHNIQUES = {
    "whole_graph": "several steps per cutoff (`whole_graph` removes it)",
    "with_steps": "several steps per cutoff (`with_steps` adds them)",
    "with_focal": "focal loss (`with_focal` adds it)",
    "no_contrast": "contrastive term (`no_contrast`)",
    "with_contrast": "contrastive term (`with_contrast` adds it)",
    "with_aux_heads": "review heads (`with_aux_heads` adds them)",
    "no_mixup": "mixup (`no_mixup`)",
    "with_mixup": "mixup (`with_mixup` adds it)",
    "no_cutmix": "temporal CutMix (`no_cutmix`)",
    "with_cutmix": "temporal CutMix (`with_cutmix` adds it)",
    "no_label_smoothing": "label smoothing (`no_label_smoothing`)",
    "with_label_smoothing": "label smoothing (`with_label_smoothing` adds it)",
    "no_sales": "future-sales head (`no_sales`)",
    "with_sales": "future-sales head (`with_sales` adds it)",
    "no_rank": "pairwise ranking term (`no_rank`)",
    "with_rank": "pairwise ranking term (`with_rank` adds it)",
    "no_ema": "moving average of the weights (`no_ema`)",
    "no_recency": "recency weight (`no_recency`)",
    "with_gnn": "GNN layers (`with_gnn` adds two SAGE layers)",
    "with_neighbour_inputs": "neighbour aggregates as inputs (`with_neighbour_inputs`)",
    "no_neighbour_inputs": "neighbour aggregates as inputs (`no_neighbour_inputs`)",
    "with_neighbour_sequences": "neighbours' weekly units as channels (`with_neighbour_sequences`)",
}


def variants(path: str) -> dict[str, dict]:
    """An ablation.json record's rows by variant name (`full` among them)."""
    with open(path) as f:
        return {row["variant"]: row for row in json.load(f)["variants"]}


def adds_technique(variant: str) -> bool:
    """A `with_` row puts a technique (or a pair, a design, a setting) on top of the full model; any other row takes
    one away, so its gain is signed the other way."""
    return variant.startswith("with_")


def gain(full: dict, variant: dict, adds: bool, averaged: bool = False) -> tuple[float, float]:
    """(g, se) of the technique on one dataset, from the runs' validation PR-AUC paired by seed; averaged: from the
    seeds' averaged logits instead (the shipped ensemble's form: one figure each, so se is 0)."""
    sign = 1 if adds else -1
    if averaged:
        return sign * (variant["val_pr_auc_averaged"] - full["val_pr_auc_averaged"]), 0.0
    by_seed = dict(zip(full["seeds"], full["val_pr_auc"]))
    diffs = [sign * (value - by_seed[seed]) for seed, value in zip(variant["seeds"], variant["val_pr_auc"])]
    return statistics.mean(diffs), statistics.stdev(diffs) / math.sqrt(len(diffs))


def bar(n_seeds: int, level: float | None) -> float:
    """How many standard errors a gain must pass: 2 (the twenty-fourth round's bar), or Student's t two-sided critical
    value at `level` with n - 1 degrees of freedom, so that a technique with no effect passes at that rate."""
    return 2.0 if level is None else float(stats.t.ppf(1 - level / 2, n_seeds - 1))


def reading(g: float, se: float, k: float, floor: float) -> int:
    """+1 where the technique helps beyond k standard errors and the floor, -1 where it hurts beyond them, else 0."""
    if g > k * se and g >= floor:
        return 1
    return -1 if g < -k * se and g <= -floor else 0


def equivalent(g: float, se: float, n_seeds: int, margin: float, level: float) -> bool:
    """Two one-sided t tests at `level`: the gain is shown to lie within (-margin, +margin), which a miss of the bar
    does not show (a small true gain misses it too)."""
    half = float(stats.t.ppf(1 - level, n_seeds - 1)) * se
    return -margin < g - half and g + half < margin


def equivalence_problem(margin: float, averaged: bool) -> str | None:
    """Why a margin cannot be read (None when it can): the tests need a positive margin and the seeds' spread."""
    if margin < 0:
        return f"--equivalence {margin:g}: give a margin > 0 (forty-first round: 0.001), or leave it out"
    if margin and averaged:
        return ("--equivalence needs the seeds' spread: it cannot read --averaged (one figure a variant); "
                "give a margin > 0 on the single networks' gains")
    return None


def decision(adds: bool, helps: list[str], hurts: list[str]) -> str:
    """The noise bar's reading: a default changes only on evidence beyond the seeds' noise, in either direction."""
    if adds:
        return "**on**" if helps and not hurts else "stays off"
    if hurts and not helps:
        return "**drop**"
    if helps:
        return "keep"
    return "keep (no measurable effect)" if not hurts else "keep (helps and hurts)"


def standing_rule(adds: bool, rises: list[str]) -> str:
    """The rule before the twenty-fourth round: a rise of the mean on any one dataset keeps (or turns on)."""
    if adds:
        return "on" if rises else "off"
    return "keep" if rises else "drop"


def table(records: dict[str, dict[str, dict]], floor: float = 0.0, averaged: bool = False,
          level: float | None = None, equivalence: float = 0.0) -> list[str]:
    """Markdown lines of the decision table; records maps a dataset name to {variant: its row of ablation.json}.

    floor: the smallest |g| that counts as help or harm (0 = the twenty-fourth round's bar, 2 se alone);
    averaged: read the seeds' averaged logits (see gain); level: the t bar's two-sided level (see bar; None = 2 se);
    equivalence: a margin > 0 adds the datasets where the gain is equivalent to none (see equivalent; at level, 5%
    when None), and an on technique equivalent to none on all of them reads drop."""
    if problem := equivalence_problem(equivalence, averaged):
        raise ValueError(problem)
    names = list(records)
    full_seeds = sorted(records[names[0]]["full"]["seeds"])
    k = bar(len(full_seeds), level)
    tost = 0.05 if level is None else level
    consecutive = full_seeds == list(range(full_seeds[0], full_seeds[-1] + 1))
    seeds = f"{full_seeds[0]}-{full_seeds[-1]}" if consecutive else ", ".join(map(str, full_seeds))
    beyond = "2 se" if level is None else f"{k:.2f} se (t, {level:g} two-sided)"
    lines = ["| technique | " + " | ".join(f"{NAMES[n]}: g +- se; test diff [95% CI]" for n in names)
             + f" | helps / hurts (beyond {beyond}{f' and {floor:g}' if floor else ''}) | decision (noise bar) | the standing rule would read |"
             + (f" no effect (within +-{equivalence:g}, two one-sided t tests at {tost:g}) |" if equivalence else ""),
             "|---|" + "---|" * (len(names) + 3 + bool(equivalence)),
             f"| the full model: {'validation PR-AUC of the averaged logits' if averaged else 'mean validation PR-AUC'} (seeds {seeds}) | "
             + " | ".join(f"{records[n]['full']['val_pr_auc_averaged' if averaged else 'val_pr_auc_mean']:.4f}" for n in names)
             + " | | | |" + (" |" if equivalence else "")]
    for variant in [v for v in records[names[0]] if v != "full"]:
        adds = adds_technique(variant)
        cells, helps, hurts, rises, null = [], [], [], [], []
        for n in names:
            row = records[n][variant]
            if row.get("identical_to_full"):
                cells.append("identical (nothing changes)")
                null.append(NAMES[n])
                continue
            g, se = gain(records[n]["full"], row, adds, averaged)
            lo, hi = row["difference_ci"]
            cells.append(f"{g:+.4f} +- {se:.4f}; {row['difference']:+.3f} [{lo:.3f}, {hi:.3f}]")
            read = reading(g, se, k, floor)
            helps += [NAMES[n]] if read > 0 else []
            hurts += [NAMES[n]] if read < 0 else []
            rises += [NAMES[n]] if g > 0 else []
            null += [NAMES[n]] if equivalence and equivalent(g, se, len(row["seeds"]), equivalence, tost) else []
        verdict = decision(adds, helps, hurts)
        if equivalence and not adds and len(null) == len(names):
            verdict = "**drop (no effect)**"
        lines.append(f"| {TECHNIQUES.get(variant, variant)} | " + " | ".join(cells)
                     + f" | {', '.join(helps) or 'none'} / {', '.join(hurts) or 'none'} | {verdict}"
                     + f" | {standing_rule(adds, rises)} |" + (f" {', '.join(null) or 'none'} |" if equivalence else ""))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pattern", help="path of each dataset's ablation.json with {} for its name")
    parser.add_argument("--floor", type=float, default=0.0,
                        help="smallest |gain| that counts (twenty-fifth round: 0.001; default 0, the bar without it)")
    parser.add_argument("--level", type=float, default=None,
                        help="Student's t bar at this two-sided level instead of 2 se (thirtieth session: 0.05)")
    parser.add_argument("--equivalence", type=float, default=0.0, metavar="MARGIN",
                        help="also mark gains shown within +-MARGIN by two one-sided t tests at --level (5%% without it); forty-first round: 0.001")
    parser.add_argument("--averaged", action="store_true", help="read the seeds' averaged logits (the shipped form)")
    parser.add_argument("--record", action="append", default=[], metavar="NAME=PATH",
                        help="this dataset's record instead of the pattern's (e.g. one not rerun: realistic=...round25_realistic.json)")
    args = parser.parse_args()
    if problem := equivalence_problem(args.equivalence, args.averaged):
        parser.error(problem)  # before any record is read
    replaced = dict(r.split("=", 1) for r in args.record)
    if unknown := sorted(set(replaced) - set(NAMES)):
        parser.error(f"--record names {', '.join(unknown)}: not a dataset (one of {', '.join(NAMES)})")
    paths = {n: args.pattern.format(n) for n in NAMES} | replaced
    records = {n: variants(paths[n]) for n in NAMES}
    print("\n".join(table(records, args.floor, args.averaged, args.level, args.equivalence)))


if __name__ == "__main__":
    main()
