"""Ingest benchmark: the online_retail transform in polars (the adapter itself) and the same in pandas.

A generated transactions file in the Online Retail layout (with its quirks: cancellations, non-product
codes, zero prices, missing CustomerIDs, duplicate lines, a few unparseable values) goes through:
  scan_write   a bare polars scan of the CSV (as text) written to parquet: the floor for touching the file;
  polars       the adapter's transform: validate every line, quarantine with reasons, accounting,
               weekly panel with returns, products (hotseller.ingest.online_retail.transform);
  pandas       the same transform written in pandas, the usual way (read_csv, vectorised checks, groupby);
  polars_full  the whole adapter as the pipeline runs it, co-purchase relations included (up to
               --full-max-rows: pairs grow with the square of basket size, ~56 per invoice here).
Each runs in its own process; wall time and peak RSS (ru_maxrss of that process) are measured from outside.
The pandas and polars outputs are compared (accounting per reason, panel totals) so the figures compare
like with like.

    .venv/bin/pip install -e '.[bench]'   # pandas, for the reference implementation
    .venv/bin/python benchmarks/ingest.py --rows 1000000 10000000

writes benchmarks/results/ingest.md and ingest.json (or --name.md / .json) with the machine and the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from machine import machine  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
VARIANTS = ("scan_write", "polars", "pandas", "polars_full")
NON_PRODUCT_LINES = {"POST": "POSTAGE", "DOT": "DOTCOM POSTAGE", "M": "Manual", "D": "Discount", "C2": "CARRIAGE",
                     "S": "SAMPLES", "BANK CHARGES": "Bank Charges", "AMAZONFEE": "AMAZON FEE"}
WORDS = {
    "adjective": ["WHITE", "RED", "PINK", "BLUE", "VINTAGE", "RETROSPOT", "REGENCY", "JUMBO", "SMALL", "LARGE", "HEART", "PAISLEY"],
    "noun": ["HOLDER", "LANTERN", "MUG", "BAG", "CANDLE", "SIGN", "BOX", "CUSHION", "CLOCK", "TIN", "CAKESTAND", "GARLAND"],
}


# --- the input file ------------------------------------------------------------------------------------


def generate(rows: int, path: Path, seed: int = 0) -> None:
    """Write `rows` invoice lines in the Online Retail CSV layout (vectorised; a few seconds per million)."""
    import polars as pl

    rng = np.random.default_rng(seed)
    sizes = rng.geometric(1 / 8, size=rows // 2 + 16)  # lines per invoice, mean 8
    n_invoices = int(np.searchsorted(np.cumsum(sizes), rows)) + 1
    sizes = sizes[:n_invoices]
    sizes[-1] -= int(sizes.sum()) - rows
    invoice = np.repeat(np.arange(n_invoices), sizes)

    cancelled = rng.random(n_invoices) < 0.02
    start = np.datetime64("2010-12-01T08:00:00")
    seconds = np.sort(rng.integers(0, 373 * 86400, n_invoices))
    customer = np.where(rng.random(n_invoices) < 0.25, -1, rng.integers(12346, 18288, n_invoices))
    country = np.where(rng.random(n_invoices) < 0.9, 0, rng.integers(1, 6, n_invoices))

    n_products = 4000
    codes = rng.choice(np.arange(10000, 99999), n_products, replace=False).astype(str).astype(object)
    suffixed = rng.random(n_products) < 0.2
    codes[suffixed] = codes[suffixed] + rng.choice(list("ABCDEFG"), int(suffixed.sum()))
    codes = pl.Series(codes.tolist(), dtype=pl.String)
    descriptions = pl.Series([f"{a} {b} {n}" for a, b, n in zip(rng.choice(WORDS["adjective"], n_products),
                                                                 rng.choice(WORDS["adjective"], n_products),
                                                                 rng.choice(WORDS["noun"], n_products))])
    base_price = np.round(np.exp(rng.normal(1.0, 0.8, n_products)), 2) + 0.01
    popularity = 1.0 / (np.arange(n_products) + 10.0)
    product = rng.choice(n_products, rows, p=popularity / popularity.sum())

    quantity = rng.geometric(1 / 6, rows) * np.where(cancelled[invoice], -1, 1)
    price = np.where(rng.random(rows) < 0.003, 0.0, base_price[product])
    frame = pl.DataFrame({
        "invoice": invoice, "cancelled": cancelled[invoice], "code": codes.gather(product),
        "description": descriptions.gather(product), "quantity": quantity,
        "ts": (start + seconds[invoice].astype("timedelta64[s]")).astype("datetime64[us]"), "price": price,
        "customer": customer[invoice], "country": country[invoice],
    })
    non_product = rng.random(rows) < 0.005
    odd_code = rng.choice(list(NON_PRODUCT_LINES), rows)
    bad_quantity = rng.random(rows) < 0.0001
    bad_date = rng.random(rows) < 0.0001
    lines = frame.select(
        InvoiceNo=pl.when(pl.col("cancelled")).then(pl.lit("C")).otherwise(pl.lit("")) + (pl.col("invoice") + 536365).cast(pl.String),
        StockCode=pl.when(pl.Series(non_product)).then(pl.Series(odd_code)).otherwise(pl.col("code")),
        Description=pl.when(pl.Series(non_product)).then(pl.Series(odd_code).replace_strict(NON_PRODUCT_LINES)).otherwise(pl.col("description")),
        Quantity=pl.when(pl.Series(bad_quantity)).then(pl.lit("x")).otherwise(pl.col("quantity").cast(pl.String)),
        InvoiceDate=pl.when(pl.Series(bad_date)).then(pl.lit("2011-13-45 10:00:00")).otherwise(pl.col("ts").dt.strftime("%Y-%m-%d %H:%M:%S")),
        UnitPrice=pl.col("price").round(2).cast(pl.String),
        CustomerID=pl.when(pl.col("customer") >= 0).then(pl.col("customer").cast(pl.String)),
        Country=pl.col("country").replace_strict({0: "United Kingdom", 1: "France", 2: "Germany", 3: "EIRE", 4: "Spain", 5: "Netherlands"},
                                                 return_dtype=pl.String),
    )
    # One line in a thousand repeats the line before it exactly, as in the original data.
    repeat = np.flatnonzero(rng.random(rows) < 0.001)
    repeat = repeat[repeat > 0]
    order = np.arange(rows)
    order[repeat] = repeat - 1
    lines[order].write_csv(path)


# --- the variants, each run in a child process -------------------------------------------------------


def run_scan_write(source: Path, out: Path) -> None:
    import polars as pl

    # Every column as text: the file has InvoiceNo values like C536379 and a few unparseable cells, which a
    # typed scan rejects; reading and writing the text is the floor any transform of this file pays.
    pl.scan_csv(source, infer_schema=False).sink_parquet(out / "lines.parquet")


def run_polars(source: Path, out: Path) -> None:
    from hotseller.ingest import online_retail
    from hotseller.ingest.contract import write_accounting

    built, quarantined, accounting = online_retail.transform(online_retail.read_lines(source), source, relations=False)
    built["panel"].write_parquet(out / "panel.parquet")
    built["products"].write_parquet(out / "products.parquet")
    quarantined.write_parquet(out / "quarantine.parquet")
    write_accounting(out / "accounting.json", {source.name: accounting})


def run_polars_full(source: Path, out: Path) -> None:
    from hotseller.ingest import online_retail, write_outputs

    write_outputs(out, *online_retail.ingest(source))


def run_pandas(source: Path, out: Path) -> None:
    """The transform of hotseller.ingest.online_retail, written in pandas: same checks in the same order."""
    import pandas as pd

    from hotseller.ingest.online_retail import MAX_PRICE, MAX_QUANTITY, NON_PRODUCT

    raw = pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""], encoding_errors="replace")
    raw.insert(0, "source_row", np.arange(1, len(raw) + 1))
    text = {c: raw[c].str.strip() for c in ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")}
    invoice, code = text["InvoiceNo"].str.upper(), text["StockCode"].str.upper()
    quantity = pd.to_numeric(text["Quantity"], errors="coerce")
    price = pd.to_numeric(text["UnitPrice"], errors="coerce")
    # As the adapter does: parse with the formats that the first 1,000 rows use, most used first.
    head = text["InvoiceDate"].dropna().head(1000)
    hits = {f: pd.to_datetime(head, format=f, errors="coerce").notna().sum() for f in ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M")}
    ts = None
    for fmt in sorted((f for f in hits if hits[f]), key=lambda f: -hits[f]) or list(hits):
        parsed_ts = pd.to_datetime(text["InvoiceDate"], format=fmt, errors="coerce")
        ts = parsed_ts if ts is None else ts.fillna(parsed_ts)
    kind = code.map(NON_PRODUCT)
    kind = kind.where(~code.str.startswith("GIFT_", na=False), "gift voucher")

    def missing(c):
        return text[c].isna() | (text[c] == "")

    not_utf8 = np.zeros(len(raw), dtype=bool)
    for c in text:
        not_utf8 |= raw[c].str.contains("\ufffd", regex=False, na=False).to_numpy()
    rules = [
        (not_utf8, "row has bytes that are not valid UTF-8"),
        (missing("InvoiceNo"), "InvoiceNo is missing"),
        (missing("StockCode"), "StockCode is missing"),
        (kind.notna(), None),  # reason named per kind below
        (missing("Quantity"), "Quantity is missing"),
        (quantity.isna() & ~missing("Quantity"), "Quantity is not a number"),
        (np.isinf(quantity), "Quantity is not finite"),
        (quantity != quantity.round(0), "Quantity is not a whole number"),
        (quantity.abs() > MAX_QUANTITY, "Quantity is above 1,000,000"),
        (quantity == 0, "Quantity is zero"),
        (missing("InvoiceDate"), "InvoiceDate is missing"),
        (ts.isna() & ~missing("InvoiceDate"), "InvoiceDate is not a timestamp"),
        (~ts.between(pd.Timestamp("1990-01-01"), pd.Timestamp("2100-01-01"), inclusive="left"), "InvoiceDate is outside 1990-01-01 .. 2100-01-01"),
        (missing("UnitPrice"), "UnitPrice is missing"),
        (price.isna() & ~missing("UnitPrice"), "UnitPrice is not a number"),
        (np.isinf(price), "UnitPrice is not finite"),
        (price <= 0, "UnitPrice is not above 0"),
        (price.abs() > MAX_PRICE, "UnitPrice is above 1,000,000"),
        (invoice.str.startswith("C", na=False) & (quantity > 0), "InvoiceNo is a cancellation (C...) but Quantity is positive"),
    ]
    reasons = ["non-product code: " + kind.fillna("") if r is None else pd.Series(r, index=raw.index) for _, r in rules]
    reason = pd.Series(np.select([np.asarray(c, dtype=bool) for c, _ in rules], reasons, default=None), index=raw.index)
    parsed = pd.DataFrame({"invoice": invoice, "code": code, "description": text["Description"], "quantity": quantity,
                           "ts": ts, "price": price, "customer": text["CustomerID"].str.removesuffix(".0"),
                           "country": text["Country"]})
    passed = reason.isna()
    duplicate = passed & parsed.assign(passed=passed).duplicated()
    reason[duplicate] = "duplicate line (same invoice, product, quantity, time, price and customer as an earlier line)"

    bad = reason.notna()
    raw[bad].assign(reason=reason[bad]).to_csv(out / "quarantine.csv", index=False)
    counts = reason[bad].value_counts().sort_index()
    accepted = int((~bad).sum())
    accounting = {source.name: {"file": str(source), "table": "panel", "read": len(raw), "accepted": accepted,
                                "quarantined": {k: int(v) for k, v in counts.items()}}}
    (out / "accounting.json").write_text(json.dumps(accounting, indent=2) + "\n")

    lines = parsed[~bad].rename(columns={"code": "product_id"})
    lines["week"] = lines["ts"].dt.to_period("W-SUN").dt.start_time
    sale = lines["quantity"] > 0
    lines["units"] = lines["quantity"].where(sale, 0.0)
    lines["revenue"] = (lines["quantity"] * lines["price"]).where(sale, 0.0)
    lines["returns"] = (-lines["quantity"]).where(~sale, 0.0)
    panel = lines.groupby(["product_id", "week"], as_index=False)[["units", "revenue", "returns"]].sum()
    panel["price"] = (panel["revenue"] / panel["units"]).where(panel["units"] > 0)
    panel["promo"] = 0.0
    panel.sort_values(["product_id", "week"]).to_csv(out / "panel.csv", index=False)

    named = lines.dropna(subset=["description"]).groupby(["product_id", "description"]).size().rename("n").reset_index()
    main = named.sort_values(["product_id", "n", "description"], ascending=[True, False, True]).drop_duplicates("product_id")
    products = pd.DataFrame({"product_id": lines["product_id"].unique()}).merge(main, on="product_id", how="left")
    products["category"] = products["description"].str.lower().str.extract(r"([a-z]{3,})[^a-z]*$", expand=False).fillna("unknown")
    products[["product_id", "category"]].to_csv(out / "products.csv", index=False)


RUNNERS = {"scan_write": run_scan_write, "polars": run_polars, "pandas": run_pandas, "polars_full": run_polars_full}


# --- measuring ----------------------------------------------------------------------------------------


def measure(variant: str, source: Path, out: Path) -> dict:
    """Wall time and peak RSS of one variant, run in a fresh process and measured from outside it."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", variant, str(source), str(out)]
    began = time.perf_counter()
    child = subprocess.Popen(cmd)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{variant} failed on {source}")
    return {"variant": variant, "wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "load_1min": round(os.getloadavg()[0], 2)}


def best_of(variants: list[str], source: Path, out: Path, repeat: int) -> list[dict]:
    """Each variant `repeat` times, interleaved so that a busy spell on the machine hits all of them; the
    fastest run of each is kept (the usual estimate of what the code costs on a noisy machine)."""
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for i in range(repeat):
        for v in variants[i % len(variants):] + variants[: i % len(variants)]:
            runs[v].append(measure(v, source, out / v))
    return [dict(min(runs[v], key=lambda r: r["wall_s"]), runs=len(runs[v])) for v in variants]


def outputs_agree(polars_out: Path, pandas_out: Path) -> dict:
    """Compare the polars and pandas results: the same rows quarantined for the same reasons, the same
    accounting, the same panel keys and (to rounding) the same panel values."""
    import polars as pl

    ours = next(iter(json.loads((polars_out / "accounting.json").read_text()).values()))
    theirs = next(iter(json.loads((pandas_out / "accounting.json").read_text()).values()))
    quarantine = pl.read_parquet(polars_out / "quarantine.parquet").select("source_row", "reason").sort("source_row")
    other_q = pl.read_csv(pandas_out / "quarantine.csv", infer_schema=False).select(
        pl.col("source_row").cast(pl.UInt32), "reason").sort("source_row")
    panel = pl.read_parquet(polars_out / "panel.parquet").sort("product_id", "week")
    other = pl.read_csv(pandas_out / "panel.csv", schema_overrides={"product_id": pl.String}).with_columns(
        pl.col("week").str.slice(0, 10).str.to_date()).sort("product_id", "week")
    keys = ["product_id", "week"]
    same = (
        ours["quarantined"] == theirs["quarantined"] and ours["accepted"] == theirs["accepted"]
        and quarantine.equals(other_q) and panel.select(keys).equals(other.select(keys))
        and all(((panel[c] - other[c]).abs() < 1e-6 * (1 + panel[c].abs())).all() for c in ("units", "revenue", "returns"))
    )
    return {"agree": bool(same), "accounting": ours, "panel_rows": panel.height}


def versions() -> dict:
    """The two libraries compared, imported here only: each variant's process times its own imports."""
    import pandas
    import polars

    return {"polars": polars.__version__, "pandas": pandas.__version__}


def report(results: list[dict], info: dict, command: str) -> str:
    lines = [
        "# Ingest benchmark: online_retail transform, polars vs pandas",
        "",
        f"Command: `{command}`  ",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM; Python {info['python']}, "
        f"polars {info['polars']}, pandas {info['pandas']}  ",
        f"Date: {dt.date.today().isoformat()}",
        "",
        "| rows | input CSV | variant | wall (s) | CPU (s) | peak RSS (MB) | wall vs scan_write | pandas / polars (wall) | load (1 min) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for block in results:
        timing = {r["variant"]: r for r in block["runs"]}
        for r in block["runs"]:
            ratio = f"{r['wall_s'] / timing['scan_write']['wall_s']:.2f}x" if "scan_write" in timing else ""
            speedup = f"{timing['pandas']['wall_s'] / r['wall_s']:.1f}x" if r["variant"] == "polars" and "pandas" in timing else ""
            lines.append(f"| {block['rows']:,} | {block['csv_mb']:,} MB | {r['variant']} | {r['wall_s']:.2f} | {r['cpu_s']:.1f} | "
                         f"{r['peak_rss_mb']:,.0f} | {ratio} | {speedup} | {r['load_1min']:.1f} |")
    compared = [b for b in results if "agree" in b]
    if compared:
        lines += ["", "Outputs of polars and pandas agree (the same rows quarantined for the same reasons, the same accounting, "
                  "the same panel rows and values): "
                  + ", ".join(f"{b['rows']:,} rows: {'yes' if b['agree'] else 'NO'}" for b in compared) + "."]
    lines += ["", "Each variant ran in its own process, several times interleaved; the fastest run is shown. Wall time",
              "includes starting Python and importing the libraries; CPU is user + system time of the process; peak",
              "RSS is its maximum resident set; load is the machine's 1-minute load average after the run (other",
              "work on a shared machine inflates wall time, not CPU time). scan_write reads the CSV as text and",
              "writes it to parquet.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/hotseller-ingest-bench"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the fastest is reported")
    parser.add_argument("--full-max-rows", type=int, default=1_000_000,
                        help="run polars_full only up to this size: its co-purchase pairs grow with basket size squared")
    parser.add_argument("--name", default="ingest", help="file stem of the results under benchmarks/results/")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "SOURCE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if "pandas" in args.variants and importlib.util.find_spec("pandas") is None:
        raise SystemExit("the pandas variant needs pandas, the `bench` extra: .venv/bin/pip install -e '.[bench]' "
                         "(or leave it out: --variants scan_write polars)")
    if args.child:
        variant, source, out = args.child
        RUNNERS[variant](Path(source), Path(out))
        return

    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "benchmarks/ingest.py", *sys.argv[1:]])
    info = machine() | versions()
    results = []
    for rows in args.rows:
        source = args.workdir / f"transactions_{rows}.csv"
        source.parent.mkdir(parents=True, exist_ok=True)
        if not source.exists():
            generate(rows, source)
        variants = [v for v in args.variants if v != "polars_full" or rows <= args.full_max_rows]
        runs = best_of(variants, source, args.workdir / f"out_{rows}", args.repeat)
        block = {"rows": rows, "csv_mb": round(source.stat().st_size / 1024**2), "runs": runs}
        if {"polars", "pandas"} <= set(args.variants):
            block.update(outputs_agree(args.workdir / f"out_{rows}" / "polars", args.workdir / f"out_{rows}" / "pandas"))
        results.append(block)
        print(json.dumps(block), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps({"command": command, "machine": info, "results": results}, indent=2) + "\n")
    (RESULTS / f"{args.name}.md").write_text(report(results, info, command))
    print(report(results, info, command))


if __name__ == "__main__":
    main()
