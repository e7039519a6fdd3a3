"""Training throughput by precision: fp32 vs bf16 autocast on the CPU, fp32 vs fp16 autocast + GradScaler on CUDA.

Runs the real training epoch (hotseller.train.loop.run_epoch: whole-snapshot or sampled micro-batches as
config.yaml says, augmentations, every loss term, optimizer steps) on a prepared preset, a few epochs per
precision after one warm-up epoch, and reports training examples per second (products x training cutoffs
per epoch / the epoch's wall time; validation is not timed). The model starts from the same seed for each
precision. fp16 on the CPU is not measured: autocast accepts it and runs several times slower than fp32.

    .venv/bin/snakemake --cores 2 results/default/split/split.json results/default/graph/edges.parquet
    .venv/bin/python benchmarks/amp.py --dataset default --epochs 3

writes benchmarks/results/amp_cpu.json and amp_cpu.md (amp_cuda.* on a GPU) with the machine, command and date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from hotseller.settings import stage_params  # noqa: E402
from hotseller.split import load_split  # noqa: E402
from hotseller.train.config import TrainConfig  # noqa: E402
from hotseller.train.distributed import PreemptionGuard, World  # noqa: E402
from hotseller.train.loop import Trainer, make_batcher, resolve_amp, run_epoch, seed_everything, snapshots_for  # noqa: E402
from hotseller.train.model import HotSellerNet  # noqa: E402
from machine import machine  # noqa: E402 - benchmarks/machine.py, beside this script


def precisions(device: torch.device) -> list[str]:
    return ["off", "fp16"] if device.type == "cuda" else ["off", "bf16"]


def throughput(cfg: TrainConfig, snaps: dict, n_categories: int, device: torch.device, epochs: int) -> dict:
    """Examples per second of `epochs` timed training epochs after one warm-up epoch."""
    amp_dtype = resolve_amp(cfg.amp, device)
    seed_everything(cfg.seed)
    train_snaps, batcher = snaps["train"], make_batcher(cfg)
    first = train_snaps[0]
    model = HotSellerNet(first.seq.shape[-1], first.static.shape[-1], n_categories, cfg.hidden_dim, cfg.gnn, cfg.gnn_layers,
                         cfg.dropout, cfg.encoder).to(device)
    trainer = Trainer(cfg, model, -(-batcher.count(train_snaps) // cfg.accumulation_steps), device, amp_dtype)
    examples = sum(s.n_nodes for s in train_snaps)
    seconds, losses = [], []
    with PreemptionGuard() as guard:
        for epoch in range(epochs + 1):
            if device.type == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            terms = run_epoch(trainer, train_snaps, batcher, World(), device, amp_dtype, guard)
            if device.type == "cuda":
                torch.cuda.synchronize()
            trainer.epoch += 1
            if epoch:  # the first epoch warms up allocators and kernels
                seconds.append(time.perf_counter() - started)
                losses.append(terms["loss"])
    best = min(seconds)
    return {"amp": cfg.amp, "examples_per_epoch": examples, "epoch_seconds": [round(s, 3) for s in seconds],
            "examples_per_second": round(examples / best, 1), "final_train_loss": round(losses[-1], 4)}


def report(doc: dict) -> str:
    info = doc["machine"]
    lines = ["# Training throughput by precision", "",
             f"Command: `{doc['command']}`  ", f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM; "
             f"device {doc['device']}; torch {doc['torch']}  ", f"Date: {doc['date']}; dataset `{doc['dataset']}`", "",
             "| precision | examples per epoch | timed epochs (s) | examples / s (best epoch) | speed-up vs fp32 | train loss, last epoch |",
             "|---|---:|---|---:|---:|---:|"]
    base = doc["rows"][0]["examples_per_second"]
    for r in doc["rows"]:
        name = {"off": "fp32", "bf16": "bf16 autocast", "fp16": "fp16 autocast + GradScaler"}[r["amp"]]
        lines.append(f"| {name} | {r['examples_per_epoch']:,} | {', '.join(f'{s:.2f}' for s in r['epoch_seconds'])} | "
                     f"{r['examples_per_second']:,.0f} | {r['examples_per_second'] / base:.2f}x | {r['final_train_loss']:.4f} |")
    lines += ["", "One warm-up epoch per precision is not timed; validation is not timed. Each precision starts from the same",
              "seed and config.yaml's train settings.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="default", help="a prepared results/<dataset>/ (features, graph, split)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per precision")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config.yaml").read_text()) | {"dataset": args.dataset}
    base = TrainConfig.from_section(stage_params(config, "train")).as_dict()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = ROOT / "results" / args.dataset
    snaps, _, n_categories = snapshots_for(TrainConfig(**base), data / "features/examples.parquet", data / "graph/edges.parquet",
                                           load_split(data / "split/split.json"))
    rows = []
    for amp in precisions(device):
        rows.append(throughput(TrainConfig(**base | {"amp": amp, "epochs": args.epochs + 1}), snaps, n_categories, device, args.epochs))
        print(json.dumps(rows[-1]), flush=True)
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "benchmarks/amp.py", *sys.argv[1:]])
    doc = {"command": command, "machine": machine(), "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
           "torch": torch.__version__, "date": dt.date.today().isoformat(), "dataset": args.dataset, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"amp_{device.type}"
    (args.out / f"{stem}.json").write_text(json.dumps(doc, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(report(doc))
    print(report(doc))


if __name__ == "__main__":
    main()
