"""Ablation: the full model against variants that each change one technique (remove one that is on, or add one
that is off), over several seeds.

Each (variant, seed) is an independent `hotseller train` job (workflow/rules/ablation.smk); this module
builds their train settings and aggregates their test predictions into one table: mean test PR-AUC over
seeds, a 95% interval, and the difference from the full model with its own paired interval.

The intervals come from a two-level bootstrap: each resample draws the test products with replacement
(the same draw for every run, so the difference is paired) and, per variant, draws its seeds with
replacement; the statistic is the mean over the drawn seeds of PR-AUC on the drawn products. So an interval
covers both which products happen to be in the test set and which seeds happened to be run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from hotseller.evaluate import KEYS, nan_to_none  # noqa: E402
from hotseller.logits import mean_logit  # noqa: E402
from hotseller.render import html_page, html_table, markdown_table, with_ci  # noqa: E402
from hotseller.scoring import BOOTSTRAP_RESAMPLES, Ranking, average_precision, interval, product_resamples  # noqa: E402
from hotseller.settings import FULL  # noqa: E402


def describe(overrides: dict) -> str:
    """What a variant changes, e.g. 'loss=bce, w_contrast=0'."""
    return ", ".join(f"{k}={json.dumps(v) if isinstance(v, bool) else v}" for k, v in overrides.items()) or "-"


@dataclass(frozen=True)
class Run:
    variant: str
    seed: int
    path: Path


def load_runs(runs: list[Run]) -> tuple[dict[Run, pl.DataFrame], pl.DataFrame]:
    """Each run's predictions in one row order, after checking that all runs scored the same examples."""
    frames = {run: pl.read_parquet(run.path).sort(KEYS) for run in runs}
    reference = next(iter(frames.values())).select(KEYS)
    for run, frame in frames.items():
        if not frame.select(KEYS).equals(reference):
            raise ValueError(f"ablation run {run.variant} seed {run.seed} ({run.path}) scored different examples than the others")
    return frames, reference


def pr_auc(ranking: Ranking) -> float:
    """PR-AUC of one ranking, every example counted once."""
    return float(average_precision(ranking, np.ones((1, ranking.order.size)))[0])


def averaged_pr_auc(hot: np.ndarray, scores: list[np.ndarray]) -> float:
    """PR-AUC of the runs' averaged logits: the seeds as one ensemble, the form the workflow ships (train.ensemble
    averages its networks' logits), which can rank a technique otherwise than the runs' mean."""
    return pr_auc(Ranking.of(hot, mean_logit(scores)))


def summarise(runs: list[Run], variants: dict[str, dict], n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> dict:
    """The ablation document: per variant, mean test PR-AUC over seeds, interval, difference from the full model."""
    frames, keys = load_runs(runs)
    test_mask = (keys["split"] == "test").to_numpy()
    test_keys = keys.filter(pl.Series(test_mask))
    codes = np.unique(test_keys["product_id"].to_numpy(), return_inverse=True)[1]
    val_mask = (keys["split"] == "val").to_numpy()
    val_hot = frames[runs[0]]["hot"].to_numpy()[val_mask]  # the same examples in every run (load_runs)
    rankings, val_scores, val_ap, test_ap = {}, {}, {}, {}
    for run, frame in frames.items():
        rankings[run] = Ranking.of(frame["hot"].to_numpy()[test_mask], frame["score"].to_numpy()[test_mask].astype(np.float64))
        val_scores[run] = frame["score"].to_numpy()[val_mask].astype(np.float64)
        val_ap[run] = pr_auc(Ranking.of(val_hot, val_scores[run]))
        test_ap[run] = pr_auc(rankings[run])
    draws = {run: [] for run in runs}
    for weights in product_resamples(codes, n_resamples, seed):
        for run in runs:
            draws[run].append(average_precision(rankings[run], weights))
    per_run = np.stack([np.concatenate(draws[run]) for run in runs])  # runs x resamples
    row_of = {run: i for i, run in enumerate(runs)}
    seed_rng = np.random.default_rng([seed, 1])
    order = [FULL, *[v for v in variants if v != FULL]]
    by_variant = {v: [r for r in runs if r.variant == v] for v in order}
    missing = [v for v, rs in by_variant.items() if not rs]
    if missing:
        raise ValueError(f"ablation variants without runs: {missing}")
    seed_means = {}
    for v, rs in by_variant.items():
        rows = np.array([row_of[r] for r in rs])
        picks = rows[seed_rng.integers(0, rows.size, size=(n_resamples, rows.size))]  # seeds drawn per resample
        seed_means[v] = np.nanmean(per_run[picks, np.arange(n_resamples)[:, None]], axis=1)
    full_mean = float(np.mean([test_ap[r] for r in by_variant[FULL]]))
    full_by_seed = {f.seed: frames[f] for f in by_variant[FULL]}
    table = []
    for v, rs in by_variant.items():
        values = [test_ap[r] for r in rs]
        val_values = [val_ap[r] for r in rs]
        identical = v != FULL and all(same_scores(frames[r], full_by_seed.get(r.seed)) for r in rs)
        mean = float(np.mean(values))
        table.append({
            "variant": v,
            "changes": describe(variants.get(v, {})),
            "seeds": [r.seed for r in rs],  # in run order, as test_pr_auc and val_pr_auc
            "test_pr_auc": values,
            "val_pr_auc": val_values,  # per run: paired with the full model's by seed
            "val_pr_auc_mean": float(np.mean(val_values)),
            "val_pr_auc_averaged": averaged_pr_auc(val_hot, [val_scores[r] for r in rs]),
            "mean": mean,
            "ci": interval(seed_means[v]),
            "seed_sd": float(np.std(values, ddof=1)) if len(values) > 1 else None,
            "difference": None if v == FULL else mean - full_mean,
            "difference_ci": None if v == FULL else interval(seed_means[v] - seed_means[FULL]),
            "identical_to_full": identical,
        })
    return {
        "schema_version": 1,
        "metric": "test PR-AUC",
        "bootstrap": {"resamples": n_resamples, "unit": "product and seed", "confidence": 0.95, "seed": seed},
        "test_examples": int(codes.size),
        "test_hot": int(frames[runs[0]].filter(pl.col("split") == "test")["hot"].sum()),
        "variants": table,
    }


def same_scores(a: pl.DataFrame, b: pl.DataFrame | None) -> bool:
    return b is not None and a["score"].equals(b["score"])


def note(row: dict) -> str:
    if row["identical_to_full"]:
        return "predictions identical to the full model's: the setting changes nothing here (e.g. AMP without a GPU)"
    if row["difference_ci"] and row["difference_ci"][0] is not None:
        lo, hi = row["difference_ci"]
        if hi < 0:  # said of the variant, since a variant may remove a technique or add one
            return "the variant is worse (interval below 0)"
        if lo > 0:
            return "the variant is better (interval above 0)"
        return "no measurable effect (interval contains 0)"
    return ""


def table_rows(doc: dict) -> tuple[list[str], list[list[str]]]:
    header = ["variant", "changes", "seeds", "mean test PR-AUC [95% CI]", "seed sd", "difference from full [95% CI]", "mean val PR-AUC",
              "val PR-AUC, seeds' averaged logits", "reading"]
    rows = []
    for row in doc["variants"]:
        sd = "n/a" if row["seed_sd"] is None else f"{row['seed_sd']:.3f}"
        diff = "-" if row["difference"] is None else with_ci(row["difference"], row["difference_ci"])
        rows.append([row["variant"], row["changes"], str(len(row["seeds"])), with_ci(row["mean"], row["ci"]), sd, diff,
                     f"{row['val_pr_auc_mean']:.4f}", f"{row['val_pr_auc_averaged']:.4f}", note(row)])
    return header, rows


def explanation(doc: dict) -> str:
    b = doc["bootstrap"]
    return (f"Each variant changes the full model's settings named in its changes column (most remove one technique that is on by default or add one that is off; a row may change several) and is trained with seeds {doc['variants'][0]['seeds']} on the "
            f"same split, one network a run (the workflow's own GNN may average several: train.ensemble); the table gives its test PR-AUC averaged over seeds ({doc['test_examples']} test products, "
            f"{doc['test_hot']} hot). Intervals: {b['resamples']} bootstrap resamples of the test products (paired across "
            "variants) and of each variant's seeds. A difference whose interval contains 0 is not measurable on this test set. "
            "Validation, where keep or drop is decided: the mean over seeds of each run's PR-AUC; beside it, not deciding, the "
            "PR-AUC of the seeds' averaged logits (the seeds as one ensemble, the form train.ensemble ships).")


def plot(doc: dict, path: Path) -> None:
    rows = doc["variants"]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
    for i, row in enumerate(rows):
        lo, hi = row["ci"]
        if lo is not None:
            ax.plot([lo, hi], [i, i], color="tab:blue")
        ax.plot(row["mean"], i, "o", color="black" if row["variant"] == FULL else "tab:blue")
        ax.plot(row["test_pr_auc"], [i] * len(row["test_pr_auc"]), "x", color="grey", markersize=4)
    ax.axvline(rows[0]["mean"], color="grey", linestyle=":")
    ax.set_yticks(range(len(rows)), [f"{r['variant']} ({r['changes']})" if r["variant"] != FULL else FULL for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="test PR-AUC", title="Ablation: mean over seeds (dot), 95% interval (bar), each seed (x)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(doc: dict) -> str:
    """The record's Markdown page: a pure function of its JSON, so a committed record can be re-rendered."""
    header, rows = table_rows(doc)
    return explanation(doc) + "\n\n" + markdown_table(header, rows)


def write_ablation(doc: dict, out_dir: Path) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ablation.json").write_text(json.dumps(nan_to_none(doc), indent=2) + "\n")
    header, rows = table_rows(doc)
    (out_dir / "ablation.md").write_text(markdown(doc))
    (out_dir / "ablation.html").write_text(html_page("Ablation", [("Test PR-AUC per variant", explanation(doc), html_table(header, rows))]))
    plot(doc, out_dir / "ablation.png")


def parse_runs(triples: list[list[str]]) -> list[Run]:
    """--run VARIANT SEED PATH, repeated."""
    return [Run(v, int(s), Path(p)) for v, s, p in triples]
