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


def test_the_observed_oracle_spreads_hype_over_the_seen_edges_only():
    """observed_spread by hand: event pairs mapped to latent rows, one link per pair, row-normalised; the "observed"
    forecast is the "graph" recursion over that matrix."""
    import polars as pl
    from oracle import hype_forecast, observed_spread, seen_share

    from hotseller.synth import MarketSpec

    # product_idx 0, 1, 2, 3 are latent rows 2, 0, 3, 1; pairs (0, 1) twice (two kinds) and (1, 2)
    edges = pl.DataFrame({"src": [0, 0, 1], "dst": [1, 1, 2]})
    spread = observed_spread(edges, rows=np.array([2, 0, 3, 1]), n=4).toarray()
    # latent links 2 - 0 and 0 - 3; row 0 has two neighbours, rows 2 and 3 one, row 1 none
    expected = np.array([[0, 0, 0.5, 0.5], [0, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]])
    np.testing.assert_allclose(spread, expected)
    # a hidden graph 0 - 2, 0 - 3, 1 - 2 (row-normalised, as the generator stores it): the observed links 0 - 2 and
    # 0 - 3 are two of its three pairs
    hidden = np.array([[0, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=float)
    hidden /= hidden.sum(axis=1, keepdims=True)
    assert seen_share(sp.csr_matrix(hidden), sp.csr_matrix(expected)) == pytest.approx(2 / 3)

    spec = MarketSpec(n_products=4, n_weeks=4, n_categories=1, n_sellers=1, hype_persistence=0.5, hype_spread=0.4, shock_rate=0.0,
                      shock_size=1.0)
    hype = np.zeros((4, 4))
    hype[:, 1] = [1.0, 2.0, 3.0, 0.0]
    latent = {"hype": hype, "observed": {1: sp.csr_matrix(expected)}, "spread": sp.csr_matrix(np.zeros((4, 4)))}
    (h,) = hype_forecast(spec, latent, t=1, horizon=1, mode="observed")
    np.testing.assert_allclose(h, [0.5 + 0.4 * 1.5, 1.0, 1.5 + 0.4, 0.0 + 0.4])
    (alone,) = hype_forecast(spec, latent, t=1, horizon=1, mode="graph")  # the hidden graph here has no links
    np.testing.assert_allclose(alone, 0.5 * hype[:, 1])
