"""Does refitting on the most recent labels help, and whom? A validation-only check of "refit every model on training +
validation cutoffs before scoring test", done inside the validation window so that test stays unseen.

The validation cutoffs are cut in two: the earlier half ("inner validation") makes every choice, the later half is
scored. Protocol A fits as the workflow does (GNN ensemble early-stopped on the inner validation; logreg; the GBT's grid,
logreg_gbt's share and the blend's partner and share chosen on it) on the training cutoffs. Protocol B keeps every one of
A's choices (each ensemble member's best epoch, the GBT's settings, the shares) and refits the GNN, logreg and the GBT on
every cutoff whose label window ends by the first scored cutoff (training + inner validation). B - A on the scored
cutoffs is the effect of the fresher labels. Reads results/<dataset>/ (run the workflow first); one training at a time.

    .venv/bin/python benchmarks/refit.py --dataset realistic --out benchmarks/results/refit_realistic.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.baselines import logit_blend, make_gbt, make_logreg, run_baselines  # noqa: E402
from hotseller.design import design  # noqa: E402
from hotseller.scoring import SplitScorer, bootstrap, interval  # noqa: E402
from hotseller.hybrid import BLEND_PARTNERS, choose_blend  # noqa: E402
from hotseller.split import check_no_leakage, load_split  # noqa: E402
from hotseller.train.config import TrainConfig  # noqa: E402
from hotseller.train.distributed import init_world  # noqa: E402
from hotseller.train.loop import member_seed, prediction_frame, refit, snapshots_for, train  # noqa: E402
from hotseller.train.model import as_one  # noqa: E402

MODELS = ("gnn", "logreg", "gbt", "logreg_gbt", "blend")
KEYS = ["cutoff", "product_id"]


def protocol_a(cfg: TrainConfig, data: Path, split: dict[str, list[int]], horizon: int, work: Path, seed: int, threads: int):
    """Protocol A as the workflow runs it, on the nested split (test = the scored cutoffs): every model's predictions
    of the scored cutoffs, the members' best epochs, the baselines' choices, and the blend's partner and share."""
    nested = work / "split.json"
    nested.parent.mkdir(parents=True, exist_ok=True)
    nested.write_text(json.dumps({"horizon_weeks": horizon, "cutoffs": split}))
    inputs = (data / "features/examples.parquet", data / "graph/edges.parquet", nested)
    summary = train(cfg, *inputs, work / "gnn")
    run_baselines(*inputs, work / "baselines", seed, threads)
    pair = pl.read_parquet(work / "gnn/predictions.parquet").select("split", *KEYS, "hot", gnn_score="score")
    for m in BLEND_PARTNERS:  # joined on the keys, as the hybrid stage joins them
        pair = pair.join(pl.read_parquet(work / f"baselines/{m}.parquet").select("split", *KEYS, pl.col("score").alias(m)),
                         on=["split", *KEYS], how="left", maintain_order="left")
    if pair.select(BLEND_PARTNERS).null_count().sum_horizontal().item():
        raise SystemExit("the baselines scored other examples than the GNN")
    partner, weight, _ = choose_blend(pair.filter(pl.col("split") == "val"))
    scored = pair.filter(pl.col("split") == "test")
    frames = {"gnn": scored.select(*KEYS, "hot", score="gnn_score"), **{m: scored.select(*KEYS, "hot", score=m) for m in BLEND_PARTNERS},
              "blend": scored.select(*KEYS, "hot", score=pl.Series(logit_blend(scored["gnn_score"].to_numpy(), scored[partner].to_numpy(), weight)))}
    return frames, summary["member_best_epochs"], (partner, weight)


def refit_gnn(cfg: TrainConfig, best_epochs: list[int], inputs: tuple[Path, Path], fit: list[int], scored: list[int]) -> pl.DataFrame:
    """The ensemble refit member by member (its seed, its best epoch) on `fit`, scored on `scored`."""
    snaps, _, n_categories = snapshots_for(cfg, *inputs, {"train": fit, "val": scored})
    world, device = init_world("cpu")
    members = [refit(dataclasses.replace(cfg, seed=member_seed(cfg.seed, i)), snaps["train"], n_categories, epochs, world, device, None, i)
               for i, epochs in enumerate(best_epochs)]
    model = as_one(members)
    heads = {"rating": False, "engagement": False}
    return pl.concat([prediction_frame(model, snap, "val", device, None, heads) for snap in snaps["val"]]).select(*KEYS, "score")


def refit_baselines(data: Path, chosen: dict, fit: list[int], scored: list[int]) -> pl.DataFrame:
    """logreg and the GBT (A's chosen settings) refit on `fit`, logreg_gbt with A's share; scores of `scored`."""
    examples = pl.read_parquet(data / "features/examples.parquet").filter(pl.col("cutoff").is_in(fit + scored))
    X, n_tabular, _ = design(examples, pl.scan_parquet(data / "graph/edges.parquet"))
    keys = examples.select(KEYS)
    fit_rows, score_rows = examples["cutoff"].is_in(fit).to_numpy(), examples["cutoff"].is_in(scored).to_numpy()
    y = examples["hot"].to_numpy()
    logreg = make_logreg().fit(X[fit_rows, :n_tabular].astype(np.float64), y[fit_rows])
    gbt = make_gbt(chosen["fixed"]["random_state"], chosen["chosen"]).fit(X[fit_rows], y[fit_rows])
    scores = {"logreg": logreg.predict_proba(X[score_rows, :n_tabular].astype(np.float64))[:, 1],
              "gbt": gbt.predict_proba(X[score_rows])[:, 1]}
    scores["logreg_gbt"] = logit_blend(scores["logreg"], scores["gbt"], chosen["logreg_gbt"]["logreg_weight"])
    return keys.filter(pl.Series(score_rows)).with_columns(*(pl.Series(m, s) for m, s in scores.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="the baselines' seed (config.yaml baselines.seed)")
    parser.add_argument("--work", default="/tmp/refit")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    data = Path("results") / args.dataset
    split = load_split(data / "split/split.json")
    horizon = json.loads((data / "split/split.json").read_text())["horizon_weeks"]
    val = split["val"]
    scored = val[len(val) // 2:]
    every = pl.read_parquet(data / "features/examples.parquet", columns=["cutoff"])["cutoff"].unique().sort().to_list()
    fit = [c for c in every if split["train"][0] <= c and c + horizon <= scored[0]]  # training's grid, up to the scored half
    nested = {"train": split["train"], "val": val[:len(val) // 2], "test": scored}
    check_no_leakage(nested, horizon)
    cfg = TrainConfig.from_section(json.loads((data / "train/config.json").read_text()) | {"threads": args.threads, "device": "cpu"})
    print(f"{args.dataset}: fit on {len(split['train'])} -> {len(fit)} cutoffs (last {fit[-1]}), scored {scored}", flush=True)

    work = Path(args.work) / args.dataset
    a, best_epochs, (partner, weight) = protocol_a(cfg, data, nested, horizon, work, args.seed, args.threads)
    print(f"A: members' best epochs {best_epochs}; blend {weight} x GNN + {partner}", flush=True)
    started = time.perf_counter()
    gnn = refit_gnn(cfg, best_epochs, (data / "features/examples.parquet", data / "graph/edges.parquet"), fit, scored)
    gnn_s = time.perf_counter() - started
    with threadpool_limits(limits=args.threads):  # as run_baselines: oversubscribed OpenMP slows the GBT many-fold
        base = refit_baselines(data, json.loads((work / "baselines/gbt_search.json").read_text()), fit, scored)
    b_scores = base.join(gnn.rename({"score": "gnn"}), on=KEYS).sort(KEYS)
    b_scores = b_scores.with_columns(blend=pl.Series(logit_blend(b_scores["gnn"].to_numpy(), b_scores[partner].to_numpy(), weight)))
    a = {m: f.sort(KEYS) for m, f in a.items()}
    reference = a["gnn"].select(*KEYS, "hot")
    if not b_scores.select(KEYS).equals(reference.select(KEYS)):
        raise SystemExit("the refit scored other examples than the run")
    scorers = {}
    for m in MODELS:
        scorers[f"A:{m}"] = SplitScorer(a[m].with_columns(pl.col("hot").cast(pl.Int8)), 0.5, None)
        scorers[f"B:{m}"] = SplitScorer(reference.with_columns(score=b_scores[m]), 0.5, None)
    codes = np.unique(reference["product_id"].to_numpy(), return_inverse=True)[1]
    draws = bootstrap(scorers, codes, args.resamples, 0)
    points = {name: s.point()["pr_auc"] for name, s in scorers.items()}

    def diff(x: str, y: str) -> dict:
        return {"difference": points[x] - points[y], "ci": interval(draws[x]["pr_auc"] - draws[y]["pr_auc"])}

    document = {"dataset": args.dataset, "fit_cutoffs": fit, "scored_cutoffs": scored, "examples": reference.height,
                "hot": int(reference["hot"].sum()), "member_best_epochs": best_epochs, "blend": {"partner": partner, "gnn_weight": weight},
                "gnn_refit_seconds": round(gnn_s, 1), "pr_auc": points,
                "refit_minus_shipped": {m: diff(f"B:{m}", f"A:{m}") for m in MODELS},
                "gnn_minus_logreg_gbt": {p: diff(f"{p}:gnn", f"{p}:logreg_gbt") for p in "AB"},
                "blend_minus_logreg_gbt": {p: diff(f"{p}:blend", f"{p}:logreg_gbt") for p in "AB"}}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    for m in MODELS:
        r = document["refit_minus_shipped"][m]
        print(f"{m:11s} A {points[f'A:{m}']:.4f}  B {points[f'B:{m}']:.4f}  B-A {r['difference']:+.4f} [{r['ci'][0]:+.4f}, {r['ci'][1]:+.4f}]")
    for key in ("gnn_minus_logreg_gbt", "blend_minus_logreg_gbt"):
        for p in "AB":
            r = document[key][p]
            print(f"{key} {p}: {r['difference']:+.4f} [{r['ci'][0]:+.4f}, {r['ci'][1]:+.4f}]")


if __name__ == "__main__":
    main()
