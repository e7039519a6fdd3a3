"""Honest baselines on exactly the GNN's examples and split: a momentum heuristic, logistic regression,
and gradient-boosted trees with graph aggregates (the strongest non-GNN competitor), tuned on validation.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hotseller.features import SEQ_CHANNELS, STATIC_PREFIX
from hotseller.split import load_split

log = logging.getLogger(__name__)
# The GBT's small search, documented in gbt_search.json with every setting's validation PR-AUC.
GBT_GRID = {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [15, 31], "l2_regularization": [0.0, 1.0]}
GBT_FIXED = {"max_iter": 200, "early_stopping": False}
RECENT_WEEKS = 4


def recent_units(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean log units over the last 4 weeks and its change from the 4 weeks before (raw, unscaled)."""
    log_units = seq[:, :, SEQ_CHANNELS.index("log_units")]
    recent = log_units[:, -RECENT_WEEKS:].mean(1)
    before = log_units[:, -2 * RECENT_WEEKS : -RECENT_WEEKS].mean(1)
    return recent, recent - before


def neighbour_aggregates(examples: pl.DataFrame, edges: pl.DataFrame, recent: np.ndarray, growth: np.ndarray) -> pl.DataFrame:
    """Per example: degree and neighbours' mean recent sales and growth at the same cutoff (past-only edges)."""
    node = examples.select("cutoff", "product_idx").with_columns(recent=recent, growth=growth)
    both = pl.concat([edges.select("cutoff", "src", "dst"), edges.select("cutoff", src="dst", dst="src")])
    agg = (
        both.join(node.rename({"product_idx": "dst"}), on=["cutoff", "dst"])
        .group_by("cutoff", "src")
        .agg(nb_degree=pl.len().cast(pl.Float64), nb_recent=pl.col("recent").mean(), nb_growth=pl.col("growth").mean())
        .rename({"src": "product_idx"})
    )
    joined = examples.select("cutoff", "product_idx").join(agg, on=["cutoff", "product_idx"], how="left", maintain_order="left")
    return joined.select(pl.col("nb_degree", "nb_recent", "nb_growth").fill_null(0.0))


def design(examples: pl.DataFrame, edges: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tabular features, tabular + graph-aggregate features, momentum score) of every example."""
    seq = np.asarray(examples["seq"].to_numpy(), dtype=np.float64).reshape(examples.height, -1, len(SEQ_CHANNELS))
    static = examples.select(pl.col(f"^{STATIC_PREFIX}.*$")).to_numpy().astype(np.float64)
    recent, growth = recent_units(seq)
    tabular = np.hstack([seq.reshape(examples.height, -1), static, examples.select("category_idx").to_numpy()])
    graph = neighbour_aggregates(examples, edges, recent, growth).to_numpy()
    return tabular, np.hstack([tabular, graph]), recent + growth


def frame(examples: pl.DataFrame, split_name: str, scores: np.ndarray) -> pl.DataFrame:
    return examples.select("cutoff", "product_id", "hot", "future_units").with_columns(
        split=pl.lit(split_name), score=pl.Series(scores, dtype=pl.Float64)
    ).select("split", "cutoff", "product_id", "score", "hot", "future_units")


def run_baselines(examples_path: Path, edges_path: Path, split_path: Path, out_dir: Path, seed: int, threads: int = 0) -> None:
    """Fit on train, tune GBT on val, and write each model's val/test predictions as <model>.parquet.

    threads > 0 caps OpenMP/BLAS threads: oversubscribed OpenMP spin-waits and slows GBT many-fold.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads or None):
        fit_and_write(examples_path, edges_path, split_path, out_dir, seed)


def fit_and_write(examples_path: Path, edges_path: Path, split_path: Path, out_dir: Path, seed: int) -> None:
    split = load_split(split_path)
    examples = pl.read_parquet(examples_path)
    edges = pl.read_parquet(edges_path)
    tabular, with_graph, momentum = design(examples, edges)
    masks = {name: examples["cutoff"].is_in(cutoffs).to_numpy() for name, cutoffs in split.items()}
    y = examples["hot"].to_numpy()
    tr, va = masks["train"], masks["val"]

    logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    logreg.fit(tabular[tr], y[tr])
    best, best_ap, best_params, search = None, -1.0, None, []
    for values in itertools.product(*GBT_GRID.values()):
        params = dict(zip(GBT_GRID, values))
        model = HistGradientBoostingClassifier(random_state=seed, **GBT_FIXED, **params)
        model.fit(with_graph[tr], y[tr])
        ap = average_precision_score(y[va], model.predict_proba(with_graph[va])[:, 1])
        log.info("gbt %s: val PR-AUC %.4f", params, ap)
        search.append({"params": params, "val_pr_auc": float(ap)})
        if ap > best_ap:
            best, best_ap, best_params = model, ap, params
    log.info("gbt chosen on validation: %s (val PR-AUC %.4f)", best_params, best_ap)

    scorers = {
        "momentum": lambda m: momentum[m],
        "logreg": lambda m: logreg.predict_proba(tabular[m])[:, 1],
        "gbt": lambda m: best.predict_proba(with_graph[m])[:, 1],
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, score in scorers.items():
        parts = [frame(examples.filter(pl.Series(masks[s])), s, score(masks[s])) for s in ("val", "test")]
        pl.concat(parts).write_parquet(out_dir / f"{name}.parquet")
    document = {"grid": GBT_GRID, "fixed": GBT_FIXED | {"random_state": seed}, "features": int(with_graph.shape[1]),
                "chosen": best_params, "chosen_val_pr_auc": float(best_ap), "search": search,
                "logreg": {"C": 1.0, "class_weight": "balanced", "scaling": "standard", "features": int(tabular.shape[1])}}
    (out_dir / "gbt_search.json").write_text(json.dumps(document, indent=2) + "\n")
