"""The portable model: the trained GNN's weights plus one JSON holding everything a forecast on new files needs
(how examples and graphs are made, the category vocabulary, the calibration (temperature and bias) fitted on validation, and what the
backtest measured), so `hotseller forecast --model DIR --data panel.csv` needs nothing else from this run.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import polars as pl

from hotseller import atomic
from hotseller.scoring import test_hot_share
from hotseller.specs import GraphSpec, LabelSpec
from hotseller.tables import indexed_products
from hotseller.train.saved import CONFIG, WEIGHTS, read_config, read_weights

EXPECTED = ("pr_auc", "precision_at_k")


def category_vocabulary(products: Path) -> list[str | None]:
    """Category names in category_idx order, as the examples the model learnt from numbered them."""
    indexed = indexed_products(products)
    return indexed.select("category", "category_idx").unique().sort("category_idx")["category"].to_list()


def backtest_summary(metrics: dict, split: dict, model: str) -> dict:
    """What the pooled backtest measured for one model: the figures a forecast's reader should expect."""
    m = metrics["models"][model]
    return {"model": model, "test_cutoffs": split["cutoff_weeks"]["test"], "hot": metrics["hot"]["test"], "hot_share": test_hot_share(metrics),
            **{k: m["test"][k] for k in EXPECTED}, **{f"{k}_ci": m["test_ci"][k] for k in EXPECTED}}


def package(trained: Path, products: Path, metrics_path: Path, split_path: Path, label: LabelSpec, graph: GraphSpec,
            dataset: str, out: Path) -> dict:
    """Copy the weights (checked loadable as weights only) and write model.json; returns the config written."""
    read_weights(trained)  # a weights file that needs code to load is refused here, not at the user's end
    metrics, split = json.loads(Path(metrics_path).read_text()), json.loads(Path(split_path).read_text())
    config = read_config(trained) | {
        "dataset": dataset,
        "label": dataclasses.asdict(label),
        "graph": dataclasses.asdict(graph) | {"relation_kinds": list(graph.relation_kinds)},
        "categories": category_vocabulary(products),
        "temperature": metrics["models"]["gnn"]["temperature"],
        "bias": metrics["models"]["gnn"].get("bias"),  # none in a metrics.json of before Platt scaling
        "trained_on_cutoffs": {k: split["cutoff_weeks"][k] for k in ("train", "val")},
        "backtest": backtest_summary(metrics, split, "gnn"),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic.replacing(out / WEIGHTS) as tmp:
        shutil.copyfile(Path(trained) / WEIGHTS, tmp)
    atomic.write_json(config, out / CONFIG)
    return config


def label_spec_of(config: dict) -> LabelSpec:
    return LabelSpec(**config["label"])


def graph_spec_of(config: dict) -> GraphSpec:
    return GraphSpec(**(config["graph"] | {"relation_kinds": tuple(config["graph"]["relation_kinds"])}))


def with_vocabulary(examples: pl.DataFrame, products: pl.DataFrame, vocabulary: list[str | None]) -> tuple[pl.DataFrame, int]:
    """Examples whose category_idx follows the model's vocabulary (an unseen category gets the model's "unseen"
    slot, len(vocabulary)); also how many products have a category the model never saw."""
    codes = pl.DataFrame({"category": vocabulary, "model_idx": range(len(vocabulary))},
                         schema={"category": pl.String, "model_idx": pl.Int64})
    named = examples.drop("category_idx").join(products.select("product_id", "category"), on="product_id", how="left",
                                               maintain_order="left")
    mapped = named.join(codes, on="category", how="left", maintain_order="left")  # a null category is unseen, as in training
    unseen = int(mapped["model_idx"].is_null().sum())
    mapped = mapped.with_columns(category_idx=pl.col("model_idx").fill_null(len(vocabulary)).cast(pl.UInt32)).drop("model_idx", "category")
    return mapped.select(examples.columns), unseen
