"""The online_retail adapter: the UCI Online Retail invoice lines (the published .xlsx, or a .csv/.parquet export).

One line is one product on one invoice. The adapter validates each line, then builds the standard tables
from the accepted ones in one lazy query, streamed where the input format allows (CSV and parquet are
scanned; the workbook format has to be read whole):
- panel: per StockCode and week (invoice time), units sold, revenue, unit-weighted mean price, and
  `returns`, the units returned that week. A return is any line with a negative Quantity (cancellation
  invoices, numbered C...); returns are reported beside the sales, not netted, because a return in week
  t usually undoes a sale weeks earlier and netting would make week t look like negative demand. A row
  exists for each product and week with a sale or a return.
- products: every StockCode of an accepted line; the source has no category, so `category` is the last
  word of the product's most frequent Description (e.g. HOLDER, MUG, BAG), lowercased; no seller (one shop).
- relations: co_purchase between the products of one invoice (sales only, baskets up to MAX_BASKET).
- reviews: none; the table is empty with the contract's schema.

Quarantined with a reason: non-product StockCodes (postage, manual, bank charges, discounts, samples,
fees, bad-debt adjustments, gift vouchers), zero or negative UnitPrice, zero or fractional Quantity,
unparseable or implausible dates, cancellations with a positive Quantity, exact duplicate lines, rows
with bytes that are not UTF-8. A missing CustomerID does not reject a line.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hotseller.ingest.contract import (
    PANEL,
    REVIEWS,
    SOURCE_ROW,
    Accounting,
    Check,
    IngestError,
    accepted_rows,
    account_counts,
    collect_file,
    conform,
    empty,
    judge,
    missing_text,
    not_utf8,
    number_checks,
    parse_datetime,
    parse_float,
    quarantined_rows,
    reason_counts,
    require_columns,
    scan_text,
    timestamp_checks,
    value,
)
from hotseller.ingest.generic import with_first_seen
from hotseller.ingest.relations import MAX_BASKET, co_purchases
from hotseller.weeks import week_start

COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
REQUIRED = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice"]
OPTIONAL = ["Description", "CustomerID", "Country"]
HINT = "The online_retail adapter expects the columns of the UCI Online Retail workbook (dataset id 352)."

# StockCodes that are not products, by what they book (upper-cased). Gift vouchers are gift_0001_<value>.
NON_PRODUCT = {
    "POST": "postage", "DOT": "postage", "C2": "postage", "M": "manual", "D": "discount", "S": "samples",
    "BANK CHARGES": "bank charges", "AMAZONFEE": "fees", "CRUK": "fees", "B": "bad debt adjustment",
}
GIFT_VOUCHER = r"^GIFT_"
MAX_QUANTITY = 1e6  # the largest real line of the full data is 80,995 units
MAX_PRICE = 1e6  # GBP per unit
# InvoiceDate as the workbook gives it (ISO), and as the UCI/Kaggle CSV exports write it (month first).
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M")
EXCEL = {".xlsx", ".xlsm", ".xlsb", ".xls"}


def read_lines(path: Path) -> pl.LazyFrame:
    """The invoice lines as text with their 1-based source row (the workbook's row number minus its header)."""
    path = Path(path)
    if path.suffix.lower() in EXCEL:
        if not path.is_file():
            raise IngestError(f"{path}: file not found (expected the online_retail invoice lines)")
        try:
            # infer_schema_length=0 reads every cell as text; empty rows are kept so row numbers stay true.
            sheet = pl.read_excel(path, engine="calamine", infer_schema_length=0, drop_empty_rows=False, drop_empty_cols=False)
        except Exception as err:  # noqa: BLE001 - fastexcel raises its own types for unreadable workbooks
            raise IngestError(f"{path}: cannot be read as a workbook ({type(err).__name__}: {err})") from err
        lines = sheet.rename({c: c.strip() for c in sheet.columns}).lazy().with_row_index(SOURCE_ROW, offset=1)
    else:
        lines = scan_text(path, "online_retail invoice lines")
    require_columns(lines, REQUIRED, path, "online_retail invoice lines", HINT)
    present = lines.collect_schema().names()
    return lines.with_columns([pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in present])


def non_product(code: pl.Expr) -> pl.Expr:
    """What a non-product StockCode books (postage, manual, ...), or null for a product."""
    named = code.replace_strict(NON_PRODUCT, default=None, return_dtype=pl.String)
    return pl.when(code.str.contains(GIFT_VOUCHER)).then(pl.lit("gift voucher")).otherwise(named)


# Accepted lines under the names the transform uses.
LINE_FIELDS = {"InvoiceNo": "invoice", "StockCode": "product_id", "Description": "description", "Quantity": "quantity",
               "InvoiceDate": "ts", "UnitPrice": "price", "CustomerID": "customer"}


def judge_lines(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Every line with its parsed values and the reason it is rejected (null when accepted)."""
    code = pl.col("StockCode").str.strip_chars().str.to_uppercase()
    parsed = {
        "InvoiceNo": pl.col("InvoiceNo").str.strip_chars().str.to_uppercase(),
        "StockCode": code,
        "Description": pl.col("Description").str.strip_chars(),
        "Quantity": parse_float("Quantity"),
        "InvoiceDate": parse_datetime("InvoiceDate", DATE_FORMATS, dates=False),
        "UnitPrice": parse_float("UnitPrice"),
        # Some exports write CustomerID as a float (17850.0); it is an identifier either way.
        "CustomerID": pl.col("CustomerID").str.strip_chars().str.replace(r"\.0+$", ""),
        "Country": pl.col("Country").str.strip_chars(),
        "non_product": non_product(code),
    }
    checks = [
        not_utf8(COLUMNS),
        Check("InvoiceNo is missing", missing_text("InvoiceNo")),
        Check("StockCode is missing", missing_text("StockCode")),
        Check(pl.format("non-product code: {}", value("non_product")), value("non_product").is_not_null()),
        *number_checks("Quantity", required=True, minimum=None, maximum=MAX_QUANTITY, whole=True),
        Check("Quantity is zero", value("Quantity") == 0),
        *timestamp_checks("InvoiceDate"),
        *number_checks("UnitPrice", required=True, strictly=True, maximum=MAX_PRICE),
        Check("InvoiceNo is a cancellation (C...) but Quantity is positive",
              value("InvoiceNo").str.starts_with("C") & (value("Quantity") > 0)),
    ]
    return judge(lines, parsed, checks, COLUMNS, duplicate_reason="duplicate line (every field repeats an earlier line)")


def accepted_lines(judged: pl.LazyFrame) -> pl.LazyFrame:
    """The accepted lines, typed, with the week of their invoice."""
    return accepted_rows(judged, list(LINE_FIELDS)).rename(LINE_FIELDS).with_columns(week=week_start(pl.col("ts")))


def build_panel(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Units sold, revenue, mean price and units returned per product and week."""
    sale = pl.col("quantity") > 0
    weekly = lines.group_by("product_id", "week").agg(
        units=pl.col("quantity").filter(sale).sum(),
        revenue=(pl.col("quantity") * pl.col("price")).filter(sale).sum(),
        returns=(-pl.col("quantity")).filter(~sale).sum(),
    )
    price = pl.when(pl.col("units") > 0).then(pl.col("revenue") / pl.col("units"))
    return conform(weekly.with_columns(price=price, promo=pl.lit(0.0)), PANEL)


def build_products(lines: pl.LazyFrame) -> pl.LazyFrame:
    """One row per StockCode: its most frequent description's last word stands in for a category."""
    described = lines.filter(pl.col("description").is_not_null()).group_by("product_id", "description").agg(n=pl.len())
    main = described.group_by("product_id").agg(
        pl.col("description").sort_by(["n", "description"], descending=[True, False]).first()
    )
    head_noun = pl.col("description").str.to_lowercase().str.extract(r"([a-z]{3,})[^a-z]*$", 1)
    ids = lines.select("product_id").unique()
    return ids.join(main, on="product_id", how="left").select(
        "product_id",
        category=head_noun.fill_null("unknown"),
        seller=pl.lit(None, pl.String),
        first_seen_week=pl.lit(None, pl.Date),
    )


def build_relations(lines: pl.LazyFrame, max_basket: int = MAX_BASKET) -> pl.LazyFrame:
    sales = lines.filter(pl.col("quantity") > 0).select(basket="invoice", product_id="product_id", ts="ts")
    return co_purchases(sales, max_basket)


def transform(lines: pl.LazyFrame, path: Path, relations: bool = True) -> tuple[dict, pl.DataFrame, Accounting]:
    """Judge the lines and build the tables in one pass over the source (streaming engine, shared scan)."""
    columns = lines.collect_schema().names()
    judged = judge_lines(lines)
    accepted = accepted_lines(judged)
    queries = [build_panel(accepted), reason_counts(judged), quarantined_rows(judged, columns), build_products(accepted)]
    if relations:
        queries.append(build_relations(accepted))
    panel, counts, quarantined, products, *rest = collect_file(path, *queries)
    tables = {
        "panel": panel.sort("product_id", "week"),
        "products": products,
        "relations": rest[0].sort("ts", "src", "dst") if rest else None,
    }
    return tables, quarantined.sort(SOURCE_ROW), account_counts(path, counts, "panel")


def ingest(path: Path) -> tuple[dict, dict, dict]:
    """Run the online_retail adapter on the workbook (or a CSV/parquet export of it)."""
    path = Path(path)
    built, quarantined, accounting = transform(read_lines(path), path)
    tables = {
        "panel": built["panel"],
        "reviews": empty(REVIEWS),
        "products": with_first_seen(built["products"], built["panel"]),
        "relations": built["relations"],
    }
    return tables, {path.name: quarantined}, {path.name: accounting}

