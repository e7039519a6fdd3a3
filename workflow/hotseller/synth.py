"""Seeded synthetic market: the default data source, written in the generic data contract's raw format.

The generative model is documented in docs/synthetic-market.md. In short: products launch over time and
sell along Bass diffusion curves scaled by category seasonality, price promotions and a latent "hype"
state that spreads along a hidden co-purchase graph with a lag, so neighbours taking off today predicts a
product taking off tomorrow. Reviews lead sales and their ratings track a latent quality that also
speeds diffusion. Baskets on the hidden graph emit the co-purchase relations the pipeline observes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

from hotseller import atomic

ORIGIN = dt.date(2023, 1, 2)  # a Monday: week 0 of every synthetic panel


@dataclass(frozen=True)
class MarketSpec:
    """Size and behaviour knobs of one synthetic market (a preset in config.yaml)."""

    n_products: int
    n_weeks: int
    n_categories: int
    n_sellers: int
    seed: int = 7
    partners_per_product: int = 3
    homophily: float = 0.8
    hype_persistence: float = 0.6
    hype_spread: float = 0.35
    shock_rate: float = 0.004
    shock_size: float = 1.0
    review_rate: float = 0.08
    review_lead_weeks: int = 2
    basket_rate: float = 0.03
    promo_rate: float = 0.03
    bad_row_rate: float = 0.001
    # Realism knobs (docs/synthetic-market.md); the defaults keep the original (easy) market draw for draw.
    market_size_median: float = 600.0  # lifetime units of a median product: lower means sparser weeks
    market_size_sd: float = 1.0  # log-scale spread of market sizes: higher means a heavier tail
    noise_shape: float = 5.0  # Gamma(k, 1/k) week-to-week demand noise: lower means burstier weeks
    launch_before_weeks: int = 26  # launches start this many weeks before the panel: more means more mature products
    spike_rate: float = 0.0  # chance a product-week gets a one-off bulk order (mean-reverting, not hype)
    spike_size: float = 2.0  # log-scale mean of a bulk order's multiplier
    imitation: float = 0.25  # Bass q of an average product: lower means longer, flatter life cycles
    demand_volatility: float = 0.0  # weekly sd of an AR(1) shock to log demand: tastes drift, the hot set churns
    demand_memory: float = 0.9  # that AR(1)'s coefficient: how long a drift lasts


def market_spec(products: int, weeks: int, categories: int, sellers: int, seed: int, bad_row_rate: float, knobs: dict) -> MarketSpec:
    """A preset's MarketSpec from its config values (`knobs`: its `market` entry), or one line naming the keys of
    `knobs` that are not generator knobs. The synth stage and benchmarks/oracle.py build the same market through here."""
    from hotseller.errors import UserError

    defaults = {f.name: f.default for f in dataclasses.fields(MarketSpec) if f.default is not dataclasses.MISSING}
    fixed = {"n_products", "n_weeks", "n_categories", "n_sellers", "seed", "bad_row_rate"}  # set by their own config keys
    unknown = sorted(set(knobs) - set(defaults) | set(knobs) & fixed)
    if unknown:
        raise UserError(f"datasets.<name>.market: {unknown} are not generator knobs; see docs/synthetic-market.md")
    typed = {k: type(defaults[k])(v) for k, v in knobs.items()}  # YAML may write 104 as 104.0
    return MarketSpec(n_products=products, n_weeks=weeks, n_categories=categories, n_sellers=sellers, seed=seed,
                      bad_row_rate=bad_row_rate, **typed)


def bass_increment(age: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Share of a product's market that adopts during week `age` under the Bass model (0 before launch)."""

    def cumulative(x: np.ndarray) -> np.ndarray:
        x = np.maximum(x, 0.0)
        decay = np.exp(-(p + q) * x)
        return (1.0 - decay) / (1.0 + (q / p) * decay)

    return np.where(age >= 0, cumulative(age + 1.0) - cumulative(age), 0.0)


def affinity_graph(rng: np.random.Generator, category: np.ndarray, spec: MarketSpec) -> sp.csr_matrix:
    """Hidden undirected product graph: each product picks partners, mostly in its own category."""
    n = category.size
    by_category = [np.flatnonzero(category == c) for c in range(spec.n_categories)]
    src = np.repeat(np.arange(n), spec.partners_per_product)
    same = rng.random(src.size) < spec.homophily
    dst = rng.integers(0, n, src.size)
    for c, members in enumerate(by_category):
        pick = same & (category[src] == c)
        dst[pick] = members[rng.integers(0, members.size, pick.sum())]
    keep = src != dst
    adj = sp.coo_matrix((np.ones(keep.sum()), (src[keep], dst[keep])), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float64)
    return adj.tocsr()


def pair_counts(rng: np.random.Generator, units: np.ndarray, src: np.ndarray, dst: np.ndarray, rate: float,
                chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weekly co-purchase counts of each pair, Poisson with rate * sqrt(units_src * units_dst): (pair, week, count)
    where the count is positive. Pairs go `chunk` at a time (the same draws in the same order as all at once), so
    memory stays at chunk x weeks instead of pairs x weeks, several times the panel on a large market."""
    pairs, weeks, counts = [], [], []
    for lo in range(0, src.size, chunk):
        drawn = rng.poisson(rate * np.sqrt(units[src[lo : lo + chunk]] * units[dst[lo : lo + chunk]]))
        pair, week = np.nonzero(drawn)
        pairs.append(pair + lo)
        weeks.append(week)
        counts.append(drawn[pair, week])
    if not pairs:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(pairs), np.concatenate(weeks), np.concatenate(counts)


def simulate(spec: MarketSpec, latent: dict[str, np.ndarray | sp.csr_matrix] | None = None) -> dict[str, pl.DataFrame]:
    """Simulate the market and return clean raw tables: panel, reviews, products, relations.

    `latent`, when given, receives what no pipeline input shows (the hidden graph's spread matrix; life cycle,
    season, hype, taste and units arrays, products x weeks; each product's market size and its seller's factor in
    it), so benchmarks/oracle.py can score what a model that
    knew them could reach. It changes no draw."""
    rng = np.random.default_rng(spec.seed)
    n, weeks = spec.n_products, spec.n_weeks

    category = rng.choice(spec.n_categories, n, p=rng.dirichlet(np.full(spec.n_categories, 2.0)))
    seller_home = np.arange(spec.n_sellers) % spec.n_categories
    seller = np.array([rng.choice(np.flatnonzero(seller_home == c)) for c in category])
    seller_reputation = rng.normal(0.0, 0.3, spec.n_sellers)

    launch = rng.integers(-spec.launch_before_weeks, weeks - 6, n)
    quality = rng.normal(0.0, 1.0, n)
    rating_mean = np.clip(3.7 + 0.7 * quality, 1.0, 5.0)
    market_size = np.exp(rng.normal(np.log(spec.market_size_median), spec.market_size_sd, n) + seller_reputation[seller])
    bass_p = 0.01 * np.exp(rng.normal(0.0, 0.3, n))
    bass_q = np.clip(spec.imitation + 0.15 * np.tanh(quality) + rng.normal(0, 0.05, n), 0.05, None)
    category_price = rng.uniform(8.0, 120.0, spec.n_categories)
    base_price = np.exp(np.log(category_price[category]) + rng.normal(0.0, 0.4, n))
    season_amp = rng.uniform(0.1, 0.5, spec.n_categories)
    season_phase = rng.uniform(0.0, 2 * np.pi, spec.n_categories)

    adj = affinity_graph(rng, category, spec)
    degree = np.asarray(adj.sum(axis=1)).ravel()
    spread = sp.diags(1.0 / np.maximum(degree, 1.0)) @ adj

    t_axis = np.arange(weeks)
    age = t_axis[None, :] - launch[:, None]
    adoption = market_size[:, None] * bass_increment(age, bass_p[:, None], bass_q[:, None])
    season = 1.0 + season_amp[category][:, None] * np.sin(2 * np.pi * t_axis[None, :] / 52.0 + season_phase[category][:, None])

    hype = np.zeros((n, weeks))
    for t in range(1, weeks):
        shocks = (rng.random(n) < spec.shock_rate) * rng.exponential(spec.shock_size, n)
        hype[:, t] = spec.hype_persistence * hype[:, t - 1] + spec.hype_spread * (spread @ hype[:, t - 1]) + shocks

    promo = rng.random((n, weeks)) < spec.promo_rate
    discount = np.where(promo, rng.uniform(0.1, 0.4, (n, weeks)), 0.0)
    drift = np.exp(np.cumsum(rng.normal(0.0, 0.01, (n, weeks)), axis=1))
    price = base_price[:, None] * drift * (1.0 - discount)
    demand = adoption * season * np.exp(np.minimum(hype, 4.0)) * (1.0 - discount) ** -2.0
    if spec.demand_volatility > 0:  # drawn only when on (see spike_rate)
        taste = np.zeros((n, weeks))
        shocks = rng.normal(0.0, spec.demand_volatility, (n, weeks))
        for t in range(1, weeks):
            taste[:, t] = spec.demand_memory * taste[:, t - 1] + shocks[:, t]
        demand = demand * np.exp(taste)
    noise = rng.gamma(spec.noise_shape, 1.0 / spec.noise_shape, (n, weeks))
    if spec.spike_rate > 0:  # drawn only when on, so a market without spikes keeps its original draws
        spiked = rng.random((n, weeks)) < spec.spike_rate
        noise = noise * np.where(spiked, np.exp(rng.normal(spec.spike_size, 0.5, (n, weeks))), 1.0)
    units = rng.poisson(demand * noise).astype(np.float64)
    listed = age >= 0
    if latent is not None:
        latent.update(spread=spread, adoption=adoption, season=season, hype=hype, demand=demand, units=units, listed=listed,
                      taste=taste if spec.demand_volatility > 0 else np.zeros_like(hype), market_size=market_size,
                      seller_effect=np.exp(seller_reputation[seller]))
    del age, adoption, season, hype, discount, drift, noise  # products x weeks arrays each: free them before the tables

    product_ids = np.array([f"P{i:06d}" for i in range(n)])
    week_dates = np.datetime64(ORIGIN, "D") + (7 * t_axis).astype("timedelta64[D]")
    rows, cols = np.nonzero(listed)
    panel = pl.DataFrame(
        {
            "product_id": product_ids[rows],
            "week": week_dates[cols],
            "units": units[rows, cols],
            "revenue": np.round(units[rows, cols] * price[rows, cols], 2),
            "price": np.round(price[rows, cols], 2),
            "promo": promo[rows, cols].astype(np.int8),
        }
    )

    # Buzz leads purchase: review volume follows demand a few weeks ahead.
    lead = np.concatenate([demand[:, spec.review_lead_weeks :], np.repeat(demand[:, -1:], spec.review_lead_weeks, 1)], 1)
    n_reviews = rng.poisson(spec.review_rate * lead * listed)
    r_rows, r_cols = np.nonzero(n_reviews)
    counts = n_reviews[r_rows, r_cols]
    del lead, n_reviews, demand
    r_prod = np.repeat(r_rows, counts)
    r_week = np.repeat(r_cols, counts)
    ratings = np.clip(np.rint(rng.normal(rating_mean[r_prod], 0.9)), 1, 5)
    seconds = rng.integers(0, 7 * 24 * 3600, r_prod.size)
    origin_ts = dt.datetime.combine(ORIGIN, dt.time())
    review_ts = np.datetime64(origin_ts, "s") + (r_week * 7 * 86400 + seconds).astype("timedelta64[s]")
    words = np.array(["awful", "poor", "fine", "good", "excellent"])
    reviews = pl.DataFrame(
        {
            "product_id": product_ids[r_prod],
            "ts": review_ts.astype("datetime64[us]"),
            "rating": ratings,
            "text": words[ratings.astype(int) - 1],
            "helpful_votes": rng.poisson(1.0, r_prod.size),
        }
    )

    # Baskets on the hidden graph: co-purchases scale with both products' sales that week.
    upper = sp.triu(adj, k=1).tocoo()
    e_idx, e_week, e_weight = pair_counts(rng, units, upper.row, upper.col, spec.basket_rate)
    e_seconds = rng.integers(0, 7 * 24 * 3600, e_idx.size)
    relations = pl.DataFrame(
        {
            "src": product_ids[upper.row[e_idx]],
            "dst": product_ids[upper.col[e_idx]],
            "ts": (np.datetime64(origin_ts, "s") + (e_week * 7 * 86400 + e_seconds).astype("timedelta64[s]")).astype(
                "datetime64[us]"
            ),
            "kind": "co_purchase",
            "weight": e_weight.astype(np.float64),
        }
    ).sort("ts")

    products = pl.DataFrame(
        {
            "product_id": product_ids,
            "category": np.array([f"cat_{c:02d}" for c in category]),
            "seller": np.array([f"seller_{s:04d}" for s in seller]),
            "list_price": np.round(base_price, 2),
        }
    )
    return {"panel": panel, "reviews": reviews, "products": products, "relations": relations}


def corrupt_panel(panel: pl.DataFrame, rate: float, seed: int) -> pl.LazyFrame:
    """Return the panel as text with a small share of realistic bad rows, so quarantine is exercised.

    Bad rows are added, never substituted, so the clean market stays intact and the ingest stage's
    accounting (read = accepted + quarantined) can be checked against a known count. Lazy, so that
    writing it streams: a text copy of a large panel would take several times the panel's memory.
    """
    text = panel.lazy().with_columns(pl.all().cast(pl.String))
    n_bad = int(round(rate * panel.height))
    if n_bad == 0:
        return text
    rng = np.random.default_rng(seed + 1)
    picked = panel[rng.choice(panel.height, n_bad, replace=False).tolist()].with_columns(pl.all().cast(pl.String))
    kinds = np.arange(n_bad) % 4
    bad = picked.with_columns(
        kind=pl.Series(kinds),
    ).with_columns(
        units=pl.when(pl.col("kind") == 0).then(pl.lit("-3")).otherwise(pl.col("units")),
        week=pl.when(pl.col("kind") == 1).then(pl.lit("2023-13-45")).otherwise(pl.col("week")),
        product_id=pl.when(pl.col("kind") == 2).then(pl.lit(None, pl.String)).otherwise(pl.col("product_id")),
        price=pl.when(pl.col("kind") == 3).then(pl.lit("abc")).otherwise(pl.col("price")),
    ).drop("kind")
    return pl.concat([text, bad.lazy()])


def write_market(spec: MarketSpec, out_dir: Path) -> dict[str, Path]:
    """Simulate and write the raw files the generic ingest adapter reads."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = simulate(spec)
    paths = {
        "panel": out_dir / "panel.csv",
        "reviews": out_dir / "reviews.parquet",
        "products": out_dir / "products.csv",
        "relations": out_dir / "relations.parquet",
    }
    corrupt_panel(tables["panel"], spec.bad_row_rate, spec.seed).sink_csv(paths["panel"])
    atomic.write_parquet(tables["reviews"], paths["reviews"])
    tables["products"].write_csv(paths["products"])
    atomic.write_parquet(tables["relations"], paths["relations"])
    return paths
