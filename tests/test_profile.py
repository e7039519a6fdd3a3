"""The profile's statistics on a four-product market whose every value is worked by hand (autocorrelation against
a loop written here), and the profile of the tiny workflow run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
import math

import polars as pl
import pytest

from hotseller.features import LabelSpec, build_examples
from hotseller.ingest.contract import PANEL, PRODUCTS, RELATIONS, REVIEWS
from hotseller.profile import profile

WEEKS = 16
ORIGIN = dt.date(2024, 1, 1)  # a Monday
# Units per week: A sells 10 every week, B 10 from week 8, C 2 in odd weeks, D 50 in week 13 only.
UNITS = {
    "A": [10.0] * WEEKS,
    "B": [0.0] * 8 + [10.0] * 8,
    "C": [0.0 if t % 2 == 0 else 2.0 for t in range(WEEKS)],
    "D": [50.0 if t == 13 else 0.0 for t in range(WEEKS)],
}
# W = 4, H = 4, stride 4: cutoffs 3, 7, 11; the top ceil(0.5 * 4) = 2 products by units in (t, t+4] are hot:
#   t=3: A 40, B 0, C 4, D 0 -> {A, C};  t=7: A 40, B 40, C 4, D 0 -> {A, B};  t=11: A 40, B 40, C 4, D 50 -> {D, A}
SPEC = LabelSpec(window_weeks=4, horizon_weeks=4, hot_quantile=0.5, stride_weeks=4)
# Edges at every cutoff (product_idx: A0 B1 C2 D3): three co-purchases and one same-category ring link.
EDGES = [(0, 1, "co_purchase"), (0, 3, "co_purchase"), (2, 3, "co_purchase"), (1, 2, "category")]


@pytest.fixture(scope="module")
def hand_market(tmp_path_factory):
    out = tmp_path_factory.mktemp("profile")
    weeks = [ORIGIN + dt.timedelta(weeks=t) for t in range(WEEKS)]
    panel = pl.DataFrame([(p, w, u) for p, series in UNITS.items() for w, u in zip(weeks, series)],
                         schema=["product_id", "week", "units"], orient="row")
    panel = panel.with_columns(revenue=pl.col("units"), price=pl.lit(1.0), promo=pl.lit(0.0), returns=pl.lit(None, pl.Float64),
                               freight=pl.lit(None, pl.Float64)).cast(PANEL).select(list(PANEL))
    products = pl.DataFrame({"product_id": list(UNITS), "category": ["x"] * 4, "seller": ["s"] * 4,
                             "first_seen_week": [ORIGIN] * 4}, schema=PRODUCTS)
    reviews = pl.DataFrame({"product_id": ["A", "A", "B"], "ts": [dt.datetime(2024, 1, 3), dt.datetime(2024, 2, 7), dt.datetime(2024, 3, 6)],
                            "rating": [5.0, 4.0, 4.0], "text": ["", "", ""], "helpful_votes": [0.0, 0.0, 0.0]}, schema=REVIEWS)
    paths = {name: out / f"{name}.parquet" for name in ("panel", "products", "reviews", "relations")}
    panel.write_parquet(paths["panel"])
    products.write_parquet(paths["products"])
    reviews.write_parquet(paths["reviews"])
    pl.DataFrame(schema=RELATIONS).write_parquet(paths["relations"])
    build_examples(paths["panel"], paths["reviews"], paths["products"], SPEC).write_parquet(out / "examples.parquet")
    edges = pl.DataFrame([(t, s, d, k) for t in (3, 7, 11) for s, d, k in EDGES], schema=["cutoff", "src", "dst", "kind"], orient="row")
    edges.with_columns(pl.col("cutoff").cast(pl.Int32), pl.col("src").cast(pl.UInt32), pl.col("dst").cast(pl.UInt32)).write_parquet(out / "edges.parquet")
    return profile(paths["panel"], paths["reviews"], paths["products"], out / "examples.parquet", out / "edges.parquet", SPEC)


def reference_autocorrelation(lag: int) -> float:
    """A loop: each product's log1p units demeaned over its weeks, products and week pairs pooled."""
    num = sum_a = sum_b = 0.0
    for series in UNITS.values():
        x = [math.log1p(u) for u in series]
        mean = sum(x) / len(x)
        d = [v - mean for v in x]
        for t in range(lag, len(d)):
            num += d[t] * d[t - lag]
            sum_a += d[t] ** 2
            sum_b += d[t - lag] ** 2
    return num / math.sqrt(sum_a * sum_b)


def test_series_statistics_by_hand(hand_market):
    s = hand_market["series"]
    assert s["products"] == 4 and s["weeks"] == 16 and s["listed_per_week"] == {"mean": 4.0, "min": 4, "max": 4}
    assert s["zero_share"] == pytest.approx(31 / 64)  # B 8 + C 8 + D 15 zero weeks of 64
    assert s["units_quantiles"]["max"] == 50.0
    assert s["top1pct_products_units_share"] == pytest.approx(160 / 306)  # ceil(1% of 4) = 1 product: A's 160 of 306
    for lag in (1, 4, 13):
        assert s["autocorrelation"][str(lag)] == pytest.approx(reference_autocorrelation(lag))
    assert s["autocorrelation"]["52"] is None  # longer than the panel


def test_label_statistics_by_hand(hand_market):
    label = hand_market["label"]
    assert label["cutoffs"] == 3 and label["hot_share"] == pytest.approx(6 / 12)
    # Hot again 4 weeks later: t=3 {A, C} -> A again; t=7 {A, B} -> A again: 2 of 4.
    assert label["hot_persistence"] == pytest.approx(2 / 4)
    # Never hot before (earlier cutoffs whose windows ended): t=7 B is new of {A, B}; t=11 D is new of {D, A}: 2 of 4.
    assert label["never_hot_before"] == pytest.approx(2 / 4)
    assert label["hot_listed_within_window"] == pytest.approx(2 / 6)  # A and C at t=3, age 3 < 4 weeks
    # Persistence scores (mean log1p units, last 4 weeks): t=3 ranks A, C first (AP 1); t=7 ranks A, C, then B = D
    # tied (AP 0.5 * 1 + 0.5 * 0.5 = 0.75); t=11 ranks A = B, C, D (AP 0.5 * 0.5 + 0.5 * 0.5 = 0.5).
    assert [r["persistence_pr_auc"] for r in label["per_cutoff"]] == pytest.approx([1.0, 0.75, 0.5])
    assert label["persistence_pr_auc"] == pytest.approx(0.75)
    # (hot threshold + 1) / (listed median + 1): t=3 (4+1)/(2+1); t=7 (40+1)/(22+1); t=11 (40+1)/(40+1); median of those.
    assert label["hot_threshold_over_median"] == pytest.approx(5 / 3)  # the median of 5/3, 41/23 and 1


def test_review_and_graph_statistics_by_hand(hand_market):
    reviews, graph = hand_market["reviews"], hand_market["graph"]
    assert reviews["reviews"] == 3 and reviews["reviews_per_unit_sold"] == pytest.approx(3 / 306)
    assert reviews["rating_shares"] == pytest.approx({"1": 0.0, "2": 0.0, "3": 0.0, "4": 2 / 3, "5": 1 / 3})
    # Endpoints next to a hot product, and how many of them are hot (all edges / the data's relations only):
    #   t=3 hot {A, C}: 4 / 0 (relations 3 / 0); t=7 hot {A, B}: 4 / 2 (3 / 2); t=11 hot {A, D}: 4 / 2 (4 / 2).
    assert graph["hot_homophily_lift"] == pytest.approx((4 / 12) / 0.5)
    assert graph["hot_homophily_lift_relations_only"] == pytest.approx((4 / 10) / 0.5)
    assert graph["degree_last_cutoff"]["mean"] == 2.0 and graph["isolated_share"] == 0.0
    assert graph["isolated_share_relations_only"] == 0.0


def test_the_tiny_workflow_writes_a_profile(tmp_path):
    from conftest import copy_workflow, snakemake

    workdir = copy_workflow(tmp_path / "wf")
    snakemake(workdir, "results/tiny/profile/profile.json", "--config", "dataset=tiny")
    for name in ("profile.json", "profile.md", "profile.html", "profile.png"):
        assert (workdir / "results/tiny/profile" / name).stat().st_size > 0
    # The rule hands the stage the tiny dataset's own files and label settings: its figures are those files' facts.
    import json

    import yaml

    out = workdir / "results/tiny"
    doc = json.loads((out / "profile/profile.json").read_text())
    features = yaml.safe_load((workdir / "config.yaml").read_text())["features"]
    assert {k: doc["spec"][k] for k in ("window_weeks", "horizon_weeks", "stride_weeks", "hot_quantile")} == {
        k: features[k] for k in ("window_weeks", "horizon_weeks", "stride_weeks", "hot_quantile")}
    examples, panel = pl.read_parquet(out / "features/examples.parquet"), pl.read_parquet(out / "ingest/panel.parquet")
    assert doc["label"]["cutoffs"] == examples["cutoff"].n_unique()
    assert doc["label"]["hot_share"] == pytest.approx(examples["hot"].mean())
    assert doc["series"]["products"] == pl.read_parquet(out / "ingest/products.parquet").height
    assert doc["series"]["weeks"] == panel["week"].n_unique() == 60


def test_a_users_own_files_get_a_profile_through_the_generic_source(tiny_market, tmp_path):
    """Only a panel (no reviews, relations or products file): every statistic that needs them says n/a."""
    import json

    from conftest import copy_workflow, snakemake

    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "mine.yaml").write_text(f"dataset: mine\ndatasets:\n  mine:\n    source: generic\n    files: {{panel: '{tiny_market / 'panel.csv'}'}}\n")
    snakemake(workdir, "results/mine/profile/profile.json", "--configfile", "config.yaml", "mine.yaml")
    doc = json.loads((workdir / "results/mine/profile/profile.json").read_text())
    assert doc["series"]["products"] == 200 and doc["reviews"]["reviews"] == 0
    assert doc["reviews"]["review_growth_vs_future_sales_growth"] is None
    assert doc["graph"]["isolated_share_relations_only"] == 1.0  # no relations file: only ring links, no data relations


# The two real samples' profiles (docs/profile.md, `hotseller profile` of results/{olist,online_retail}): the range a
# realistic market must fall in on the statistics that decide difficulty.
REAL_RANGE = {"hot_persistence": (0.217, 0.328), "persistence_pr_auc": (0.086, 0.295)}


def test_the_realistic_preset_is_as_hard_as_the_real_samples(tmp_path):
    """The `realistic` preset's knobs (config.yaml) on a 2,000-product market of its shape: hot persistence and the
    persistence heuristic's PR-AUC inside the span of Olist and Online Retail (the default easy market: 0.65, 0.70)."""
    import yaml

    from hotseller.graph import GraphSpec, build_edges
    from hotseller.ingest import generic, write_outputs
    from hotseller.synth import MarketSpec, write_market

    preset = yaml.safe_load((Path(__file__).parents[1] / "config.yaml").read_text())["datasets"]["realistic"]
    spec = MarketSpec(n_products=2000, n_weeks=preset["weeks"], n_categories=preset["categories"], n_sellers=preset["sellers"],
                      **preset["market"])
    raw = write_market(spec, tmp_path / "raw")
    write_outputs(tmp_path / "ingest", *generic.ingest(dict(raw), {}))
    t = {k: tmp_path / "ingest" / f"{k}.parquet" for k in ("panel", "reviews", "products", "relations")}
    label = LabelSpec(12, 4, 0.05, 4)
    build_examples(t["panel"], t["reviews"], t["products"], label).write_parquet(tmp_path / "examples.parquet")
    build_edges(t["products"], t["relations"], t["panel"], 12, 4, 4, GraphSpec()).write_parquet(tmp_path / "edges.parquet")
    doc = profile(t["panel"], t["reviews"], t["products"], tmp_path / "examples.parquet", tmp_path / "edges.parquet", label)
    for key, (lo, hi) in REAL_RANGE.items():
        assert lo <= doc["label"][key] <= hi, (key, doc["label"][key])


def test_an_unknown_generator_knob_is_one_line(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "hotseller.cli", "synth", "--out-dir", str(tmp_path), "--market", '{"spikes": 1}'],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "['spikes'] are not generator knobs" in result.stderr
