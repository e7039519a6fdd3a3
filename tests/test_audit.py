"""The leakage audit passes on the pipeline's own tables and catches planted leaks: a feature reading the next
week, a label window that is not (t, t+H], an edge from a future event, and a cutoff in two splits."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import polars as pl
import pytest

import hotseller.features as features
from hotseller.audit import (Tables, check_edges, check_labels, check_listed, check_past_only, check_reproducible, check_splits,
                             scramble_sample, summarise, write_audit)
from hotseller.cli import main
from hotseller.features import LabelSpec

SPEC = LabelSpec(window_weeks=8, horizon_weeks=4, hot_quantile=0.05, stride_weeks=4)  # as conftest's tiny_training


@pytest.fixture(scope="module")
def tables(tiny_tables) -> Tables:
    t = {name: tiny_tables / f"{name}.parquet" for name in ("panel", "reviews", "products", "relations")}
    return Tables.read(t["panel"], t["reviews"], t["products"], t["relations"])


def paths(tiny_tables) -> dict:
    return {name: tiny_tables / f"{name}.parquet" for name in ("panel", "reviews", "products", "relations")}


def audit_argv(tiny_training, tiny_tables, out_dir) -> list[str]:
    p = paths(tiny_tables)
    return ["audit", "--examples", str(tiny_training["examples"]), "--edges", str(tiny_training["edges"]),
            "--split", str(tiny_training["split"]), "--panel", str(p["panel"]), "--reviews", str(p["reviews"]),
            "--products", str(p["products"]), "--relations", str(p["relations"]), "--window-weeks", "8", "--horizon-weeks", "4",
            "--stride-weeks", "4", "--hot-quantile", "0.05", "--out-dir", str(out_dir)]


def test_clean_pipeline_passes_every_check(tiny_training, tiny_tables, tmp_path):
    main(audit_argv(tiny_training, tiny_tables, tmp_path))
    summary = json.loads((tmp_path / "audit.json").read_text())
    assert summary["passed"]
    assert {c["name"] for c in summary["checks"]} == {"reproducible", "inputs_past_only", "listed_at_cutoff", "labels_after_cutoff",
                                                      "edges_past_only", "splits_disjoint"}
    assert all(c["checked"] > 0 and c["violations"] == 0 for c in summary["checks"])
    assert pl.read_csv(tmp_path / "violations.csv").height == 0


def leaky_window(monkeypatch) -> None:
    """The planted leak: every history window shifted one week later, so week t+1 is an input at cutoff t."""
    honest_window = features.window
    monkeypatch.setattr(features, "window", lambda matrix, start, stop: honest_window(matrix, start + 1, stop + 1))


def test_a_feature_that_reads_the_next_week_is_caught(tiny_tables, tables, monkeypatch):
    leaky_window(monkeypatch)
    p = paths(tiny_tables)
    leaky = features.build_examples(p["panel"], p["reviews"], p["products"], SPEC)
    market = features.load_market(pl.scan_parquet(p["panel"]), pl.scan_parquet(p["reviews"]), p["products"], SPEC)
    reproducible = check_reproducible(leaky.lazy(), market)
    assert reproducible.checked == leaky.height and reproducible.offending.height == 0  # stored = what this (leaky) code makes
    past_only = check_past_only(leaky.lazy(), tables, p["products"], SPEC, seed=0)
    assert past_only.checked == leaky.height and "every product" in past_only.description
    rows = past_only.offending
    assert rows.height > 0
    assert rows["column"].str.starts_with("seq[week t-0").any()  # the newest week of the window is the future one
    assert set(rows["cutoff"].to_list()) <= set(leaky["cutoff"].to_list())


def test_a_sample_of_products_catches_the_leak_on_its_products_only(tiny_tables, tables, monkeypatch):
    leaky_window(monkeypatch)
    p = paths(tiny_tables)
    leaky = features.build_examples(p["panel"], p["reviews"], p["products"], SPEC)
    past_only = check_past_only(leaky.lazy(), tables, p["products"], SPEC, seed=3, scramble_products=40)
    sample = set(scramble_sample(tables.products, 40, np.random.default_rng(3)).to_list())
    assert len(sample) == 40 and sample < set(tables.products["product_id"].to_list())
    assert past_only.checked == leaky.filter(pl.col("product_id").is_in(list(sample))).height
    assert f"a seeded sample of 40 of {tables.products.height} products" in past_only.description
    rows = past_only.offending
    assert rows.height > 0 and set(rows["product_id"].to_list()) <= sample
    monkeypatch.undo()  # the honest features code: its sampled rebuilds (own indices, full calendar) find nothing
    honest = features.build_examples(p["panel"], p["reviews"], p["products"], SPEC)
    assert check_past_only(honest.lazy(), tables, p["products"], SPEC, seed=3, scramble_products=40).offending.height == 0


def test_a_stored_input_that_differs_from_the_features_code_is_caught(tiny_tables, tiny_training):
    """The planted mistakes: one stored example's cumulative units off by one, another's history window reversed, and
    one example the features code would not make (its product at a cutoff it is not listed at)."""
    p = paths(tiny_tables)
    examples = pl.read_parquet(tiny_training["examples"])
    market = features.load_market(pl.scan_parquet(p["panel"]), pl.scan_parquet(p["reviews"]), p["products"], SPEC)
    assert check_reproducible(examples.lazy(), market).offending.height == 0
    units = examples["seq"].to_numpy()[:, 0::len(features.SEQ_CHANNELS)]  # log1p units of each week of the window
    sold = examples.filter(pl.Series(np.count_nonzero(units, axis=1) >= 2))  # reversing the window changes these
    a, b = sold.row(0, named=True), sold.row(sold.height - 1, named=True)
    is_a = (pl.col("product_id") == a["product_id"]) & (pl.col("cutoff") == a["cutoff"])
    is_b = (pl.col("product_id") == b["product_id"]) & (pl.col("cutoff") == b["cutoff"])
    width = len(features.SEQ_CHANNELS)
    reversed_seq = np.asarray(b["seq"], dtype=np.float32).reshape(-1, width)[::-1].reshape(-1)
    assert not np.array_equal(reversed_seq, np.asarray(b["seq"], dtype=np.float32))
    first = examples.filter(pl.col("cutoff") == examples["cutoff"].min()).row(0, named=True)
    extra = examples.filter((pl.col("product_id") == first["product_id"]) & (pl.col("cutoff") == first["cutoff"])).with_columns(
        cutoff=pl.lit(first["cutoff"] - 1, pl.Int32))  # not a cutoff of the market at all
    tampered = pl.concat([examples.with_columns(
        pl.when(is_a).then(pl.col("s_log_cum_units") + 1).otherwise("s_log_cum_units").alias("s_log_cum_units"),
        pl.when(is_b).then(pl.lit(pl.Series([reversed_seq], dtype=examples.schema["seq"]))).otherwise("seq").alias("seq"),
    ), extra])
    rows = check_reproducible(tampered.lazy(), market).offending.sort("cutoff", "product_id", "column")
    found = {(r["product_id"], r["cutoff"], r["column"].split("[")[0]) for r in rows.iter_rows(named=True)}
    assert found == {(a["product_id"], a["cutoff"], "s_log_cum_units"), (b["product_id"], b["cutoff"], "seq"),
                     (first["product_id"], first["cutoff"] - 1, "listing")}


def test_an_example_before_its_product_was_first_seen_is_caught(tiny_training, tables):
    examples = pl.read_parquet(tiny_training["examples"])
    assert check_listed(examples, tables).offending.height == 0
    product = examples.filter(pl.col("cutoff") == examples["cutoff"].max())["product_id"][0]
    first_seen = tables.products.filter(pl.col("product_id") == product)["first_seen_week"][0]
    # The planted mistakes: the product first seen a year later than the table says, and an example of an unknown product.
    later = dataclasses.replace(tables, products=tables.products.with_columns(
        first_seen_week=pl.when(pl.col("product_id") == product).then(pl.lit(first_seen) + pl.duration(weeks=520))
        .otherwise("first_seen_week")))
    ghost = examples.head(1).with_columns(product_id=pl.lit("NOT_A_PRODUCT"))
    rows = check_listed(pl.concat([examples, ghost]), later).offending
    assert sorted(set(rows["product_id"].to_list())) == sorted({product, "NOT_A_PRODUCT"})
    assert rows.filter(pl.col("product_id") == product).height == examples.filter(pl.col("product_id") == product).height
    assert rows.filter(pl.col("product_id") == "NOT_A_PRODUCT").height == 1


def test_a_label_window_that_includes_the_cutoff_week_is_caught(tiny_training, tables):
    examples = pl.read_parquet(tiny_training["examples"])
    units = tables.panel.with_columns(t=tables.week_of("week")).group_by("product_id", "t").agg(pl.col("units").sum()).collect()
    # The planted leak: labels summed over weeks t..t+H-1 instead of t+1..t+H.
    shifted = (examples.select("product_id", "cutoff").join(units, on="product_id")
               .filter((pl.col("t") >= pl.col("cutoff")) & (pl.col("t") < pl.col("cutoff") + SPEC.horizon_weeks))
               .group_by("product_id", "cutoff").agg(leaky_units=pl.col("units").sum()))
    leaky = examples.join(shifted, on=["product_id", "cutoff"], how="left").with_columns(future_units=pl.col("leaky_units").fill_null(0.0))
    assert not leaky["future_units"].equals(examples["future_units"])
    rows = check_labels(leaky, tables, SPEC.horizon_weeks).offending
    assert rows.height > 0 and set(rows["column"]) == {"future_units"}
    assert check_labels(examples, tables, SPEC.horizon_weeks).offending.height == 0


def test_an_edge_from_a_future_event_is_caught(tiny_training, tables):
    edges = pl.read_parquet(tiny_training["edges"])
    last = edges["cutoff"].max()
    relation = edges.filter(pl.col("last_event_t").is_not_null() & (pl.col("cutoff") < last)).row(0, named=True)
    # The planted leak: one edge carries an event two weeks after its cutoff, with its weight.
    leaky = edges.with_columns(
        last_event_t=pl.when((pl.col("cutoff") == relation["cutoff"]) & (pl.col("src") == relation["src"]) & (pl.col("dst") == relation["dst"])
                             & (pl.col("kind") == relation["kind"])).then(pl.col("cutoff") + 2).otherwise("last_event_t"))
    rows = check_edges(leaky, tables).offending
    assert rows.height > 0
    assert set(rows["cutoff"].to_list()) == {relation["cutoff"]}
    assert rows["product_id"].str.starts_with(f"{relation['src']}-{relation['dst']}").all()
    assert check_edges(edges, tables).offending.height == 0


def test_a_cutoff_in_two_splits_is_caught(tiny_training):
    examples = pl.read_parquet(tiny_training["examples"])
    document = json.loads(tiny_training["split"].read_text())
    assert check_splits(examples, document, 4).offending.height == 0
    shared = document["cutoffs"]["train"][-1]
    document["cutoffs"]["val"] = [shared]  # the planted leak: the last training cutoff is also validation's
    rows = check_splits(examples, document, 4).offending
    in_two = rows.filter(pl.col("column") == "split")
    assert in_two.height == examples.filter(pl.col("cutoff") == shared).height
    assert set(in_two["found"]) == {"train+val"}


def test_an_evaluation_cutoff_off_the_stride_grid_is_caught(tiny_training):
    examples = pl.read_parquet(tiny_training["examples"])
    document = json.loads(tiny_training["split"].read_text())
    assert check_splits(examples, document, stride_weeks=4).offending.height == 0  # the fixture's grid
    # On an 8-week grid only every other 4-weekly cutoff counted back from the last one is an evaluation cutoff.
    last = examples["cutoff"].max()
    off = sorted(c for c in document["cutoffs"]["val"] + document["cutoffs"]["test"] if (last - c) % 8 != 0)
    assert off  # the planted mistake exists
    rows = check_splits(examples, document, stride_weeks=8).offending
    assert sorted(rows["cutoff"].unique().to_list()) == off
    assert rows.height == examples.filter(pl.col("cutoff").is_in(off)).height
    assert set(rows["expected"]) == {"on the 8-week grid counted back from the last cutoff"}


def test_a_failed_check_stops_the_run_naming_the_offending_rows(tiny_training, tables, tmp_path, caplog):
    examples = pl.read_parquet(tiny_training["examples"])
    edges = pl.read_parquet(tiny_training["edges"])
    leaky = edges.with_columns(last_event_t=pl.when(pl.col("last_event_t").is_not_null()).then(pl.col("cutoff") + 1))
    summary, offending = summarise([check_edges(leaky, tables), check_splits(examples, json.loads(tiny_training["split"].read_text()), 4)],
                                   examples.height, leaky.height, examples["cutoff"].n_unique())
    assert not summary["passed"]
    with pytest.raises(SystemExit, match="leakage audit failed: edges_past_only;"):
        write_audit(summary, offending, tmp_path)
    violations = pl.read_csv(tmp_path / "violations.csv", infer_schema=False)
    assert violations.height == offending.height > 0 and set(violations["check"]) == {"edges_past_only"}
    assert "check edges_past_only failed" in caplog.text and "last_event_t" in caplog.text
