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
- relations: co_purchase between the products of one invoice (sales only, baskets up to relations.MAX_BASKET).
- reviews: none; the table is empty with the contract's schema.

Quarantined with a reason: non-product StockCodes (postage, manual, bank charges, discounts, samples,
fees, bad-debt adjustments, gift vouchers), zero or negative UnitPrice, zero or fractional Quantity,
unparseable or implausible dates, cancellations with a positive Quantity, repeated lines (see DUPLICATE_KEY), rows
with bytes that are not UTF-8. A missing CustomerID does not reject a line.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hotseller.ingest.contract import (
    FAILED,
    PANEL,
    REASON,
    REJECTED,
    REVIEWS,
    SOURCE_ROW,
    Accounting,
    Check,
    IngestError,
    Judgement,
    conform,
    empty,
    exact_sum,
    judge,
    not_utf8,
    number_checks,
    parse_float,
    value,
)
from hotseller.ingest.dates import DateWindow, date_window, parse_datetime, present_formats, timestamp_checks
from hotseller.ingest.files import (
    collect_file,
    invalid_utf8,
    refuse_duplicate_header,
    refuse_reserved,
    require_columns,
    scan_text,
)
from hotseller.ingest.generic import with_first_seen
from hotseller.ingest.relations import co_purchases
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
GIFT_VOUCHER = "GIFT_"
MAX_QUANTITY = 1e6  # the largest real line of the full data is 80,995 units
MAX_PRICE = 1e6  # GBP per unit
# InvoiceDate as the workbook gives it (ISO), and as the UCI/Kaggle CSV exports write it (month first).
# Plain seconds first: the fractional-seconds format parses the same text at twice the cost.
MONTH_FIRST, DAY_FIRST = "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M"
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", MONTH_FIRST, "%Y-%m-%d %H:%M")
EXCEL = {".xlsx", ".xlsm", ".xlsb", ".xls"}


def read_lines(path: Path) -> pl.LazyFrame:
    """The invoice lines as text with their 1-based source row (the workbook's row number minus its header)."""
    path = Path(path)
    if path.suffix.lower() in EXCEL:
        if not path.is_file():
            raise IngestError(f"{path}: file not found (expected the online_retail invoice lines)")
        try:
            # infer_schema_length=0 reads every cell as text; empty rows are kept so row numbers stay true. The header
            # is read as the first row (one pass over the sheet), so a name given twice is seen before fastexcel would
            # rename the copy (Quantity_1).
            sheet = pl.read_excel(path, engine="calamine", infer_schema_length=0, drop_empty_rows=False, drop_empty_cols=False,
                                  read_options={"header_row": None})
        except Exception as err:  # noqa: BLE001 - fastexcel raises its own types for unreadable workbooks
            raise IngestError(f"{path}: cannot be read as a workbook ({type(err).__name__}: {err})") from err
        names = [str(n).strip() if n is not None else "" for n in sheet.row(0)] if sheet.height else []
        refuse_duplicate_header(path, "online_retail invoice lines", names=names)
        names = [name or f"__UNNAMED__{i}" for i, name in enumerate(names)]  # fastexcel's name for a blank header cell
        refuse_reserved(names, path, "online_retail invoice lines")
        lines = sheet.slice(1).rename(dict(zip(sheet.columns, names))).lazy().with_row_index(SOURCE_ROW, offset=1)
    else:
        lines = scan_text(path, "online_retail invoice lines")
    require_columns(lines, REQUIRED, path, "online_retail invoice lines", HINT)
    present = lines.collect_schema().names()
    return lines.with_columns([pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in present])


def product_key(code: pl.Expr) -> pl.Expr:
    """A StockCode as the adapter keys its products (stripped, upper-cased): how anything else joins onto them."""
    return code.str.strip_chars().str.to_uppercase()


def non_product(code: pl.Expr) -> pl.Expr:
    """What a non-product StockCode books (postage, manual, ...), or null for a product."""
    # A chain of comparisons rather than `replace`, which the streaming engine runs only in memory; it is
    # evaluated for rejected rows only (the reason), the check itself is a cheap membership test.
    kinds = [pl.when(code == name).then(pl.lit(kind)) for name, kind in NON_PRODUCT.items()]
    return pl.coalesce([*kinds, pl.when(code.str.starts_with(GIFT_VOUCHER)).then(pl.lit("gift voucher"))])


def is_non_product(code: pl.Expr) -> pl.Expr:
    return code.is_in(list(NON_PRODUCT)) | code.str.starts_with(GIFT_VOUCHER)


# Accepted lines under the names the transform uses.
LINE_FIELDS = {"InvoiceNo": "invoice", "StockCode": "product_id", "Description": "description", "Quantity": "quantity",
               "InvoiceDate": "ts", "UnitPrice": "price"}
# A repeated line: same invoice, product, quantity, time, price and customer as an earlier one. Description
# and Country follow from the product and the invoice, so they are left out of the comparison (it halves
# its cost on large files).
DUPLICATE_KEY = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
DUPLICATE = "duplicate line (same invoice, product, quantity, time, price and customer as an earlier line)"


def judge_lines(
    lines: pl.LazyFrame, date_formats: tuple[str, ...] = DATE_FORMATS, check_utf8: bool = True, window: DateWindow | None = None,
) -> Judgement:
    """Every line with its parsed values and the index of the check it fails (null when accepted).

    With a `window` (dates.date_window), lines dated far outside the data's range are rejected too.
    """
    code = product_key(pl.col("StockCode"))
    parsed = {
        "InvoiceNo": pl.col("InvoiceNo").str.strip_chars(),
        "StockCode": code,
        "Description": pl.col("Description").str.strip_chars(),
        "Quantity": parse_float("Quantity"),
        "InvoiceDate": parse_datetime("InvoiceDate", date_formats, dates=False),
        "UnitPrice": parse_float("UnitPrice"),
        "CustomerID": pl.col("CustomerID"),
    }
    cancellation = value("InvoiceNo").str.starts_with("C") | value("InvoiceNo").str.starts_with("c")
    checks = [
        *([not_utf8(COLUMNS)] if check_utf8 else []),
        # Keys are judged on their stripped text (the parsed value), so blank is missing.
        Check("InvoiceNo is missing", value("InvoiceNo").is_null() | (value("InvoiceNo") == "")),
        Check("StockCode is missing", value("StockCode").is_null() | (value("StockCode") == "")),
        Check(pl.lit("non-product code: ") + non_product(value("StockCode")), is_non_product(value("StockCode"))),
        *number_checks("Quantity", required=True, minimum=None, maximum=MAX_QUANTITY, whole=True),
        Check("Quantity is zero", value("Quantity") == 0),
        *timestamp_checks("InvoiceDate"),
        *([window.check("InvoiceDate")] if window is not None else []),
        *number_checks("UnitPrice", required=True, strictly=True, maximum=MAX_PRICE),
        Check("InvoiceNo is a cancellation (C...) but Quantity is positive", cancellation & (value("Quantity") > 0)),
    ]
    return judge(lines, parsed, checks, DUPLICATE_KEY, duplicate_reason=DUPLICATE, hashed_keys=True)


def accepted_lines(judged: Judgement) -> pl.LazyFrame:
    """The accepted lines, typed, with the week of their invoice."""
    return judged.accepted(list(LINE_FIELDS)).rename(LINE_FIELDS).with_columns(week=week_start(pl.col("ts")))


def summarise(judged: Judgement, raw_columns: list[str]) -> pl.LazyFrame:
    """The weekly cube and the rejected rows in one group-by: one consumer of the stream of lines.

    Accepted lines are grouped by product, week and description; each rejected line is a group of its
    own (keyed by its source row) that keeps its raw text and what its reason needs. Feeding a single
    aggregation keeps memory to the groups; two consumers of one stream would buffer the lines between
    them (three times the peak memory at 10M lines). What a rejected line keeps travels as one struct:
    a `first` per raw column would cost every accepted line eight aggregations (a quarter of the transform).
    """
    ok = pl.col(FAILED).is_null()
    raw = [c for c in raw_columns if c != SOURCE_ROW]
    keyed = judged.rows.with_columns(
        product_id=pl.when(ok).then(value("StockCode")),
        week=pl.when(ok).then(week_start(value("InvoiceDate"))),
        description=pl.when(ok).then(value("Description")),
        rejected_row=pl.when(~ok).then(pl.col(SOURCE_ROW)),
        quantity=pl.when(ok).then(value("Quantity")),
        price=value("UnitPrice"),
        **{REJECTED: pl.when(~ok).then(pl.struct(*raw, FAILED, value("StockCode")))},
    )
    sold = pl.col("quantity").clip(lower_bound=0)
    return keyed.group_by("product_id", "week", "description", "rejected_row").agg(
        units=sold.sum(),
        revenue=exact_sum(sold * pl.col("price")),
        returns=(-pl.col("quantity")).clip(lower_bound=0).sum(),
        lines=pl.len(),
        last_row=pl.col(SOURCE_ROW).max(),
        **{REJECTED: pl.col(REJECTED).first()},
    )


def build_panel(cube: pl.LazyFrame) -> pl.LazyFrame:
    """Units sold, revenue, unit-weighted mean price and units returned per product and week."""
    weekly = cube.group_by("product_id", "week").agg(pl.col("units", "returns").sum(), exact_sum(pl.col("revenue")))
    price = pl.when(pl.col("units") > 0).then(pl.col("revenue") / pl.col("units"))
    return conform(weekly.with_columns(price=price, promo=pl.lit(0.0)), PANEL).sort("product_id", "week")


def build_products(cube: pl.LazyFrame) -> pl.LazyFrame:
    """One row per StockCode: the last word of its description in its first week (the description on most of that
    week's lines; ties: the first alphabetically) stands in for a category, "unknown" when that week's lines have none.

    The first week's, because a product is listed from its first week on: the most frequent description over the
    whole file let later lines decide the category at earlier cutoffs (29 products of the sample changed category
    between cutoffs that way)."""
    sold = cube.filter(pl.col("product_id").is_not_null())
    first = sold.group_by("product_id").agg(first_week=pl.col("week").min())
    described = (sold.join(first, on="product_id").filter((pl.col("week") == pl.col("first_week")) & pl.col("description").is_not_null())
                 .group_by("product_id", "description").agg(n=pl.col("lines").sum()))
    main = described.group_by("product_id").agg(
        pl.col("description").sort_by(["n", "description"], descending=[True, False]).first()
    )
    head_noun = pl.col("description").str.to_lowercase().str.extract(r"([a-z]{3,})[^a-z]*$", 1)
    ids = sold.select("product_id").unique()
    return ids.join(main, on="product_id", how="left").select(
        "product_id",
        category=head_noun.fill_null("unknown"),
        seller=pl.lit(None, pl.String),
        first_seen_week=pl.lit(None, pl.Date),
    ).sort("product_id")


def sale_baskets(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Each invoice's distinct products sold (returns are not baskets), at the invoice time."""
    sales = lines.filter(pl.col("quantity") > 0)
    return sales.group_by("invoice", "product_id").agg(pl.col("ts").min()).rename({"invoice": "basket"})


def slash_order(lines: pl.LazyFrame, path: Path, formats: tuple[str, ...]) -> tuple[str, ...]:
    """`formats` (picked from the file's first rows) with one reading of the whole file's slashed dates, if it has any:
    day first where they can only be (a UK export: 13/12/2010 10:28), some first field above 12 and no second one;
    otherwise month first, as UCI's export writes them (12/1/2010 8:26). A file whose fields are all 12 or less reads
    either way, and is read as UCI's; one with both kinds is read month first, so its day-first lines are quarantined
    as not a timestamp."""
    field = [pl.col("InvoiceDate").str.extract(r"^\s*(\d{1,2})/(\d{1,2})/", i).cast(pl.Int32, strict=False).max().fill_null(0)
             for i in (1, 2)]
    (fields,) = collect_file(path, lines.select(first=field[0], second=field[1]))
    first, second = fields.row(0)
    if first == second == 0:
        return formats
    return tuple(f for f in formats if f != MONTH_FIRST) + (DAY_FIRST if first > 12 >= second else MONTH_FIRST,)


def transform(
    lines: pl.LazyFrame, path: Path, relations: bool = True, window: DateWindow | None = None,
) -> tuple[dict, pl.DataFrame, Accounting]:
    """Judge the lines and build the tables in one streamed pass over the source.

    `read` is the last source row the scan numbered, so read = accepted + quarantined checks that every
    row came out on one side. With `relations`, the sale baskets are a second output of the same pass.
    The tables include `weekly_lines` (accepted lines per week), from which `ingest` finds the date window.
    """
    columns = lines.collect_schema().names()
    (sample,) = collect_file(path, lines.select("InvoiceDate").head(1000))
    # A workbook or parquet file holds decoded text; a CSV needs the row check only if it has bad bytes.
    check_utf8 = path.suffix.lower() in {".csv", ".tsv", ".txt"} and invalid_utf8(path)
    formats = slash_order(lines, path, present_formats(sample.to_series(), DATE_FORMATS))
    judged = judge_lines(lines, formats, check_utf8, window)
    queries = [summarise(judged, columns)] + ([sale_baskets(accepted_lines(judged))] if relations else [])
    summary, *baskets = collect_file(path, *queries)

    rejected = summary.filter(pl.col("rejected_row").is_not_null())
    raw = [c for c in columns if c != SOURCE_ROW]
    quarantined = rejected.select(pl.col("rejected_row").alias(SOURCE_ROW), pl.col(REJECTED).struct.unnest())
    quarantined = quarantined.select(SOURCE_ROW, *raw, judged.reason()).sort(SOURCE_ROW)
    cube = summary.filter(pl.col("rejected_row").is_null()).lazy()
    weekly = cube.group_by("week").agg(pl.col("lines").sum()).sort("week")
    panel, products, weekly_lines = pl.collect_all([build_panel(cube), build_products(cube), weekly])
    tables = {"panel": panel, "products": products, "relations": None, "weekly_lines": weekly_lines}
    if baskets:
        tables["relations"] = co_purchases(baskets[0].lazy()).collect().sort("ts", "src", "dst")
    per_reason = {r: int(n) for r, n in quarantined.group_by(REASON).len().sort(REASON).iter_rows()}
    read, accepted = int(summary["last_row"].max() or 0), int(cube.select(pl.col("lines").sum()).collect().item())
    accounting = Accounting(str(path), read, accepted, per_reason, "panel")
    return tables, quarantined, accounting


def ingest(path: Path) -> tuple[dict, dict, dict]:
    """Run the online_retail adapter on the workbook (or a CSV/parquet export of it)."""
    path = Path(path)
    built, quarantined, accounting = transform(read_lines(path), path)
    weekly = built["weekly_lines"]
    window = date_window(weekly["week"], weekly["lines"])
    if window is not None and not weekly["week"].is_between(window.first, window.last).all():
        # Rare (a mistyped year): judge every line again with the window, so those lines are quarantined
        # with their text and reason like any other; a file without such dates is read once.
        built, quarantined, accounting = transform(read_lines(path), path, window=window)
    tables = {
        "panel": built["panel"],
        "reviews": empty(REVIEWS),
        "products": with_first_seen(built["products"], built["panel"]),
        "relations": built["relations"],
    }
    return tables, {path.name: quarantined}, {path.name: accounting}

