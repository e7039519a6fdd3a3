"""How cost grows with the data: every stage on synthetic markets of growing size, wall time and peak RSS.

For each size (products x weeks) the real stages run in order, each in its own process through the
`hotseller` CLI with the command line of its Snakemake rule (workflow/rules/*.smk) and config.yaml's
settings: synth, ingest, features, graph, split, one training epoch (`train --epochs 1`) twice, with every
snapshot trained whole (`train_full`: one forward per cutoff) and with every snapshot cut into NeighborLoader
mini-batches (`train_sampled`), and optionally baselines, audit and evaluate. Categories and sellers scale
with products at the `default` preset's ratio.
Wall time, CPU time and peak RSS (ru_maxrss of the stage's process, from os.wait4) are measured from
outside; the exponent b of time ~ a * size^b is fitted per stage by least squares on log-log.

    nice -n 19 .venv/bin/python benchmarks/scale.py --products 10000 30000 100000

writes benchmarks/results/scale.json, scale.md and scale.png with the machine, command, date and commit.
Data goes under --workdir (default /tmp/hotseller-scale), never under results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "workflow"))

from hotseller.cli import command_flags  # noqa: E402
from hotseller.settings import stage_params  # noqa: E402
from machine import git_commit, machine  # noqa: E402 - benchmarks/machine.py, beside this script

CORE = ("synth", "ingest", "features", "graph", "split", "train_full", "train_sampled")
TRAIN_MODES = {"train_full": 2**31 - 1, "train_sampled": 0}  # full_graph_max_nodes of each training stage
OPTIONAL = ("baselines", "audit", "evaluate")
TABLES = ("panel", "reviews", "products", "relations")


def market(config: dict, products: int, weeks: int) -> dict:
    """A synthetic dataset entry of this size, with the `default` preset's categories and sellers per product."""
    base = config["datasets"]["default"]
    scale = products / base["products"]
    categories = max(2, round(base["categories"] * scale))
    sellers = max(categories, round(base["sellers"] * scale))  # synth gives every category a home seller
    return {"source": "synthetic", "products": products, "weeks": weeks, "categories": categories, "sellers": sellers}


def commands(config: dict, work: Path, threads: int, optional: list[str]) -> dict[str, list[str]]:
    """Each stage's `hotseller` arguments, as its rule in workflow/rules/*.smk builds them."""
    data = config["datasets"][config["dataset"]]
    features, graph, split = (stage_params(config, s) for s in ("features", "graph", "split"))
    train = stage_params(config, "train") | {"epochs": 1, "ensemble": 1}  # one epoch of one network
    raw = {t: work / "raw" / f for t, f in zip(TABLES, ("panel.csv", "reviews.parquet", "products.csv", "relations.parquet"))}
    std = {t: work / "ingest" / f"{t}.parquet" for t in TABLES}
    examples, edges, split_json = work / "features/examples.parquet", work / "graph/edges.parquet", work / "split/split.json"
    flags = lambda values: shlex.split(command_flags(values))  # noqa: E731
    cmds = {
        "synth": ["synth", "--out-dir", work / "raw",
                  *flags({k: data[k] for k in ("products", "weeks", "categories", "sellers")} | stage_params(config, "synthetic"))],
        "ingest": ["ingest", "--source", "generic", *[a for t in TABLES for a in (f"--{t}", raw[t])], "--columns", "{}",
                   "--out-dir", work / "ingest"],
        "features": ["features", "--panel", std["panel"], "--reviews", std["reviews"], "--products", std["products"],
                     *flags(features), "--out", examples],
        "graph": ["graph", "--panel", std["panel"], "--products", std["products"], "--relations", std["relations"],
                  *flags({k: features[k] for k in ("window_weeks", "horizon_weeks", "stride_weeks")} | graph), "--out", edges],
        "split": ["split", "--examples", examples, *flags({"horizon_weeks": features["horizon_weeks"]} | split), "--out", split_json],
        **{stage: ["train", "--examples", examples, "--edges", edges, "--split", split_json, "--out", work / stage,
                   *flags(train | {"full_graph_max_nodes": max_nodes}), "--threads", threads]
           for stage, max_nodes in TRAIN_MODES.items()},
        "baselines": ["baselines", "--examples", examples, "--edges", edges, "--split", split_json,
                      *flags(config["baselines"]), "--threads", threads, "--out", work / "baselines"],
        "audit": ["audit", "--examples", examples, "--edges", edges, "--split", split_json,
                  *[a for t in TABLES for a in (f"--{t}", std[t])], *flags(features | config["audit"]), "--out-dir", work / "audit"],
        "evaluate": ["evaluate", "--gnn", work / "train_full/predictions.parquet",
                     "--baselines", *([work / f"baselines/{m}.parquet" for m in ("momentum", "logreg", "gbt")] if "baselines" in optional else []),
                     "--train-log", work / "train_full/train_log.csv", "--accounting", work / "ingest/accounting.json",
                     "--split", split_json, "--out-dir", work / "evaluation"],
    }
    return {stage: [str(a) for a in args] for stage, args in cmds.items()}


def measure(stage: str, args: list[str], log: Path, timeout: float) -> dict:
    """Run one stage in its own process; wall, CPU, peak RSS (ru_maxrss) and the 1-min load average."""
    exe = str(Path(sys.executable).parent / "hotseller")
    load_before = os.getloadavg()[0]
    began, killed = time.perf_counter(), False
    with log.open("w") as out:
        child = subprocess.Popen([exe, *args], stdout=out, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - began > timeout:
                child.kill()
                killed = True
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.2)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    wall = time.perf_counter() - began
    row = {"stage": stage, "wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
           "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "load_1min_before": round(load_before, 2),
           "load_1min_after": round(os.getloadavg()[0], 2), "status": "ok"}
    if killed:
        row["status"] = f"not measured: stopped after {timeout:.0f} s"
    elif child.returncode == -9:
        row["status"] = f"killed by SIGKILL, not by this script (the kernel's out-of-memory killer? see dmesg); see {log}"
    elif child.returncode != 0:
        row["status"] = f"failed (exit {child.returncode}); see {log}"
    return row


def rows_of(path: Path) -> int | None:
    """Rows of a parquet file, from its metadata (None if absent)."""
    import polars as pl

    return pl.scan_parquet(path).select(pl.len()).collect().item() if path.exists() else None


def counts(work: Path) -> dict:
    return {"panel_rows": rows_of(work / "ingest/panel.parquet"), "relation_rows": rows_of(work / "ingest/relations.parquet"),
            "examples": rows_of(work / "features/examples.parquet"), "edges": rows_of(work / "graph/edges.parquet")}


def fit(points: list[tuple[float, float]]) -> float | None:
    """Exponent b of y ~ a * x^b by least squares on log-log; None with fewer than 2 distinct sizes."""
    if len({x for x, _ in points}) < 2:
        return None
    x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def exponents(sizes: list[dict], stages: list[str]) -> dict[str, dict]:
    out = {}
    for stage in stages:
        ok = [(s["products"] * s["weeks"], r) for s in sizes for r in s["stages"] if r["stage"] == stage and r["status"] == "ok"]
        out[stage] = {"time": fit([(x, r["wall_s"]) for x, r in ok]), "cpu": fit([(x, r["cpu_s"]) for x, r in ok]),
                      "memory": fit([(x, r["peak_rss_mb"]) for x, r in ok]), "sizes": len(ok),
                      "runs": sorted({r["run"] for _, r in ok if "run" in r})}
    return out


def plot(sizes: list[dict], stages: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for stage in stages:
        ok = [(s["products"] * s["weeks"], r) for s in sizes for r in s["stages"] if r["stage"] == stage and r["status"] == "ok"]
        if ok:
            x = [p for p, _ in ok]
            axes[0].plot(x, [r["wall_s"] for _, r in ok], marker="o", label=stage)
            line, = axes[1].plot(x, [r["peak_rss_mb"] for _, r in ok], marker="o", label=stage)
        stopped = [(s["products"] * s["weeks"], r) for s in sizes for r in s["stages"] if r["stage"] == stage and r["status"] != "ok"]
        if stopped:  # stopped or killed: the peak it reached by then, as a cross
            axes[1].plot([p for p, _ in stopped], [r["peak_rss_mb"] for _, r in stopped], "x", markersize=9,
                         color=line.get_color() if ok else None, label=f"{stage} (stopped or killed)")
    axes[1].axhline(24_000, color="black", linestyle="--", linewidth=1, label="24 GB goal")
    for ax, label in zip(axes, ("wall time (s)", "peak RSS (MB)")):
        ax.set(xscale="log", yscale="log", xlabel="products x weeks", ylabel=label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=7)
    fig.suptitle("hotseller stages against market size, one process each (machine and load: scale.md)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def combine(paths: list[Path]) -> dict:
    """One report from several runs' scale.json (e.g. a size measured later, or its training stages on kept data):
    sizes merged by products x weeks, every row tagged with its run, exponents fitted over all of them. A stage
    measured again at a size in a later run (later in `paths`) replaces the earlier row: after a change to it."""
    runs, sizes = [], {}
    for number, path in enumerate(paths, 1):
        doc = json.loads(path.read_text())
        runs.append({k: doc[k] for k in ("command", "machine", "date", "commit", "note")})
        for size in doc["sizes"]:
            merged = sizes.setdefault((size["products"], size["weeks"]), {**size, "stages": [], "not_run": {}})
            merged["stages"] += [r | {"run": number} for r in size["stages"]]
            merged["not_run"] |= size.get("not_run", {})
            merged["counts"] = {k: v if v is not None else merged["counts"].get(k) for k, v in size["counts"].items()}
    order = [*CORE, *OPTIONAL]
    for size in sizes.values():
        latest = {r["stage"]: r for r in size["stages"]}  # rows are in run order, so the last one per stage stays
        size["stages"] = sorted(latest.values(), key=lambda r: order.index(r["stage"]))
        size["not_run"] = {k: v for k, v in size["not_run"].items() if k not in {r["stage"] for r in size["stages"]}}  # measured in another run
    merged = [sizes[k] for k in sorted(sizes)]
    stages = [s for s in order if any(r["stage"] == s for size in merged for r in size["stages"])]
    return {"runs": runs, "machine": runs[-1]["machine"], "weeks": merged[0]["weeks"], "sizes": merged,
            "exponents": exponents(merged, stages)}


def header(doc: dict) -> list[str]:
    """Command, machine, date and commit of the run, or of each run of a combined report."""
    if "runs" not in doc:
        info = doc["machine"]
        return [f"Command: `{doc['command']}`  ",
                f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM; Python {info['python']}  ",
                f"Date: {doc['date']}; commit {doc['commit']}  ", *([f"**{doc['note']}**"] if doc.get("note") else [])]
    lines = ["Combined from these runs (the `run` of each row below):", ""]
    for number, run in enumerate(doc["runs"], 1):
        info = run["machine"]
        lines.append(f"{number}. `{run['command']}`: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM, Python "
                     f"{info['python']}; {run['date']}, commit {run['commit']}" + (f". {run['note']}" if run.get("note") else ""))
    return [*lines, ""]


def report(doc: dict) -> str:
    fits = doc["exponents"]
    lines = [
        "# Scale benchmark: cost of each stage against market size",
        "",
        *header(doc),
        "Other work on the machine inflates wall time (see the 1-minute load average before and after each stage);",
        "CPU time is less affected.",
        "",
        "| products | weeks | products x weeks | categories | sellers | stage | wall (s) | CPU (s) | peak RSS (MB) | load 1 min before / after | status |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|",
    ]
    for s in doc["sizes"]:
        for r in s["stages"]:
            measured = r["status"] == "ok"
            lines.append(f"| {s['products']:,} | {s['weeks']} | {s['products'] * s['weeks']:,} | {s['categories']} | {s['sellers']} | {r['stage']} | "
                         + (f"{r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:,.0f}" if measured else "- | - | -")
                         + f" | {r['load_1min_before']:.2f} / {r['load_1min_after']:.2f} | {r['status']}"
                         + (f" (run {r['run']})" if "run" in r else "")
                         + ("" if measured else f" (by then {r['cpu_s']:.0f} s CPU, peak RSS {r['peak_rss_mb']:,.0f} MB)") + " |")
        for stage, why in s.get("not_run", {}).items():
            lines.append(f"| {s['products']:,} | {s['weeks']} | {s['products'] * s['weeks']:,} | {s['categories']} | {s['sellers']} | {stage} | "
                         f"- | - | - | - | {why} |")
    lines += ["", "Rows and examples per size (read from the stages' outputs):", "",
              "| products | panel rows | relation rows | examples | edges |", "|---:|---:|---:|---:|---:|"]
    fmt = lambda v: "-" if v is None else f"{v:,}"  # noqa: E731
    for s in doc["sizes"]:
        c = s["counts"]
        lines.append(f"| {s['products']:,} | {fmt(c['panel_rows'])} | {fmt(c['relation_rows'])} | {fmt(c['examples'])} | {fmt(c['edges'])} |")
    lines += ["", "Fitted exponent b of cost ~ a * (products x weeks)^b, least squares on log-log over the measured sizes:", "",
              "| stage | sizes | runs | b (wall) | b (CPU) | b (peak RSS) |", "|---|---:|---|---:|---:|---:|"]
    for stage, f in fits.items():
        runs = ", ".join(map(str, f.get("runs", []))) or "-"
        if f["time"] is None:
            lines.append(f"| {stage} | {f['sizes']} | {runs} | not enough sizes | not enough sizes | not enough sizes |")
        else:
            lines.append(f"| {stage} | {f['sizes']} | {runs} | {f['time']:.2f} | {f['cpu']:.2f} | {f['memory']:.2f} |")
    lines += ["", "Each stage ran once, in its own process, with the command line of its Snakemake rule and config.yaml's",
              "settings (`train_full` / `train_sampled`: `train --epochs 1` with full_graph_max_nodes 2^31-1 / 0; the time",
              "includes loading the data, building the per-cutoff graphs and predicting validation and test). Wall time",
              "includes starting Python and importing the libraries (a few seconds, more for the stages that import torch),",
              "so at small sizes it flattens the fitted exponent;",
              "peak RSS likewise has a floor of the interpreter and libraries. CPU is user + system time of the stage's",
              "process. Categories and sellers grow with products at the `default` preset's ratio (12 and 80 per 4,000).",
              "Plot: scale.png.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--with", dest="optional", nargs="*", default=[], choices=OPTIONAL,
                        help="optional stages to measure after the training epoch")
    parser.add_argument("--no-train", action="store_true", help="data stages only (synth .. split)")
    parser.add_argument("--train-modes", nargs="+", default=list(TRAIN_MODES), choices=list(TRAIN_MODES),
                        help="which training epochs to measure")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="--threads of train and baselines (the rules': --cores)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds after which a stage is stopped and recorded as not measured")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/hotseller-scale"))
    parser.add_argument("--keep", action="store_true", help="keep each size's data under --workdir")
    parser.add_argument("--only", nargs="+", choices=CORE + OPTIONAL,
                        help="measure only these stages, on the data an earlier --keep run left under --workdir")
    parser.add_argument("--note", default="", help="a line for the report, e.g. what else the machine was running")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where scale.json/.md/.png go")
    parser.add_argument("--combine", type=Path, nargs="+", metavar="JSON",
                        help="measure nothing: write one report (to --out) from these runs' scale.json")
    args = parser.parse_args()
    if args.combine:
        doc = combine(args.combine)
        write(doc, args.out, list(doc["exponents"]))
        return
    if args.workdir.resolve().is_relative_to(ROOT / "results"):
        raise SystemExit("--workdir must not be under results/")

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    stages = [s for s in CORE if s not in TRAIN_MODES or (s in args.train_modes and not args.no_train)]
    stages += [s for s in OPTIONAL if s in args.optional]
    if args.only:
        stages = [s for s in CORE + OPTIONAL if s in args.only]
    if "evaluate" in stages and "train_full" not in stages and not args.only:
        raise SystemExit("evaluate needs train_full's predictions: measure train_full or drop evaluate")
    command = " ".join(shlex.quote(a) for a in ["nice", "-n", str(os.nice(0)), ".venv/bin/python", "benchmarks/scale.py", *sys.argv[1:]])
    doc = {"command": command, "machine": machine(), "date": dt.date.today().isoformat(), "commit": git_commit(ROOT),
           "weeks": args.weeks, "note": args.note, "sizes": []}
    too_slow: dict[str, str] = {}
    for products in sorted(args.products):
        config["datasets"]["scale"] = market(config, products, args.weeks)
        config["dataset"] = "scale"
        work = args.workdir / f"p{products}_w{args.weeks}"
        if not args.only:
            shutil.rmtree(work, ignore_errors=True)
        for sub in ("logs", "split"):  # Snakemake makes output folders; `hotseller split` expects its own
            (work / sub).mkdir(parents=True, exist_ok=True)
        cmds = commands(config, work, args.threads, args.optional)
        size = {k: config["datasets"]["scale"][k] for k in ("products", "weeks", "categories", "sellers")} | {"stages": []}
        for i, stage in enumerate(stages):
            if stage in too_slow:  # it already ran past --timeout on a smaller market: do not wait for it again
                size["not_run"] = {s: f"not run: {too_slow[stage]}" for s in stages[i:]}
                break
            print(f"[{products:,} x {args.weeks}] {stage} ...", flush=True)
            row = measure(stage, cmds[stage], work / "logs" / f"{stage}.log", args.timeout)
            size["stages"].append(row)
            print(json.dumps(row), flush=True)
            if row["status"] != "ok":
                size["not_run"] = {s: f"not run: {stage} was not measured" for s in stages[i + 1:]}
                if row["status"].startswith("not measured"):
                    too_slow[stage] = f"{stage} ran past {args.timeout:.0f} s on {products:,} products"
                break
        size["counts"] = counts(work)
        doc["sizes"].append(size)
        if not args.keep:
            shutil.rmtree(work / "raw", ignore_errors=True)
            for sub in ("ingest", "features", "graph", "split", *TRAIN_MODES, "baselines", "audit", "evaluation"):
                shutil.rmtree(work / sub, ignore_errors=True)  # logs/ stays, for a look at what a stage said
    doc["exponents"] = exponents(doc["sizes"], stages)
    write(doc, args.out, stages)


def write(doc: dict, out: Path, stages: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(doc, indent=2) + "\n")
    (out / "scale.md").write_text(report(doc))
    plot(doc["sizes"], stages, out / "scale.png")
    print(report(doc))


if __name__ == "__main__":
    main()
