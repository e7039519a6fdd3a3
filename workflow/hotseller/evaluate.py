"""Evaluation: the same metrics for every model on the same validation and test examples, with bootstrap
intervals, calibration (Platt scaling), a paired comparison of the GNN with the best baseline, tables and plots.
How one model is scored, and the paired product bootstrap, are in hotseller.scoring; the plots in hotseller.plots.

The test split is a backtest over several cutoffs: the headline metrics pool them (every example of every test
cutoff), the bootstrap resamples *products* with all their cutoffs together (a product seen at four cutoffs is
drawn or not as one unit, so repeated products do not fake precision), and `per_cutoff` gives each test cutoff's
point values, to see whether a model is stable or good on one lucky week.

metrics.json schema (version 4):
{"schema_version": 4,
 "models": {<model>: {"threshold": float, "temperature": float | null, "bias": float | null, "val": M, "test": M,
                      "test_ci": {<metric>: [lo, hi]}}},
 "headline": {"graph_model": str, "baseline": str, "metric": "pr_auc", "chosen_by": "validation PR-AUC", "difference": float,
              "ci": [lo, hi], "verdict": str},   # the best model with a GNN inside vs the best without, both chosen on validation
 "comparison": {"reference": "gnn", "metric": "pr_auc", "best_baseline": str, "chosen_by": "validation PR-AUC",
                "vs": {<baseline>: {"difference": float, "ci": [lo, hi], "share_reference_better": float, "verdict": str}},
                "enough_hot": bool, "min_hot": int},
 "per_cutoff": [{"cutoff": int, "week": str, "examples": int, "hot": int, "models": {<model>: {pr_auc, roc_auc, precision_at_k}}}],
 "bootstrap": {"resamples": int, "unit": "product", "confidence": 0.95, "seed": int, "degenerate": int},
 "examples": {"val": int, "test": int}, "hot": {"val": int, "test": int}, "test_cutoffs": int}
where M = {pr_auc, roc_auc, precision_at_k, recall_at_k, f1, brier, ece, brier_ts, ece_ts, [rating_rmse, engagement_rmse]}.
k is the number of hot products at each cutoff (precision@k pools each cutoff's top-k hits over the pooled hot
count); the F1 threshold is the one that maximises F1 on validation;
`_ts` metrics are after the calibration fitted on validation (scoring.Calibration: a temperature and a bias;
version 3 had the temperature alone). Calibration metrics are NaN (null in JSON)
for models whose scores are not probabilities (the persistence and momentum heuristics).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl

from hotseller.plots import plot_backtest, plot_pr_curves, plot_reliability, plot_training
from hotseller.render import fmt, html_page, html_table, markdown_table, percent, with_ci
from hotseller.settings import HEURISTICS
from hotseller.scoring import (
    BOOTSTRAP_RESAMPLES, CONFIDENCE, SplitScorer, best_f1_threshold, bootstrap, fit_calibration, interval, is_probability,
    test_hot_share,
)

REFERENCE = "gnn"
METRIC_NAMES = {
    "pr_auc": "PR-AUC", "roc_auc": "ROC-AUC", "precision_at_k": "precision@k", "recall_at_k": "recall@k", "f1": "F1",
    "brier": "Brier", "ece": "ECE", "brier_ts": "Brier (cal.)", "ece_ts": "ECE (cal.)",
    "rating_rmse": "rating RMSE", "engagement_rmse": "engagement RMSE",
}
KEYS = ["split", "cutoff", "product_id"]
# The rule for "too few hot examples to separate models": below this many hot test examples (pooled over the test
# cutoffs) the bootstrap interval is built from so few positives that it is itself unreliable, so metrics.md says
# plainly that the backtest cannot separate models, whatever the intervals say.
MIN_HOT_FOR_VERDICT = 50
PER_CUTOFF_METRICS = ("pr_auc", "roc_auc", "precision_at_k")


# ---------------------------------------------------------------------------------------------------------
# Putting it together


def aligned(predictions: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Every model's predictions in one row order, after checking that they cover the same examples with the same labels
    and that every score is a number: a paired comparison means nothing otherwise, and a NaN score would sort last."""
    reference = predictions[REFERENCE].select(*KEYS, "hot").sort(KEYS)
    out = {}
    for name, preds in predictions.items():
        ordered = preds.sort(KEYS)
        if not ordered.select(KEYS).equals(reference.select(KEYS)):
            raise ValueError(f"model {name!r} was scored on different examples than the {REFERENCE}; models must share the split")
        if not ordered["hot"].cast(pl.Int8).equals(reference["hot"].cast(pl.Int8)):
            raise ValueError(f"model {name!r} has other hot labels than the {REFERENCE} on the same examples; models must share the labels")
        if not ordered["score"].cast(pl.Float64).is_finite().fill_null(False).all():
            raise ValueError(f"model {name!r} has scores that are not finite numbers (null, NaN or infinite)")
        out[name] = ordered
    return out


def best_on_validation(names: list[str], points: dict[str, dict], metric: str = "pr_auc") -> str:
    """The model with the highest validation metric (NaN, or null as metrics.json writes it, counts as worst; ties: the
    first listed). Every choice among models (the best baseline, the headline, the forecast's model) goes through here."""
    def value(name: str) -> float:
        v = points[name]["val"][metric]
        return -math.inf if v is None or math.isnan(v) else v

    return max(names, key=value)


def headline(draws: dict[str, dict[str, np.ndarray]], points: dict[str, dict], graph_models: set[str], metric: str = "pr_auc") -> dict:
    """The question the project asks: does the best model with a GNN inside beat the best model without one? Both are
    chosen on validation; the difference and its interval are paired on the test resamples."""
    graph = [n for n in points if n in graph_models]
    others = [n for n in points if n not in graph_models]
    if not graph or not others:
        return {}
    g, b = best_on_validation(graph, points, metric), best_on_validation(others, points, metric)
    diff = draws[g][metric] - draws[b][metric]
    ci = interval(diff)
    return {"graph_model": g, "baseline": b, "metric": metric, "chosen_by": f"validation {METRIC_NAMES[metric]}",
            "difference": points[g]["test"][metric] - points[b]["test"][metric], "ci": ci, "verdict": verdict(ci, b, g)}


def compare(draws: dict[str, dict[str, np.ndarray]], points: dict[str, dict], graph_models: set[str] = frozenset({REFERENCE}),
            metric: str = "pr_auc") -> dict:
    """Paired differences GNN - each baseline (a model without a GNN inside) on the same resamples; the best baseline is
    chosen on validation."""
    baselines = [n for n in points if n != REFERENCE and n not in graph_models]
    if not baselines:
        return {}
    best = best_on_validation(baselines, points, metric)
    vs = {}
    for name in baselines:
        diff = draws[REFERENCE][metric] - draws[name][metric]
        finite = diff[np.isfinite(diff)]
        vs[name] = {
            "difference": points[REFERENCE]["test"][metric] - points[name]["test"][metric],
            "ci": interval(diff),
            "share_reference_better": float(np.mean(finite > 0)) if finite.size else None,
        }
        vs[name]["verdict"] = verdict(vs[name]["ci"], name)
    return {"reference": REFERENCE, "metric": metric, "best_baseline": best, "chosen_by": f"validation {METRIC_NAMES[metric]}", "vs": vs}


def verdict(ci: list[float | None], baseline: str, reference: str = REFERENCE) -> str:
    """What a paired interval says in words: only an interval that excludes 0 is a difference."""
    if ci[0] is None:
        return "no interval"
    if ci[0] > 0:
        return f"{reference} better"
    if ci[1] < 0:
        return f"{baseline} better"
    return "no measurable difference"


def per_cutoff_points(predictions: dict[str, pl.DataFrame], weeks: dict[int, str]) -> list[dict]:
    """Each test cutoff's point metrics for every model (precision@k with k = that cutoff's hot count)."""
    rows = []
    reference = predictions[REFERENCE].filter(pl.col("split") == "test")
    for cutoff in sorted(reference["cutoff"].unique().to_list()):
        models = {}
        for name, preds in predictions.items():
            part = preds.filter((pl.col("split") == "test") & (pl.col("cutoff") == cutoff))
            point = SplitScorer(part, 0.5, None).point()
            models[name] = {m: point[m] for m in PER_CUTOFF_METRICS}
        part = reference.filter(pl.col("cutoff") == cutoff)
        rows.append({"cutoff": int(cutoff), "week": weeks.get(int(cutoff), str(cutoff)), "examples": part.height,
                     "hot": int(part["hot"].sum()), "models": models})
    return rows


def nan_to_none(value):
    """JSON has no NaN: write null."""
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nan_to_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def fmt_share(metrics: dict) -> str:
    """The test hot share as a percentage for prose ("n/a" without test examples)."""
    return percent(test_hot_share(metrics))


def compute_metrics(predictions: dict[str, pl.DataFrame], n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0,
                    weeks: dict[int, str] | None = None, graph_models: set[str] = frozenset({REFERENCE})) -> dict:
    """The metrics.json document (without NaN conversion) from every model's val/test predictions; `weeks` names
    each cutoff's date for the per-cutoff table; `graph_models` are the models with a GNN inside (the headline)."""
    predictions = aligned(predictions)
    models, test_scorers = {}, {}
    for name, preds in predictions.items():
        val, test = (preds.filter(pl.col("split") == s) for s in ("val", "test"))
        labels, scores = val["hot"].to_numpy(), val["score"].to_numpy().astype(np.float64)
        threshold = best_f1_threshold(labels, scores)
        # Decided once, on validation, for both splits: a heuristic's log units can fall inside [0, 1] on one split.
        probabilistic = name not in HEURISTICS and is_probability(scores)
        calibration = fit_calibration(labels, scores) if probabilistic else None
        test_scorers[name] = SplitScorer(test, threshold, calibration, probabilistic)
        models[name] = {"threshold": threshold, "temperature": None if calibration is None else calibration.temperature,
                        "bias": None if calibration is None else calibration.bias,
                        "val": SplitScorer(val, threshold, calibration, probabilistic).point(), "test": test_scorers[name].point()}
    test_rows = predictions[REFERENCE].filter(pl.col("split") == "test")
    codes = np.unique(test_rows["product_id"].to_numpy(), return_inverse=True)[1]
    draws = bootstrap(test_scorers, codes, n_resamples, seed)
    for name, per in draws.items():
        models[name]["test_ci"] = {metric: interval(values) for metric, values in per.items()}
    degenerate = int(np.sum(~np.isfinite(draws[REFERENCE]["pr_auc"])))
    reference = predictions[REFERENCE]
    hot = {s: int(reference.filter(pl.col("split") == s)["hot"].sum()) for s in ("val", "test")}
    comparison = compare(draws, models, set(graph_models))
    head = headline(draws, models, set(graph_models) | {REFERENCE})
    enough = {"enough_hot": hot["test"] >= MIN_HOT_FOR_VERDICT, "min_hot": MIN_HOT_FOR_VERDICT}
    too_few = f"too few hot examples to tell ({hot['test']} < {MIN_HOT_FOR_VERDICT})"
    for result in (comparison, head):  # every verdict obeys the rule, not the headline's alone
        if result:
            result |= enough
            if not enough["enough_hot"]:
                for entry in (result, *result.get("vs", {}).values()):
                    if "verdict" in entry:
                        entry["verdict"] = too_few
    return {
        "schema_version": 4,
        "models": models,
        "headline": head,
        "comparison": comparison,
        "per_cutoff": per_cutoff_points(predictions, weeks or {}),
        "bootstrap": {"resamples": n_resamples, "unit": "product", "confidence": CONFIDENCE, "seed": seed, "degenerate": degenerate},
        "examples": {s: int((reference["split"] == s).sum()) for s in ("val", "test")},
        "hot": hot,
        "test_cutoffs": int(test_rows["cutoff"].n_unique()),
    }


# ---------------------------------------------------------------------------------------------------------
# Tables (rendered by hotseller.render)


TEST_COLUMNS = ["pr_auc", "roc_auc", "precision_at_k", "f1", "brier", "ece", "ece_ts", "rating_rmse", "engagement_rmse"]


def test_rows(metrics: dict) -> tuple[list[str], list[list[str]]]:
    columns = [c for c in TEST_COLUMNS if any(c in m["test"] for m in metrics["models"].values())]
    header = ["model", *[METRIC_NAMES[c] for c in columns], "T", "bias"]
    rows = []
    for name, m in metrics["models"].items():
        rows.append([name, *[with_ci(m["test"].get(c), m["test_ci"].get(c)) for c in columns], fmt(m["temperature"], 2),
                     fmt(m.get("bias"), 2)])
    return header, rows


def val_rows(metrics: dict) -> tuple[list[str], list[list[str]]]:
    columns = ["pr_auc", "roc_auc", "precision_at_k", "f1", "brier", "ece", "ece_ts"]
    header = ["model", *[METRIC_NAMES[c] for c in columns], "F1 threshold"]
    rows = [[name, *[fmt(m["val"].get(c)) for c in columns], fmt(m["threshold"], 4)] for name, m in metrics["models"].items()]
    return header, rows


def comparison_rows(metrics: dict) -> tuple[list[str], list[list[str]]]:
    comp = metrics["comparison"]
    header = ["comparison", "test PR-AUC difference [95% paired CI]", "resamples where the network is better", "verdict"]
    rows = []
    for name, d in comp.get("vs", {}).items():
        label = f"gnn - {name}" + (" (best baseline on validation)" if name == comp["best_baseline"] else "")
        share = "n/a" if d["share_reference_better"] is None else f"{100 * d['share_reference_better']:.1f}%"
        rows.append([label, with_ci(d["difference"], d["ci"]), share, d.get("verdict", "")])
    return header, rows


def per_cutoff_rows(metrics: dict) -> tuple[list[str], list[list[str]]]:
    """One row per test cutoff: its hot count and every model's PR-AUC (precision@k in brackets)."""
    models = list(metrics["models"])
    header = ["test cutoff", "examples", "hot", *[f"{m} PR-AUC (P@k)" for m in models]]
    rows = []
    for row in metrics.get("per_cutoff", []):
        cells = [f"{fmt(row['models'][m]['pr_auc'])} ({fmt(row['models'][m]['precision_at_k'], 2)})" for m in models]
        rows.append([row["week"], str(row["examples"]), str(row["hot"]), *cells])
    return header, rows


def headline_sentence(metrics: dict) -> str:
    """The headline comparison in one sentence (both models chosen on validation)."""
    h = metrics.get("headline") or {}
    if not h:
        return "No model with the network inside and no baseline to compare."
    return (f"Best model with the network (gnn) inside ({h['graph_model']}) minus the best model without it ({h['baseline']}), both chosen "
            f"on validation PR-AUC: test PR-AUC difference {with_ci(h['difference'], h['ci'])}, {h['verdict']}.")


def sample_size_note(metrics: dict) -> str:
    """Says plainly whether the pooled backtest has enough hot examples to separate models (the rule is stated)."""
    comp, hot, n = metrics["comparison"], metrics["hot"]["test"], metrics.get("test_cutoffs", 1)
    rule = (f"Rule: a difference counts only when its paired 95% interval excludes 0, and no verdict is drawn from fewer "
            f"than {MIN_HOT_FOR_VERDICT} hot test examples.")
    if comp and not comp.get("enough_hot", True):
        return (f"**Too few hot examples to separate models:** the {n} test cutoffs hold {hot} hot examples, fewer than "
                f"{MIN_HOT_FOR_VERDICT}; read every difference below as inconclusive. {rule}")
    return f"The {n} pooled test cutoffs hold {hot} hot examples. {rule}"


def data_rows(accounting: dict) -> tuple[list[str], list[list[str]]]:
    rows = []
    for table, acc in accounting.items():
        if table != "total" and isinstance(acc, dict) and "read" in acc:
            reasons = "; ".join(f"{r}: {n}" for r, n in acc["quarantined"].items()) or "-"
            rows.append([table, str(acc["read"]), str(acc["accepted"]), str(sum(acc["quarantined"].values())), reasons])
    return ["table", "read", "accepted", "quarantined", "reasons"], rows


def balance_rows(split: dict) -> tuple[list[str], list[list[str]]]:
    rows = []
    for name, bal in split["balance"].items():
        weeks = split["cutoff_weeks"][name]
        shown = weeks[0] if len(weeks) == 1 else f"{weeks[0]} .. {weeks[-1]} ({len(weeks)})"
        rows.append([name, shown, str(bal["examples"]), str(bal["hot"]), f"{bal['hot_rate']:.4f}"])
    return ["split", "cutoff weeks", "examples", "hot", "hot rate"], rows


def data_tables(accounting: dict, split: dict) -> str:
    """Markdown tables of the ingest accounting and the label balance per split."""
    return markdown_table(*data_rows(accounting)) + "\n" + markdown_table(*balance_rows(split))


def metrics_table(metrics: dict) -> str:
    """Markdown: test metrics with 95% bootstrap intervals, then the paired GNN-minus-baseline differences."""
    return markdown_table(*test_rows(metrics)) + "\n" + markdown_table(*comparison_rows(metrics))


def bootstrap_note(metrics: dict) -> str:
    b, n = metrics["bootstrap"], metrics.get("test_cutoffs", 1)
    return (f"Test values pooled over the {n} test cutoffs of the backtest, with 95% percentile intervals from "
            f"{b['resamples']} bootstrap resamples of the test products (each product with all its cutoffs; seed {b['seed']}; "
            f"every model on the same resamples). T and bias are each model's calibration, fitted on validation (Platt "
            f"scaling: sigmoid(logit(p) / T + bias)); ECE (cal.) and Brier (cal.) are the test values after it.")


PER_CUTOFF_NOTE = ("Point values at each test cutoff alone (precision@k with k = that cutoff's hot count, in brackets): is a "
                   "model stable over the backtest, or good on one lucky week? See backtest.png.")


def write_tables(metrics: dict, accounting: dict, split: dict, out_dir: Path) -> None:
    """metrics.md (everything, Markdown), metrics.html and data.html (the report's tables)."""
    comp = metrics["comparison"]
    lead = ""
    if comp:
        best = comp["vs"][comp["best_baseline"]]
        lead = (f"The network (gnn) minus the best baseline ({comp['best_baseline']}, chosen on validation PR-AUC): test PR-AUC difference "
                f"{with_ci(best['difference'], best['ci'])}.\n\n")
    md = ["## Headline\n", headline_sentence(metrics) + "\n", "## Test metrics (pooled backtest)\n", bootstrap_note(metrics) + "\n", markdown_table(*test_rows(metrics)),
          "\n## The network against each baseline (paired)\n", sample_size_note(metrics) + "\n", lead, markdown_table(*comparison_rows(metrics)),
          "\n## Per test cutoff\n", PER_CUTOFF_NOTE + "\n", markdown_table(*per_cutoff_rows(metrics)),
          "\n## Validation metrics\n", markdown_table(*val_rows(metrics)),
          "\n## Data\n", markdown_table(*data_rows(accounting)), "\n## Label balance\n", markdown_table(*balance_rows(split))]
    (out_dir / "metrics.md").write_text("\n".join(md))
    (out_dir / "metrics.html").write_text(html_page("Metrics", [
        ("Test metrics with 95% bootstrap intervals", bootstrap_note(metrics) + f" PR-AUC is the headline: {fmt_share(metrics)} of "
         "the test examples are hot, so accuracy would be meaningless. Precision@k takes as many products per cutoff as are hot there "
         "(so it equals recall@k); F1 uses the threshold chosen on validation.", html_table(*test_rows(metrics))),
        ("The network against each baseline, paired", lead.strip() + " The difference is the network's test PR-AUC minus the baseline's; its "
         "interval comes from the same resamples for both models, so it is narrower than comparing two separate intervals. "
         "An interval that contains 0 means the test set cannot tell the two apart. " + sample_size_note(metrics).replace("**", ""),
         html_table(*comparison_rows(metrics))),
        ("Per test cutoff", PER_CUTOFF_NOTE, html_table(*per_cutoff_rows(metrics))),
        ("Validation metrics", "Point values on the validation cutoff, where thresholds, temperatures, the GBT's settings and the "
         "network's early stopping were chosen; they are optimistic for that reason.", html_table(*val_rows(metrics))),
    ]))
    (out_dir / "data.html").write_text(html_page("Data accounting and label balance", [
        ("Rows read, accepted and quarantined per table", "Every row read is either accepted or quarantined with a reason "
         "(read = accepted + quarantined).", html_table(*data_rows(accounting))),
        ("Label balance per split", "Examples are (product, cutoff) pairs; a product is hot when its units in the next H weeks "
         "rank in the top share of the products listed at the cutoff.", html_table(*balance_rows(split))),
    ]))


def evaluate(prediction_paths: dict[str, Path], out_dir: Path, train_log: Path, accounting: Path, split: Path,
             n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0, graph_models: set[str] = frozenset({REFERENCE})) -> dict:
    """metrics.json, metrics.md / metrics.html / data.html (tables), and the report's plots."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    predictions = {name: pl.read_parquet(path) for name, path in prediction_paths.items()}
    split_doc = json.loads(Path(split).read_text())
    weeks = dict(zip(split_doc["cutoffs"]["test"], split_doc["cutoff_weeks"]["test"]))
    metrics = nan_to_none(compute_metrics(predictions, n_resamples, seed, weeks, graph_models))
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_tables(metrics, json.loads(Path(accounting).read_text()), split_doc, out_dir)
    plot_backtest(metrics, out_dir / "backtest.png")
    plot_training(train_log, out_dir / "training_curves.png")
    plot_pr_curves(predictions, out_dir / "pr_curves.png", metrics)
    plot_reliability(predictions, out_dir / "reliability.png", metrics)
    return metrics
