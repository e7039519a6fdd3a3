"""Which temporal encoder to use: GRU, 1-D conv or a small transformer, same data, same settings.

Usage: python benchmarks/encoders.py [--dataset small] [--seeds 0 1]
Prepares the dataset's examples/graph/split with Snakemake, trains each encoder with config.yaml's train
settings, and writes benchmarks/results/encoders.json and .md with the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from hotseller.settings import stage_params  # noqa: E402
from hotseller.train.config import TrainConfig  # noqa: E402
from hotseller.train.loop import train  # noqa: E402
from machine import machine  # noqa: E402 - benchmarks/machine.py, beside this script


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="small")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = ROOT / "results" / args.dataset
    targets = [f"results/{args.dataset}/split/split.json", f"results/{args.dataset}/graph/edges.parquet"]
    subprocess.run([str(Path(sys.executable).parent / "snakemake"), "--cores", "2", *targets, "--config", f"dataset={args.dataset}"],
                   cwd=ROOT, check=True, env=env)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["dataset"] = args.dataset
    base = TrainConfig.from_section(stage_params(config, "train")).as_dict()
    rows = []
    for encoder in ("gru", "conv", "transformer"):
        for seed in args.seeds:
            cfg = TrainConfig(**{**base, "encoder": encoder, "seed": seed, "threads": 2, "ensemble": 1})  # one network a row
            started = time.perf_counter()
            summary = train(cfg, out / "features/examples.parquet", out / "graph/edges.parquet", out / "split/split.json",
                            out / f"bench_encoder_{encoder}_{seed}")
            seconds = time.perf_counter() - started
            rows.append({"encoder": encoder, "seed": seed, "val_pr_auc": summary["val"]["pr_auc"], "test_pr_auc": summary["test"]["pr_auc"],
                         "epochs_run": summary["epochs_run"], "seconds": round(seconds, 1),
                         "seconds_per_epoch": round(seconds / summary["epochs_run"], 2)})
            print(rows[-1], flush=True)
    command = "python benchmarks/encoders.py " + " ".join(sys.argv[1:])
    result = {"machine": machine(), "command": command, "date": time.strftime("%Y-%m-%d"), "dataset": args.dataset, "rows": rows}
    (ROOT / "benchmarks/results/encoders.json").write_text(json.dumps(result, indent=2) + "\n")
    info = result["machine"]
    lines = [f"Measured {result['date']} on {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM, with `{command}` "
             f"(dataset `{args.dataset}`).", "",
             "| encoder | seed | val PR-AUC | test PR-AUC | epochs | s/epoch |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['encoder']} | {r['seed']} | {r['val_pr_auc']:.4f} | {r['test_pr_auc']:.4f} | {r['epochs_run']} | {r['seconds_per_epoch']} |" for r in rows]
    (ROOT / "benchmarks/results/encoders.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
