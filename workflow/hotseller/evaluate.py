"""Evaluation: the same metrics for every model on the same validation and test examples, and plots.

metrics.json schema (version 1):
{"schema_version": 1,
 "models": {<model>: {"val": M, "test": M, "threshold": float}},
 "examples": {"val": int, "test": int}, "hot": {"val": int, "test": int}}
where M = {pr_auc, roc_auc, precision_at_k, recall_at_k, f1, brier, ece, [rating_rmse, engagement_rmse]}.
k is the number of hot products at each cutoff; the F1 threshold is the one that maximises F1 on validation.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from sklearn.metrics import average_precision_score, brier_score_loss, f1_score, precision_recall_curve, roc_auc_score  # noqa: E402

ECE_BINS = 15


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE with equal-width bins on [0, 1]: sum over bins of |mean prob - hot rate| weighted by bin share."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probs, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.mean() * abs(probs[in_bin].mean() - labels[in_bin].mean())
    return float(total)


def precision_recall_at_k(part: pl.DataFrame) -> tuple[float, float]:
    """Per cutoff, take the top k by score with k = the number of hot products there; pool over cutoffs."""
    hits = k_total = 0
    for _, group in part.group_by("cutoff", maintain_order=True):
        k = int(group["hot"].sum())
        if k:
            hits += int(group.sort("score", descending=True).head(k)["hot"].sum())
            k_total += k
    value = hits / k_total if k_total else float("nan")
    return value, value  # with k = number of hot, precision@k equals recall@k


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold that maximises F1 on validation."""
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(precision), where=(precision + recall) > 0)
    return float(thresholds[np.argmax(f1[:-1])]) if thresholds.size else 0.5


def is_probability(scores: np.ndarray) -> bool:
    return bool(scores.min() >= 0.0 and scores.max() <= 1.0)


def split_metrics(part: pl.DataFrame, threshold: float) -> dict[str, float]:
    labels, scores = part["hot"].to_numpy(), part["score"].to_numpy()
    p_at_k, r_at_k = precision_recall_at_k(part)
    single_class = labels.min() == labels.max()
    metrics = {
        "pr_auc": float("nan") if single_class else float(average_precision_score(labels, scores)),
        "roc_auc": float("nan") if single_class else float(roc_auc_score(labels, scores)),
        "precision_at_k": p_at_k,
        "recall_at_k": r_at_k,
        "f1": float(f1_score(labels, scores >= threshold, zero_division=0.0)),
        # Calibration is only defined for models whose scores are probabilities (not the momentum heuristic).
        "brier": float(brier_score_loss(labels, scores)) if is_probability(scores) else float("nan"),
        "ece": expected_calibration_error(labels, scores) if is_probability(scores) else float("nan"),
    }
    for target in ("rating", "engagement"):
        if f"{target}_pred" in part.columns:
            known = part.filter(pl.col(f"{target}_target").is_not_null())
            err = (known[f"{target}_pred"] - known[f"{target}_target"]).to_numpy()
            metrics[f"{target}_rmse"] = float(np.sqrt(np.mean(err**2))) if err.size else float("nan")
    return metrics


def model_metrics(predictions: pl.DataFrame) -> dict:
    val = predictions.filter(pl.col("split") == "val")
    threshold = best_f1_threshold(val["hot"].to_numpy(), val["score"].to_numpy())
    return {
        "threshold": threshold,
        **{name: split_metrics(predictions.filter(pl.col("split") == name), threshold) for name in ("val", "test")},
    }


def plot_pr_curves(predictions: dict[str, pl.DataFrame], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, preds in predictions.items():
        test = preds.filter(pl.col("split") == "test")
        precision, recall, _ = precision_recall_curve(test["hot"].to_numpy(), test["score"].to_numpy())
        ap = average_precision_score(test["hot"].to_numpy(), test["score"].to_numpy())
        ax.step(recall, precision, where="post", label=f"{name} (AP {ap:.3f})")
    base_rate = next(iter(predictions.values())).filter(pl.col("split") == "test")["hot"].mean()
    ax.axhline(base_rate, color="grey", linestyle=":", label=f"hot rate {base_rate:.3f}")
    ax.set(xlabel="recall", ylabel="precision", title="Test precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reliability(predictions: dict[str, pl.DataFrame], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    edges = np.linspace(0, 1, ECE_BINS + 1)
    for name, preds in predictions.items():
        test = preds.filter(pl.col("split") == "test")
        probs, labels = test["score"].to_numpy(), test["hot"].to_numpy()
        if not is_probability(probs):
            continue
        which = np.clip(np.digitize(probs, edges[1:-1], right=True), 0, ECE_BINS - 1)
        xs = [probs[which == b].mean() for b in range(ECE_BINS) if (which == b).any()]
        ys = [labels[which == b].mean() for b in range(ECE_BINS) if (which == b).any()]
        ax.plot(xs, ys, marker="o", label=name)
    ax.set(xlabel="mean predicted probability", ylabel="observed hot rate", title="Test reliability (15 bins)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_training(train_log: Path, path: Path) -> None:
    """Training loss and validation PR-AUC per epoch, with the restored best epoch marked."""
    history = pl.read_csv(train_log)
    best = history.sort("val_pr_auc", descending=True, maintain_order=True).row(0, named=True)["epoch"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(history["epoch"], history["train_loss"], marker="o", label="total")
    for term in ("hot", "contrast", "rating", "engagement"):
        left.plot(history["epoch"], history[f"train_{term}"], linestyle="--", label=term)
    left.set(xlabel="epoch", ylabel="training loss (per micro-batch)", yscale="log")
    left.legend(fontsize=7)
    right.plot(history["epoch"], history["val_pr_auc"], marker="o", color="tab:green")
    right.axvline(best, color="grey", linestyle=":", label=f"restored epoch {best}")
    right.set(xlabel="epoch", ylabel="validation PR-AUC")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def data_tables(accounting: dict, split: dict) -> str:
    """Markdown tables of the ingest accounting and the label balance per split."""
    lines = ["| table | read | accepted | quarantined | reasons |", "|---|---|---|---|---|"]
    for table, acc in accounting.items():
        if table != "total":
            reasons = "; ".join(f"{r}: {n}" for r, n in acc["quarantined"].items()) or "-"
            lines.append(f"| {table} | {acc['read']} | {acc['accepted']} | {sum(acc['quarantined'].values())} | {reasons} |")
    lines += ["", "| split | cutoff weeks | examples | hot | hot rate |", "|---|---|---|---|---|"]
    for name, bal in split["balance"].items():
        weeks = split["cutoff_weeks"][name]
        shown = weeks[0] if len(weeks) == 1 else f"{weeks[0]} .. {weeks[-1]} ({len(weeks)})"
        lines.append(f"| {name} | {shown} | {bal['examples']} | {bal['hot']} | {bal['hot_rate']:.4f} |")
    return "\n".join(lines) + "\n"


def metrics_table(metrics: dict) -> str:
    """A Markdown table of the headline test metrics, for the report and the README."""
    lines = ["| model | test PR-AUC | test ROC-AUC | precision@k | F1 | Brier | ECE |", "|---|---|---|---|---|---|---|"]
    for name, m in metrics["models"].items():
        t = m["test"]
        lines.append(f"| {name} | {t['pr_auc']:.4f} | {t['roc_auc']:.4f} | {t['precision_at_k']:.4f} | {t['f1']:.4f} | {t['brier']:.4f} | {t['ece']:.4f} |")
    return "\n".join(lines) + "\n"


def evaluate(prediction_paths: dict[str, Path], out_dir: Path, train_log: Path, accounting: Path, split: Path) -> dict:
    """Metrics of every model to metrics.json; metrics.md with the data tables; the report's plots."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    predictions = {name: pl.read_parquet(path) for name, path in prediction_paths.items()}
    reference = predictions["gnn"].select("split", "cutoff", "product_id").sort(pl.all())
    for name, preds in predictions.items():
        if not preds.select("split", "cutoff", "product_id").sort(pl.all()).equals(reference):
            raise ValueError(f"model {name!r} was scored on different examples than the GNN; models must share the split")
    counts = reference.group_by("split").len()
    gnn = predictions["gnn"]
    metrics = {
        "schema_version": 1,
        "models": {name: model_metrics(preds) for name, preds in predictions.items()},
        "examples": dict(counts.iter_rows()),
        "hot": {s: int(gnn.filter(pl.col("split") == s)["hot"].sum()) for s in ("val", "test")},
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    tables = data_tables(json.loads(Path(accounting).read_text()), json.loads(Path(split).read_text()))
    (out_dir / "metrics.md").write_text(metrics_table(metrics) + "\n" + tables)
    plot_training(train_log, out_dir / "training_curves.png")
    plot_pr_curves(predictions, out_dir / "pr_curves.png")
    plot_reliability(predictions, out_dir / "reliability.png")
    return metrics
