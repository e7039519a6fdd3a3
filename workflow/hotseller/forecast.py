"""Forecast: which of the products listed at the data's last week will be hot over the next H weeks.

Scores every listed product at the last week (or at `--as-of`), where no label exists yet, from weeks <= that
week only, with the model that was best on validation (the GNN's own forecast is always written too), turns its
scores into probabilities with the calibration fitted on validation (a temperature and a bias), and says what the pooled backtest measured
for that model, so a merchandiser knows how far to trust the list. The models are the backtest's own (trained on
the training cutoffs, selected on validation): no refit, so a forecast costs one scoring pass.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from hotseller import atomic
from hotseller.errors import UserError
from hotseller.evaluate import best_on_validation
from hotseller.features import RECENT_WEEKS, SEQ_CHANNELS, STATIC_PREFIX
from hotseller.hybrid import gnn_outputs
from hotseller.package import backtest_summary, with_vocabulary
from hotseller.render import fmt, html_page, html_table, markdown_table, percent
from hotseller.scoring import Calibration
from hotseller.train.data import FAR_SD
from hotseller.train.saved import ModelFileError, read_config

log = logging.getLogger(__name__)
TOP_SHOWN = 20
TABLE_COLUMNS = ["rank", "product_id", "category", "seller", "probability", "units_last_4w", "growth_vs_prior_4w", "model"]


class ForecastError(UserError):
    """A forecast that the given data or options cannot make (e.g. --as-of outside the data): one line for the user."""


@dataclass
class Scored:
    """One model's scores of the forecast's products, and what it takes to read them."""

    model: str
    scores: pl.DataFrame  # product_id, score (the model's own scale)
    calibration: Calibration | None  # None: the scores are not probabilities (the heuristics), so no probability is given


def gnn_scores(model_dir: Path, examples: pl.DataFrame, edges: pl.DataFrame, products: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """The saved GNN's score (sigmoid of its logit) of every product in `examples`, on the graph `edges`.

    Categories follow the model's vocabulary (unseen ones take its "unseen" slot and are counted); a static
    feature the model knows but the data lacks is zero (counted), one it does not know is left out.
    """
    config = read_config(model_dir)
    mapped, unseen_category = with_vocabulary(examples, products, config["categories"])
    known = [c for c in mapped.columns if not c.startswith(STATIC_PREFIX)]
    from_data = [c for c in config["static_columns"] if c.startswith(STATIC_PREFIX)]  # the rest are computed (relative, neighbour inputs)
    missing = [c for c in from_data if c not in mapped.columns]
    offset = config["train"].get("offset_column", "")
    if offset in missing:  # not a feature to zero: the model adds this logit to its own, and scores nothing without it
        raise ForecastError(f"{model_dir}: the model adds the column {offset!r} (train.offset_column) to its score; the "
                            f"forecast's examples have no such column")
    mapped = mapped.with_columns(pl.lit(0.0, pl.Float32).alias(c) for c in missing).select(*known, *from_data)
    far: dict[str, int] = {}
    outputs = gnn_outputs(model_dir, mapped.lazy(), edges.lazy(), [int(mapped["cutoff"][0])], far)
    scores = outputs.select("product_id", score="gnn_score")
    counts = {"products": scores.height, "unseen_category": unseen_category, "missing_static_features": missing,
              "inputs_beyond_training": far}
    if unseen_category or missing:
        log.warning("forecast: %d products in categories the model never saw (scored with its 'unseen category' slot, "
                    "which training only shaped if some training products had no category); static features missing "
                    "from the data, set to 0: %s", unseen_category, missing or "none")
    if far:
        log.warning("forecast: products with an input more than %g training sds from its training mean (the model "
                    "extrapolates there; e.g. a category or seller with fewer products than any in training): %s", FAR_SD,
                    ", ".join(f"{name} {n}" for name, n in far.items()))
    return scores, counts


def recent_sales(examples: pl.DataFrame) -> pl.DataFrame:
    """Units over the last 4 weeks and their growth against the 4 weeks before, from the inputs' own sequence."""
    seq = examples["seq"].to_numpy().reshape(examples.height, -1, len(SEQ_CHANNELS))
    units = np.expm1(seq[:, :, SEQ_CHANNELS.index("log_units")].astype(np.float64))
    last, prior = units[:, -RECENT_WEEKS:].sum(1), units[:, -2 * RECENT_WEEKS : -RECENT_WEEKS].sum(1)
    growth = np.divide(last, prior, out=np.full_like(last, np.nan), where=prior > 0) - 1.0
    return pl.DataFrame({"product_id": examples["product_id"], "units_last_4w": np.round(last, 3),
                         "growth_vs_prior_4w": np.round(growth, 4)}).with_columns(pl.col("growth_vs_prior_4w").fill_nan(None))


def ranked(scored: Scored, examples: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """The forecast table: every product by descending score (ties by product_id), with what a merchandiser reads."""
    table = scored.scores.join(products.select("product_id", "category", "seller"), on="product_id", how="left")
    table = table.join(recent_sales(examples), on="product_id", how="left")
    probability = scored.calibration(table["score"].to_numpy()) if scored.calibration else np.full(table.height, np.nan)
    table = table.with_columns(probability=pl.Series(probability).round(6).fill_nan(None), model=pl.lit(scored.model))
    table = table.sort(["score", "product_id"], descending=[True, False]).with_row_index("rank", offset=1)
    return table.select(*TABLE_COLUMNS, "score")


@dataclass
class Expectation:
    """What the pooled backtest measured for the scoring model, to read the list by."""

    model: str
    test_cutoffs: list[str]
    hot: int
    pr_auc: float | None
    pr_auc_ci: list[float | None]
    precision_at_k: float | None
    precision_at_k_ci: list[float | None]
    hot_share: float | None = None  # of the test examples; a model packaged before this field has none


def expected_hot(n_listed: int, hot_quantile: float, hot_share: float | None = None) -> int:
    """How many products the label will call hot at this week: the top ceil(q * listed) of those that sell, so where
    fewer sell (the backtest's hot share below q) about that share of the listed: precision@k was measured at each
    test cutoff's own hot count, so that is the depth its "about p x k" holds at."""
    k = math.ceil(hot_quantile * n_listed)
    return k if hot_share is None else min(k, max(1, round(hot_share * n_listed)))


def share_note(expectation: Expectation | None) -> str:
    """Where the expected count comes from, when the backtest measured it."""
    share = None if expectation is None else expectation.hot_share
    return "" if share is None else f"; {percent(share)} of the backtest's test examples were hot"


def summary_markdown(table: pl.DataFrame, week: str, horizon: int, k: int, expectation: Expectation | None, why: str,
                     counts: dict) -> str:
    """forecast.md: the cutoff, who scored and why, what to expect, and the top of the list."""
    lines = [f"# Hot in the next {horizon} weeks, counted from the week of {week}\n",
             f"{table.height} products listed in the week of {week} were scored by **{table['model'][0]}** ({why}). "
             f"The label will call about {k} of them hot (the top share by units sold over the next {horizon} weeks, among "
             f"products that sell{share_note(expectation)}).\n"]
    if expectation is not None:
        p, lo_hi = expectation.precision_at_k, expectation.precision_at_k_ci
        ci = f" [{fmt(lo_hi[0])}, {fmt(lo_hi[1])}]" if lo_hi and lo_hi[0] is not None else ""
        expected = f"about {p * k:.0f} of the top {k}" if p is not None else "an unknown share"
        lines.append(f"**What to expect:** over the backtest's {len(expectation.test_cutoffs)} test cutoffs "
                     f"({expectation.test_cutoffs[0]} .. {expectation.test_cutoffs[-1]}, {expectation.hot} hot examples), "
                     f"{expectation.model}'s precision@k was {fmt(p)}{ci} (95% product bootstrap) and its PR-AUC "
                     f"{fmt(expectation.pr_auc)}: read this list's top {k} as {expected} becoming hot.\n")
    if counts.get("unseen_category") or counts.get("missing_static_features"):
        lines.append(f"Data the model never saw: {counts.get('unseen_category', 0)} products in unseen categories (scored "
                     f"with its 'unseen category' slot); static features missing and set to 0: "
                     f"{counts.get('missing_static_features') or 'none'}.\n")
    if counts.get("inputs_beyond_training"):
        lines.append(f"Inputs beyond what training saw (more than {FAR_SD:g} training sds from its mean; the model "
                     "extrapolates there), products per input: "
                     + ", ".join(f"{name} {n}" for name, n in counts["inputs_beyond_training"].items()) + ".\n")
    lines += [f"**Check:** {note}.\n" for note in counts.get("warnings", [])]
    top = table.head(TOP_SHOWN)
    rows = [[str(r["rank"]), str(r["product_id"]), str(r["category"]), str(r["seller"]), fmt(r["probability"]),
             fmt(r["units_last_4w"], 1), fmt(r["growth_vs_prior_4w"], 2)] for r in top.iter_rows(named=True)]
    header = ["rank", "product", "category", "seller", "P(hot)", "units last 4 weeks", "growth vs prior 4 weeks"]
    lines += [f"## Top {len(rows)}\n", markdown_table(header, rows),
              "P(hot) is the model's score after the calibration fitted on validation (Platt scaling). The whole list is "
              f"hot_next_{horizon}_weeks.csv (and .parquet); the network's own list is gnn_hot_next_{horizon}_weeks.csv.\n"]
    return "\n".join(lines), (header, rows)


def write_forecast(out_dir: Path, tables: dict[str, pl.DataFrame], horizon: int, markdown: str, top: tuple) -> dict[str, Path]:
    """<prefix>hot_next_<H>_weeks.csv/.parquet per table ('' = the champion's, 'gnn_' = the GNN's), forecast.md/.html."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for prefix, table in tables.items():
        stem = out_dir / f"{prefix}hot_next_{horizon}_weeks"
        atomic.write_csv(table.select(TABLE_COLUMNS), stem.with_suffix(".csv"))
        atomic.write_parquet(table, stem.with_suffix(".parquet"))
        paths[prefix] = stem.with_suffix(".csv")
    atomic.write_text(markdown, out_dir / "forecast.md")
    intro = markdown.split("## Top")[0].replace("**", "").replace("# ", "").strip()
    atomic.write_text(html_page("Forecast", [("Which products to bet on", intro, html_table(*top))]), out_dir / "forecast.html")
    return paths


def publish(out_dir: Path, champion_scored: Scored, gnn_scored: Scored, examples: pl.DataFrame, products: pl.DataFrame,
            horizon: int, hot_quantile: float, expectation: Expectation | None, why: str, counts: dict) -> tuple[dict, tuple]:
    """Rank both lists, write them and the summary; returns the summary document (also forecast.json) and the top
    table as written (header, rows), which the report's first page shows too."""
    champion_table, gnn_table = ranked(champion_scored, examples, products), ranked(gnn_scored, examples, products)
    week = str(examples["cutoff_week"][0])
    k = expected_hot(examples.height, hot_quantile, None if expectation is None else expectation.hot_share)
    markdown, top = summary_markdown(champion_table, week, horizon, k, expectation, why, counts)
    write_forecast(out_dir, {"": champion_table, "gnn_": gnn_table}, horizon, markdown, top)
    doc = {"week": week, "horizon_weeks": horizon, "model": champion_scored.model, "chosen_by": why, "products": examples.height,
           "expected_hot": k, "expectation": None if expectation is None else expectation.__dict__, "counts": counts,
           "top": champion_table.head(TOP_SHOWN).select("rank", "product_id", "probability").to_dicts()}
    atomic.write_json(doc, Path(out_dir) / "forecast.json", default=str)
    log.info("forecast for the week of %s: %d products scored by %s; top %d expected hot", week, examples.height, champion_scored.model, k)
    return doc, top


def rst_table(header: list[str], rows: list[list[str]]) -> str:
    """A docutils csv-table (the report's first page is reStructuredText)."""
    quote = lambda cell: '"' + str(cell).replace('"', '""') + '"'  # noqa: E731
    body = "\n".join("   " + ", ".join(map(quote, row)) for row in rows)
    return f".. csv-table::\n   :header: {', '.join(map(quote, header))}\n\n{body}\n"


def overview_rst(dataset: str, doc: dict, metrics: dict, split: dict, top: tuple, about: str) -> str:
    """The report's first page: the dataset, the forecast week and its top products, and the headline backtest."""
    from hotseller.evaluate import comparison_rows, sample_size_note, test_rows

    weeks = split["cutoff_weeks"]["test"]
    title = f"hotseller: {dataset}"
    lines = [title, "=" * len(title), "",
             f"**Forecast** for the {doc['horizon_weeks']} weeks after the week of **{doc['week']}** (the data's last week): "
             f"{doc['products']} listed products scored by **{doc['model']}** ({doc['chosen_by']}); the label will call "
             f"about {doc['expected_hot']} of them hot. Top of the list (whole list: ``forecast/hot_next_{doc['horizon_weeks']}_weeks.csv``):", "",
             rst_table(top[0], top[1][:10]), "",
             f"**Backtest** over {len(weeks)} test cutoffs ({weeks[0]} .. {weeks[-1]}), pooled, 95% product-bootstrap intervals:", "",
             rst_table(*test_rows(metrics)), "", rst_table(*comparison_rows(metrics)), "",
             sample_size_note(metrics).replace("**", ""), "", about]
    return "\n".join(lines) + "\n"


def forecast_in_pipeline(model_dir: Path, examples_path: Path, edges_path: Path, products_path: Path, panel_path: Path,
                         score_paths: list[Path], metrics_path: Path, split_path: Path, out_dir: Path) -> dict:
    """The workflow's forecast: the champion on validation among the GNN and the baselines scores the last week."""
    config = read_config(model_dir)
    examples, edges = pl.read_parquet(examples_path), pl.read_parquet(edges_path)
    products = pl.read_parquet(products_path)
    metrics, split = json.loads(Path(metrics_path).read_text()), json.loads(Path(split_path).read_text())
    gnn, counts = gnn_scores(model_dir, examples, edges, products)
    counts["warnings"] = warn_about_the_week(pl.scan_parquet(panel_path), examples["cutoff_week"][0], int(examples["cutoff"][0]) + 1,
                                             config["label"]["window_weeks"], config)
    baselines = pl.read_parquet(score_paths[0]).drop("cutoff")  # each file: product_id (cutoff) and one column per model
    for path in score_paths[1:]:
        baselines = baselines.join(pl.read_parquet(path).drop("cutoff"), on="product_id", how="left")
    best = best_on_validation(list(metrics["models"]), metrics["models"])  # ties: the first listed, the GNN
    val = {n: metrics["models"][n]["val"]["pr_auc"] for n in metrics["models"]}
    why = "best validation PR-AUC: " + ", ".join(f"{n} {fmt(v)}" for n, v in sorted(val.items(), key=lambda kv: -(kv[1] or -1)))

    def scored(name: str) -> Scored:
        scores = gnn if name == "gnn" else baselines.select("product_id", pl.col(name).alias("score"))
        return Scored(name, scores, Calibration.of(metrics["models"][name]))

    doc, top = publish(out_dir, scored(best), scored("gnn"), examples, products, config["label"]["horizon_weeks"],
                       config["label"]["hot_quantile"], Expectation(**backtest_summary(metrics, split, best)), why, counts)
    about = (Path(__file__).parents[1] / "report" / "workflow.rst").read_text()
    atomic.write_text(overview_rst(config["dataset"], doc, metrics, split, top, about), Path(out_dir) / "overview.rst")
    return doc


def as_of_date(date_text: str) -> dt.date:
    """--as-of as a date, checked before any work is done."""
    try:
        return dt.date.fromisoformat(date_text)
    except ValueError:
        raise ForecastError(f"--as-of {date_text!r} is not a date (YYYY-MM-DD)") from None


def week_of(day: dt.date, origin: dt.date, n_weeks: int) -> int:
    """The panel week (index) an --as-of date falls in."""
    t = (day - origin).days // 7
    if not 0 <= t < n_weeks:
        last = origin + dt.timedelta(weeks=n_weeks - 1)
        raise ForecastError(f"--as-of {day} is outside the panel's weeks {origin} .. {last}; give a date inside them")
    return t


OUTPUT_PATTERNS = ("hot_next_*_weeks.*", "gnn_hot_next_*_weeks.*", "forecast.json", "forecast.md", "forecast.html")


def prepare_out_dir(out_dir: Path) -> Path:
    """The output folder, emptied of an earlier forecast's files, so that a run that fails leaves no older list beside
    its own ingest files to be read as current. Only a folder that holds a forecast.json of ours is cleared (a folder
    of the user's own, say docs/ with a forecast.md, is left alone). A file in its place is refused in one line."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ForecastError(f"--out {out_dir} is a file; give a folder (it is created if missing)")
    if is_forecast_folder(out_dir):
        for pattern in OUTPUT_PATTERNS:
            for old in out_dir.glob(pattern):
                old.unlink()
    return out_dir


def is_forecast_folder(folder: Path) -> bool:
    """Whether `folder` holds a forecast.json that this command wrote (its keys), not a file of the same name."""
    try:
        doc = json.loads((folder / "forecast.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and {"week", "horizon_weeks", "model", "counts", "top"} <= set(doc)


THIN_WEEK = 0.5  # a last week with fewer panel rows than this share of the weeks before it is likely not the real last week


def warn_about_the_week(panel: pl.LazyFrame, week: dt.date, history: int, window_weeks: int, config: dict) -> list[str]:
    """What could make the forecast week's inputs unlike the model's training, each also logged: fewer weeks of history
    (`history`: the panel's weeks up to and including `week`) than the model reads (the rest are read as no sales), a
    last week with few rows (a stray or partial row would move the forecast week), and a week long after the model's
    last training data. `panel` is ingest's standard panel table."""
    notes = []
    if history < window_weeks:
        notes.append(f"the panel holds {history} week(s) up to the forecast week and the model reads {window_weeks}: the "
                     "weeks before the panel are read as no sales")
    rows = panel.group_by("week").len().collect()
    here = rows.filter(pl.col("week") == week)["len"].sum()
    before = rows.filter(pl.col("week") < week).sort("week").tail(8)  # the 8 latest weeks that have rows
    if before.height and here < THIN_WEEK * before["len"].median():
        notes.append(f"the forecast week {week} has {here} panel row(s) against a median of {before['len'].median():g} in "
                     "the 8 weeks with rows before it: a partial week or a stray row? give --as-of the last complete week")
    if before.height and (empty := (week - before["week"][-1]).days // 7 - 1) > 0:
        notes.append(f"the forecast week {week} follows {empty} week(s) without any panel row: a stray row? give --as-of "
                     "the last complete week")
    trained = (config.get("trained_on_cutoffs") or {}).get("val") or []
    if trained:
        gap = (week - dt.date.fromisoformat(max(trained))).days // 7
        if gap > 52:
            notes.append(f"the forecast week {week} is {gap} weeks after the model's last validation cutoff "
                         f"{max(trained)}: the market may have changed since; retrain on recent data")
    for note in notes:
        log.warning("forecast: %s", note)
    return notes


def forecast_from_files(model_dir: Path, files: dict[str, str | None], columns: dict, as_of: str | None, out_dir: Path) -> dict:
    """`hotseller forecast --model DIR --data panel.csv ...`: ingest the files (quarantine and accounting as the
    ingest stage), make the inputs and graph at the last week (or --as-of) with the model's own settings, score."""
    from hotseller.features import forecast_frame, load_market
    from hotseller.graph import build_edges
    from hotseller.ingest import generic, write_outputs
    from hotseller.package import graph_spec_of, label_spec_of
    from hotseller.train.saved import read_weights

    config = read_config(model_dir)  # before any work: a wrong or unsafe --model fails first
    read_weights(model_dir)
    missing = [key for key in ("label", "graph", "categories") if key not in config]
    if missing:  # the train stage's own folder holds weights but not what a forecast needs (the package stage adds it)
        raise ModelFileError(f"{model_dir}: this model folder lacks {', '.join(missing)}; --model takes a packaged model, "
                             "results/<dataset>/model (the package stage writes it)")
    day = None if as_of is None else as_of_date(as_of)
    out_dir = prepare_out_dir(out_dir)
    work = out_dir / "ingest"
    write_outputs(work, *generic.ingest(files, columns))
    tables = {t: work / f"{t}.parquet" for t in ("panel", "reviews", "products", "relations")}
    label, graph = label_spec_of(config), graph_spec_of(config)
    market = load_market(pl.scan_parquet(tables["panel"]), pl.scan_parquet(tables["reviews"]), tables["products"], label)
    t = market.cal.n_weeks - 1 if day is None else week_of(day, market.cal.origin, market.cal.n_weeks)
    examples = forecast_frame(market, t)
    if examples.is_empty():
        raise ForecastError(f"{files['panel']}: no product is listed in the week of {examples['cutoff_week'].max() or t}; "
                            f"nothing to forecast (see {work / 'accounting.json'})")
    edges = build_edges(tables["products"], tables["relations"], tables["panel"], label.window_weeks, label.horizon_weeks,
                        label.stride_weeks, graph, cutoffs=[t])
    products = market.products
    gnn, counts = gnn_scores(model_dir, examples, edges, products)
    counts["warnings"] = warn_about_the_week(pl.scan_parquet(tables["panel"]), market.cal.origin + dt.timedelta(weeks=t), t + 1,
                                             label.window_weeks, config)
    scored = Scored("gnn", gnn, Calibration.of(config))
    backtest = config.get("backtest")
    expectation = Expectation(**{k: backtest[k] for k in Expectation.__dataclass_fields__ if k in backtest}) if backtest else None
    why = f"the saved model of {model_dir}, trained on dataset {config.get('dataset', '?')}"
    return publish(out_dir, scored, scored, examples, products, label.horizon_weeks, label.hot_quantile, expectation, why, counts)[0]
