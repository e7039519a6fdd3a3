"""Trees on out-of-fold network scores (stacking), a validation screen: issue 18's "Not tried yet" item, the hybrid
`gnn_gbt` without its flaw. `gnn_gbt` fits trees on the network's embeddings of the very training examples the network
learnt from, so on those rows the embeddings are better than they will be on validation and test, and the trees
over-trust them (Olist: 0.212 on validation against the plain GBT's 0.218). Here each training example's network logit
comes from networks that never saw its product: the products are split into FOLDS folds (a seeded permutation, a
product in one fold at every cutoff), an ensemble of the configured size learns from the other folds' products, and
scores the held-out fold's. Validation gets the mean of the FOLDS ensembles' logits (the usual K-fold recipe), so a
training row and a validation row see the same kind of score. The trees are the baseline GBT as its validation
search chose it (settings, recency half-life, training-row sample); they differ from it by the one column.

Exact only for a network without graph layers (train.gnn none, the shipped trainer): its inputs, the neighbour
aggregates included, are computed per product before training, so a fold's products can be taken out of a snapshot
without changing anyone's inputs. The normaliser is the training snapshots' (inputs only, no label); the label and the
sales head's percentile stay the market's (defined over every product of a cutoff, as in the pipeline).

The rule, stated before any run (twenty-sixth round): the candidate is the better on validation of the stacked trees
and their best blend with a baseline (hybrid.choose_blend); the reference is the better of the same seed's fold-averaged
network and its best blend (the pipeline's champion with the network inside, built from the same networks). Seeds 0-2
(the networks' seed and the fold permutation). The candidate becomes a pipeline model only if its gain over the
reference, mean of the seeds, is at least +0.005 on two of the three datasets and above -0.005 on the third; otherwise
test is not looked at. Validation only: test snapshots are never built.

A second arm, stated after the first arm's Olist and Online Retail runs and before any run of its own: boosting's second round from
out-of-fold scores (docs/results.md, "Not tried yet"): LightGBM trees (benchmarks/boosted_round2.py's translation of the
GBT's chosen settings, 200 trees, unweighted as in the eleventh round) fitted from the out-of-fold logit (init_score) on
the training rows, added to the fold-averaged logit on validation. The same reference and the same bar. It needs
LightGBM (`pip install -e '.[bench]'`, or lightgbm alone).

    .venv/bin/python benchmarks/stacking.py --dataset olist --out benchmarks/results/stacking_round26.json
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
from sklearn.metrics import average_precision_score
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.baselines import GBT_FIXED, design, fit_weights, make_gbt, training_rows  # noqa: E402
from hotseller.hybrid import choose_blend  # noqa: E402
from hotseller.logits import sigmoid  # noqa: E402
from hotseller.settings import BLEND_PARTNERS  # noqa: E402
from hotseller.split import load_split  # noqa: E402
from hotseller.train.config import TrainConfig  # noqa: E402
from hotseller.train.data import Snapshot  # noqa: E402
from hotseller.train.distributed import init_world  # noqa: E402
from hotseller.train.loop import fit, member_seed, predict, snapshots_for, switch_off_missing_targets  # noqa: E402
from hotseller.train.model import as_one  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script
from variants import train_params  # noqa: E402 - benchmarks/variants.py, beside this script

FOLDS = 3
NODE_FIELDS = ("seq", "static", "category", "hot", "rating", "rating_mask", "engagement", "sales")  # one row per product
KEYS = ["cutoff", "product_id"]


def product_folds(product_ids: pl.Series, folds: int, seed: int) -> dict[str, int]:
    """Each product's fold: the sorted distinct ids in a seeded random order, dealt round-robin (sizes differ by at most 1)."""
    ids = product_ids.unique().sort().to_list()
    order = np.random.default_rng(seed).permutation(len(ids))
    return {ids[i]: rank % folds for rank, i in enumerate(order)}


def subset(snap: Snapshot, keep: np.ndarray) -> Snapshot:
    """The snapshot's products where `keep`, without edges (a network without graph layers reads none)."""
    rows = torch.from_numpy(np.flatnonzero(keep))
    nodes = {name: getattr(snap, name)[rows] for name in NODE_FIELDS}
    return dataclasses.replace(snap, product_id=snap.product_id.filter(pl.Series(keep)), future_units=snap.future_units[keep],
                               edges=snap.edges[:, :0], edge_attr=None if snap.edge_attr is None else snap.edge_attr[:0], **nodes)


def fold_mask(snap: Snapshot, folds: dict[str, int], fold: int) -> np.ndarray:
    return np.array([folds[p] == fold for p in snap.product_id.to_list()])


def logit_frame(model, snaps: list[Snapshot], device: torch.device) -> pl.DataFrame:
    """(cutoff, product_id, logit) of every product of `snaps` under `model`."""
    return pl.concat([pl.DataFrame({"cutoff": s.cutoff, "product_id": s.product_id, "logit": predict(model, s, device, None)["hot"]})
                      for s in snaps])


def out_of_fold(cfg: TrainConfig, snaps: dict[str, list[Snapshot]], n_categories: int, folds: dict[str, int], work: Path,
                device: torch.device, world) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Training examples' logits from the ensembles that did not see their product, and validation's logits averaged
    over the FOLDS ensembles."""
    held, val = [], []
    for fold in range(FOLDS):
        masks = [fold_mask(s, folds, fold) for s in snaps["train"]]
        fold_snaps = {"train": [subset(s, ~m) for s, m in zip(snaps["train"], masks)], "val": snaps["val"]}
        members = []
        for member in range(cfg.ensemble):
            member_dir = work / f"fold{fold}" / f"member{member}"
            member_dir.mkdir(parents=True, exist_ok=True)
            member_cfg = dataclasses.replace(cfg, seed=member_seed(cfg.seed, member))
            members.append(fit(member_cfg, fold_snaps, n_categories, member_dir, {"fold": fold, "member": member}, world, device,
                               None, False, None).module)
        model = as_one(members)
        held.append(logit_frame(model, [subset(s, m) for s, m in zip(snaps["train"], masks)], device))
        val.append(logit_frame(model, snaps["val"], device))
    return pl.concat(held), pl.concat(val).group_by(KEYS).agg(pl.col("logit").mean())


def with_scores(examples: pl.DataFrame, scores: pl.DataFrame, name: str) -> np.ndarray:
    """`scores`' column `name` in `examples`' row order; every example must have one."""
    joined = examples.select(KEYS).join(scores, on=KEYS, how="left", maintain_order="left")[name]
    if joined.null_count():
        raise SystemExit(f"{joined.null_count()} examples have no {name}: the snapshots and examples disagree")
    return joined.to_numpy()


def best_of(val: pl.DataFrame, score: np.ndarray) -> dict:
    """A score's validation PR-AUC, its best blend with a baseline (hybrid.choose_blend) and the better of the two."""
    alone = float(average_precision_score(val["hot"], score))
    partner, weight, search = choose_blend(val.with_columns(gnn_score=pl.Series(score)))
    blended = next(r["val_pr_auc"] for r in search[partner] if r["weight"] == weight)
    return {"alone": alone, "blend": {"partner": partner, "weight": weight, "val_pr_auc": blended}, "best": max(alone, blended)}


def boosted_from(X: np.ndarray, y: np.ndarray, start: np.ndarray, rows: np.ndarray, val: np.ndarray, search: dict,
                 threads: int) -> dict[int, np.ndarray]:
    """Validation logits of the second arm after each diagnostic count of trees (boosted_round2.second_round)."""
    from boosted_round2 import lightgbm_params, second_round  # LightGBM: a benchmark extra, not the tests'

    fit_rows = np.zeros(y.size, dtype=bool)
    fit_rows[rows] = True
    params = lightgbm_params(search["chosen"], search["fixed"]["random_state"], threads)
    return second_round(X, y, start, fit_rows, val, params, GBT_FIXED["max_iter"])


@dataclasses.dataclass
class Screen:
    """What every seed of a dataset shares: the train and validation snapshots (test is never built), the examples of
    those cutoffs with the baseline GBT's features, rows and settings, and validation with the baselines' scores."""

    snaps: dict[str, list[Snapshot]]
    n_categories: int
    examples: pl.DataFrame
    masks: dict[str, np.ndarray]
    plain: np.ndarray  # the baseline GBT's features
    y: np.ndarray
    rows: np.ndarray  # the training rows the baseline GBT fitted on
    search: dict  # its gbt_search.json
    val: pl.DataFrame  # validation's keys, labels and a score column per blend partner


def load_screen(dataset: str, cfg: TrainConfig) -> Screen:
    """results/<dataset> after the workflow's baselines stage, with the snapshots `cfg`'s network reads."""
    data = Path("results") / dataset
    split = load_split(data / "split/split.json")
    split = {"train": split["train"], "val": split["val"]}
    inputs = (data / "features/examples.parquet", data / "graph/edges.parquet")
    snaps, _, n_categories = snapshots_for(cfg, *inputs, split)
    examples = pl.read_parquet(inputs[0]).filter(pl.col("cutoff").is_in(split["train"] + split["val"]))
    masks = {name: examples["cutoff"].is_in(cutoffs).to_numpy() for name, cutoffs in split.items()}
    plain, _, _ = design(examples, pl.scan_parquet(inputs[1]))
    search = json.loads((data / "baselines/gbt_search.json").read_text())
    rows = training_rows(masks["train"], search["training"]["max_train_rows"], search["training"]["sample_seed"])
    val = examples.filter(pl.Series(masks["val"])).select(*KEYS, "hot")
    for name in BLEND_PARTNERS:
        val = val.with_columns(pl.Series(name, with_scores(val, pl.read_parquet(data / f"baselines/{name}.parquet").filter(
            pl.col("split") == "val").select(*KEYS, "score"), "score")))
    return Screen(snaps, n_categories, examples, masks, plain, examples["hot"].to_numpy(), rows, search, val)


def one_seed(screen: Screen, cfg: TrainConfig, seed: int, threads: int, work: Path) -> dict:
    """The screen's figures for one seed: the fold-averaged network, the stacked trees and the boosted ones, each alone
    and blended."""
    switch_off_missing_targets(cfg, screen.snaps["train"])
    folds = product_folds(pl.concat([s.product_id for s in screen.snaps["train"]]), FOLDS, seed)
    started = time.perf_counter()
    world, device = init_world("cpu")
    held, val_logits = out_of_fold(cfg, screen.snaps, screen.n_categories, folds, work / f"seed{seed}", device, world)
    trained_s = time.perf_counter() - started

    masks, y, rows, search = screen.masks, screen.y, screen.rows, screen.search
    column = with_scores(screen.examples, pl.concat([held, val_logits]), "logit")
    X = np.hstack([screen.plain, column[:, None].astype(np.float32)])
    with threadpool_limits(limits=threads):
        trees = make_gbt(search["fixed"]["random_state"], search["chosen"]).fit(
            X[rows], y[rows], sample_weight=fit_weights(screen.examples["cutoff"].to_numpy()[rows], search["training"]["recency_half_life"]))
        stacked = trees.predict_proba(X[masks["val"]])[:, 1]
    boosted = boosted_from(screen.plain, y, column, rows, masks["val"], search, threads)

    network = best_of(screen.val, sigmoid(column[masks["val"]]))
    candidate = best_of(screen.val, stacked)
    second = best_of(screen.val, sigmoid(boosted[GBT_FIXED["max_iter"]]))
    second["trees"] = {k: float(average_precision_score(screen.val["hot"], v)) for k, v in boosted.items()}
    return {"network": network, "stacked": candidate, "gain": candidate["best"] - network["best"],
            "boosted": second, "gain_boosted": second["best"] - network["best"],
            "oof_train_pr_auc": float(average_precision_score(y[masks["train"]], column[masks["train"]])),
            "baseline_gbt": search["chosen_val_pr_auc"], "train_seconds": round(trained_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--config", nargs="+", default=["config.yaml"], help="config files, later ones update earlier ones")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", default="/tmp/stacking")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    base = train_params(args.config, args.dataset)
    configs = [TrainConfig.from_section(base | {"seed": base.get("seed", 0) + seed, "threads": args.threads}) for seed in range(args.seeds)]
    if configs[0].gnn != "none":
        raise SystemExit(f"train.gnn is {configs[0].gnn}: taking a fold's products out of a graph would change its neighbours' inputs")
    torch.set_num_threads(args.threads)
    screen = load_screen(args.dataset, configs[0])  # the inputs do not depend on the seed
    gains = {"gain": [], "gain_boosted": []}
    for seed, cfg in enumerate(configs):
        row = one_seed(screen, cfg, seed, args.threads, Path(args.work) / args.dataset)
        update_record(Path(args.out), [args.dataset, "seeds", str(seed)], row)
        for arm, values in gains.items():
            values.append(row[arm])
        print(json.dumps({args.dataset: {seed: row}}), flush=True)
    summary = {f"{stat}_{arm}": float(fn(values)) for arm, values in gains.items()
               for stat, fn in (("mean", np.mean), ("sd", lambda v: np.std(v, ddof=1) if len(v) > 1 else 0.0))}
    update_record(Path(args.out), [args.dataset, "summary"], summary)
    print(json.dumps({args.dataset: summary}))


if __name__ == "__main__":
    main()
