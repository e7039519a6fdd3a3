"""The synthetic market's latent state (benchmarks/oracle.py's input): reading it changes no draw, it rebuilds the
tables' units, and the oracle's hype forecast follows the generator's hype recursion, worked by hand."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
import yaml

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

REALISTIC_KNOBS = yaml.safe_load((ROOT / "config.yaml").read_text())["datasets"]["realistic"]["market"]


@pytest.mark.parametrize("knobs", [{}, REALISTIC_KNOBS], ids=["original", "realistic"])
def test_reading_the_latent_state_changes_no_draw_and_rebuilds_the_units(knobs):
    from hotseller.synth import ORIGIN, MarketSpec, simulate

    spec = MarketSpec(n_products=150, n_weeks=40, n_categories=4, n_sellers=10, seed=5, **knobs)
    latent: dict = {}
    with_latent, plain = simulate(spec, latent), simulate(spec)
    for name in plain:
        assert with_latent[name].equals(plain[name]), name
    panel = plain["panel"].with_columns(
        i=pl.col("product_id").str.slice(1).cast(pl.Int64), t=((pl.col("week") - pl.lit(ORIGIN)).dt.total_days() // 7).cast(pl.Int64))
    units = np.zeros((spec.n_products, spec.n_weeks))
    units[panel["i"].to_numpy(), panel["t"].to_numpy()] = panel["units"].to_numpy()
    np.testing.assert_array_equal(latent["units"], units)
    assert np.all(latent["units"][~latent["listed"]] == 0)
    # a row of the spread matrix averages the product's hidden partners (each row sums to 1, or 0 when it has none)
    sums = np.asarray(latent["spread"].sum(axis=1)).ravel()
    assert np.all(np.isclose(sums, 1.0) | (sums == 0))
    # the stored hype follows the recursion the oracle carries forward: what is left over is a shock (>= 0), and rare
    hype, spread = latent["hype"], latent["spread"]
    shocks = hype[:, 1:] - (spec.hype_persistence * hype[:, :-1] + spec.hype_spread * (spread @ hype[:, :-1]))
    assert shocks.min() > -1e-9
    assert 0 < np.mean(shocks > 1e-9) < 3 * spec.shock_rate
    # the stored demand is the final one: off promotion it is life cycle x season x capped hype x taste
    promo = np.zeros_like(units, dtype=bool)
    promo[panel["i"].to_numpy(), panel["t"].to_numpy()] = panel["promo"].to_numpy() == 1
    parts = latent["adoption"] * latent["season"] * np.exp(np.minimum(hype, 4.0)) * np.exp(latent["taste"])
    np.testing.assert_allclose(latent["demand"][~promo], parts[~promo], rtol=1e-12)
    assert np.all(latent["demand"][promo] > parts[promo])  # a discount lifts demand
    assert (np.any(latent["taste"] != 0)) == (spec.demand_volatility > 0)
    # the life cycle is the market size times the Bass shares (each week's in [0, 1], summing to at most 1), and the
    # seller's factor in that size is one number per seller
    shares = latent["adoption"] / latent["market_size"][:, None]
    assert shares.min() >= 0 and shares.sum(axis=1).max() <= 1 + 1e-9


def test_the_market_size_is_the_median_times_the_sellers_factor_times_noise():
    """What the oracle's size modes read: one factor per seller, lognormal with sd 0.3 (the generator's reputation),
    and what is left of the log size around the median is the product's own noise, mean 0 (a short, wide market)."""
    from hotseller.synth import MarketSpec, simulate

    spec = MarketSpec(n_products=4000, n_weeks=8, n_categories=4, n_sellers=80, seed=5)
    latent: dict = {}
    sellers = simulate(spec, latent)["products"]["seller"].to_numpy()
    names, seller = np.unique(sellers, return_inverse=True)
    factor = np.log(latent["seller_effect"])
    per_seller = [np.unique(factor[seller == s]) for s in range(names.size)]
    assert all(values.size == 1 for values in per_seller)
    assert 0.2 < np.std(np.concatenate(per_seller)) < 0.4  # sd 0.3 from 80 draws
    noise = np.log(latent["market_size"]) - factor - np.log(spec.market_size_median)
    assert abs(noise.mean()) < 4 * spec.market_size_sd / np.sqrt(spec.n_products)
    assert abs(np.std(noise) - spec.market_size_sd) < 0.05
    assert abs(np.corrcoef(factor, noise)[0, 1]) < 0.1  # the factor is the seller's, the noise the product's


def test_the_oracles_hype_forecast_follows_the_recursion_by_hand():
    from oracle import hype_forecast, now_scores

    from hotseller.synth import MarketSpec

    spec = MarketSpec(n_products=3, n_weeks=6, n_categories=1, n_sellers=1, hype_persistence=0.5, hype_spread=0.4, shock_rate=0.1,
                      shock_size=2.0, demand_volatility=0.0)
    # a path 0 - 1 - 2: product 1 averages 0 and 2, the ends follow product 1 alone
    spread = sp.csr_matrix(np.array([[0, 1, 0], [0.5, 0, 0.5], [0, 1, 0]]))
    hype = np.zeros((3, 6))
    hype[:, 2] = [2.0, 0.0, 1.0]
    latent = {"spread": spread, "hype": hype}
    mean_shock = 0.1 * 2.0
    graph = hype_forecast(spec, latent, t=2, horizon=2, mode="graph")
    # k = 1: 0.5 h + 0.4 * neighbours' mean + 0.2
    np.testing.assert_allclose(graph[0], [1.0 + 0.0 + 0.2, 0.0 + 0.4 * 1.5 + 0.2, 0.5 + 0.0 + 0.2])
    # k = 2 from k = 1's [1.2, 0.8, 0.7]
    np.testing.assert_allclose(graph[1], [0.6 + 0.32 + 0.2, 0.4 + 0.4 * 0.95 + 0.2, 0.35 + 0.32 + 0.2])
    alone = hype_forecast(spec, latent, t=2, horizon=2, mode="alone")
    np.testing.assert_allclose(alone[1], 0.25 * hype[:, 2] + 0.5 * mean_shock + mean_shock)
    none = hype_forecast(spec, latent, t=2, horizon=1, mode="none")
    np.testing.assert_allclose(none[0], [mean_shock] * 3)

    # expected units over the next 2 weeks: life cycle x season x exp(min(hype, 4)) x exp(taste carried forward at
    # memory^k: no new shocks' variance with volatility 0); the modes without the product's own state drop its taste
    adoption = np.arange(18, dtype=float).reshape(3, 6)
    season = np.full((3, 6), 1.5)
    taste = np.zeros((3, 6))
    taste[:, 2] = [0.5, 0.0, -0.5]
    latent |= {"adoption": adoption, "season": season, "taste": taste}
    expected = sum(adoption[:, 2 + k] * 1.5 * np.exp(graph[k - 1]) * np.exp(spec.demand_memory**k * taste[:, 2]) for k in (1, 2))
    np.testing.assert_allclose(now_scores(spec, latent, t=2, horizon=2, mode="graph"), expected)
    np.testing.assert_allclose(now_scores(spec, latent, t=2, horizon=2, mode="adoption"),
                               sum(adoption[:, 2 + k] * np.exp(mean_shock * (1 + 0.5 * (k - 1))) for k in (1, 2)))
    # the size modes: life cycle and season with the size replaced by the seller's (median x factor) or the median
    latent |= {"market_size": np.array([2.0, 4.0, 8.0]), "seller_effect": np.array([1.0, 0.5, 2.0])}
    median = spec.market_size_median
    for mode, size in (("stage_seller", median * np.array([1.0, 0.5, 2.0])), ("stage", np.full(3, median))):
        by_hand = sum(adoption[:, 2 + k] / np.array([2.0, 4.0, 8.0]) * size * 1.5 * np.exp(mean_shock * (1 + 0.5 * (k - 1))) for k in (1, 2))
        np.testing.assert_allclose(now_scores(spec, latent, t=2, horizon=2, mode=mode), by_hand)


def test_seen_pairs_are_the_cutoffs_event_edges_in_latent_rows():
    """seen_pairs by hand: product_idx numbered as the graph stage numbers the products (sorted ids), mapped to latent
    rows; a pair linked by two event kinds is one link, the rings are left out, other cutoffs' edges too."""
    from oracle import seen_pairs

    products = pl.DataFrame({"product_id": ["P2", "P0", "P3", "P1", "P4"], "category": ["a", "b", "a", "b", "a"]})
    index = {"P0": 2, "P1": 0, "P2": 3, "P3": 1, "P4": 4}  # latent row of each id
    edges = pl.DataFrame({"cutoff": [5, 5, 5, 5, 9], "src": [0, 0, 1, 2, 0], "dst": [1, 1, 2, 3, 4],
                          "kind": ["co_purchase", "co_review", "category", "repeat_customer", "co_purchase"]})
    seen = seen_pairs(products, edges.lazy(), index, [5], n=5)[5].toarray()
    expected = np.zeros((5, 5))
    for a, b in (("P0", "P1"), ("P2", "P3")):
        expected[index[a], index[b]] = expected[index[b], index[a]] = 1.0
    np.testing.assert_array_equal(seen, expected)


def test_the_observed_oracle_knows_the_seen_pairs_and_the_mean_for_the_rest():
    """hype_forecast's pulled modes by hand: a product's pull is its related products' mean hype, each seen pair with its
    own hype, each unseen one with the market's mean ("observed"), all seen ("graph"), none ("mean_pull"); a product
    with no related product has no pull. seen_share counts the hidden pairs seen."""
    from oracle import hype_forecast, seen_share

    from hotseller.synth import MarketSpec

    # hidden pairs 0 - 2, 0 - 3, 1 - 2, product 4 alone; row-normalised as the generator stores it
    adj = np.zeros((5, 5))
    for a, b in ((0, 2), (0, 3), (1, 2)):
        adj[a, b] = adj[b, a] = 1.0
    hidden = sp.csr_matrix(adj / np.maximum(adj.sum(axis=1, keepdims=True), 1.0))
    seen = np.zeros((5, 5))
    seen[0, 2] = seen[2, 0] = 1.0  # the one pair the edges show
    assert seen_share(hidden, sp.csr_matrix(seen)) == pytest.approx(1 / 3)

    spec = MarketSpec(n_products=5, n_weeks=4, n_categories=1, n_sellers=1, hype_persistence=0.5, hype_spread=0.4, shock_rate=0.0,
                      shock_size=1.0)
    hype = np.zeros((5, 4))
    hype[:, 1] = [1.0, 2.0, 3.0, 0.0, 2.0]  # mean 1.6
    latent = {"hype": hype, "spread": hidden, "seen": {1: sp.csr_matrix(seen)}}
    # pulls: observed [0.5 * 3 + 0.5 * 1.6, 1.6, 0.5 * 1 + 0.5 * 1.6, 1.6, 0]; graph [1.5, 3, 1.5, 1, 0];
    # mean_pull 1.6 for products 0 - 3, 0 for product 4 (no related products)
    expected = {"observed": [0.5 + 0.4 * 2.3, 1.0 + 0.4 * 1.6, 1.5 + 0.4 * 1.3, 0.4 * 1.6, 1.0],
                "graph": [0.5 + 0.4 * 1.5, 1.0 + 0.4 * 3.0, 1.5 + 0.4 * 1.5, 0.4 * 1.0, 1.0],
                "mean_pull": [0.5 + 0.4 * 1.6, 1.0 + 0.4 * 1.6, 1.5 + 0.4 * 1.6, 0.4 * 1.6, 1.0]}
    for mode, values in expected.items():
        (h,) = hype_forecast(spec, latent, t=1, horizon=1, mode=mode)
        np.testing.assert_allclose(h, values, err_msg=mode)
    # two steps: the second pull uses the first step's hype and its mean
    first = np.array(expected["observed"])
    second = hype_forecast(spec, latent, t=1, horizon=2, mode="observed")[1]
    pull = np.array([0.5 * first[2] + 0.5 * first.mean(), first.mean(), 0.5 * first[0] + 0.5 * first.mean(), first.mean(), 0.0])
    np.testing.assert_allclose(second, 0.5 * first + 0.4 * pull)
