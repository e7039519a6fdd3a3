"""Validation-only screen of GNN trainer variants: each variant x seed (one network each) trained on a dataset's prepared
files (its examples, edges and split; when one is missing it names the snakemake command that makes them), then per
variant the validation PR-AUC of each seed, their mean and spread, and of the seeds' averaged logits (an ensemble of
those networks).

Decisions (which technique stays on) are taken from this file's validation figures only; test figures come later,
once per design, from the workflow's own evaluate and ablation stages. Runs one training at a time (2 cores).

    .venv/bin/python benchmarks/variants.py --dataset olist --seeds 3 \\
        --variants '{"full": {}, "no_cutmix": {"use_cutmix": false}}' --out benchmarks/results/variants_olist.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.logits import mean_logit  # noqa: E402
from hotseller.settings import stage_params  # noqa: E402
from hotseller.train.config import TrainConfig  # noqa: E402
from hotseller.train.loop import ranking_metrics, train  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script


def one_network(base: dict, seed: int, threads: int, overrides: dict | None = None) -> TrainConfig:
    """The configured trainer (`base`, the train stage's params) with `overrides`, as one network at base seed + `seed`:
    a screen's seeds are single networks, and the "ensemble" column averages them."""
    return TrainConfig.from_section(base | {"ensemble": 1} | (overrides or {}) | {"seed": base.get("seed", 0) + seed, "threads": threads})


def val_scores(run_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(run_dir / "predictions.parquet").filter(pl.col("split") == "val").select("cutoff", "product_id", "hot", "score")


def merged(base: dict, update: dict) -> dict:
    """`update` over `base`, nested dicts merged key by key (as snakemake merges --configfile files)."""
    out = dict(base)
    for key, value in update.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def train_params(paths: list[str], dataset: str) -> dict:
    """The train stage's params for `dataset` from config files, later ones updating earlier ones."""
    config = {}
    for path in paths:
        config = merged(config, yaml.safe_load(Path(path).read_text()))
    return stage_params(config | {"dataset": dataset}, "train")


def seed_frames(runs: dict[int, Path]) -> dict[int, pl.DataFrame]:
    """Each seed's validation predictions in one row order; the seeds must hold the same examples."""
    frames = {seed: val_scores(path).sort("cutoff", "product_id") for seed, path in runs.items()}
    keys = next(iter(frames.values())).select("cutoff", "product_id")
    if any(not f.select("cutoff", "product_id").equals(keys) for f in frames.values()):
        raise SystemExit("the seeds' validation examples differ: were they trained on the same split?")
    return frames


def summarise(runs: dict[int, Path]) -> dict:
    """Per-seed validation PR-AUC, their mean and sd, and the PR-AUC of the mean logit over seeds."""
    frames = seed_frames(runs)
    labels = next(iter(frames.values()))["hot"].to_numpy()
    per_seed = {seed: ranking_metrics(f["hot"].to_numpy(), f["score"].to_numpy())["pr_auc"] for seed, f in frames.items()}
    values = np.array(list(per_seed.values()))
    return {"val_pr_auc": per_seed, "mean": float(values.mean()), "sd": float(values.std(ddof=1)) if values.size > 1 else 0.0,
            "ensemble": ranking_metrics(labels, mean_logit([f["score"].to_numpy() for f in frames.values()]))["pr_auc"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--config", nargs="+", default=["config.yaml"], help="config files, later ones update earlier ones")
    parser.add_argument("--variants", required=True, help='JSON {name: {train setting: value}}; {} is the configured model')
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", default="/tmp/variants")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    base = train_params(args.config, args.dataset)
    data = Path("results") / args.dataset
    inputs = (data / "features/examples.parquet", data / "graph/edges.parquet", data / "split/split.json")
    missing = [str(path) for path in inputs if not path.is_file()]
    if missing:
        files = f" --configfile {' '.join(args.config)}" if args.config != ["config.yaml"] else ""
        raise SystemExit(f"{', '.join(missing)} missing: run `snakemake --cores 2 {' '.join(missing)}{files} --config dataset={args.dataset}` first")
    out = Path(args.out)
    update_record(out, ["dataset"], args.dataset)
    for name, overrides in json.loads(args.variants).items():
        runs = {}
        for seed in range(args.seeds):
            run_dir = Path(args.work) / args.dataset / name / f"seed{seed}"
            cfg = one_network(base, seed, args.threads, overrides)
            started = time.perf_counter()
            summary = train(cfg, *inputs, run_dir)
            print(f"{args.dataset} {name} seed {seed}: val {summary['val']['pr_auc']:.4f} best epoch {summary['best_epoch']} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
            runs[seed] = run_dir
        row = {"overrides": overrides, **summarise(runs)}
        update_record(out, ["variants", name], row)
        print(f"== {args.dataset} {name}: val mean {row['mean']:.4f} sd {row['sd']:.4f} ensemble {row['ensemble']:.4f}", flush=True)


if __name__ == "__main__":
    main()
