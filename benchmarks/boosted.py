"""A boosted GNN's inputs, for a validation screen: the trees' logit as one more static input of the network ("Boost
then Convolve", Ivanov and Prokhorenkova 2021, in its simplest form), so the network starts from what the trees see
and its neighbourhood passes the neighbours' tree scores along. Writes results/<dataset>_boosted/ (examples with the
column `s_gbt_logit`, the dataset's edges and split); then screen it with benchmarks/variants.py.

A training example's score is out of fold: three GBTs (the baseline's chosen settings), each fitted on the training
examples of two thirds of the products (folds by a CRC-32 of the product id, stable across library versions), score
the third they never saw, so the network cannot learn to trust a score that memorised the product's own label. Two
caveats of stacking remain: the neighbours' scores a product receives come from fold models that did learn its label
(a weak second-order path), and training scores come from fits on two thirds of the data while validation and test
are scored by the GBT fitted on all training examples, the baseline GBT itself (checked against its predictions).

    .venv/bin/python benchmarks/boosted.py --dataset olist
    .venv/bin/python benchmarks/variants.py --config config.yaml benchmarks/boosted.yaml --dataset olist_boosted \\
        --seeds 3 --variants '{"boosted": {}}' --out benchmarks/results/variants_boosted_olist.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import zlib
from pathlib import Path

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.baselines import design, make_gbt  # noqa: E402
from hotseller.logits import logit  # noqa: E402
from hotseller.split import load_split  # noqa: E402

FOLDS = 3


def tree_scores(examples: pl.DataFrame, edges: Path, train: np.ndarray, chosen: dict) -> np.ndarray:
    """Every example's GBT probability: out of fold (by product) for training examples, the full fit elsewhere."""
    X, _, _ = design(examples, pl.scan_parquet(edges))
    y = examples["hot"].to_numpy()
    seed, params = chosen["fixed"]["random_state"], chosen["chosen"]
    scores = np.empty(examples.height)
    full = make_gbt(seed, params).fit(X[train], y[train])
    scores[~train] = full.predict_proba(X[~train])[:, 1]
    fold = np.array([zlib.crc32(p.encode()) % FOLDS for p in examples["product_id"].to_list()])
    for m in range(FOLDS):
        held = train & (fold == m)
        scores[held] = make_gbt(seed, params).fit(X[train & (fold != m)], y[train & (fold != m)]).predict_proba(X[held])[:, 1]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    data, out = Path("results") / args.dataset, Path("results") / f"{args.dataset}_boosted"
    split = load_split(data / "split/split.json")
    examples = pl.read_parquet(data / "features/examples.parquet")
    train = examples["cutoff"].is_in(split["train"]).to_numpy()
    with threadpool_limits(limits=args.threads):
        scores = tree_scores(examples, data / "graph/edges.parquet", train, json.loads((data / "baselines/gbt_search.json").read_text()))
    boosted = examples.with_columns(s_gbt_logit=pl.Series(logit(scores), dtype=pl.Float32))
    shipped = pl.read_parquet(data / "baselines/gbt.parquet").select("cutoff", "product_id", "score")
    check = boosted.select("cutoff", "product_id", mine=pl.Series(scores)).join(shipped, on=["cutoff", "product_id"])
    if not np.allclose(check["mine"].to_numpy(), check["score"].to_numpy()):
        raise SystemExit("the full GBT does not reproduce the baseline GBT's validation/test scores")
    for folder in ("features", "graph", "split"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    boosted.write_parquet(out / "features/examples.parquet")
    shutil.copyfile(data / "graph/edges.parquet", out / "graph/edges.parquet")
    shutil.copyfile(data / "split/split.json", out / "split/split.json")
    print(f"{out}: {int(train.sum())} training examples scored out of fold, {check.height} validation/test examples "
          f"equal to the baseline GBT's")


if __name__ == "__main__":
    main()
