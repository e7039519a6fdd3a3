"""Eighteenth round's second screen (docs/rounds.md): how much of the GNN's lead on validation is its own selection on
those cutoffs (its early stopping; the blend's and the champions' picks)?

Validation is split in time as in benchmarks/blend_rule.py. For each fold a derived split keeps the training cutoffs,
makes one half of validation its `val` and the other half its `test` (the real test cutoffs are left out and never
read), and the shipped trainer (an ensemble, as the train stage) and the baselines stage run on it: every model is
stopped, tuned and picked on one half only, then scored on the other. The reference is the headline run's models,
picked on all of validation, scored on the same half. Validation only.

    .venv/bin/python benchmarks/stop_bias.py --dataset <name> --work /tmp/stop_bias --out benchmarks/results/stop_bias_round18_<name>.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import polars as pl
import yaml
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from blend_rule import SINGLE_BASELINES, folds  # noqa: E402 - benchmarks/blend_rule.py, beside this script
from hotseller.baselines import logit_blend, run_baselines  # noqa: E402
from hotseller.evaluate import best_on_validation  # noqa: E402
from hotseller.hybrid import choose_blend  # noqa: E402
from hotseller.settings import stage_params  # noqa: E402
from hotseller.train.config import TrainConfig  # noqa: E402
from hotseller.train.loop import train  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script

KEYS = ["split", "cutoff", "product_id"]
BASELINES = (*SINGLE_BASELINES, "logreg_gbt")


def derived_split(split: dict, choosing: list[int], scoring: list[int]) -> dict:
    """The dataset's split.json with `val` the choosing cutoffs and `test` the scoring ones (both from its validation)."""
    kept = {key: value for key, value in split.items() if key not in ("cutoffs", "cutoff_weeks", "balance")}  # no word of the real test
    return kept | {"cutoffs": {"train": split["cutoffs"]["train"], "val": choosing, "test": scoring}}


def scores(train_dir: Path, baselines_dir: Path) -> pl.DataFrame:
    """One row per val/test example of a run: hot, and a score column per model (the GNN's as `gnn_score`)."""
    frame = pl.read_parquet(train_dir / "predictions.parquet").select(*KEYS, "hot", gnn_score="score")
    for name in BASELINES:
        part = pl.read_parquet(baselines_dir / f"{name}.parquet").select(*KEYS, pl.col("score").alias(name))
        joined = frame.join(part, on=KEYS, how="inner", maintain_order="left")
        if joined.height != frame.height:
            raise SystemExit(f"{baselines_dir}/{name}.parquet holds other examples than {train_dir}")
        frame = joined
    return frame


def champions(frame: pl.DataFrame, choose_on: str) -> tuple[pl.DataFrame, dict[str, str]]:
    """Each side's pick on the `choose_on` split, as the pipeline picks (hybrid.choose_blend for the blend; then
    evaluate.best_on_validation, the GNN first on a tie): the frame with the blend's column, and {"graph": name,
    "baseline": name, "blend": its partner and share}."""
    partner, weight, _ = choose_blend(frame.filter(pl.col("split") == choose_on))
    frame = frame.with_columns(blend=pl.Series(logit_blend(frame["gnn_score"].to_numpy(), frame[partner].to_numpy(), weight)))
    part = frame.filter(pl.col("split") == choose_on)
    points = {name: {"val": {"pr_auc": float(average_precision_score(part["hot"], part[name]))}} for name in ("gnn_score", "blend", *BASELINES)}
    return frame, {"graph": best_on_validation(["gnn_score", "blend"], points), "baseline": best_on_validation(list(BASELINES), points),
                   "blend": f"{partner} at the GNN's share {weight}"}


def scored_on(frame: pl.DataFrame, picks: dict[str, str], split: str) -> dict:
    """PR-AUC on `split` of the GNN, `logreg_gbt` and each side's pick, and the margin between the picks."""
    part = frame.filter(pl.col("split") == split)
    y = part["hot"].to_numpy()
    pr = {name: float(average_precision_score(y, part[name])) for name in ("gnn_score", "logreg_gbt", picks["graph"], picks["baseline"])}
    return {"picks": picks, "gnn": pr["gnn_score"], "logreg_gbt": pr["logreg_gbt"], "graph_pick": pr[picks["graph"]],
            "baseline_pick": pr[picks["baseline"]], "margin": pr[picks["graph"]] - pr[picks["baseline"]]}


def reference(data: Path, scoring: list[int]) -> dict:
    """The headline run's models (picked on all of validation) scored on the `scoring` cutoffs."""
    frame = scores(data / "train", data / "baselines").filter(pl.col("split") == "val")
    frame, picks = champions(frame, "val")
    frame = frame.with_columns(split=pl.when(pl.col("cutoff").is_in(scoring)).then(pl.lit("held")).otherwise(pl.lit("other")))
    best_epochs = json.loads((data / "train/metrics.json").read_text())["member_best_epochs"]
    return scored_on(frame, picks, "held") | {"best_epochs": best_epochs}


def held_out(base: dict, baselines: dict, data: Path, split: dict, choosing: list[int], scoring: list[int], work: Path, threads: int) -> dict:
    """Every model stopped, tuned and picked on `choosing` (the derived split's val), scored on `scoring` (its test)."""
    work.mkdir(parents=True, exist_ok=True)
    split_path = work / "split.json"
    split_path.write_text(json.dumps(derived_split(split, choosing, scoring)))
    inputs = (data / "features/examples.parquet", data / "graph/edges.parquet", split_path)
    started = time.perf_counter()
    summary = train(TrainConfig.from_section(base | {"threads": threads}), *inputs, work / "train")
    run_baselines(*inputs, work / "baselines", seed=baselines["seed"], threads=threads, max_train_rows=baselines["max_train_rows"],
                  recency_half_life=baselines.get("recency_half_life", 0.0))
    frame, picks = champions(scores(work / "train", work / "baselines"), "val")
    return scored_on(frame, picks, "test") | {"best_epochs": summary["member_best_epochs"], "seconds": round(time.perf_counter() - started)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--work", default="/tmp/stop_bias")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config = yaml.safe_load(Path(args.config).read_text()) | {"dataset": args.dataset}
    data = Path("results") / args.dataset
    split = json.loads((data / "split/split.json").read_text())
    record = {"folds": []}
    for choosing, scoring in folds(split["cutoffs"]["val"]):
        ref = reference(data, scoring)
        held = held_out(stage_params(config, "train"), stage_params(config, "baselines"), data, split, choosing, scoring,
                        Path(args.work) / args.dataset / f"choose_{'_'.join(map(str, choosing))}", args.threads)
        record["folds"].append({"choose_on": choosing, "score_on": scoring, "reference": ref, "held_out": held})
        print(f"{args.dataset} choose {choosing} score {scoring}: margin reference {ref['margin']:+.4f} held-out {held['margin']:+.4f}", flush=True)
    mean = {which: {key: sum(f[which][key] for f in record["folds"]) / len(record["folds"]) for key in ("gnn", "logreg_gbt", "graph_pick", "baseline_pick", "margin")}
            for which in ("reference", "held_out")}
    record["mean"] = mean | {"margin_drop": mean["reference"]["margin"] - mean["held_out"]["margin"]}
    update_record(Path(args.out), [args.dataset], record)
    print(json.dumps({args.dataset: record["mean"]}, indent=1))


if __name__ == "__main__":
    main()
