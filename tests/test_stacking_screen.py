"""benchmarks/stacking.py (the twenty-sixth round's screen): products dealt into folds, and a fold's products taken out
of a snapshot without changing what a network without graph layers makes of the others."""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np
import polars as pl
import torch

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_every_product_gets_one_fold_whatever_the_order_and_repeats():
    from stacking import product_folds

    ids = pl.Series([f"p{i}" for i in range(10)])
    folds = product_folds(ids, 3, seed=4)
    assert set(folds) == set(ids) and set(folds.values()) == {0, 1, 2}
    assert sorted(Counter(folds.values()).values()) == [3, 3, 4]  # 10 products dealt round-robin into 3 folds
    # The same products in another order, each repeated (a product at several cutoffs): the same folds.
    assert product_folds(pl.concat([ids.reverse(), ids]), 3, seed=4) == folds
    assert any(product_folds(ids, 3, seed=s) != folds for s in range(5, 10))  # the seed deals the cards


def test_a_subset_scores_its_products_as_the_whole_snapshot_does(tiny_training):
    from stacking import subset

    from hotseller.train.data import load_snapshots
    from hotseller.train.loop import predict
    from hotseller.split import load_split
    from hotseller.train.model import HotSellerNet

    snaps, _, n_categories = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]),
                                            neighbours=True)
    snap = snaps["train"][-1]
    keep = np.arange(snap.n_nodes) % 3 != 1
    part = subset(snap, keep)
    assert part.product_id.to_list() == [p for p, k in zip(snap.product_id.to_list(), keep) if k]
    assert part.edges.shape == (2, 0) and part.n_nodes == int(keep.sum())
    assert torch.equal(part.static, snap.static[torch.from_numpy(keep)])  # the neighbour aggregates kept as they were
    assert np.array_equal(part.future_units, snap.future_units[keep])
    torch.manual_seed(0)
    model = HotSellerNet(snap.seq.shape[-1], snap.static.shape[-1], n_categories, 16, "none", 0, 0.0, "gru")
    whole = predict(model, snap, torch.device("cpu"), None)["hot"]
    assert np.allclose(predict(model, part, torch.device("cpu"), None)["hot"], whole[keep], atol=1e-6)
