"""Honest baselines on exactly the GNN's examples and split: two heuristics (persistence: the recent level; momentum:
the recent level plus its growth), logistic regression, gradient-boosted trees with graph aggregates tuned on
validation (offered a transfer source's rows when the network starts from that market), and the validation-weighted
blend of those two (the strongest model without a GNN inside).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hotseller import atomic
from hotseller.design import design
from hotseller.logits import logit, sigmoid
from hotseller.recency import cutoff_weights, half_lives
from hotseller.source_rows import layout, marked, source_training_rows
from hotseller.split import load_split

log = logging.getLogger(__name__)
# The GBT's small search, documented in gbt_search.json with every setting's validation PR-AUC.
GBT_GRID = {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [15, 31], "l2_regularization": [0.0, 1.0]}
GBT_FIXED = {"max_iter": 200, "early_stopping": False}
BASELINE_BLEND_WEIGHTS = np.round(np.linspace(0.0, 1.0, 11), 2)  # logistic regression's share in the logreg_gbt blend


def logit_blend(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """sigmoid(w logit(a) + (1 - w) logit(b)): in logit space a model's constant shift (logistic regression's class
    weighting, the GNN's focal loss and label smoothing) does not decide the mix, as it would for probabilities."""
    return sigmoid(w * logit(a) + (1 - w) * logit(b))


def blend_weight(a: np.ndarray, b: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[float, list[dict]]:
    """The share w of model a in `logit_blend(a, b, w)` with the best validation PR-AUC (ties: the smaller w). Chosen on
    validation, so its validation figure is optimistic; test judges it like every model."""
    search = [{"weight": float(w), "val_pr_auc": float(average_precision_score(labels, logit_blend(a, b, w)))} for w in weights]
    best = max(search, key=lambda r: (round(r["val_pr_auc"], 12), -r["weight"]))  # equal up to rounding: a tie
    return best["weight"], search


def make_logreg():
    """Logistic regression as every fit of it here is made: standardised inputs, balanced classes."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))


def make_gbt(seed: int, params: dict) -> HistGradientBoostingClassifier:
    """The GBT with the fixed settings and one setting of GBT_GRID."""
    return HistGradientBoostingClassifier(random_state=seed, **GBT_FIXED, **params)


def tune_gbt(X_fit: np.ndarray, y_fit: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, seed: int, name: str = "gbt",
             weight: np.ndarray | None = None):
    """The GBT grid fitted on the training rows (each with its `weight`, if given), the setting best on validation
    PR-AUC chosen: (model, its params, its validation PR-AUC, every setting's record)."""
    best, best_ap, best_params, search = None, -1.0, None, []
    for values in itertools.product(*GBT_GRID.values()):
        params = dict(zip(GBT_GRID, values))
        model = make_gbt(seed, params)
        model.fit(X_fit, y_fit, sample_weight=weight)
        ap = average_precision_score(y_val, model.predict_proba(X_val)[:, 1])
        log.info("%s %s: val PR-AUC %.4f", name, params, ap)
        search.append({"params": params, "val_pr_auc": float(ap)})
        if ap > best_ap:
            best, best_ap, best_params = model, ap, params
    log.info("%s chosen on validation: %s (val PR-AUC %.4f)", name, best_params, best_ap)
    return best, best_params, float(best_ap), search


def training_rows(train: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Row numbers the fitted baselines learn from: every training example, or a seeded sample of `limit`."""
    rows = np.flatnonzero(train)
    if 0 < limit < rows.size:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))
    return rows


def fit_weights(cutoffs: np.ndarray, half_life: float) -> np.ndarray | None:
    """The training rows' sample weights by their cutoff's age (`cutoff_weights`); None when off, so the fits are the
    unweighted ones to the bit."""
    return cutoff_weights(cutoffs, half_life) if half_life else None


def frame(examples: pl.DataFrame, split_name: str, scores: np.ndarray) -> pl.DataFrame:
    return examples.select("cutoff", "product_id", "hot", "future_units").with_columns(
        split=pl.lit(split_name), score=pl.Series(scores, dtype=pl.Float64)
    ).select("split", "cutoff", "product_id", "score", "hot", "future_units")


def run_baselines(examples_path: Path, edges_path: Path, split_path: Path, out_dir: Path, seed: int, threads: int = 0,
                  max_train_rows: int = 0, forecast: tuple[Path, Path] | None = None,
                  recency_half_life: float | Sequence[float] = 0.0, source: tuple[Path, Path, Path] | None = None) -> None:
    """Fit on train (all of it, or a seeded sample of max_train_rows; each example weighted by its cutoff's age, the
    half-life one of the candidates in `recency_half_life`, chosen on validation per model), tune GBT on val, and write
    each model's val/test predictions as <model>.parquet; with `forecast` (inputs and edges at the data's last week),
    also every model's scores of those products as forecast.parquet; with `source` (transfer.source's examples, edges
    and split), the GBT's search is also offered that market's training rows.

    threads > 0 caps OpenMP/BLAS threads: oversubscribed OpenMP spin-waits and slows GBT many-fold.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads or None):
        fit_and_write(examples_path, edges_path, split_path, out_dir, seed, max_train_rows, forecast, half_lives(recency_half_life), source)


def forecast_scores(forecast: tuple[Path, Path], logreg, n_tabular: int, trees: dict[str, tuple], mix: float) -> pl.DataFrame:
    """Each baseline's score of every product listed at the last week, from the same design as its backtest; `trees`:
    the GBT of `gbt` and of `logreg_gbt` (each a fitted model and whether the source's rows were in its fit)."""
    examples = pl.read_parquet(forecast[0])
    X, _, heuristics = design(examples, pl.scan_parquet(forecast[1]))
    linear = logreg.predict_proba(X[:, :n_tabular].astype(np.float64))[:, 1]
    gbt, blended = (model.predict_proba(gbt_input(X, with_source))[:, 1] for model, with_source in (trees["gbt"], trees["logreg_gbt"]))
    return examples.select("cutoff", "product_id").with_columns(
        *(pl.Series(name, score, dtype=pl.Float64) for name, score in heuristics.items()),
        logreg=pl.Series(linear, dtype=pl.Float64), gbt=pl.Series(gbt, dtype=pl.Float64),
        logreg_gbt=pl.Series(logit_blend(linear, blended, mix), dtype=pl.Float64),
    )


def fit_logreg(X_fit: np.ndarray, y_fit: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, cutoffs: np.ndarray,
               candidates: list[float]):
    """Logistic regression fitted at each candidate half-life, the one with the best validation PR-AUC kept (ties: the
    first listed): (model, its half-life, every candidate's record)."""
    fits, aps = {}, {}
    for half_life in candidates:
        fits[half_life] = make_logreg()
        # lbfgs in float64, as on float64 input: float32 moves it
        fits[half_life].fit(X_fit.astype(np.float64), y_fit, logisticregression__sample_weight=fit_weights(cutoffs, half_life))
        aps[half_life] = float(average_precision_score(y_val, fits[half_life].predict_proba(X_val.astype(np.float64))[:, 1]))
    kept = max(aps, key=aps.get)  # the first of equals: dicts keep the listed order
    return fits[kept], kept, [{"recency_half_life": h, "val_pr_auc": ap} for h, ap in aps.items()]


def gbt_input(X: np.ndarray, with_source: bool) -> np.ndarray:
    """What the GBT reads of a design: with the source market's rows in its fit, one more column marks the market
    (0: this one)."""
    return marked(X, 0) if with_source else X


def tune_weighted_gbt(X_fit: np.ndarray, y_fit: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, seed: int, cutoffs: np.ndarray,
                      candidates: list[float], source: tuple[np.ndarray, np.ndarray] | None = None):
    """The GBT's grid searched at each candidate half-life and, with `source` (another market's training rows in these
    columns, and their labels), again with those rows added (each weighing 1, as a target row of mean age; no recency
    among another market's cutoffs). Returns, per arm (False: the target's rows alone; True: with the source's), the
    (model, params, validation PR-AUC, half-life) best on validation PR-AUC (ties: the first listed half-life), and
    every fit's record with its half-life (and its arm, with a source)."""
    tuned = {}
    for h in candidates:
        weight = fit_weights(cutoffs, h)
        tuned[h, False] = tune_gbt(X_fit, y_fit, X_val, y_val, seed, weight=weight)
        if source is not None:
            X_source, y_source = source
            pooled_weight = None if weight is None else np.concatenate([weight, np.ones(len(y_source))])
            tuned[h, True] = tune_gbt(np.vstack([marked(X_fit, 0), marked(X_source, 1)]), np.concatenate([y_fit, y_source]),
                                      marked(X_val, 0), y_val, seed, name="gbt with the source's rows", weight=pooled_weight)
    arms = {}
    for with_source in dict.fromkeys(arm for _, arm in tuned):
        h = max((key for key in tuned if key[1] == with_source), key=lambda key: tuned[key][2])[0]
        model, params, ap, _ = tuned[h, with_source]
        arms[with_source] = (model, params, ap, h)
    records = [r | {"recency_half_life": h} | ({"source_rows": with_source} if source is not None else {})
               for (h, with_source), (*_, search) in tuned.items() for r in search]
    return arms, records


def blend_arm(logreg_val: np.ndarray, trees_val: dict[bool, np.ndarray], y_val: np.ndarray) -> tuple[bool, float, list[dict]]:
    """logreg_gbt's GBT (each arm's best, by whether the source's rows are in its fit) and logistic regression's share,
    chosen together on the blend's own validation PR-AUC (ties: the target's rows alone): the blend is not handed the
    GBT that was best alone. Returns the arm, the share and the chosen arm's search."""
    searches = {arm: blend_weight(logreg_val, trees, y_val, BASELINE_BLEND_WEIGHTS) for arm, trees in trees_val.items()}
    best = {arm: next(r["val_pr_auc"] for r in search if r["weight"] == mix) for arm, (mix, search) in searches.items()}
    arm = max(best, key=lambda a: round(best[a], 12))  # equal up to rounding: the first (the target's rows alone)
    return arm, *searches[arm]


def fit_and_write(examples_path: Path, edges_path: Path, split_path: Path, out_dir: Path, seed: int, max_train_rows: int = 0,
                  forecast: tuple[Path, Path] | None = None, candidates: Sequence[float] = (0.0,),
                  source: tuple[Path, Path, Path] | None = None) -> None:
    split = load_split(split_path)
    examples = pl.read_parquet(examples_path)
    X, n_tabular, heuristics = design(examples, pl.scan_parquet(edges_path))
    source_rows, source_total = None, 0
    if source is not None:  # capped as the target's rows are (max_train_rows), each by its own seeded sample
        X_source, y_source = source_training_rows(source, layout(examples, n_tabular), X.shape[1])
        kept_rows = training_rows(np.ones(len(y_source), dtype=bool), max_train_rows, seed)
        source_rows, source_total = (X_source[kept_rows], y_source[kept_rows]), len(y_source)
    examples = examples.drop("seq")  # in X now
    masks = {name: examples["cutoff"].is_in(cutoffs).to_numpy() for name, cutoffs in split.items()}
    y = examples["hot"].to_numpy()
    fit_rows = training_rows(masks["train"], max_train_rows, seed)
    X_fit, y_fit = X[fit_rows], y[fit_rows]
    X_val, y_val = X[masks["val"]], y[masks["val"]]
    fit_cutoffs = examples["cutoff"].to_numpy()[fit_rows]
    candidates = list(candidates)
    log.info("fitting on %d of %d training examples, %d features (%d tabular)", fit_rows.size, int(masks["train"].sum()), X.shape[1], n_tabular)

    logreg, logreg_half_life, logreg_search = fit_logreg(X_fit[:, :n_tabular], y_fit, X_val[:, :n_tabular], y_val, fit_cutoffs, candidates)
    arms, search = tune_weighted_gbt(X_fit, y_fit, X_val, y_val, seed, fit_cutoffs, candidates, source_rows)
    with_source = max(arms, key=lambda arm: arms[arm][2])  # the GBT alone: its best arm on validation (ties: the target's)
    best, best_params, best_ap, gbt_half_life = arms[with_source]
    log.info("recency half-life chosen on validation from %s: logreg %g, gbt %g", candidates, logreg_half_life, gbt_half_life)

    scored = ("val", "test")
    scores = {name: {s: score[masks[s]] for s in scored} for name, score in heuristics.items()}
    scores["logreg"] = {s: logreg.predict_proba(X[masks[s]][:, :n_tabular].astype(np.float64))[:, 1] for s in scored}
    trees = {arm: {s: arms[arm][0].predict_proba(gbt_input(X[masks[s]], arm))[:, 1] for s in scored} for arm in arms}
    scores["gbt"] = trees[with_source]
    # The two fitted baselines mixed, as the graph blend mixes the GNN with a baseline: any gain of a blend over its
    # parts shows here too, so the graph blend has to beat a blend, not a single model.
    mixed_arm, mix, mix_search = blend_arm(scores["logreg"]["val"], {arm: t["val"] for arm, t in trees.items()}, y_val)
    scores["logreg_gbt"] = {s: logit_blend(scores["logreg"][s], trees[mixed_arm][s], mix) for s in scored}
    if source_rows is not None:
        log.info("the source's %d training rows: the GBT %s them, logreg_gbt's GBT %s them (each chosen on its validation)",
                 len(source_rows[1]), *("keeps" if arm else "leaves out" for arm in (with_source, mixed_arm)))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, by_split in scores.items():
        parts = [frame(examples.filter(pl.Series(masks[s])), s, by_split[s]) for s in scored]
        atomic.write_parquet(pl.concat(parts), out_dir / f"{name}.parquet")
    if forecast is not None:
        atomic.write_parquet(forecast_scores(forecast, logreg, n_tabular, {"gbt": (best, with_source), "logreg_gbt": (arms[mixed_arm][0], mixed_arm)}, mix), out_dir / "forecast.parquet")
    # recency_half_life: the GBT's kept half-life; recency_half_lives: the candidates;
    # source_rows: with a transfer source, how many of its rows were offered and whether the GBT kept them (and
    # logreg_gbt.source_rows whether its GBT did).
    training = {"examples": int(fit_rows.size), "of": int(masks["train"].sum()), "max_train_rows": max_train_rows, "sample_seed": seed,
                "recency_half_life": gbt_half_life, "recency_half_lives": candidates}
    if source_rows is not None:
        training["source_rows"] = {"offered": int(len(source_rows[1])), "of": int(source_total), "kept": bool(with_source)}
    document = {"grid": GBT_GRID, "fixed": GBT_FIXED | {"random_state": seed}, "features": int(X.shape[1]), "training": training,
                "chosen": best_params, "chosen_val_pr_auc": float(best_ap), "search": search,
                # gnn_gbt's trees: the best fit on this market's rows alone (the embeddings exist for them only), which is
                # the GBT's own choice unless the source's rows won
                "hybrid_trees": {"chosen": arms[False][1], "recency_half_life": arms[False][3], "val_pr_auc": float(arms[False][2])},
                "logreg": {"C": 1.0, "class_weight": "balanced", "scaling": "standard", "features": n_tabular,
                           "recency_half_life": logreg_half_life, "search": logreg_search},
                "logreg_gbt": {"logreg_weight": mix, "search": mix_search} | ({"source_rows": mixed_arm} if source_rows is not None else {})}
    atomic.write_json(document, out_dir / "gbt_search.json")
