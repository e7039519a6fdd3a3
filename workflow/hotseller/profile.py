"""Profile: what a dataset is like, measured through the standard tables, so a user learns whether the problem is
learnable and which signals exist, and synthetic presets can be set beside real data.

Everything is computed from the same dense product x week series the features use (`features.load_market`), the
examples (labels at every cutoff) and the per-cutoff graph. Definitions (docs/profile.md says the same):
- a product-week counts once the product is listed (first seen at or before that week);
- growth over a window is log1p(units in the last 4 weeks) - log1p(units in the 4 weeks before);
- hot persistence: of the products hot at cutoff t, the share hot again at cutoff t + H (non-overlapping windows);
- never hot before: of the products hot at t, the share not hot at any earlier cutoff c with c + H <= t;
- persistence PR-AUC: average precision of "mean log units over the last 4 weeks" against the label, per cutoff;
- homophily lift: P(a neighbour of a hot product is hot) / P(a listed product is hot), over graph edges.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402

from hotseller import atomic  # noqa: E402
from hotseller.features import SEQ_CHANNELS, STATIC_PREFIX, LabelSpec, market_from_files  # noqa: E402
from hotseller.render import html_page, html_table, markdown_table  # noqa: E402
from hotseller.weeks import on_stride  # noqa: E402

log = logging.getLogger(__name__)
LAGS = (1, 4, 13, 52)
RECENT = 4
STATIC_KINDS = ("category", "seller")  # ring links the graph stage adds; the rest are the data's own relations


def pooled_correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation of two flat arrays (None with fewer than 3 pairs or no variance)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or a[ok].std() == 0 or b[ok].std() == 0:
        return None
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def autocorrelation(units: np.ndarray, listed: np.ndarray, lag: int) -> float | None:
    """Correlation of a product's log1p units with its own `lag` weeks earlier, each product demeaned over its
    listed weeks, pooled over products and weeks where both are listed."""
    if lag >= units.shape[1]:
        return None
    x = np.log1p(units)
    count = listed.sum(1, keepdims=True)
    mean = np.divide((x * listed).sum(1, keepdims=True), count, out=np.zeros_like(count, dtype=float), where=count > 0)
    d = np.where(listed, x - mean, 0.0)
    both = listed[:, lag:] & listed[:, :-lag]
    a, b = d[:, lag:][both], d[:, :-lag][both]
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else None


def window_sum(matrix: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Row sums over weeks lo..hi-1, clipped to the series."""
    return matrix[:, max(lo, 0) : max(min(hi, matrix.shape[1]), 0)].sum(1)


def growth(matrix: np.ndarray, t: int) -> np.ndarray:
    """log1p(last 4 weeks up to t) - log1p(the 4 weeks before): the growth every definition here uses."""
    return np.log1p(window_sum(matrix, t - RECENT + 1, t + 1)) - np.log1p(window_sum(matrix, t - 2 * RECENT + 1, t - RECENT + 1))


def future_growth(units: np.ndarray, t: int, horizon: int) -> np.ndarray:
    """log1p(units in (t, t+H]) - log1p(units in (t-H, t]): the growth the label window will show."""
    return np.log1p(window_sum(units, t + 1, t + 1 + horizon)) - np.log1p(window_sum(units, t - horizon + 1, t + 1))


def joined(parts: list[np.ndarray]) -> np.ndarray:
    """The per-cutoff pieces as one array (empty without any)."""
    return np.concatenate(parts) if parts else np.zeros(0)


def series_stats(market) -> dict:
    """Size, listing, zeros, the units distribution and autocorrelation."""
    units, first_seen = market.series.units, market.series.first_seen
    n_products, n_weeks = units.shape
    listed = first_seen[:, None] <= np.arange(n_weeks)[None, :]
    values = units[listed]
    totals = np.sort(units.sum(1))[::-1]
    top = max(1, int(np.ceil(0.01 * totals.size)))
    per_week = listed.sum(0)
    return {
        "products": n_products, "weeks": n_weeks, "first_week": str(market.cal.origin),
        "last_week": str(market.cal.origin + dt.timedelta(weeks=n_weeks - 1)),
        "listed_per_week": {"mean": float(per_week.mean()), "min": int(per_week.min()), "max": int(per_week.max())},
        "zero_share": float((values == 0).mean()) if values.size else None,
        "units_quantiles": {f"q{int(q * 100)}": float(np.quantile(values, q)) for q in (0.5, 0.9, 0.99)} | {"max": float(values.max())}
        if values.size else {},
        "top1pct_products_units_share": float(totals[:top].sum() / totals.sum()) if totals.sum() > 0 else None,
        "autocorrelation": {str(lag): autocorrelation(units, listed, lag) for lag in LAGS},
    }


def label_stats(examples: pl.DataFrame, spec: LabelSpec) -> dict:
    """The label seen from the examples: hot share, persistence, novelty, newness, how far above the median, and
    what the persistence heuristic already gets."""
    seq = examples["seq"].to_numpy().reshape(examples.height, -1, len(SEQ_CHANNELS))
    frame = examples.select("cutoff", "product_id", "hot", "future_units").with_columns(
        recent=pl.Series(seq[:, -RECENT:, SEQ_CHANNELS.index("log_units")].mean(1)),
        age=pl.Series(np.expm1(examples[f"{STATIC_PREFIX}log_age"].to_numpy())))
    cutoffs = sorted(frame["cutoff"].unique().to_list())
    per_cutoff = []
    again = then = novel = hot_total = new = 0
    for t in cutoffs:
        part = frame.filter(pl.col("cutoff") == t)
        hot = part.filter(pl.col("hot") == 1)
        labels, scores = part["hot"].to_numpy(), part["recent"].to_numpy()
        median = float(part["future_units"].median())
        row = {"cutoff": t, "listed": part.height, "hot": hot.height, "hot_share": float(labels.mean()),
               "persistence_pr_auc": float(average_precision_score(labels, scores)) if 0 < labels.sum() < labels.size else None,
               "hot_threshold_over_median": (float(hot["future_units"].min()) + 1) / (median + 1) if hot.height else None}
        earlier = [c for c in cutoffs if c + spec.horizon_weeks <= t]
        if earlier:
            seen = frame.filter(pl.col("cutoff").is_in(earlier) & (pl.col("hot") == 1)).select("product_id").unique()
            n_novel = hot.join(seen, on="product_id", how="anti").height
            row["never_hot_before"] = n_novel / hot.height if hot.height else None
            novel, hot_total = novel + n_novel, hot_total + hot.height
        later = frame.filter((pl.col("cutoff") == t + spec.horizon_weeks) & (pl.col("hot") == 1)).select("product_id")
        if t + spec.horizon_weeks in cutoffs:
            n_again = hot.join(later, on="product_id", how="semi").height
            row["hot_persistence"] = n_again / hot.height if hot.height else None
            again, then = again + n_again, then + hot.height
        new += hot.filter(pl.col("age") < spec.window_weeks).height
        per_cutoff.append(row)
    n_hot = sum(r["hot"] for r in per_cutoff)
    pr = [r["persistence_pr_auc"] for r in per_cutoff if r["persistence_pr_auc"] is not None]
    ratio = [r["hot_threshold_over_median"] for r in per_cutoff if r["hot_threshold_over_median"] is not None]
    return {
        "cutoffs": len(cutoffs), "hot_share": n_hot / frame.height if frame.height else None,
        "hot_persistence": again / then if then else None,
        "never_hot_before": novel / hot_total if hot_total else None,
        "hot_listed_within_window": new / n_hot if n_hot else None,
        "hot_threshold_over_median": float(np.median(ratio)) if ratio else None,
        "persistence_pr_auc": float(np.mean(pr)) if pr else None,
        "persistence_pr_auc_last4": float(np.mean(pr[-4:])) if pr else None,
        "per_cutoff": per_cutoff,
    }


def review_stats(market, reviews: pl.DataFrame, cutoffs: list[int], horizon: int) -> dict:
    """Reviews per unit sold, the rating distribution, and whether review growth leads sales growth."""
    units, revs = market.series.units, market.series.reviews
    sold = float(units.sum())
    ratings = reviews["rating"].round().drop_nulls()
    shares = {str(r): float((ratings == r).mean()) for r in range(1, 6)} if ratings.len() else {}
    past_reviews, past_sales, future_sales = [], [], []
    for t in cutoffs:
        listed = market.series.first_seen <= t
        reviewed = listed & (window_sum(revs, t - 2 * RECENT + 1, t + 1) > 0)
        future = future_growth(units, t, horizon)
        past_reviews.append(growth(revs, t)[reviewed])
        past_sales.append(growth(units, t)[reviewed])
        future_sales.append(future[reviewed])
    return {
        "reviews": int(revs.sum()), "reviews_per_unit_sold": float(revs.sum() / sold) if sold else None, "rating_shares": shares,
        "review_growth_vs_future_sales_growth": pooled_correlation(joined(past_reviews), joined(future_sales)),
        "sales_growth_vs_future_sales_growth": pooled_correlation(joined(past_sales), joined(future_sales)),
    }


def undirected(edges: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([edges.select("src", "dst"), edges.select(src="dst", dst="src")])


def graph_stats(market, examples: pl.DataFrame, edges: pl.LazyFrame, horizon: int) -> dict:
    """Degrees, isolation, homophily of hotness, and whether neighbours' growth leads a product's."""
    units = market.series.units
    cutoffs = sorted(examples["cutoff"].unique().to_list())
    hot_pairs = {"all": [0, 0], "relations": [0, 0]}  # endpoints next to a hot product: hot ones, all of them
    hot_share_num = hot_share_den = 0
    nb_growth, own_future, own_past = [], [], []
    degrees: dict[str, np.ndarray] = {}
    for t in cutoffs:
        part = examples.filter(pl.col("cutoff") == t).select("product_idx", "hot")
        cut = edges.filter(pl.col("cutoff") == t).select("src", "dst", "kind").collect()
        idx = part["product_idx"].to_numpy().astype(np.int64)
        hot = np.zeros(units.shape[0], dtype=np.int8)
        hot[idx] = part["hot"].to_numpy()
        hot_share_num, hot_share_den = hot_share_num + int(hot[idx].sum()), hot_share_den + idx.size
        past, future = growth(units, t), future_growth(units, t, horizon)
        for name, chosen in (("all", cut), ("relations", cut.filter(~pl.col("kind").is_in(STATIC_KINDS)))):
            both = undirected(chosen)
            src, dst = both["src"].to_numpy().astype(np.int64), both["dst"].to_numpy().astype(np.int64)
            next_to_hot = hot[src] == 1
            hot_pairs[name][0] += int(hot[dst][next_to_hot].sum())
            hot_pairs[name][1] += int(next_to_hot.sum())
            if t == cutoffs[-1]:
                degrees[name] = np.bincount(src, minlength=units.shape[0])[idx]
            if name == "all" and src.size:
                total = np.bincount(src, weights=past[dst], minlength=units.shape[0])
                count = np.bincount(src, minlength=units.shape[0])
                has = idx[count[idx] > 0]
                nb_growth.append(total[has] / count[has])
                own_future.append(future[has])
                own_past.append(past[has])
    base = hot_share_num / hot_share_den if hot_share_den else 0.0
    lift = {k: (v[0] / v[1]) / base if v[1] and base else None for k, v in hot_pairs.items()}
    deg = degrees.get("all", np.zeros(0))
    return {
        "degree_last_cutoff": {"mean": float(deg.mean()) if deg.size else None,
                               **{f"q{int(q * 100)}": float(np.quantile(deg, q)) for q in (0.5, 0.9, 0.99)}} if deg.size else {},
        "isolated_share": float((deg == 0).mean()) if deg.size else None,
        "isolated_share_relations_only": float((degrees.get("relations", np.zeros(0)) == 0).mean()) if deg.size else None,
        "hot_homophily_lift": lift["all"], "hot_homophily_lift_relations_only": lift["relations"],
        "neighbour_growth_vs_future_growth": pooled_correlation(joined(nb_growth), joined(own_future)),
        "own_growth_vs_future_growth": pooled_correlation(joined(own_past), joined(own_future)),
        "_degrees": deg,
    }


def profile(panel: Path, reviews: Path, products: Path, examples_path: Path, edges_path: Path, spec: LabelSpec) -> dict:
    """Every statistic of the dataset (docstring above) as one document."""
    spec = dataclasses.replace(spec, text_embeddings=False)
    market = market_from_files(panel, reviews, products, spec)
    examples = pl.read_parquet(examples_path)
    # The stride grid only: a finer training grid (train_stride_weeks) would change what "the last 4 cutoffs" or
    # "hot before" mean, and the datasets' columns would no longer compare.
    cutoffs = on_stride(examples["cutoff"].unique().to_list(), spec.stride_weeks)
    examples = examples.filter(pl.col("cutoff").is_in(cutoffs))
    return {
        "series": series_stats(market),
        "label": label_stats(examples, spec),
        "reviews": review_stats(market, pl.read_parquet(reviews, columns=["rating"]), cutoffs, spec.horizon_weeks),
        "graph": graph_stats(market, examples, pl.scan_parquet(edges_path), spec.horizon_weeks),
        "spec": {"window_weeks": spec.window_weeks, "horizon_weeks": spec.horizon_weeks, "stride_weeks": spec.stride_weeks,
                 "train_stride_weeks": spec.train_stride_weeks, "hot_quantile": spec.hot_quantile},
    }


# The statistics that decide difficulty, in the order of the side-by-side table (docs/profile.md): (label, path).
KEY_STATS = [
    ("products", ("series", "products")), ("weeks", ("series", "weeks")),
    ("listed per week (mean)", ("series", "listed_per_week", "mean")),
    ("zero-sales share of listed product-weeks", ("series", "zero_share")),
    ("weekly units: median", ("series", "units_quantiles", "q50")), ("weekly units: 99th percentile", ("series", "units_quantiles", "q99")),
    ("units share of the top 1% of products", ("series", "top1pct_products_units_share")),
    ("autocorrelation lag 1", ("series", "autocorrelation", "1")), ("autocorrelation lag 4", ("series", "autocorrelation", "4")),
    ("autocorrelation lag 13", ("series", "autocorrelation", "13")), ("autocorrelation lag 52", ("series", "autocorrelation", "52")),
    ("hot share", ("label", "hot_share")), ("hot persistence (hot again H weeks later)", ("label", "hot_persistence")),
    ("hot never hot before", ("label", "never_hot_before")), ("hot listed within the window", ("label", "hot_listed_within_window")),
    ("hot threshold / listed median (units + 1)", ("label", "hot_threshold_over_median")),
    ("persistence PR-AUC (mean over cutoffs)", ("label", "persistence_pr_auc")),
    ("persistence PR-AUC (last 4 cutoffs)", ("label", "persistence_pr_auc_last4")),
    ("reviews per unit sold", ("reviews", "reviews_per_unit_sold")),
    ("review growth vs future sales growth (corr)", ("reviews", "review_growth_vs_future_sales_growth")),
    ("sales growth vs future sales growth (corr)", ("reviews", "sales_growth_vs_future_sales_growth")),
    ("mean degree (last cutoff)", ("graph", "degree_last_cutoff", "mean")),
    ("isolated share (data's relations only)", ("graph", "isolated_share_relations_only")),
    ("hot homophily lift (all edges)", ("graph", "hot_homophily_lift")),
    ("hot homophily lift (data's relations only)", ("graph", "hot_homophily_lift_relations_only")),
    ("neighbours' growth vs future growth (corr)", ("graph", "neighbour_growth_vs_future_growth")),
    ("own growth vs future growth (corr)", ("graph", "own_growth_vs_future_growth")),
]


def lookup(doc: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def cell(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 10):
        return f"{int(value):,}"
    return f"{value:.3f}"


def side_by_side(docs: dict[str, dict]) -> tuple[list[str], list[list[str]]]:
    """The key statistics of several profiles, one column each."""
    return ["statistic", *docs], [[label, *(cell(lookup(d, path)) for d in docs.values())] for label, path in KEY_STATS]


def per_cutoff_rows(doc: dict) -> tuple[list[str], list[list[str]]]:
    header = ["cutoff", "listed", "hot", "hot persistence", "never hot before", "persistence PR-AUC"]
    rows = [[str(r["cutoff"]), str(r["listed"]), str(r["hot"]), cell(r.get("hot_persistence")), cell(r.get("never_hot_before")),
             cell(r["persistence_pr_auc"])] for r in doc["label"]["per_cutoff"]]
    return header, rows


def plot(doc: dict, degrees: np.ndarray, path: Path) -> None:
    """Autocorrelation by lag, the label per cutoff, and the degree distribution."""
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 3.6))
    lags = [lag for lag in LAGS if doc["series"]["autocorrelation"][str(lag)] is not None]
    a.bar([str(lag) for lag in lags], [doc["series"]["autocorrelation"][str(lag)] for lag in lags], color="tab:blue")
    a.set(xlabel="lag (weeks)", ylabel="autocorrelation of log1p units", title="A product's sales against its own past", ylim=(-0.2, 1))
    rows = doc["label"]["per_cutoff"]
    for key, label in (("hot_persistence", "hot again H weeks later"), ("never_hot_before", "hot, never before"),
                       ("persistence_pr_auc", "persistence PR-AUC")):
        b.plot([r["cutoff"] for r in rows], [np.nan if r.get(key) is None else r[key] for r in rows], marker=".", label=label)
    b.set(xlabel="cutoff (week index)", ylim=(0, 1), title="The label per cutoff")
    b.legend(fontsize=7)
    if degrees.size:
        c.hist(degrees, bins=np.arange(0, max(int(degrees.max()), 1) + 2) - 0.5, color="tab:gray")
    c.set(xlabel="degree at the last cutoff (all edges)", ylabel="products", title="The product graph", yscale="log")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_profile(doc: dict, dataset: str, out_dir: Path) -> None:
    """profile.json, profile.md, profile.html (the report's page) and profile.png."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    degrees = doc["graph"].pop("_degrees")
    atomic.write_json(doc, out_dir / "profile.json")
    summary, cutoffs = side_by_side({dataset: doc}), per_cutoff_rows(doc)
    note = (f"What the dataset is like, measured (definitions: docs/profile.md). Label: top {doc['spec']['hot_quantile']} of listed "
            f"products by units over the next {doc['spec']['horizon_weeks']} weeks, at {doc['label']['cutoffs']} cutoffs. A "
            "persistence PR-AUC near the hot share means the recent level says little; near 1, the problem is easy.")
    atomic.write_text(f"# Profile of `{dataset}`\n\n{note}\n\n" + markdown_table(*summary) + "\n## Per cutoff\n\n"
                      + markdown_table(*cutoffs), out_dir / "profile.md")
    atomic.write_text(html_page(f"Profile of {dataset}", [("Key statistics", note, html_table(*summary)),
                                                          ("The label per cutoff", "H = horizon weeks.", html_table(*cutoffs))]),
                      out_dir / "profile.html")
    plot(doc, degrees, out_dir / "profile.png")
