"""Hostile input costs what clean input costs: ingest + features on a clean generic panel and on corrupted copies of
it (issue 19), each in its own process, wall time and peak RSS measured from outside, with the ratio to the clean
file. Before the date rule, one far-future year typo made `features` on a 1,201-row panel run past 300 s.

    .venv/bin/python benchmarks/hostile.py --products 2000 --weeks 104

writes benchmarks/results/hostile.md and hostile.json with the machine and the command. The goal it states: every
corrupted copy within 1.5x the clean file's time and memory (the tests hold the structure: a bounded week axis).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from machine import git_commit, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.5
STAGE = """
import sys; from pathlib import Path
from hotseller.ingest import generic, write_outputs
from hotseller.features import LabelSpec, build_examples
src, out = Path(sys.argv[1]), Path(sys.argv[2])
write_outputs(out, *generic.ingest({"panel": src}, {}))
build_examples(out / "panel.parquet", out / "reviews.parquet", out / "products.parquet", LabelSpec()).write_parquet(out / "examples.parquet")
"""


def clean_panel(products: int, weeks: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    first = dt.date(2023, 1, 2)
    return pl.DataFrame({
        "product_id": np.repeat([f"P{i:06d}" for i in range(products)], weeks),
        "week": np.tile([str(first + dt.timedelta(weeks=w)) for w in range(weeks)], products),
        "units": rng.poisson(3.0, products * weeks).astype(str),
    })


def corruptions(panel: pl.DataFrame, seed: int) -> dict[str, pl.DataFrame]:
    """Each a copy of the clean panel with one kind of damage (the issue's cases and the property tests' kinds)."""
    rng = np.random.default_rng(seed + 1)
    n = panel.height
    pick = lambda k: np.sort(rng.choice(n, size=k, replace=False))  # noqa: E731

    def set_values(column: str, rows: np.ndarray, value: str) -> pl.DataFrame:
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        return panel.with_columns(pl.when(pl.Series(mask)).then(pl.lit(value)).otherwise(pl.col(column)).alias(column))

    return {
        "one far-future year (2203)": set_values("week", pick(1), "2203-01-09"),
        "one far-past year (1923)": set_values("week", pick(1), "1923-01-09"),
        "1% not numbers": set_values("units", pick(n // 100), "abc"),
        "1% negative units": set_values("units", pick(n // 100), "-4"),
        "1% not dates": set_values("week", pick(n // 100), "03/12/2023"),
        "1% duplicated keys": pl.concat([panel, panel[pick(n // 100).tolist()]]),
        "1% missing product ids": set_values("product_id", pick(n // 100), ""),
    }


def run(src: Path, out: Path) -> dict:
    """ingest + features in a child process: wall seconds and that process's own peak RSS (GNU time's %M)."""
    start = time.perf_counter()
    measured = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c", STAGE, str(src), str(out)], check=True, cwd=ROOT,
                              capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = int(measured.stderr.strip().splitlines()[-1])  # kB
    weeks = pl.read_parquet(out / "panel.parquet", columns=["week"])["week"]
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 1024, 1), "week_span": (weeks.max() - weeks.min()).days // 7 + 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="/tmp/hotseller-hostile")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/hostile"))
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    panel = clean_panel(args.products, args.weeks, args.seed)
    cases = {"clean": panel, **corruptions(panel, args.seed)}
    rows = []
    for name, frame in cases.items():
        src = work / f"{len(rows)}.csv"
        frame.write_csv(src)
        if not rows:
            run(src, work / "warm-up")  # file cache and imports warm before the clean figure is taken
        rows.append({"case": name, "rows": frame.height, **run(src, work / f"out{len(rows)}")})
    clean = rows[0]
    for row in rows:
        row["time_ratio"] = round(row["seconds"] / clean["seconds"], 2)
        row["memory_ratio"] = round(row["peak_rss_mb"] / clean["peak_rss_mb"], 2)
    doc = {"command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]), "commit": git_commit(ROOT), "machine": machine(),
           "goal": f"every case within {GOAL}x the clean file's time and memory", "cases": rows,
           "met": all(r["time_ratio"] <= GOAL and r["memory_ratio"] <= GOAL for r in rows)}
    Path(args.out).with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = ["# Hostile input: ingest + features, corrupted copies against the clean panel\n",
             f"`{doc['command']}` at `{doc['commit']}` on {doc['machine']['cpu']} ({doc['machine']['cores']} cores). "
             f"Goal: {doc['goal']}: **{'met' if doc['met'] else 'missed'}**. Each case is one process (ingest then features "
             "with the default window and horizon); peak RSS is that process's (GNU time's %M); the clean file ran once before, "
             "as a warm-up.\n",
             "| case | rows | seconds | x clean | peak RSS MB | x clean | weeks on the axis |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['case']} | {r['rows']:,} | {r['seconds']} | {r['time_ratio']} | {r['peak_rss_mb']} | {r['memory_ratio']} | {r['week_span']} |"
              for r in rows]
    Path(args.out).with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
