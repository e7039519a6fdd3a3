"""The benchmarks' JSON records: several runs (datasets, variants, seeds) add their entry to one file, each without
overwriting the others'."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller import atomic  # noqa: E402


def update_record(path: Path, keys: list[str], value: object) -> dict:
    """Set document[keys[0]]...[keys[-1]] = value in the JSON record at `path` (created, with its folder, when missing;
    the dicts along `keys` too) and write it back; returns the whole document."""
    path = Path(path)
    document = json.loads(path.read_text()) if path.exists() else {}
    node = document
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    atomic.write_json(document, path)  # makes the folder; a run killed while writing leaves the record as it was
    return document


def predictions_path(run: Path, model: str) -> Path:
    """Where the workflow writes a model's validation and test scores (workflow/rules/model.smk)."""
    if model == "gnn":
        return run / "train/predictions.parquet"
    return run / ("hybrid" if model in ("gnn_gbt", "blend") else "baselines") / f"{model}.parquet"


def report_runs(description: str, rows_of: Callable[[str], list[dict]], markdown: Callable[[list[dict]], str]) -> None:
    """The command line of a script that reads finished runs: names under results/ and --out; writes their rows as
    JSON there and prints them as Markdown."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("runs", nargs="+", help="names under results/")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rows = [row for name in args.runs for row in rows_of(name)]
    Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    print(markdown(rows))
