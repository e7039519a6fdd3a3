"""Hybrids: the blend's weight chosen on validation by hand, embeddings joined to the right rows, and the real hybrid
stage on a GNN trained on the tiny market (its GNN scores equal the trained model's own predictions)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from hotseller.hybrid import blend_weight, gnn_outputs, run_hybrid, with_embeddings


def test_blend_weight_is_the_validation_best_share_of_the_gnn():
    labels = np.array([1, 0, 0, 1, 0, 0])
    gnn = np.array([0.9, 0.8, 0.1, 0.2, 0.3, 0.0])  # ranks one hot product first, the other low
    gbt = np.array([0.2, 0.1, 0.0, 0.9, 0.8, 0.3])  # the opposite
    weight, search = blend_weight(gnn, gbt, labels)
    assert [r["gnn_weight"] for r in search] == pytest.approx(np.linspace(0.1, 1, 10).tolist())  # never 0: the GNN is in it
    # By hand: the GNN alone (w = 1) and w = 0.1 rank one hot product first and the other fourth (AP (1 + 2/4) / 2 = 0.75); w = 0.2
    # gives 0.34, 0.24, 0.02, 0.76, 0.70, 0.24 -> hot, cold, hot first (AP (1 + 2/3) / 2 = 0.833), as do 0.3 and 0.4;
    # w = 0.5 ties both hot products with a cold one at 0.55 (AP 2/3). Of the tied best weights the smallest is taken.
    by_weight = {round(r["gnn_weight"], 1): r["val_pr_auc"] for r in search}
    assert by_weight[0.1] == pytest.approx(0.75) and by_weight[1.0] == pytest.approx(0.75)
    assert by_weight[0.2] == by_weight[0.3] == by_weight[0.4] == pytest.approx(5 / 6) and by_weight[0.5] == pytest.approx(2 / 3)
    assert weight == 0.2


def test_embeddings_join_each_example_to_its_own_cutoff_and_product():
    examples = pl.DataFrame({"cutoff": [2, 1, 2], "product_id": ["a", "a", "b"]})
    outputs = pl.DataFrame({"cutoff": [1, 2, 2], "product_id": ["a", "a", "b"]}).with_columns(
        pl.Series("embedding", np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], dtype=np.float32)))
    X = np.zeros((3, 1), dtype=np.float32)
    assert with_embeddings(X, examples, outputs).tolist() == [[0, 2, 2], [0, 1, 1], [0, 3, 3]]


def test_hybrid_stage_on_a_trained_gnn(tiny_training, tiny_tables, tmp_path):
    from hotseller.baselines import run_baselines
    from hotseller.features import LabelSpec, all_examples, forecast_frame, market_from_files
    from hotseller.graph import GraphSpec, build_edges, last_week
    from hotseller.train.config import TrainConfig
    from hotseller.train.loop import train

    t = {k: tiny_tables / f"{k}.parquet" for k in ("panel", "reviews", "products", "relations")}
    market = market_from_files(t["panel"], t["reviews"], t["products"], LabelSpec(8, 4, 0.05, 4))
    forecast_frame(market).write_parquet(tmp_path / "forecast.parquet")
    build_edges(t["products"], t["relations"], t["panel"], 8, 4, 4, GraphSpec(), cutoffs=[last_week(t["panel"])]).write_parquet(
        tmp_path / "forecast_edges.parquet")
    forecast = (tmp_path / "forecast.parquet", tmp_path / "forecast_edges.parquet")
    run_baselines(tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path / "baselines", 0, 1, 0, forecast)
    cfg = TrainConfig(epochs=2, batch_size=128, lr=2e-3, hidden_dim=16, accumulation_steps=1, patience=5, threads=1)
    train(cfg, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path / "train")
    params = json.loads((tmp_path / "baselines" / "gbt_search.json").read_text())["chosen"]
    doc = run_hybrid(tmp_path / "train" / "model", tiny_training["examples"], tiny_training["edges"], tiny_training["split"],
                     tmp_path / "baselines" / "gbt.parquet", params, forecast, tmp_path / "baselines" / "forecast.parquet",
                     tmp_path / "hybrid", seed=0, max_train_rows=0)
    assert doc["gnn_gbt"]["embedding_dims"] == 16 and 0.1 <= doc["blend"]["gnn_weight"] <= 1.0
    # The GNN scores the hybrids use are the trained model's own predictions (same weights, same inputs).
    split = json.loads(tiny_training["split"].read_text())["cutoffs"]
    outputs = gnn_outputs(tmp_path / "train" / "model", pl.scan_parquet(tiny_training["examples"]), pl.scan_parquet(tiny_training["edges"]),
                          split["val"] + split["test"]).sort("cutoff", "product_id")
    own = pl.read_parquet(tmp_path / "train" / "predictions.parquet").sort("cutoff", "product_id")
    assert outputs["product_id"].to_list() == own["product_id"].to_list()
    np.testing.assert_allclose(outputs["gnn_score"].to_numpy(), own["score"].to_numpy(), rtol=1e-5, atol=1e-7)
    gbt = pl.read_parquet(tmp_path / "baselines" / "gbt.parquet").sort("split", "cutoff", "product_id")
    gnn = pl.read_parquet(tmp_path / "train" / "predictions.parquet").sort("split", "cutoff", "product_id")
    blend = pl.read_parquet(tmp_path / "hybrid" / "blend.parquet").sort("split", "cutoff", "product_id")
    hybrid = pl.read_parquet(tmp_path / "hybrid" / "gnn_gbt.parquet").sort("split", "cutoff", "product_id")
    for frame in (blend, hybrid):
        assert frame.select("split", "cutoff", "product_id").equals(gbt.select("split", "cutoff", "product_id"))
    w = doc["blend"]["gnn_weight"]
    np.testing.assert_allclose(blend["score"], w * gnn["score"].to_numpy() + (1 - w) * gbt["score"].to_numpy(), atol=1e-6)
    scores = pl.read_parquet(tmp_path / "hybrid" / "forecast.parquet")
    assert scores.height == pl.read_parquet(forecast[0]).height and scores["gnn_gbt"].is_finite().all()
