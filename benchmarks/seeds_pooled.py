"""The headline pooled over the network's seeds: is the design better or worse than the best baseline on average over
seeds, not under one seed? Each seed's run (the dataset's own, seed 0, and benchmarks/seeds.yaml's `<name>_seed1`,
`<name>_seed2`) has its own best graph model, chosen on validation; the baseline is the same under every seed (only
`train.seed` differs). Per product resample (the evaluation's: 1,000, seed 0, so each seed's interval is its
metrics.json headline's), the seeds' test PR-AUC differences are averaged; the interval of that mean is the pooled one.
Reads results/<run>/evaluation/metrics.json and the models' predictions; writes JSON and prints a Markdown table.

    .venv/bin/python benchmarks/seeds_pooled.py realistic olist online_retail --out benchmarks/results/seeds_pooled_round35.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hotseller.evaluate import BOOTSTRAP_RESAMPLES, KEYS, REFERENCE, aligned, verdict  # noqa: E402
from hotseller.scoring import SplitScorer, bootstrap, interval  # noqa: E402
from records import predictions_path, report_runs  # noqa: E402 - benchmarks/records.py, beside this script

SEEDS = (1, 2)  # benchmarks/seeds.yaml's runs beside the dataset's own (seed 0)


def pooled_difference(graphs: list[pl.DataFrame], baseline: pl.DataFrame, n_resamples: int = BOOTSTRAP_RESAMPLES,
                      seed: int = 0) -> dict:
    """Test PR-AUC of each run's graph model minus the baseline's, each with its paired interval, and their mean over
    runs with the interval of the mean, all on the same product resamples as the evaluation draws."""
    runs = [f"run{i}" for i in range(len(graphs))]
    frames = aligned({REFERENCE: baseline, **dict(zip(runs, graphs))})  # same examples, same labels, finite scores
    tests = {name: frame.filter(pl.col("split") == "test") for name, frame in frames.items()}
    scorers = {name: SplitScorer(test, 0.5, None, probabilistic=False) for name, test in tests.items()}
    codes = np.unique(tests[REFERENCE]["product_id"].to_numpy(), return_inverse=True)[1]
    draws = bootstrap(scorers, codes, n_resamples, seed)
    points = {name: scorer.point()["pr_auc"] for name, scorer in scorers.items()}
    diffs = [draws[run]["pr_auc"] - draws[REFERENCE]["pr_auc"] for run in runs]
    per_run = [{"difference": points[run] - points[REFERENCE], "ci": interval(d)} for run, d in zip(runs, diffs)]
    ci = interval(np.mean(diffs, axis=0))
    return {"per_run": per_run, "difference": float(np.mean([r["difference"] for r in per_run])), "ci": ci,
            "verdict": verdict(ci, "the baseline", "the design")}


def dataset_row(name: str) -> dict:
    """The dataset's seed runs read together: their headlines' models, each seed's difference and the pooled one."""
    runs = [name] + [f"{name}_seed{k}" for k in SEEDS]
    dirs = [Path("results") / run for run in runs]
    heads = [json.loads((d / "evaluation/metrics.json").read_text())["headline"] for d in dirs]
    baselines = {head["baseline"] for head in heads}
    if len(baselines) > 1:
        raise SystemExit(f"{name}: the seed runs chose different baselines {sorted(baselines)}; they are not one design's seeds")
    base = baselines.pop()
    base_frames = [pl.read_parquet(predictions_path(d, base)).sort(KEYS) for d in dirs]
    if any(not frame.equals(base_frames[0]) for frame in base_frames[1:]):
        raise SystemExit(f"{name}: {base}'s predictions differ between {runs}; only train.seed may differ between seed runs")
    graphs = [pl.read_parquet(predictions_path(d, head["graph_model"])) for d, head in zip(dirs, heads)]
    result = pooled_difference(graphs, base_frames[0])
    for run, head, own in zip(runs, heads, result["per_run"]):
        own |= {"run": run, "graph_model": head["graph_model"], "metrics_json_ci": head["ci"]}
    return {"dataset": name, "baseline": base} | result


def markdown(rows: list[dict]) -> str:
    lines = ["| dataset | baseline | " + " | ".join(f"seed {k}: graph model, difference [95% CI]" for k in (0, *SEEDS))
             + " | mean over seeds [95% CI] | verdict |", "|---|---|" + "---|" * (len(SEEDS) + 3)]
    for r in rows:
        cells = [f"{p['graph_model']}, {p['difference']:+.4f} [{p['ci'][0]:.4f}, {p['ci'][1]:.4f}]" for p in r["per_run"]]
        lines.append(f"| {r['dataset']} | {r['baseline']} | " + " | ".join(cells)
                     + f" | {r['difference']:+.4f} [{r['ci'][0]:.4f}, {r['ci'][1]:.4f}] | {r['verdict']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    report_runs(__doc__.split("\n\n")[0], lambda name: [dataset_row(name)], markdown)
