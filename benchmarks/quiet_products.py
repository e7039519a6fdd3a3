"""Should a merchandiser trust a product near the top of the list that sold nothing in its last 4 weeks? The backtest
answers: at each test cutoff, the top k (k = that cutoff's hot count, as in precision@k) of the model that ranks the
forecast (forecast/forecast.json's champion) split into quiet products (no units in the 4 weeks up to the cutoff, the
forecast's `units_last_4w` = 0) and selling ones, with each group's hot rate (Wilson 95% interval). Reads
results/<name>/{forecast/forecast.json, that model's predictions, features/examples.parquet}; writes JSON and prints
a Markdown table.

    .venv/bin/python benchmarks/quiet_products.py realistic olist online_retail --out benchmarks/results/quiet_products.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hotseller.forecast import recent_sales  # noqa: E402  (the forecast's own definition of the last 4 weeks)
from records import predictions_path, report_runs  # noqa: E402 - benchmarks/records.py, beside this script


def top_k_by_quiet(scored: pl.DataFrame) -> pl.DataFrame:
    """Per group (quiet or selling): examples in each cutoff's top k by score and how many were hot, where k is the
    cutoff's hot count; and the same over every example. `scored` has cutoff, score, hot, units_last_4w.

    A tie at the cut is broken by row order, where the evaluation's precision@k counts it pro rata
    (hotseller.scoring.hits_at_k): whole examples keep the Wilson interval exact. The published runs (the blend's
    scores) had no tie across any cut, so the two agree there; a tied champion (persistence, momentum) would not."""
    k = pl.col("hot").sum().over("cutoff")
    ranked = scored.with_columns(pl.col("score").rank("ordinal", descending=True).over("cutoff").alias("rank"),
                                 (pl.col("units_last_4w") == 0).alias("quiet"))
    top = ranked.filter(pl.col("rank") <= k).group_by("quiet").agg(pl.len().alias("top_k"), pl.col("hot").sum().alias("top_k_hot"))
    every = ranked.group_by("quiet").agg(pl.len().alias("all"), pl.col("hot").sum().alias("all_hot"))
    return every.join(top, on="quiet", how="left").fill_null(0).sort("quiet", descending=True)


def wilson(hits: int, n: int) -> list[float | None]:
    """95% Wilson interval of a hit rate (None for an empty group)."""
    if n == 0:
        return [None, None]
    ci = stats.binomtest(hits, n).proportion_ci(method="wilson")
    return [ci.low, ci.high]


def dataset_rows(name: str) -> list[dict]:
    """The forecast champion's test predictions on `name`, with each example's last 4 weeks of units, read by group."""
    run = Path("results") / name
    model = json.loads((run / "forecast/forecast.json").read_text())["model"]
    pred = pl.read_parquet(predictions_path(run, model)).filter(pl.col("split") == "test")
    examples = pl.read_parquet(run / "features/examples.parquet").join(pred.select("product_id", "cutoff"), on=["product_id", "cutoff"])
    recent = recent_sales(examples).with_columns(cutoff=examples["cutoff"])
    scored = pred.join(recent.select("product_id", "cutoff", "units_last_4w"), on=["product_id", "cutoff"], how="left")
    if scored["units_last_4w"].null_count():
        raise SystemExit(f"{run}: {scored['units_last_4w'].null_count()} test predictions have no example in features/examples.parquet")
    rows = []
    for r in top_k_by_quiet(scored).iter_rows(named=True):
        rows.append({"dataset": name, "model": model, "group": "quiet (0 units in the last 4 weeks)" if r["quiet"] else "selling",
                     "top_k": r["top_k"], "top_k_hot": r["top_k_hot"], "top_k_rate": r["top_k_hot"] / r["top_k"] if r["top_k"] else None,
                     "top_k_ci": wilson(r["top_k_hot"], r["top_k"]), "all": r["all"], "all_hot": r["all_hot"],
                     "all_rate": r["all_hot"] / r["all"]})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| dataset | model | group | in the top k (4 test cutoffs) | hot among them [Wilson 95%] | every test example: n, hot rate |",
             "|---|---|---|---:|---|---|"]
    for r in rows:
        rate = "n/a" if r["top_k_rate"] is None else f"{r['top_k_hot']} = {r['top_k_rate']:.2f} [{r['top_k_ci'][0]:.2f}, {r['top_k_ci'][1]:.2f}]"
        lines.append(f"| {r['dataset']} | {r['model']} | {r['group']} | {r['top_k']} | {rate} | {r['all']:,}, {r['all_rate']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    report_runs(__doc__.split("\n\n")[0], dataset_rows, markdown)
