"""A boosted GNN's second round, for a validation screen: gradient-boosted trees that start from the residual network's
logit and fit what it left ("Boost then Convolve", Ivanov and Prokhorenkova 2021: trees, then a network on their
residual, then trees again). Round one is the tenth round's screen (benchmarks/boosted.py, then variants.py with
`offset_column: s_gbt_logit`); this script takes its networks, seed by seed, and writes a run folder per seed with the
validation predictions of network + trees, for variants.py's summary and seed_blend.py's champion.

scikit-learn's HistGradientBoostingClassifier takes no starting margin, so the trees are LightGBM's (`init_score`),
an optional dependency (`pip install -e '.[bench]'`). They take the baseline GBT's chosen settings (gbt_search.json)
translated to LightGBM, fixed before any run; LightGBM from its own start with those settings is recorded beside the
baseline GBT's own validation PR-AUC, to show what the translation changes. The network's logit on the training
examples is its own fit (in sample), as in the paper: the trees learn the gradient the network left on the rows it
trained on. Validation PR-AUC after fewer trees is recorded as a diagnostic, not a choice.

Needs the tenth round's networks first (<work>/<dataset>_boosted/residual/seed<k>, docs/rounds.md "Tenth round"):

    .venv/bin/python benchmarks/boosted_round2.py --dataset olist --out benchmarks/results/boosted_round2.json
    .venv/bin/python benchmarks/seed_blend.py --dataset olist_boosted --variant round2 --baselines results/olist/baselines \\
        --out benchmarks/results/seed_blend_round11.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.baselines import GBT_FIXED, design  # noqa: E402
from hotseller.hybrid import gnn_outputs  # noqa: E402
from hotseller.logits import logit, sigmoid  # noqa: E402
from hotseller.split import load_split  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script

DIAGNOSTIC_TREES = (10, 25, 50, 100)


def lightgbm_params(chosen: dict, seed: int, threads: int) -> dict:
    """The baseline GBT's settings in LightGBM's names (scikit-learn's defaults where the GBT leaves them: 20 examples
    per leaf, 255 bins, no depth limit, no row or column sampling)."""
    return {"objective": "binary", "learning_rate": chosen["learning_rate"], "num_leaves": chosen["max_leaf_nodes"],
            "lambda_l2": chosen["l2_regularization"], "min_child_samples": 20, "min_sum_hessian_in_leaf": 1e-3,
            "max_bin": 255, "seed": seed, "deterministic": True, "force_row_wise": True, "num_threads": threads,
            "verbose": -1}


def network_logits(run_dir: Path, examples: pl.DataFrame, boosted: Path, cutoffs: list[int]) -> np.ndarray:
    """A residual network's logit of every example (rows in `examples`' order), checked against the validation
    predictions its own run wrote, so the model is read back as it was trained."""
    outputs = gnn_outputs(run_dir / "model", pl.scan_parquet(boosted / "features/examples.parquet"),
                          pl.scan_parquet(boosted / "graph/edges.parquet"), cutoffs)
    joined = examples.select("cutoff", "product_id").join(outputs.select("cutoff", "product_id", "gnn_score"),
                                                         on=["cutoff", "product_id"], how="left", maintain_order="left")
    if joined.height != examples.height:
        raise SystemExit(f"{run_dir}: the network's scores repeat a (cutoff, product): they cannot be matched to the examples")
    if joined["gnn_score"].null_count():
        raise SystemExit(f"{run_dir}: the network scored {joined['gnn_score'].null_count()} examples fewer than the dataset holds")
    written = pl.read_parquet(run_dir / "predictions.parquet").filter(pl.col("split") == "val").select("cutoff", "product_id", "score")
    check = joined.join(written, on=["cutoff", "product_id"])
    if check.height != written.height or not np.allclose(check["gnn_score"], check["score"], rtol=1e-4, atol=1e-6):
        raise SystemExit(f"{run_dir}: the saved model does not reproduce its run's validation predictions")
    return logit(joined["gnn_score"].to_numpy())


def second_round(X: np.ndarray, y: np.ndarray, start: np.ndarray | None, train: np.ndarray, val: np.ndarray, params: dict,
                 n_trees: int) -> dict[int, np.ndarray]:
    """Validation logits of `start` plus trees fitted from it on the training rows, after each diagnostic count of
    trees and after all of them. No `start`: plain LightGBM (its own start, the training rows' log-odds)."""
    booster = lgb.train(params, lgb.Dataset(X[train], y[train], init_score=None if start is None else start[train]),
                        num_boost_round=n_trees)
    base = 0.0 if start is None else start[val]
    counts = [k for k in DIAGNOSTIC_TREES if k < n_trees] + [n_trees]
    return {k: base + booster.predict(X[val], raw_score=True, num_iteration=k) for k in counts}


def write_run(run_dir: Path, examples: pl.DataFrame, val: np.ndarray, logits: np.ndarray) -> None:
    """The validation predictions in a trainer run's layout, which variants.py and seed_blend.py read."""
    run_dir.mkdir(parents=True, exist_ok=True)
    examples.filter(pl.Series(val)).select(pl.lit("val").alias("split"), "cutoff", "product_id", "hot").with_columns(
        score=pl.Series(sigmoid(logits))).write_parquet(run_dir / "predictions.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, help="the source dataset (results/<dataset>/ and results/<dataset>_boosted/)")
    parser.add_argument("--variant", default="residual", help="the variants.py screen whose networks start the trees")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", default="/tmp/variants")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    data, boosted = Path("results") / args.dataset, Path("results") / f"{args.dataset}_boosted"
    split = load_split(data / "split/split.json")
    cutoffs = sorted(set(split["train"]) | set(split["val"]))  # test is not read
    examples = pl.scan_parquet(data / "features/examples.parquet").filter(pl.col("cutoff").is_in(cutoffs)).collect()
    train, val = (examples["cutoff"].is_in(split[name]).to_numpy() for name in ("train", "val"))
    X, _, _ = design(examples, pl.scan_parquet(data / "graph/edges.parquet"))
    y = examples["hot"].to_numpy()
    search = json.loads((data / "baselines/gbt_search.json").read_text())
    if search["training"]["examples"] != int(train.sum()):  # the baseline fitted on a sample: these trees would not be its
        raise SystemExit(f"the baseline GBT fitted on {search['training']['examples']} of {int(train.sum())} training examples")
    params = lightgbm_params(search["chosen"], search["fixed"]["random_state"], args.threads)
    n_trees = GBT_FIXED["max_iter"]
    ap = lambda logits: float(average_precision_score(y[val], logits))  # noqa: E731
    plain = second_round(X, y, None, train, val, params, n_trees)[n_trees]
    record = {"trees": n_trees, "lightgbm_params": params, "lightgbm_from_zero": ap(plain),
              "baseline_gbt": search["chosen_val_pr_auc"], "seeds": {}}
    starts, finals = [], {}
    work = Path(args.work) / f"{args.dataset}_boosted"
    for seed in range(args.seeds):
        start = network_logits(work / args.variant / f"seed{seed}", examples, boosted, cutoffs)
        rounds = second_round(X, y, start, train, val, params, n_trees)
        record["seeds"][seed] = {"network": ap(start[val]), "network_plus_trees": {k: ap(v) for k, v in rounds.items()}}
        write_run(work / "round2" / f"seed{seed}", examples, val, rounds[n_trees])
        starts.append(start[val])
        for k, v in rounds.items():
            finals.setdefault(k, []).append(v)
        print(json.dumps({args.dataset: {seed: record["seeds"][seed]}}), flush=True)
    record["ensemble"] = {"network": ap(np.mean(starts, 0)), "network_plus_trees": {k: ap(np.mean(v, 0)) for k, v in finals.items()}}
    update_record(Path(args.out), [args.dataset], record)
    print(json.dumps({args.dataset: {k: record[k] for k in ("lightgbm_from_zero", "baseline_gbt", "ensemble")}}))


if __name__ == "__main__":
    main()
