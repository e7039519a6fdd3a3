"""Models with the GNN inside, beside it: gradient-boosted trees on the tabular features plus the trained GNN's
embeddings (RelBench's GNN + LightGBM recipe: the trees get what the graph network learnt), and a blend of the GNN
with a fitted baseline (logistic regression, the trees, or their own blend), in logit space, the partner and the
weight chosen together on the blend's validation PR-AUC. Each is a model of its own in `evaluate` and in the
forecast's choice; both are "graph models" in the headline comparison (the evaluate stage's --graph-models), which they face
against the baselines' own blend (baselines.logreg_gbt).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl
import torch
from sklearn.metrics import average_precision_score

from hotseller import atomic
from hotseller.baselines import blend_weight, fit_weights, frame, logit_blend, make_gbt, training_rows
from hotseller.design import design
from hotseller.evaluate import best_on_validation
from hotseller.logits import sigmoid
from hotseller.settings import BLEND_PARTNERS
from hotseller.split import load_split
from hotseller.train.data import far_inputs, snapshot
from hotseller.train.config import TrainConfig
from hotseller.train.loop import input_options, predict
from hotseller.train.saved import load_model

log = logging.getLogger(__name__)
BLEND_WEIGHTS = np.round(np.linspace(0.1, 1.0, 10), 2)  # the GNN's share, searched on validation; never 0: the blend
# is a graph model, so it always holds the GNN (at 0 it would be the baseline under another name)


def gnn_outputs(model_dir: Path, examples: pl.LazyFrame, edges: pl.LazyFrame, cutoffs: list[int],
                far: dict[str, int] | None = None) -> pl.DataFrame:
    """Per (cutoff, product): a saved GNN's score (sigmoid of its logit) and its embedding (the representation its
    heads read), as the trainer predicts them. The forecast scores through this too, and passes `far` to learn how
    many products have each static input beyond what training saw (train.data.far_inputs)."""
    model, norm, config = load_model(model_dir)
    options = input_options(TrainConfig.from_section(config["train"]))
    frames = []
    for cutoff in cutoffs:
        snap = snapshot(examples, edges, cutoff, config["architecture"]["n_categories"], **options)
        norm.apply(snap)
        if far is not None:
            for name, n in far_inputs(snap, norm.static_columns).items():
                far[name] = far.get(name, 0) + n
        out = predict(model, snap, torch.device("cpu"), None)
        frames.append(pl.DataFrame({"cutoff": cutoff, "product_id": snap.product_id,
                                    "gnn_score": sigmoid(out["hot"])}).with_columns(
            pl.Series("embedding", out["embedding"])))
    return pl.concat(frames)


def with_embeddings(X: np.ndarray, examples: pl.DataFrame, outputs: pl.DataFrame) -> np.ndarray:
    """The design matrix with each example's GNN embedding appended (rows in the examples' order)."""
    joined = examples.select("cutoff", "product_id").join(outputs, on=["cutoff", "product_id"], how="left", maintain_order="left")
    return np.hstack([X, np.asarray(joined["embedding"].to_numpy(), dtype=np.float32)])


def choose_blend(val: pl.DataFrame) -> tuple[str, float, dict[str, list[dict]]]:
    """The partner and the GNN's share whose blend has the best validation PR-AUC: each partner's best share (by
    baselines.blend_weight), then the partner by the project's one choice function, evaluate.best_on_validation
    (ties: the first of BLEND_PARTNERS). `val` holds gnn_score, hot and a column per partner. The partner is judged
    with the GNN, not alone: the baseline that is best on its own need not be the one that adds most to the GNN."""
    weights, searches, points = {}, {}, {}
    for name in BLEND_PARTNERS:
        weights[name], searches[name] = blend_weight(val["gnn_score"].to_numpy(), val[name].to_numpy(), val["hot"].to_numpy(), BLEND_WEIGHTS)
        best = next(r["val_pr_auc"] for r in searches[name] if r["weight"] == weights[name])
        points[name] = {"val": {"pr_auc": round(best, 12)}}  # equal up to rounding: a tie, as within blend_weight
    partner = best_on_validation(list(BLEND_PARTNERS), points)
    return partner, weights[partner], searches


def run_hybrid(model_dir: Path, examples_path: Path, edges_path: Path, split_path: Path, baseline_paths: dict[str, Path],
               gbt_params: dict, forecast: tuple[Path, Path], baseline_forecast: Path, out_dir: Path, seed: int,
               max_train_rows: int, recency_half_life: float = 0.0) -> dict:
    """gnn_gbt.parquet and blend.parquet (val/test predictions), forecast.parquet (both models' scores of the
    forecast's products) and hybrid.json (the trees' settings, the blend's partner and weight). `baseline_paths` holds
    the predictions of each of BLEND_PARTNERS.

    The trees take the settings and the recency half-life the baseline GBT's search chose on validation (one fit, not
    a second search), so the two GBTs differ only by the embeddings."""
    split = load_split(split_path)
    examples = pl.read_parquet(examples_path)
    cutoffs = sorted(c for cs in split.values() for c in cs)
    outputs = gnn_outputs(model_dir, pl.scan_parquet(examples_path), pl.scan_parquet(edges_path), cutoffs)
    plain, _, _ = design(examples, pl.scan_parquet(edges_path))
    X = with_embeddings(plain, examples, outputs)
    examples = examples.drop("seq")
    masks = {name: examples["cutoff"].is_in(cs).to_numpy() for name, cs in split.items()}
    y = examples["hot"].to_numpy()
    fit = training_rows(masks["train"], max_train_rows, seed)
    trees = make_gbt(seed, gbt_params).fit(X[fit], y[fit], sample_weight=fit_weights(examples["cutoff"].to_numpy()[fit], recency_half_life))
    val_ap = float(average_precision_score(y[masks["val"]], trees.predict_proba(X[masks["val"]])[:, 1]))

    scored = pl.concat([frame(examples.filter(pl.Series(masks[s])), s, trees.predict_proba(X[masks[s]])[:, 1]) for s in ("val", "test")])
    pair = scored.join(outputs.select("cutoff", "product_id", "gnn_score"), on=["cutoff", "product_id"], how="left", maintain_order="left")
    for name in BLEND_PARTNERS:
        pair = pair.join(pl.read_parquet(baseline_paths[name]).select("split", "cutoff", "product_id", pl.col("score").alias(name)),
                         on=["split", "cutoff", "product_id"], how="left", maintain_order="left")
    partner, weight, blend_search = choose_blend(pair.filter(pl.col("split") == "val"))
    blended = pair.with_columns(score=pl.Series(logit_blend(pair["gnn_score"].to_numpy(), pair[partner].to_numpy(), weight))).select(
        scored.columns)
    out_dir = Path(out_dir)
    atomic.write_parquet(scored, out_dir / "gnn_gbt.parquet")
    atomic.write_parquet(blended, out_dir / "blend.parquet")

    future = pl.read_parquet(forecast[0])
    future_outputs = gnn_outputs(model_dir, future.lazy(), pl.scan_parquet(forecast[1]), future["cutoff"].unique().to_list())
    Xf, _, _ = design(future, pl.scan_parquet(forecast[1]))
    Xf = with_embeddings(Xf, future, future_outputs)
    scores = future.select("cutoff", "product_id").with_columns(gnn_gbt=pl.Series(trees.predict_proba(Xf)[:, 1]))
    scores = scores.join(future_outputs.select("cutoff", "product_id", "gnn_score"), on=["cutoff", "product_id"], maintain_order="left")
    scores = scores.join(pl.read_parquet(baseline_forecast).select("cutoff", "product_id", partner=partner), on=["cutoff", "product_id"],
                         maintain_order="left")
    scores = scores.with_columns(blend=pl.Series(logit_blend(scores["gnn_score"].to_numpy(), scores["partner"].to_numpy(), weight))).select(
        "cutoff", "product_id", "gnn_gbt", "blend")
    atomic.write_parquet(scores, out_dir / "forecast.parquet")
    document = {"gnn_gbt": {"params": gbt_params, "recency_half_life": recency_half_life, "val_pr_auc": val_ap, "features": int(X.shape[1]),
                            "embedding_dims": int(X.shape[1] - plain.shape[1])},
                "blend": {"partner": partner, "gnn_weight": weight, "search": blend_search}}
    atomic.write_json(document, out_dir / "hybrid.json")
    log.info("gnn_gbt (%s) val PR-AUC %.4f; blend with %s, weight of the GNN %.1f", gbt_params, val_ap, partner, weight)
    return document

