"""Leakage audit: evidence, from the data rather than from reading the code, that no example sees its future.

For every example (product, cutoff week t) it checks:

- reproducible: examples.parquet is exactly what the features code makes of the ingested tables (so the
  checks below are about the examples the models were trained on);
- inputs_past_only: the inputs (sequence, static features, listing) do not change when everything after
  week t is scrambled: every panel value of a later week replaced by noise, every later review duplicated
  with a random rating. A feature that reads any later row changes, so the rebuild differs. Every feature
  is a function of one product's rows, so a catalogue larger than `scramble_products` is checked on a
  seeded sample of that many products (the rebuild then costs the same whatever the catalogue's size);
- listed_at_cutoff: the product was first seen at or before t;
- labels_after_cutoff: future units, engagement and future rating equal sums over weeks t+1 .. t+H recomputed
  here from the panel and reviews (independently of the features code), so label windows start after t;
- edges_past_only: every relation edge of cutoff t has last_event_t <= t and the weight of the events at
  or before t alone (recomputed from the relations table); every edge joins products listed at t;
- splits_disjoint: no cutoff, hence no (product, cutoff), is in two splits, no key is duplicated, and each
  split's label windows end at or before the next split's cutoff.

The input and edge checks read one cutoff at a time (the files are sorted by cutoff); the listing, label and
split checks read the examples' keys and targets whole, and the label check streams the panel and reviews into
product x week totals. Week arithmetic here is its own (whole days from the panel's first Monday), not the
pipeline's helpers, so a mistake in those helpers cannot hide itself. Offending rows go to violations.csv and the log, and the run fails.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from hotseller.features import SEQ_CHANNELS, LabelSpec, Market, cutoff_frame, load_market
from hotseller.render import html_page, html_table
from hotseller.tables import Calendar, calendar
from hotseller.weeks import on_stride

log = logging.getLogger(__name__)
LABEL_COLUMNS = ("hot", "future_units", "rating_target", "engagement")
KEY = ("product_id", "cutoff")
TOLERANCE = 1e-5
SHOWN_ROWS = 20
VIOLATION_SCHEMA = {"check": pl.String, "cutoff": pl.Int64, "product_id": pl.String, "column": pl.String,
                    "found": pl.String, "expected": pl.String}


@dataclass
class Check:
    """One audit check: what it verifies, how many rows it looked at, and the rows that fail it."""

    name: str
    description: str
    checked: int = 0
    violations: list[pl.DataFrame] = field(default_factory=list)

    def add(self, rows: pl.DataFrame) -> None:
        if rows.height:
            self.violations.append(rows.with_columns(check=pl.lit(self.name)).select(
                [pl.col(c).cast(t) if c in rows.columns or c == "check" else pl.lit(None, t).alias(c) for c, t in VIOLATION_SCHEMA.items()]))

    @property
    def offending(self) -> pl.DataFrame:
        return pl.concat(self.violations) if self.violations else pl.DataFrame(schema=VIOLATION_SCHEMA)


@dataclass(frozen=True)
class Tables:
    """The ingested tables and the panel's week origin (index 0 = the panel's first Monday).

    The panel and reviews stay scans: at a million products they hold 66M and 74M rows (the reviews with their
    texts), and each check reads only the products or the columns it needs.
    """

    panel: pl.LazyFrame
    reviews: pl.LazyFrame
    products: pl.DataFrame
    relations: pl.DataFrame
    origin: dt.date
    n_weeks: int

    @classmethod
    def read(cls, panel: Path, reviews: Path, products: Path, relations: Path) -> Tables:
        panel_lf = pl.scan_parquet(panel)
        lo, hi = panel_lf.select(lo=pl.col("week").min(), hi=pl.col("week").max()).collect().row(0)
        return cls(panel_lf, pl.scan_parquet(reviews), pl.read_parquet(products), pl.read_parquet(relations), lo, (hi - lo).days // 7 + 1)

    def week_of(self, column: str) -> pl.Expr:
        """Week index of a date or timestamp column: whole weeks since the origin's Monday 00:00."""
        origin = pl.lit(dt.datetime.combine(self.origin, dt.time()))
        return ((pl.col(column).cast(pl.Datetime("us")) - origin).dt.total_seconds() // (7 * 86400)).cast(pl.Int64)

    def end_of_week(self, t: int) -> dt.datetime:
        """The first instant after week t: rows at or after it are the future of cutoff t."""
        return dt.datetime.combine(self.origin, dt.time()) + dt.timedelta(weeks=t + 1)


def as_text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


# ---------------------------------------------------------------------------------------------------------
# Inputs: unchanged when the future is scrambled


def scramble_future(panel: pl.DataFrame, reviews: pl.DataFrame, end: dt.datetime, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Panel and reviews with every row at or after `end` changed: numbers replaced by noise, reviews duplicated."""
    future = (panel["week"].cast(pl.Datetime("us")) >= end).to_numpy()
    numeric = [c for c, dtype in panel.schema.items() if dtype.is_numeric()]
    noise = {}
    for c in numeric:
        values = panel[c].to_numpy().astype(np.float64)
        top = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
        noise[c] = pl.Series(c, np.where(future, np.round(rng.uniform(0, 2 * top + 1, panel.height)), values)).fill_nan(None).cast(panel.schema[c])
    panel = panel.with_columns(**{c: pl.when(pl.col(c).is_null()).then(None).otherwise(noise[c]) for c in numeric})
    later = reviews.filter(pl.col("ts").cast(pl.Datetime("us")) >= end)
    if later.height:
        doubled = pl.concat([later, later])
        doubled = doubled.with_columns(pl.Series("rating", rng.integers(1, 6, doubled.height)).cast(reviews.schema["rating"]))
        reviews = pl.concat([reviews.filter(pl.col("ts").cast(pl.Datetime("us")) < end), doubled])
    return panel, reviews


def compare_inputs(stored: pl.DataFrame, rebuilt: pl.DataFrame, inputs: list[str], window_weeks: int, rebuilt_as: str) -> pl.DataFrame:
    """Rows whose inputs differ between the stored examples and a rebuild: (cutoff, product_id, column, found, expected).

    `expected` is the rebuild's value, followed by `rebuilt_as` (how it was rebuilt).
    """
    rows = []
    only_stored = stored.join(rebuilt, on=list(KEY), how="anti")
    only_rebuilt = rebuilt.join(stored, on=list(KEY), how="anti")
    for frame, found, expected in ((only_stored, "listed", "not listed"), (only_rebuilt, "not listed", "listed")):
        if frame.height:
            rows.append(frame.select(*KEY, column=pl.lit("listing"), found=pl.lit(found), expected=pl.lit(f"{expected} {rebuilt_as}")))
    both = stored.join(rebuilt, on=list(KEY), suffix="__rebuilt").sort("product_id")
    for column in inputs:
        if column == "seq":
            if both.height == 0:  # e.g. a stored cutoff the features code has no examples at: reported as listing above
                continue
            a = np.asarray(both["seq"].to_numpy(), dtype=np.float64).reshape(both.height, -1)
            b = np.asarray(both["seq__rebuilt"].to_numpy(), dtype=np.float64).reshape(both.height, -1)
            bad = ~np.isclose(a, b, rtol=TOLERANCE, atol=TOLERANCE, equal_nan=True)
            if bad.any():
                row_idx = np.flatnonzero(bad.any(axis=1))
                first = bad[row_idx].argmax(axis=1)
                n_channels = len(SEQ_CHANNELS)
                names = [f"seq[week t-{window_weeks - 1 - p // n_channels}, {SEQ_CHANNELS[p % n_channels]}]" for p in first]
                rows.append(pl.DataFrame({
                    "cutoff": both["cutoff"].to_numpy()[row_idx], "product_id": both["product_id"].to_numpy()[row_idx],
                    "column": names, "found": [f"{v:.6g}" for v in a[row_idx, first]],
                    "expected": [f"{v:.6g} {rebuilt_as}" for v in b[row_idx, first]],
                }))
            continue
        differs = both.filter(differ(pl.col(column), pl.col(f"{column}__rebuilt")))
        if differs.height:
            rows.append(differs.select(*KEY, column=pl.lit(column), found=as_text(pl.col(column)),
                                       expected=pl.format("{} {}", as_text(pl.col(f"{column}__rebuilt")), pl.lit(rebuilt_as))))
    return pl.concat([r.with_columns(pl.col("cutoff").cast(pl.Int64)) for r in rows], how="diagonal_relaxed") if rows else pl.DataFrame()


def differ(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """True where two columns disagree beyond TOLERANCE (null against a value counts as a difference)."""
    if_numeric = (a.cast(pl.Float64, strict=False) - b.cast(pl.Float64, strict=False)).abs() > TOLERANCE * (1 + b.cast(pl.Float64, strict=False).abs())
    text_differs = as_text(a) != as_text(b)
    numeric_known = a.cast(pl.Float64, strict=False).is_not_null() & b.cast(pl.Float64, strict=False).is_not_null()
    return pl.when(a.is_null() != b.is_null()).then(True).when(numeric_known).then(if_numeric).otherwise(text_differs.fill_null(False))


def input_columns(examples: pl.LazyFrame) -> list[str]:
    return [c for c in examples.collect_schema().names() if c not in LABEL_COLUMNS and c not in KEY]


def cutoffs_of(examples: pl.LazyFrame) -> list[int]:
    return sorted(examples.select(pl.col("cutoff").unique()).collect()["cutoff"].to_list())


def at_cutoff(frame: pl.LazyFrame, t: int) -> pl.DataFrame:
    """One cutoff's rows (a scan of a file sorted by cutoff reads only its row groups)."""
    return frame.filter(pl.col("cutoff") == t).collect()


def check_reproducible(examples: pl.LazyFrame, market: Market) -> Check:
    """Every stored example equals the features code's output on the ingested tables, cutoff by cutoff."""
    check = Check("reproducible", "examples.parquet equals the features code's output on the ingested tables")
    columns = [*input_columns(examples), *[c for c in LABEL_COLUMNS if c in examples.collect_schema().names()]]
    for t in sorted(set(cutoffs_of(examples)) | set(market.cutoffs)):
        stored = at_cutoff(examples, t)
        rebuilt = cutoff_frame(market, t) if t in market.cutoffs else stored.clear()
        check.checked += stored.height
        check.add(compare_inputs(stored, rebuilt, columns, market.spec.window_weeks, "(rebuilt from the ingested tables)"))
    return check


def scramble_sample(products: pl.DataFrame, limit: int, rng: np.random.Generator) -> pl.Series:
    """The product ids whose rows the scrambled rebuilds use: all of them, or a seeded sample of `limit`."""
    ids = products["product_id"].sort()
    if limit <= 0 or ids.len() <= limit:
        return ids
    return ids.gather(np.sort(rng.choice(ids.len(), size=limit, replace=False)))


def check_past_only(examples: pl.LazyFrame, tables: Tables, products_path: Path, spec: LabelSpec, seed: int,
                    scramble_products: int = 0) -> Check:
    """Each cutoff's inputs rebuilt by the features code from tables whose every row after week t is scrambled.

    A sample is rebuilt as a market of its own products (so its series cost the sample's size, not the catalogue's)
    on the full panel's calendar; product_idx and category_idx, renumbered within it, are then not compared here:
    they come from the product table alone, and the reproducible check compares them on every example.
    """
    rng = np.random.default_rng(seed)
    sample = scramble_sample(tables.products, scramble_products, rng)
    whole = sample.len() == tables.products.height
    scope = "every product" if whole else f"a seeded sample of {sample.len()} of {tables.products.height} products"
    check = Check("inputs_past_only", f"inputs at cutoff t are unchanged when every panel row and review after week t is scrambled ({scope})")
    inputs = [c for c in input_columns(examples) if whole or c not in ("product_idx", "category_idx")]
    ours = pl.col("product_id").is_in(sample.implode())
    products = products_path if whole else tables.products.filter(ours)
    panel, reviews = tables.panel.filter(ours).collect(), tables.reviews.filter(ours).collect()
    cal = calendar(tables.panel)
    for t in cutoffs_of(examples):
        stored = at_cutoff(examples.filter(ours), t)
        rebuilt = scrambled_rebuild(panel, reviews, products, spec, cal, tables.end_of_week(t), t, rng)
        check.checked += stored.height
        check.add(compare_inputs(stored, rebuilt if rebuilt is not None else stored.clear(), inputs, spec.window_weeks,
                                 "(rebuilt with every week after t scrambled)"))
    return check


def scrambled_rebuild(panel: pl.DataFrame, reviews: pl.DataFrame, products: Path | pl.DataFrame, spec: LabelSpec, cal: Calendar,
                      end: dt.datetime, t: int, rng: np.random.Generator) -> pl.DataFrame | None:
    """Cutoff t's examples as the features code makes them from rows scrambled from `end` on (None: not a cutoff there).

    Its own function so that each cutoff's series are freed before the next cutoff's are made.
    """
    scrambled_panel, scrambled_reviews = scramble_future(panel, reviews, end, rng)
    market = load_market(scrambled_panel.lazy(), scrambled_reviews.lazy(), products, spec, cal)
    return cutoff_frame(market, t) if t in market.cutoffs else None


# ---------------------------------------------------------------------------------------------------------
# Listing, labels, edges, splits


def first_seen_weeks(tables: Tables) -> pl.DataFrame:
    return tables.products.select("product_id", first_seen=tables.week_of("first_seen_week"))


def check_listed(examples: pl.DataFrame, tables: Tables) -> Check:
    check = Check("listed_at_cutoff", "every example's product was first seen at or before its cutoff")
    check.checked = examples.height
    joined = examples.select(*KEY).join(first_seen_weeks(tables), on="product_id", how="left")
    bad = joined.filter(pl.col("first_seen").is_null() | (pl.col("first_seen") > pl.col("cutoff")))
    check.add(bad.select(*KEY, column=pl.lit("first_seen_week"), found=as_text(pl.col("first_seen")),
                         expected=pl.format("<= {}", pl.col("cutoff"))))
    return check


def weekly(frame: pl.LazyFrame, week: pl.Expr, total: pl.Expr, products: pl.DataFrame, n_weeks: int) -> np.ndarray:
    """Cumulative product x week totals (product order of `products`): column j holds the total of weeks < j.

    Aggregated by the streaming engine, so only the product x week totals are ever in memory, not the table.
    """
    agg = (frame.with_columns(w=week).filter(pl.col("w").is_between(0, n_weeks - 1))
           .join(products.lazy(), on="product_id").group_by("row", "w").agg(v=total.cast(pl.Float64)).collect(engine="streaming"))
    out = np.zeros((products.height, n_weeks + 1))
    out[agg["row"].to_numpy(), agg["w"].to_numpy() + 1] = agg["v"].to_numpy()
    return np.cumsum(out, axis=1)


def check_labels(examples: pl.DataFrame, tables: Tables, horizon: int) -> Check:
    """Targets recomputed as sums over weeks t+1 .. t+H, with this module's own week arithmetic."""
    check = Check("labels_after_cutoff", f"future units, engagement and future rating equal sums over weeks t+1..t+{horizon} only")
    products = examples.select("product_id").unique().sort("product_id").with_row_index("row")
    units = weekly(tables.panel, tables.week_of("week"), pl.col("units").sum(), products, tables.n_weeks)
    counts = weekly(tables.reviews, tables.week_of("ts"), pl.len(), products, tables.n_weeks)
    ratings = weekly(tables.reviews, tables.week_of("ts"), pl.col("rating").sum(), products, tables.n_weeks)
    rows = examples.select(*KEY, *[c for c in LABEL_COLUMNS if c != "hot" and c in examples.columns]).join(products, on="product_id")
    r, t = rows["row"].to_numpy(), rows["cutoff"].to_numpy().astype(np.int64)
    lo, hi = np.clip(t + 1, 0, tables.n_weeks), np.clip(t + horizon + 1, 0, tables.n_weeks)
    n_reviews = counts[r, hi] - counts[r, lo]
    expected = {
        "future_units": units[r, hi] - units[r, lo],
        "engagement": np.log1p(n_reviews),
        "rating_target": np.where(n_reviews > 0, (ratings[r, hi] - ratings[r, lo]) / np.maximum(n_reviews, 1), np.nan),
    }
    frame = rows.with_columns(**{f"{c}__expected": pl.Series(v).fill_nan(None) for c, v in expected.items() if c in rows.columns})
    check.checked = frame.height
    for column in expected:
        if column in frame.columns:
            bad = frame.filter(differ(pl.col(column), pl.col(f"{column}__expected")))
            check.add(bad.select(*KEY, column=pl.lit(column), found=as_text(pl.col(column)), expected=as_text(pl.col(f"{column}__expected"))))
    return check


def check_edges(edges: pl.DataFrame | pl.LazyFrame, tables: Tables) -> Check:
    """Edges cutoff by cutoff: endpoints listed, last events not after the cutoff, weights of past events only."""
    check = Check("edges_past_only", "relation edges: last_event_t <= cutoff and weight from events at or before it; endpoints listed")
    edges = edges.lazy()
    index = tables.products.select("product_id").sort("product_id").with_row_index("idx").with_columns(pl.col("idx").cast(pl.Int64))
    seen = first_seen_weeks(tables).join(index, on="product_id")
    events = (tables.relations.with_columns(w=tables.week_of("ts"))
              .join(index.rename({"product_id": "src", "idx": "a"}), on="src")
              .join(index.rename({"product_id": "dst", "idx": "b"}), on="dst")
              .select(lo=pl.min_horizontal("a", "b"), hi=pl.max_horizontal("a", "b"), kind="kind", w="w", weight="weight"))
    for t in cutoffs_of(edges):
        part = at_cutoff(edges, t).with_columns(pl.col("src", "dst", "cutoff").cast(pl.Int64))
        check.checked += part.height
        for rows in edge_violations(part, t, seen, events):
            check.add(rows)
    return check


def edge_violations(e: pl.DataFrame, t: int, seen: pl.DataFrame, events: pl.DataFrame) -> list[pl.DataFrame]:
    """The offending edges of cutoff t: an endpoint not listed yet, an event after t, a weight not of events <= t."""
    label = pl.format("{}-{} {}", pl.col("src"), pl.col("dst"), pl.col("kind"))
    found = []
    for end in ("src", "dst"):
        joined = e.join(seen.select(pl.col("idx").alias(end), pl.col("first_seen").alias("fs")), on=end, how="left")
        bad = joined.filter(pl.col("fs").is_null() | (pl.col("fs") > pl.col("cutoff")))
        found.append(bad.select("cutoff", product_id=label, column=pl.lit(f"{end} first_seen"), found=as_text(pl.col("fs")),
                                expected=pl.format("<= {}", pl.col("cutoff"))))
    relational = e.filter(pl.col("last_event_t").is_not_null())
    late = relational.filter(pl.col("last_event_t") > pl.col("cutoff"))
    found.append(late.select("cutoff", product_id=label, column=pl.lit("last_event_t"), found=as_text(pl.col("last_event_t")),
                             expected=pl.format("<= {}", pl.col("cutoff"))))
    past = events.filter(pl.col("w") <= t).group_by("lo", "hi", "kind").agg(past_weight=pl.col("weight").sum(), past_last=pl.col("w").max())
    recomputed = relational.join(past, left_on=["src", "dst", "kind"], right_on=["lo", "hi", "kind"], how="left")
    bad = recomputed.filter(differ(pl.col("weight"), pl.col("past_weight")) | differ(pl.col("last_event_t"), pl.col("past_last")))
    found.append(bad.select("cutoff", product_id=label, column=pl.lit("weight / last_event_t"),
                            found=pl.format("{} / {}", pl.col("weight"), pl.col("last_event_t")),
                            expected=pl.format("{} / {} (events at or before the cutoff)", pl.col("past_weight"), pl.col("past_last"))))
    return found


def check_splits(examples: pl.DataFrame, split_doc: dict, stride_weeks: int) -> Check:
    """Also that validation and test cutoffs lie on the `stride_weeks` grid: a split run by hand with another stride
    (after features on a finer training grid) would evaluate on overlapping label windows the backtest never meant."""
    check = Check("splits_disjoint", "no (product, cutoff) in two splits or twice; each split's label windows end by the next split's "
                  "cutoff; validation and test cutoffs on the stride grid")
    cutoffs, horizon = split_doc["cutoffs"], split_doc["horizon_weeks"]
    check.checked = examples.height
    membership = pl.DataFrame([(name, c) for name, cs in cutoffs.items() for c in cs], schema={"split": pl.String, "cutoff": pl.Int64}, orient="row")
    shared = membership.group_by("cutoff").agg(pl.col("split").sort().str.join("+"), n=pl.len()).filter(pl.col("n") > 1)
    keys = examples.select(*KEY).with_columns(pl.col("cutoff").cast(pl.Int64))  # the rows a cutoff's finding names
    in_two = keys.join(shared, on="cutoff")
    check.add(in_two.select(*KEY, column=pl.lit("split"), found=pl.col("split"), expected=pl.lit("one split")))
    twice = examples.group_by(*KEY).len().filter(pl.col("len") > 1)
    check.add(twice.select(*KEY, column=pl.lit("key"), found=pl.format("{} rows", pl.col("len")), expected=pl.lit("1 row")))
    order = [("train", "val"), ("val", "test")]
    for earlier, later in order:
        if cutoffs.get(earlier) and cutoffs.get(later):
            boundary = min(cutoffs[later])
            late = [c for c in cutoffs[earlier] if c + horizon > boundary]
            if late:
                rows = keys.filter(pl.col("cutoff").is_in(late))
                check.add(rows.select(*KEY, column=pl.lit(f"{earlier} label window"), found=pl.format("ends week {}", pl.col("cutoff") + horizon),
                                      expected=pl.lit(f"<= {later} cutoff {boundary}")))
    grid = set(on_stride(examples["cutoff"].unique().to_list(), stride_weeks))
    for name in ("val", "test"):
        off = [c for c in cutoffs.get(name, []) if c not in grid]
        rows = keys.filter(pl.col("cutoff").is_in(off))
        check.add(rows.select(*KEY, column=pl.lit(f"{name} cutoff"), found=pl.format("week {}", pl.col("cutoff")),
                              expected=pl.lit(f"on the {stride_weeks}-week grid counted back from the last cutoff")))
    return check


# ---------------------------------------------------------------------------------------------------------


def run_audit(examples_path: Path, edges_path: Path, panel: Path, reviews: Path, products: Path, relations: Path, split_path: Path,
              spec: LabelSpec, seed: int = 0, scramble_products: int = 0) -> tuple[dict, pl.DataFrame]:
    """Every check; returns the summary document and the offending rows (empty when the audit passes)."""
    examples = pl.scan_parquet(examples_path)
    edges = pl.scan_parquet(edges_path)
    split_doc = json.loads(Path(split_path).read_text())
    checks = [timed_check(check_reproducible, examples, load_market(pl.scan_parquet(panel), pl.scan_parquet(reviews), products, spec))]
    tables = Tables.read(panel, reviews, products, relations)  # after: the full series above are freed by now
    checks.append(timed_check(check_past_only, examples, tables, products, spec, seed, scramble_products))
    targets = examples.select(*KEY, *[c for c in LABEL_COLUMNS if c in examples.collect_schema().names()]).collect()
    checks += [timed_check(check_listed, targets, tables), timed_check(check_labels, targets, tables, spec.horizon_weeks),
               timed_check(check_edges, edges, tables), timed_check(check_splits, targets, split_doc, spec.stride_weeks)]
    counts = {"examples": targets.height, "edges": edges.select(pl.len()).collect().item(), "cutoffs": targets["cutoff"].n_unique()}
    return summarise(checks, **counts)


def timed_check(check: Callable[..., Check], *args) -> Check:
    """Run one check and log what it found and how long it took (the audit of a large market takes minutes)."""
    began = time.perf_counter()
    result = check(*args)
    log.info("%s: %d rows checked, %d violations (%.1f s)", result.name, result.checked, result.offending.height, time.perf_counter() - began)
    return result


def summarise(checks: list[Check], examples: int, edges: int, cutoffs: int) -> tuple[dict, pl.DataFrame]:
    """The audit.json document of some checks (with the examples, edges and cutoffs they covered), and their offending rows."""
    offending = pl.concat([c.offending for c in checks])
    summary = {
        "passed": offending.height == 0,
        "checks": [{"name": c.name, "description": c.description, "checked": c.checked, "violations": c.offending.height} for c in checks],
        "examples": examples, "edges": edges, "cutoffs": cutoffs,
    }
    return summary, offending


def audit_html(summary: dict) -> str:
    rows = [[c["name"], c["description"], str(c["checked"]), str(c["violations"])] for c in summary["checks"]]
    verdict = "passed" if summary["passed"] else "FAILED"
    return html_page(f"Leakage audit: {verdict}", [(
        "Checks", f"{summary['examples']} examples at {summary['cutoffs']} cutoffs and {summary['edges']} edges. Each row is a "
        "check the workflow runs before any model is evaluated (evaluate takes its result as an input, so metrics cannot exist "
        "without it); a single violation fails the run and lists the offending rows.",
        html_table(["check", "what it verifies", "rows checked", "violations"], rows))])


def write_audit(summary: dict, offending: pl.DataFrame, out_dir: Path) -> None:
    """audit.json, audit.html and violations.csv; raises SystemExit naming the offending rows when a check fails."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    offending.write_csv(out_dir / "violations.csv")
    (out_dir / "audit.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out_dir / "audit.html").write_text(audit_html(summary))
    for c in summary["checks"]:
        log.info("%-20s %8d rows checked, %d violations: %s", c["name"], c["checked"], c["violations"], c["description"])
    if not summary["passed"]:
        with pl.Config(tbl_rows=SHOWN_ROWS, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=200):
            for name, rows in offending.group_by("check", maintain_order=True):
                log.error("leakage audit: check %s failed on %d rows, first %d:\n%s", name[0], rows.height, min(rows.height, SHOWN_ROWS),
                          rows.head(SHOWN_ROWS))
        failed = [c["name"] for c in summary["checks"] if c["violations"]]
        raise SystemExit(f"leakage audit failed: {', '.join(failed)}; {offending.height} offending rows in {out_dir / 'violations.csv'}")
