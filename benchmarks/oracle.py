"""How much room does a synthetic market leave, and how much of it is the graph's? Scores the pipeline's own val/test
examples with oracles that know the generator's latent state, beside the shipped models, on the same products.

- `oracle_path`: the expected units of the next H weeks given the whole latent path (life cycle, season, hype, taste,
  promotions): only the demand noise is unknown. An approximate ceiling (it ranks by expected units, not by the chance
  of being hot), out of any model's reach, since the path's future is unknowable.
- `oracle_now`: what the cutoff's latent state predicts (life cycle and season are deterministic, hype and taste
  are carried forward by their own dynamics, promotions and shocks at their mean): the best any model could do.
- `oracle_now_alone`: the same with each product's hype carried forward without its hidden neighbours' pull (so it
  decays at the persistence rate, faster than hype shared in a cluster does: if anything this overstates the graph's
  share). `oracle_now - oracle_now_alone` is what the graph adds to a predictor that knows each product's own state.
- `oracle_now_observed`: `oracle_now` knowing which related products each product has only where the cutoff's event
  edges (graph/edges.parquet, past-only co-purchases; not the category and seller rings) link them: the pull of the
  linked ones is their hype, that of the others the market's mean hype (it knows how many related products each has).
  `oracle_now_mean_pull` knows no pair: every related product pulls with the mean. So `now - mean_pull` is what
  knowing the hidden pairs is worth, `observed - mean_pull` what the pairs a model can see are worth, `now - observed`
  what only the unseen ones carry.
- `oracle_now_no_hype`: the cutoff's state without any hype (as if every product's were 0). The hidden graph carries
  only hype (season is the category's, taste and noise are each product's own), so `oracle_now - oracle_now_no_hype`
  is what everything the hidden graph could tell is worth to a predictor that knows the rest. To a model that knows
  less it may be worth more or less: a value at the ceiling, not a bound.
- `oracle_lifecycle`: life cycle and season only (no hype, no taste): how much of the room is each product's own
  drifting taste; `oracle_adoption`: the life cycle alone, without the categories' seasons.
- `oracle_stage_seller`: life cycle and season with each product's market size replaced by what its seller implies
  (the median size times the seller's reputation factor), `oracle_stage`: by the median size alone. What knowing the
  seller is worth beside each product's stage (`oracle_stage_seller - oracle_stage`), the one part of a product's
  size that pooling its seller's other products could reveal, and what its own size is worth beyond that.

Run after the workflow (`results/<dataset>/train`, `baselines`, `features`):

    .venv/bin/python benchmarks/oracle.py --dataset realistic --out benchmarks/results/oracle_realistic.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.scoring import SplitScorer, bootstrap, interval  # noqa: E402
from hotseller.graph import RELATION_GROUPS, mean_operator, relation_group  # noqa: E402
from hotseller.settings import stage_params  # noqa: E402
from hotseller.synth import MarketSpec, market_spec, simulate  # noqa: E402
from hotseller.tables import indexed_products  # noqa: E402
from hotseller.train.data import percentile_in_cutoff  # noqa: E402
from variants import merged  # noqa: E402 - benchmarks/variants.py, beside this script

NOW = {"oracle_now": "graph", "oracle_now_observed": "observed", "oracle_now_mean_pull": "mean_pull", "oracle_now_alone": "alone", "oracle_now_no_hype": "none", "oracle_lifecycle": "lifecycle",
       "oracle_adoption": "adoption", "oracle_stage_seller": "stage_seller", "oracle_stage": "stage"}  # column -> now_scores' mode
SIZE_MODES = ("stage_seller", "stage")  # life cycle and season with the market size replaced (see the docstring)
MODELS = ("gnn", "blend", "logreg_gbt", "gbt", "logreg", "persistence")


def market(config: dict, dataset: str) -> tuple[MarketSpec, dict, dict[str, int]]:
    """The dataset's MarketSpec as the synth rule builds it, its latent arrays, and each product id's row in them."""
    entry = config["datasets"][dataset]
    if entry.get("source") != "synthetic":
        raise SystemExit(f"{dataset} is not a synthetic market: an oracle needs the generator's latent state")
    synthetic = stage_params(dict(config, dataset=dataset), "synthetic")
    spec = market_spec(entry["products"], entry["weeks"], entry["categories"], entry["sellers"], synthetic["seed"],
                       synthetic["bad_row_rate"], entry.get("market", {}))
    latent: dict = {}
    products = simulate(spec, latent)["products"]["product_id"]
    return spec, latent, {p: i for i, p in enumerate(products)}


PULLED = ("graph", "observed", "mean_pull")  # modes that carry the neighbours' pull, knowing all, the seen or no pairs
KNOWN_HYPE = (*PULLED, "alone")  # modes that start from each product's hype at t


def known_spread(latent: dict, t: int, mode: str) -> sp.csr_matrix:
    """The hidden spread matrix (row-normalised) restricted to the pairs a PULLED mode knows: all of them ("graph"),
    those the cutoff's event edges link ("observed": latent["seen"][t], a 0/1 matrix), none ("mean_pull")."""
    hidden = latent["spread"]
    if mode == "graph":
        return hidden
    if mode == "observed":
        return hidden.multiply(latent["seen"][t]).tocsr()
    return sp.csr_matrix(hidden.shape)


def hype_forecast(spec: MarketSpec, latent: dict, t: int, horizon: int, mode: str) -> list[np.ndarray]:
    """E[h_{t+k}] for k = 1..H from h_t: h <- persistence h + spread * pull + mean shock, where in the PULLED modes a
    product's pull is its related products' mean hype, each known pair (known_spread) with its own, each other one with
    the market's mean; from the state's h_t in the KNOWN_HYPE modes, from h_t = 0 in every other mode."""
    mean_shock = spec.shock_rate * spec.shock_size
    h, out = (latent["hype"][:, t] if mode in KNOWN_HYPE else np.zeros(spec.n_products)), []
    if mode in PULLED:
        known = known_spread(latent, t, mode)
        unknown = np.asarray(latent["spread"].sum(axis=1)).ravel() - np.asarray(known.sum(axis=1)).ravel()  # 0 in "graph"
    for _ in range(horizon):
        pull = known @ h + unknown * h.mean() if mode in PULLED else 0.0
        h = spec.hype_persistence * h + spec.hype_spread * pull + mean_shock
        out.append(h)
    return out


def adoption_with_size(spec: MarketSpec, latent: dict, mode: str) -> np.ndarray:
    """The life cycle (products x weeks) with each product's market size as `mode` assumes it: its own, or in the
    SIZE_MODES the median size times its seller's factor ("stage_seller") or the median alone ("stage"). Launch week
    and diffusion speed stay each product's own."""
    if mode not in SIZE_MODES:
        return latent["adoption"]
    size = spec.market_size_median * (latent["seller_effect"] if mode == "stage_seller" else 1.0)
    return latent["adoption"] * (size / latent["market_size"])[:, None]


def now_scores(spec: MarketSpec, latent: dict, t: int, horizon: int, mode: str) -> np.ndarray:
    """Expected units over (t, t+H] from the latent state at t, as `mode` (a NOW value) knows it: the KNOWN_HYPE modes
    and "none" know each product's taste and carry hype as hype_forecast does; "lifecycle" drops taste and hype, "adoption"
    the season too, and the SIZE_MODES are "lifecycle" with the market size replaced. Constant factors that rank no
    product above another (the promotions' and spikes' means) are left out; exp(min(E[h], 4)) stands for
    E[exp(min(h, 4))]."""
    total = np.zeros(spec.n_products)
    sd, memory = spec.demand_volatility, spec.demand_memory
    own = mode in (*KNOWN_HYPE, "none")
    adoption = adoption_with_size(spec, latent, mode)
    for k, h in enumerate(hype_forecast(spec, latent, t, horizon, mode), start=1):
        week = t + k
        # E[exp(taste_{t+k})]: the known taste decays at the AR(1) rate; the shocks since add half their variance
        taste = (memory**k * latent["taste"][:, t] if own else 0.0) + 0.5 * sd**2 * (1 - memory ** (2 * k)) / max(1 - memory**2, 1e-12)
        season = latent["season"][:, week] if mode != "adoption" else 1.0
        total += adoption[:, week] * season * np.exp(np.minimum(h, 4.0)) * np.exp(taste)
    return total


def seen_pairs(products: pl.DataFrame, edges: pl.LazyFrame, index: dict[str, int], cutoffs: list[int], n: int) -> dict[int, sp.csr_matrix]:
    """Per cutoff, the pairs its event edges link (graph/edges.parquet, product_idx as the graph stage numbers
    `products`; the category and seller rings left out) as a symmetric 0/1 matrix over the latent arrays' rows
    (`index`: product id -> row)."""
    rows = np.array([index[p] for p in indexed_products(products)["product_id"]])
    out = {}
    for t in cutoffs:
        cut = edges.filter(pl.col("cutoff") == t).select("src", "dst", "kind").collect()
        events = cut.filter(pl.Series(relation_group(cut["kind"]) == len(RELATION_GROUPS) - 1))
        out[t] = mean_operator(rows[events["src"].to_numpy()], rows[events["dst"].to_numpy()], n, normalised=False)
    return out


def seen_share(hidden: sp.csr_matrix, observed: sp.csr_matrix) -> float:
    """The share of the hidden graph's pairs that the observed graph links."""
    pairs = sp.triu(hidden > 0, k=1).tocsr()
    return float(pairs.multiply(observed > 0).nnz / max(pairs.nnz, 1))


def oracle_frame(spec: MarketSpec, latent: dict, index: dict[str, int], examples: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """One row per example: the oracles' scores, each expected-units figure as its percentile within the cutoff
    (the label is a within-cutoff top share, and markets grow between cutoffs), with the example's keys."""
    parts = []
    for (t,), rows in examples.group_by("cutoff"):
        idx = np.array([index[p] for p in rows["product_id"]])
        path = latent["demand"][idx, t + 1 : t + 1 + horizon].sum(axis=1)
        parts.append(rows.with_columns(
            oracle_path=percentile_in_cutoff(path),
            **{name: percentile_in_cutoff(now_scores(spec, latent, t, horizon, mode)[idx]) for name, mode in NOW.items()},
        ))
    return pl.concat(parts)


def scored(dataset: str, oracles: pl.DataFrame) -> pl.DataFrame:
    """The oracles beside every shipped model's score on the same (split, cutoff, product) rows."""
    keys = ["cutoff", "product_id"]
    frame = pl.read_parquet(f"results/{dataset}/train/predictions.parquet").filter(pl.col("split") != "train")
    frame = frame.select("split", *keys, "hot", pl.col("score").alias("gnn"))
    sources = {"blend": f"results/{dataset}/hybrid/blend.parquet", **{m: f"results/{dataset}/baselines/{m}.parquet" for m in MODELS[2:]}}
    for name, path in sources.items():
        frame = frame.join(pl.read_parquet(path).select(*keys, pl.col("score").alias(name)), on=keys, how="left")
    out = frame.join(oracles.select(*keys, "oracle_path", *NOW), on=keys, how="left")
    missing = out.select(pl.all().null_count()).row(0, named=True)
    if out.height != frame.height or any(missing.values()):
        raise SystemExit(f"the models' and oracles' rows do not match one to one ({out.height} for {frame.height}; nulls {missing})")
    return out


def summary(frame: pl.DataFrame, resamples: int, seed: int) -> dict:
    """Per split: each score's PR-AUC with its interval, and paired differences (product bootstrap)."""
    names = [c for c in frame.columns if c in MODELS or c.startswith("oracle")]
    out: dict = {}
    for split in ("val", "test"):
        part = frame.filter(pl.col("split") == split).sort("cutoff", "product_id")
        scorers = {n: SplitScorer(part.select("cutoff", "hot", pl.col(n).alias("score")), threshold=np.inf, calibration=None) for n in names}
        codes = np.unique(part["product_id"].to_numpy(), return_inverse=True)[1]
        draws = bootstrap(scorers, codes, resamples, seed)
        pr = {n: draws[n]["pr_auc"] for n in names}
        points = {n: scorers[n].point()["pr_auc"] for n in names}
        pairs = [("oracle_now", "oracle_now_alone"), ("oracle_now", "oracle_now_mean_pull"), ("oracle_now_observed", "oracle_now_mean_pull"),
                 ("oracle_now", "oracle_now_observed"), ("oracle_now_observed", "logreg_gbt"), ("oracle_now_observed", "gnn"),
                 ("oracle_now_observed", "blend"), ("oracle_now", "oracle_now_no_hype"), ("oracle_now_no_hype", "oracle_lifecycle"),
                 ("oracle_lifecycle", "oracle_adoption"), ("oracle_lifecycle", "oracle_stage_seller"), ("oracle_stage_seller", "oracle_stage"),
                 ("oracle_stage", "logreg_gbt"), ("oracle_lifecycle", "logreg_gbt"), ("oracle_path", "oracle_now"),
                 ("oracle_now", "logreg_gbt"), ("oracle_now_alone", "logreg_gbt"), ("gnn", "logreg_gbt")]
        out[split] = {
            "examples": part.height, "hot": int(part["hot"].sum()),
            "pr_auc": {n: {"point": points[n], "ci": interval(pr[n])} for n in names},
            "differences": {f"{a} - {b}": {"point": points[a] - points[b], "ci": interval(pr[a] - pr[b])} for a, b in pairs},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="realistic")
    parser.add_argument("--config", nargs="+", default=["config.yaml"])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    config: dict = {}
    for path in args.config:
        config = merged(config, yaml.safe_load(Path(path).read_text()))
    config["dataset"] = args.dataset
    horizon = int(stage_params(config, "features")["horizon_weeks"])
    spec, latent, index = market(config, args.dataset)
    examples = pl.read_parquet(f"results/{args.dataset}/features/examples.parquet", columns=["cutoff", "product_id", "hot", "future_units"])
    truth = latent["units"]
    rebuilt = np.array([truth[index[p], c + 1 : c + 1 + horizon].sum() for p, c in zip(examples["product_id"], examples["cutoff"])])
    if not np.allclose(rebuilt, examples["future_units"].to_numpy()):
        raise SystemExit("the generator's units do not rebuild the examples' future units: is this the same market and cutoff grid?")
    latent["seen"] = seen_pairs(pl.read_parquet(f"results/{args.dataset}/ingest/products.parquet"),
                                pl.scan_parquet(f"results/{args.dataset}/graph/edges.parquet"), index,
                                sorted(set(examples["cutoff"].to_list())), spec.n_products)
    evaluated = sorted(set(pl.read_parquet(f"results/{args.dataset}/train/predictions.parquet", columns=["split", "cutoff"])
                           .filter(pl.col("split") != "train")["cutoff"].to_list()))
    hidden = sp.triu(latent["spread"], k=1).nnz  # the spread matrix is the symmetric hidden graph, row-normalised
    observed = pl.read_parquet(f"results/{args.dataset}/raw/relations.parquet").select("src", "dst").unique().height
    result = {"dataset": args.dataset, "horizon_weeks": horizon, "resamples": args.resamples,
              "hidden_pairs": hidden, "pairs_ever_co_purchased": observed,
              "hidden_pairs_seen_by_cutoff": {t: seen_share(latent["spread"], latent["seen"][t]) for t in evaluated},
              "splits": summary(scored(args.dataset, oracle_frame(spec, latent, index, examples, horizon)), args.resamples, seed=0)}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for split, part in result["splits"].items():
        print(split, part["examples"], part["hot"])
        for name, value in part["pr_auc"].items():
            print(f"  {name:18s} {value['point']:.3f} {value['ci']}")
        for name, value in part["differences"].items():
            print(f"  {name:32s} {value['point']:+.3f} {value['ci']}")


if __name__ == "__main__":
    main()
