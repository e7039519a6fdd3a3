"""The generic adapter: the data contract itself as CSV or parquet files, with column names mappable.

It reads the seed system's inputs (a weekly panel CSV like enhanced_panel.csv and a reviews parquet like
combined_reviews.parquet) and the synthetic market's raw files. Products and relations are optional:
without a products file every panel product is one, in category "unknown".
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hotseller.ingest.contract import (
    ATTR_PREFIX,
    PANEL,
    PRODUCTS,
    RELATIONS,
    REVIEWS,
    Accounting,
    Check,
    IngestError,
    account,
    collect_file,
    conform,
    missing_text,
    not_utf8,
    number_checks,
    parse_datetime,
    parse_float,
    require_columns,
    scan_text,
    split_rows,
    unparseable,
    value,
)
from hotseller.weeks import week_start

REQUIRED = {
    "panel": ["product_id", "week", "units"],
    "reviews": ["product_id", "ts", "rating"],
    "products": ["product_id"],
    "relations": ["src", "dst", "ts"],
}


def read_mapped(path: Path, table: str, columns: dict[str, str]) -> pl.DataFrame:
    """Scan a raw file as text, rename the user's column names to the contract's, check required ones."""
    lf = scan_text(path, table)
    rename = {theirs: ours for ours, theirs in columns.items() if theirs != ours}
    present = lf.collect_schema().names()
    missing = [theirs for theirs in rename if theirs not in present]
    if missing:
        raise IngestError(f"{path}: mapped column(s) {missing} not found for the {table} table; found {present}")
    lf = lf.rename(rename)
    require_columns(lf, REQUIRED[table], path, table)
    return collect_file(path, lf)[0]


def optional(raw: pl.DataFrame, name: str) -> pl.DataFrame:
    """Add an all-null text column for an optional field the file lacks, so one code path serves both."""
    return raw if name in raw.columns else raw.with_columns(pl.lit(None, pl.String).alias(name))


def ingest_panel(raw: pl.DataFrame, known: pl.Series | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    for name in ("revenue", "price", "promo", "returns", "freight"):
        raw = optional(raw, name)
    parsed = {
        "product_id": pl.col("product_id").str.strip_chars(),
        "week": week_start(parse_datetime("week")),
        "units": parse_float("units"),
        "revenue": parse_float("revenue"),
        "price": parse_float("price"),
        "promo": parse_float("promo"),
        "returns": parse_float("returns"),
        "freight": parse_float("freight"),
    }
    checks = [
        not_utf8(["product_id"]),
        Check("product_id is missing", missing_text("product_id")),
        *([Check("product_id is not a known product", ~value("product_id").is_in(known.implode()))] if known is not None else []),
        Check("week is missing or not a date (YYYY-MM-DD)", value("week").is_null()),
        *number_checks("units", required=True),
        *number_checks("revenue", required=False),
        *number_checks("price", required=False, strictly=True),
        *number_checks("promo", required=False, minimum=None),
        *number_checks("returns", required=False),
        *number_checks("freight", required=False),
    ]
    accepted, quarantined = split_rows(raw, parsed, checks, unique_keys=["product_id", "week"])
    accepted = accepted.with_columns(
        revenue=pl.coalesce(pl.col("revenue"), pl.col("units") * pl.col("price")),
        promo=pl.col("promo").fill_null(0.0),
    )
    return conform(accepted, PANEL), quarantined


def ingest_reviews(raw: pl.DataFrame, known: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    for name in ("text", "helpful_votes"):
        raw = optional(raw, name)
    parsed = {
        "product_id": pl.col("product_id").str.strip_chars(),
        "ts": parse_datetime("ts"),
        "rating": parse_float("rating"),
        "text": pl.col("text"),
        "helpful_votes": parse_float("helpful_votes"),
    }
    checks = [
        not_utf8(["product_id", "text"]),
        Check("product_id is missing", missing_text("product_id")),
        Check("product_id is not a known product", ~value("product_id").is_in(known.implode())),
        Check("ts is missing or not a timestamp", value("ts").is_null()),
        Check("rating is missing", missing_text("rating")),
        Check("rating is not a number", unparseable("rating")),
        Check("rating is outside 1..5", ~value("rating").is_between(1.0, 5.0)),
        *number_checks("helpful_votes", required=False),
    ]
    accepted, quarantined = split_rows(raw, parsed, checks)
    return conform(accepted, REVIEWS), quarantined


def ingest_products(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Products with category, seller and numeric attributes; first_seen_week is completed from the panel later."""
    for name in ("category", "seller", "first_seen_week"):
        raw = optional(raw, name)
    extra = [c for c in raw.columns if c not in {"product_id", "category", "seller", "first_seen_week", "source_row"}]
    parsed = {
        "product_id": pl.col("product_id").str.strip_chars(),
        "category": pl.col("category").str.strip_chars().fill_null("unknown"),
        "seller": pl.col("seller").str.strip_chars(),
        "first_seen_week": week_start(parse_datetime("first_seen_week")),
        **{f"{ATTR_PREFIX}{c}": parse_float(c) for c in extra},
    }
    checks = [
        not_utf8(["product_id", "category", "seller"]),
        Check("product_id is missing", missing_text("product_id")),
        Check("first_seen_week is not a date", unparseable("first_seen_week")),
    ]
    accepted, quarantined = split_rows(raw, parsed, checks, unique_keys=["product_id"])
    # A numeric attribute column is kept only if it is numeric where present; text attributes are dropped.
    numeric = [c for c in accepted.columns if c.startswith(ATTR_PREFIX) and accepted[c].null_count() < accepted.height]
    accepted = accepted.drop([c for c in accepted.columns if c.startswith(ATTR_PREFIX) and c not in numeric])
    return accepted, quarantined


def with_first_seen(products: pl.DataFrame, panel: pl.DataFrame) -> pl.DataFrame:
    """A product is listed from the earlier of its declared first week and its first panel row."""
    first = panel.group_by("product_id").agg(pl.col("week").min().alias("panel_first"))
    return conform(
        products.join(first, on="product_id", how="left").with_columns(
            first_seen_week=pl.min_horizontal("first_seen_week", "panel_first")
        ),
        PRODUCTS,
    ).sort("product_id")


def products_from_panel(panel: pl.DataFrame) -> pl.DataFrame:
    """Without a products file, every panel product is a product of category "unknown"."""
    ids = panel.select(pl.col("product_id").unique()).with_columns(
        category=pl.lit("unknown"), seller=pl.lit(None, pl.String), first_seen_week=pl.lit(None, pl.Date)
    )
    return with_first_seen(ids, panel)


def ingest_relations(raw: pl.DataFrame, known: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    for name in ("kind", "weight"):
        raw = optional(raw, name)
    parsed = {
        "src": pl.col("src").str.strip_chars(),
        "dst": pl.col("dst").str.strip_chars(),
        "ts": parse_datetime("ts"),
        "kind": pl.col("kind").fill_null("co_purchase"),
        "weight": parse_float("weight").fill_null(1.0),
    }
    checks = [
        not_utf8(["src", "dst", "kind"]),
        Check("src is missing", missing_text("src")),
        Check("dst is missing", missing_text("dst")),
        Check("src is not a known product", ~value("src").is_in(known.implode())),
        Check("dst is not a known product", ~value("dst").is_in(known.implode())),
        Check("src equals dst", value("src") == value("dst")),
        Check("ts is missing or not a timestamp", value("ts").is_null()),
        *number_checks("weight", required=False, strictly=True),
    ]
    accepted, quarantined = split_rows(raw, parsed, checks)
    return conform(accepted, RELATIONS), quarantined


def ingest(files: dict[str, Path | None], columns: dict[str, dict[str, str]]) -> tuple[dict, dict, dict]:
    """Run the generic adapter; return (standard tables, quarantine tables, accounting) keyed by table."""
    tables: dict[str, pl.DataFrame] = {}
    rejected: dict[str, pl.DataFrame] = {}
    accounting: dict[str, Accounting] = {}

    def keep(table: str, path: Path, accepted: pl.DataFrame, quarantined: pl.DataFrame) -> None:
        tables[table], rejected[table] = accepted, quarantined
        accounting[table] = account(path, accepted, quarantined, table)

    products = None
    if files.get("products"):
        path = Path(files["products"])
        products, bad = ingest_products(read_mapped(path, "products", columns.get("products", {})))
        keep("products", path, products, bad)
    panel_path = Path(files["panel"])
    known = products["product_id"] if products is not None else None
    panel, bad_panel = ingest_panel(read_mapped(panel_path, "panel", columns.get("panel", {})), known)
    keep("panel", panel_path, panel, bad_panel)
    if products is None:
        tables["products"], rejected["products"] = products_from_panel(panel), pl.DataFrame()
    else:
        tables["products"] = with_first_seen(products, panel)
    known = tables["products"]["product_id"]

    for table, reader in (("reviews", ingest_reviews), ("relations", ingest_relations)):
        if files.get(table):
            path = Path(files[table])
            accepted, bad = reader(read_mapped(path, table, columns.get(table, {})), known)
            keep(table, path, accepted, bad)
        else:
            tables[table] = pl.DataFrame(schema=REVIEWS if table == "reviews" else RELATIONS)
            rejected[table] = pl.DataFrame()
    return tables, rejected, accounting
