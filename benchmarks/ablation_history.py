"""Every ablation record's readings of each technique under one bar: how often it helped or hurt, across rounds.

A technique's row lists, per record (round and dataset) with per-seed figures, "+" where it helps beyond the bar,
"-" where it hurts beyond it and "." where neither (the bar and gain of ablation_rule.py). Records of different rounds
used different trainers and the same seeds, so the counts are a history to read, not independent trials.

    .venv/bin/python benchmarks/ablation_history.py --level 0.05 --floor 0.001 benchmarks/results/ablation_round2*_*.json \
        benchmarks/results/ablation_round30_*.json
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ablation_rule import adds_technique, bar, gain, reading, variants

RECORD = re.compile(r"ablation_round(?P<round>\w+?)_(?P<dataset>realistic|olist|online_retail)\.json$")
SHORT = {"realistic": "re", "olist": "ol", "online_retail": "or"}


def readings(paths: list[Path], floor: float, level: float | None) -> dict[str, list[str]]:
    """{variant: ["<round><dataset><mark>", ...]} over the records in the order given; records without per-seed
    figures (before the twenty-fourth round) are skipped."""
    rows: dict[str, list[str]] = {}
    for path in paths:
        match = RECORD.search(path.name)
        if match is None:
            continue
        record = variants(path)
        full = record["full"]
        if "val_pr_auc" not in full:
            continue
        k = bar(len(full["seeds"]), level)
        for name, row in record.items():
            if name == "full" or row.get("identical_to_full"):
                continue
            g, se = gain(full, row, adds=adds_technique(name))
            mark = {1: "+", -1: "-", 0: "."}[reading(g, se, k, floor)]
            rows.setdefault(name, []).append(f"{match['round']}{SHORT[match['dataset']]}{mark}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", type=Path, help="ablation_round<N>_<dataset>.json files, oldest first")
    parser.add_argument("--floor", type=float, default=0.0, help="smallest |gain| that counts (as ablation_rule.py)")
    parser.add_argument("--level", type=float, default=None, help="Student's t bar's two-sided level (None: 2 se)")
    args = parser.parse_args()
    print("| technique | helps | hurts | readings | each reading (round, dataset: + helps, - hurts, . neither) |")
    print("|---|---:|---:|---:|---|")
    for name, marks in readings(args.records, args.floor, args.level).items():
        helps, hurts = (sum(m.endswith(s) for m in marks) for s in "+-")
        print(f"| `{name}` | {helps} | {hurts} | {len(marks)} | {' '.join(marks)} |")


if __name__ == "__main__":
    main()
