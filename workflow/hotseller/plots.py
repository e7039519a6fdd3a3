"""The evaluate stage's plots: test precision-recall, reliability before and after calibration, the backtest per
cutoff, and the training curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from sklearn.metrics import precision_recall_curve  # noqa: E402

from hotseller.render import fmt, with_ci  # noqa: E402
from hotseller.scoring import ECE_BINS, Calibration, calibration_bin, expected_calibration_error, fit_calibration, is_probability  # noqa: E402
from hotseller.settings import HEURISTICS  # noqa: E402


def plot_pr_curves(predictions: dict[str, pl.DataFrame], path: Path, metrics: dict | None = None) -> None:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, preds in predictions.items():
        test = preds.filter(pl.col("split") == "test")
        precision, recall, _ = precision_recall_curve(test["hot"].to_numpy(), test["score"].to_numpy())
        if metrics:
            m = metrics["models"][name]
            label = f"{name} (AP {with_ci(m['test']['pr_auc'], m['test_ci']['pr_auc'])})"
        else:
            label = name
        ax.step(recall, precision, where="post", label=label)
    base_rate = next(iter(predictions.values())).filter(pl.col("split") == "test")["hot"].mean()
    ax.axhline(base_rate, color="grey", linestyle=":", label=f"hot rate {base_rate:.3f}")
    ax.set(xlabel="recall", ylabel="precision", title="Test precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def reliability_points(labels: np.ndarray, probs: np.ndarray) -> tuple[list[float], list[float]]:
    """Mean predicted probability and observed hot rate of each non-empty bin."""
    which = calibration_bin(probs)
    used = [b for b in range(ECE_BINS) if (which == b).any()]
    return [float(probs[which == b].mean()) for b in used], [float(labels[which == b].mean()) for b in used]


def plot_reliability(predictions: dict[str, pl.DataFrame], path: Path, metrics: dict | None = None) -> None:
    """Test reliability before (left) and after (right) the calibration fitted on validation (Platt scaling)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), sharey=True)
    for ax, scaled in zip(axes, (False, True)):
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
        for name, preds in predictions.items():
            test = preds.filter(pl.col("split") == "test")
            probs, labels = test["score"].to_numpy().astype(np.float64), test["hot"].to_numpy()
            if name in HEURISTICS or not is_probability(probs):
                continue
            if metrics:
                calibration = Calibration.of(metrics["models"][name])
                if calibration is None:  # judged not probabilities on validation (evaluate.compute_metrics)
                    continue
            else:
                val = preds.filter(pl.col("split") == "val")
                calibration = fit_calibration(val["hot"].to_numpy(), val["score"].to_numpy().astype(np.float64))
            if scaled:
                probs = calibration(probs)
            xs, ys = reliability_points(labels, probs)
            ece = expected_calibration_error(labels, probs)
            label = f"{name} (ECE {ece:.3f}" + (f", T={calibration.temperature:.2f}, b={calibration.bias:+.2f})" if scaled else ")")
            ax.plot(xs, ys, marker="o", markersize=4, label=label)
        ax.set(xlabel="mean predicted probability", title="after calibration (Platt)" if scaled else "as predicted",
               xlim=(0, 1), ylim=(0, 1))
        ax.legend(fontsize=7)
    axes[0].set_ylabel("observed hot rate")
    fig.suptitle(f"Test reliability ({ECE_BINS} equal-width bins)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_backtest(metrics: dict, path: Path) -> None:
    """Each model's test PR-AUC at every cutoff of the backtest, with the cutoff's hot count on the axis."""
    rows = metrics["per_cutoff"]
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = [f"{r['week']}\n{r['hot']} hot" for r in rows]
    for name in metrics["models"]:
        ax.plot(range(len(rows)), [np.nan if r["models"][name]["pr_auc"] is None else r["models"][name]["pr_auc"] for r in rows],
                marker="o", label=f"{name} (pooled {fmt(metrics['models'][name]['test']['pr_auc'])})")
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set(xlabel="test cutoff", ylabel="PR-AUC at that cutoff", title="Backtest: test PR-AUC per cutoff", ylim=(0, 1.02))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_training(train_log: Path, path: Path) -> None:
    """Training loss and validation PR-AUC per epoch, with the restored best epoch marked (each member's, for an
    ensemble: its log has a `member` column)."""
    history = pl.read_csv(train_log)
    if "member" not in history.columns:
        history = history.with_columns(member=pl.lit(0))
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    for (member,), run in history.group_by("member", maintain_order=True):
        name = f"member {member}: " if history["member"].n_unique() > 1 else ""
        best = run.sort("val_pr_auc", descending=True, maintain_order=True).row(0, named=True)["epoch"]
        left.plot(run["epoch"], run["train_loss"], marker="o", label=f"{name}total")
        for term in ("hot", "contrast", "rating", "engagement"):
            if f"train_{term}" in run.columns and run[f"train_{term}"].abs().sum() > 0 and member == 0:
                left.plot(run["epoch"], run[f"train_{term}"], linestyle="--", label=term)
        line = right.plot(run["epoch"], run["val_pr_auc"], marker="o")[0]
        right.axvline(best, color=line.get_color(), linestyle=":", label=f"{name}restored epoch {best}")
    left.set(xlabel="epoch", ylabel="training loss (per micro-batch)", yscale="log")
    left.legend(fontsize=7)
    right.set(xlabel="epoch", ylabel="validation PR-AUC")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
