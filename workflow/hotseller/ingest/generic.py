"""The generic adapter: the data contract itself as CSV or parquet files, with column names mappable.

It reads the seed system's inputs (a weekly panel CSV like enhanced_panel.csv and a reviews parquet like
combined_reviews.parquet) and the synthetic market's raw files. Products and relations are optional:
without a products file every panel product is one, in category "unknown". Each table's `columns` mapping
may declare its date format (`date_format`), and every date is judged against the panel's plausible range
(dates.date_window); docs/data-contract.md states both.
"""

from __future__ import annotations

import difflib
import logging
import re
from pathlib import Path

import polars as pl

from hotseller.ingest.contract import (
    ATTR_PREFIX,
    PANEL,
    PRODUCTS,
    REASON,
    RELATIONS,
    REVIEWS,
    SOURCE_ROW,
    TABLES,
    Accounting,
    Check,
    IngestError,
    account,
    conform,
    missing_text,
    missing_value,
    not_utf8,
    number_checks,
    parse_float,
    split_rows,
    unparseable,
    value,
)
from hotseller.ingest.dates import (
    DATE_FORMAT,
    EARLIEST,
    FENCE_IQRS,
    FENCE_MARGIN_WEEKS,
    DateWindow,
    check_date_format,
    date_checks,
    date_window,
    parse_event_time,
    parse_local_date,
)
from hotseller.ingest.files import collect_file, require_columns, reserved, scan_text, separator_of
from hotseller.weeks import week_start

log = logging.getLogger(__name__)

REQUIRED = {
    "panel": ["product_id", "week", "units"],
    "reviews": ["product_id", "ts", "rating"],
    "products": ["product_id"],
    "relations": ["src", "dst", "ts"],
}


def table_mapping(columns: object, table: str) -> tuple[dict[str, str], str | None]:
    """One table's part of the `columns` option: (contract column -> your column, declared date format).

    The option is user input too, so its shape is checked here rather than failing somewhere inside.
    """
    if not isinstance(columns, dict):
        raise IngestError(f"columns must be a map {{table: {{contract_column: your_column}}}}, got {columns!r}")
    unknown = sorted(set(columns) - set(REQUIRED))
    if unknown:
        raise IngestError(f"columns: unknown table(s) {unknown}; the tables are {sorted(REQUIRED)}")
    mapping = columns.get(table) or {}
    if not isinstance(mapping, dict):
        raise IngestError(f"columns.{table} must map contract column names to your column names, got {mapping!r}")
    mapping = dict(mapping)
    fmt = check_date_format(mapping.pop(DATE_FORMAT, None), table)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise IngestError(f"columns.{table} must map contract column names to your column names (text), got {mapping!r}")
    internal = sorted({n for pair in mapping.items() for n in pair if reserved(n)})
    if internal:
        raise IngestError(f"columns.{table}: {internal} are names ingestion uses itself; map your file's own column names "
                          "to the contract's")
    sources: dict[str, list[str]] = {}
    for ours, theirs in mapping.items():
        sources.setdefault(theirs, []).append(ours)
    twice = {theirs: ours for theirs, ours in sources.items() if len(ours) > 1}
    if twice:
        theirs, ours = next(iter(twice.items()))
        raise IngestError(f"columns.{table}: your column {theirs!r} is mapped to {' and '.join(map(repr, ours))}; "
                          "map each of your columns to one contract column")
    unknown = sorted(set(mapping) - set(TABLES[table]))
    if unknown and table != "products":
        raise IngestError(f"columns.{table}: {unknown} not a column of the {table} table; its columns are {list(TABLES[table])}")
    for key in unknown:  # a products key may name an attribute (attr_<key>), which the contract leaves open; a near miss is a typo
        close = difflib.get_close_matches(key, list(TABLES[table]), n=1, cutoff=0.8)
        if close:
            log.warning("columns.products: %r is not a products column, so it names an attribute; did you mean %r?", key, close[0])
    return mapping, fmt


def read_mapped(path: Path, table: str, columns: dict[str, str]) -> pl.DataFrame:
    """Scan a raw file as text, rename the user's column names to the contract's, check required ones."""
    lf = scan_text(path, table)
    rename = {theirs: ours for ours, theirs in columns.items() if theirs != ours}
    present = [c for c in lf.collect_schema().names() if c != SOURCE_ROW]
    missing = [theirs for theirs in rename if theirs not in present]
    if missing:
        raise IngestError(f"{path}: mapped column(s) {missing} not found for the {table} table; found {present}")
    kept = [c for c in present if c not in rename]
    twice = [f"{theirs!r} (mapped to {ours!r})" for theirs, ours in rename.items() if ours in kept]
    if twice:
        raise IngestError(f"{path}: {', '.join(twice)} and a column already named so are both in the {table} file; "
                          f"map only one of them in columns.{table}, or rename the other")
    lf = lf.rename(rename)
    require_columns(lf, REQUIRED[table], path, table)
    return collect_file(path, lf, separator=separator_of(path))[0]


def optional(raw: pl.DataFrame, name: str) -> pl.DataFrame:
    """Add an all-null text column for an optional field the file lacks, so one code path serves both."""
    return raw if name in raw.columns else raw.with_columns(pl.lit(None, pl.String).alias(name))


def panel_window(raw: pl.DataFrame, week: pl.Expr) -> DateWindow | None:
    """The plausible date range of the whole dataset, from the weeks of the panel rows whose week parses (`week`:
    the parse of the week column, `parse_local_date`)."""
    return date_window(raw.select(week_start(week)).to_series())


def date_range_checks(name: str, window: DateWindow | None) -> list[Check]:
    """The window check of one date column, when the panel gave a window at all."""
    return [window.check(name)] if window is not None else []


def known_checks(column: str, known: pl.Series, lost: pl.DataFrame | None = None) -> list[Check]:
    """A row whose product is not an accepted product. Where the products file had the product but quarantined its
    row (`lost`: product_id -> why), the reason says so, rather than call a product the file lists unknown."""
    checks = []
    if lost is not None and lost.height:
        why = value(column).replace_strict(lost["product_id"], lost[REASON], default=None, return_dtype=pl.String)
        checks.append(Check(pl.concat_str(pl.lit(f"{column}'s "), why), why.is_not_null()))
    return [*checks, Check(f"{column} is not a known product", ~value(column).is_in(known.implode()))]


OPTIONAL_NUMBERS = ["revenue", "price", "promo", "returns", "freight"]  # missing markers (NA, null, NaN, ...) are null there
FLAGS = {"true": 1.0, "yes": 1.0, "false": 0.0, "no": 0.0}


def promo_flag(name: str) -> pl.Expr:
    """A promotion indicator: true/yes as 1 and false/no as 0 (a parquet Boolean column reads as true/false), else a
    number (a depth). Only the text that is not a number is looked at, which costs little."""
    number = parse_float(name)
    text = pl.when(number.is_null()).then(pl.col(name)).str.strip_chars().str.to_lowercase()
    return pl.coalesce(number, text.replace_strict(FLAGS, default=None, return_dtype=pl.Float64))


SAME_WEEK = "another row of this product falls in the same week"
# No shop sells 10^12 of a product in a week; below it, thousands of weeks' sums stay exact in float64 (< 2^53), above
# it a typo such as 1e308 would make a product's cumulative units infinite and every input after normalisation NaN.
MAX_UNITS = 1e12


def ingest_panel(
    raw: pl.DataFrame, known: pl.Series | None, week: pl.Expr, fmt: str | None = None, window: DateWindow | None = None,
    lost: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Judge the panel rows (`week`: the week column's parse, made once for this and `panel_window`: finding whether
    its values carry UTC offsets is a pass over the column). Two rows of one product in one week are not summed: an
    exact repeat of (product_id, date) is a duplicate key, another date of that week means daily data, which the
    reason says to sum per week."""
    for name in OPTIONAL_NUMBERS:
        raw = optional(raw, name)
    parsed = {
        "product_id": pl.col("product_id").str.strip_chars(),
        "week": week,  # the date as given; its Monday once judged
        "units": parse_float("units"),
        "revenue": parse_float("revenue"),
        "price": parse_float("price"),
        "promo": promo_flag("promo"),
        "returns": parse_float("returns"),
        "freight": parse_float("freight"),
    }
    checks = [
        not_utf8(["product_id"]),
        Check("product_id is missing", missing_text("product_id")),
        *(known_checks("product_id", known, lost) if known is not None else []),
        *date_checks("week", "panel", fmt, required=True),
        *date_range_checks("week", window),
        *number_checks("units", required=True, maximum=MAX_UNITS),
        *number_checks("revenue", required=False, markers=True),
        *number_checks("price", required=False, strictly=True, markers=True),
        Check("revenue (units x price) is not finite",  # a revenue of NaN is missing too (read as null below)
              (value("revenue").is_null() | value("revenue").is_nan()) & (value("units") * value("price")).is_infinite()),
        *number_checks("promo", required=False, minimum=None, markers=True),
        *number_checks("returns", required=False, markers=True),
        *number_checks("freight", required=False, markers=True),
    ]
    same_week = (["product_id", week_start(value("week"))], f"{SAME_WEEK}: the panel must be weekly; sum your rows per week")
    accepted, quarantined = split_rows(raw, parsed, checks, ["product_id", "week"], also_unique=(same_week,))
    accepted = accepted.with_columns(week=week_start(pl.col("week")), *[pl.col(c).fill_nan(None) for c in OPTIONAL_NUMBERS])
    accepted = accepted.with_columns(
        revenue=pl.coalesce(pl.col("revenue"), pl.col("units") * pl.col("price")),
        promo=pl.col("promo").fill_null(0.0),
    )
    return conform(accepted, PANEL), quarantined


def ingest_reviews(
    raw: pl.DataFrame, known: pl.Series, fmt: str | None = None, window: DateWindow | None = None,
    lost: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    for name in ("text", "helpful_votes"):
        raw = optional(raw, name)
    parsed = {
        "product_id": pl.col("product_id").str.strip_chars(),
        "ts": parse_event_time(raw, "ts", fmt),
        "rating": parse_float("rating"),
        "text": pl.col("text"),
        "helpful_votes": parse_float("helpful_votes"),
    }
    checks = [
        not_utf8(["product_id", "text"]),
        Check("product_id is missing", missing_text("product_id")),
        *known_checks("product_id", known, lost),
        *date_checks("ts", "reviews", fmt, required=True, timestamp=True),
        *date_range_checks("ts", window),
        Check("rating is missing", missing_text("rating")),
        Check("rating is not a number", unparseable("rating")),
        Check("rating is outside 1..5", ~value("rating").is_between(1.0, 5.0)),
        *number_checks("helpful_votes", required=False),
    ]
    accepted, quarantined = split_rows(raw, parsed, checks)
    return conform(accepted, REVIEWS), quarantined


def ingest_products(
    raw: pl.DataFrame, fmt: str | None = None, window: DateWindow | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, list[int]], list[int]]:
    """Products with category, seller and numeric attributes; first_seen_week is completed from the panel later.

    Also returns, per attribute, the source rows whose value was read as missing (text in a numeric column, inf or
    NaN), and the source rows whose first_seen_week was (`launches_outside`): the product and its sales stay, only
    that value is unknown (ingest counts and names them)."""
    for name in ("category", "seller", "first_seen_week"):
        raw = optional(raw, name)
    extra = [c for c in raw.columns if c not in {"product_id", "category", "seller", "first_seen_week", "source_row"}]
    numeric = numeric_columns(raw, extra)  # the others are text attributes, which the models do not read: dropped
    parsed = {
        "product_id": pl.col("product_id").str.strip_chars(),
        "category": pl.col("category").str.strip_chars().fill_null("unknown"),
        "seller": pl.col("seller").str.strip_chars(),
        "first_seen_week": week_start(parse_local_date(raw, "first_seen_week", fmt)),
        **{f"{ATTR_PREFIX}{c}": finite_number(c) for c in numeric},
    }
    checks = [
        not_utf8(["product_id", "category", "seller"]),
        Check("product_id is missing", missing_text("product_id")),
        *date_checks("first_seen_week", "products", fmt, required=False),
    ]
    accepted, quarantined = split_rows(raw, parsed, checks, unique_keys=["product_id"])
    accepted, far = launches_outside(raw, accepted, window)
    kept = raw.filter(pl.col(SOURCE_ROW).is_in(quarantined[SOURCE_ROW].implode()).not_()) if quarantined.height else raw
    unread = {c: kept.filter(finite_number(c).is_null() & ~missing_value(c))[SOURCE_ROW].to_list() for c in numeric}
    blank = [c for c in accepted.columns if c.startswith(ATTR_PREFIX) and accepted[c].null_count() == accepted.height]
    return accepted.drop(blank), quarantined, {c: rows for c, rows in unread.items() if rows}, far


def first_rows(rows: list[int], shown: int = 5) -> str:
    """Source rows as a warning names them: the first few, then an ellipsis."""
    return ", ".join(map(str, rows[:shown])) + (", ..." if len(rows) > shown else "")


def launches_outside(raw: pl.DataFrame, products: pl.DataFrame, window: DateWindow | None) -> tuple[pl.DataFrame, list[int]]:
    """A first_seen_week before EARLIEST (a placeholder such as 1970-01-05) or after the data's plausible range (a year
    typo) is read as missing rather than quarantined: a launch date cannot stretch the time axis (the panel sets it),
    and quarantining the product would take all its sales with it. Such a product is listed from its first panel row,
    as one without a launch date. A launch years before a short panel is a real launch: it is kept, so the product is
    listed from the panel's first week. Returns the products and the source rows (the first of each product) whose
    launch was dropped."""
    week = pl.col("first_seen_week")
    outside = week < EARLIEST.date()
    if window is not None:
        outside = outside | (week > window.last)
    outside = week.is_not_null() & outside
    ids = products.filter(outside)["product_id"]
    if ids.is_empty():
        return products, []
    key = pl.col("product_id").str.strip_chars()
    rows = raw.filter(key.is_in(ids.implode())).group_by(key).agg(pl.col(SOURCE_ROW).min())[SOURCE_ROW].sort().to_list()
    return products.with_columns(first_seen_week=pl.when(outside).then(None).otherwise(week)), rows


def launch_reason(window: DateWindow | None) -> str:
    """Why a launch date was read as missing, as the accounting counts it."""
    after = (f" or after {window.last:%Y-%m-%d}, the end of the data's range (the panel's week quartiles widened by "
             f"{FENCE_IQRS} IQR + {FENCE_MARGIN_WEEKS} weeks)") if window is not None else ""
    return f"first_seen_week is before {EARLIEST:%Y-%m-%d}{after} (read as missing)"


def finite_number(column: str) -> pl.Expr:
    """A raw value as a finite Float64, else null: inf or NaN would reach every product's inputs through the
    normalisation's mean."""
    number = parse_float(column)
    return pl.when(number.is_finite()).then(number)


def numeric_columns(raw: pl.DataFrame, columns: list[str]) -> list[str]:
    """The numeric attribute columns: those where most values that are not missing read as finite numbers. A column of
    codes or sizes with a few numbers among them (A-17, 1001; XL, 42) is text, and text attributes are dropped."""
    if not columns:
        return []
    shares = raw.select((finite_number(c).is_not_null().sum() / (~missing_value(c)).sum().clip(lower_bound=1)).alias(c) for c in columns)
    return [c for c in columns if shares[c].item() > 0.5]


UNNAMED = re.compile(r"(?:Unnamed: \d+|_duplicated_\d+)?")  # blank (polars names a second blank _duplicated_0), or pandas' index


def drop_unnamed(raw: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Drop a products column without a name, or pandas' saved index (`Unnamed: 0`), with one warning: its values are
    row numbers or stray cells, not an attribute (a row number of a file sorted by sales would leak the target)."""
    unnamed = [c for c in raw.columns if UNNAMED.fullmatch(c)]
    # Column n of the file is raw's column n: raw starts with its source_row. A column of blanks (trailing commas) holds nothing.
    shown = [f"column {raw.columns.index(c)} ({c!r})" if c.startswith("Unnamed") else f"column {raw.columns.index(c)} (no name)"
             for c in unnamed if (raw[c].str.strip_chars() != "").any()]
    if shown:
        log.warning("%s: %s of the products file dropped: a column without a name (e.g. a saved row index) is not an "
                    "attribute; name it in the header to keep it", path, ", ".join(shown))
    return raw.drop(unnamed)


def quarantined_in(path: Path) -> str:
    """How the reason of a row whose product was quarantined in the products file `path` begins, after its column."""
    return f"row in {path.name} was quarantined ("


def lost_products(bad: pl.DataFrame, accepted: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Products whose every row in the products file was quarantined: product_id -> the reason its rows elsewhere get."""
    ids = pl.col("product_id").str.strip_chars()
    lost = (bad.filter(ids.is_not_null() & (ids != "") & ~ids.is_in(accepted["product_id"].implode()))
            .select(product_id=ids, why=REASON, reason=pl.concat_str(pl.lit(quarantined_in(path)), pl.col(REASON), pl.lit(")"))))
    return lost.unique("product_id", keep="first", maintain_order=True)


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


def ingest_relations(
    raw: pl.DataFrame, known: pl.Series, fmt: str | None = None, window: DateWindow | None = None,
    lost: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    for name in ("kind", "weight"):
        raw = optional(raw, name)
    parsed = {
        "src": pl.col("src").str.strip_chars(),
        "dst": pl.col("dst").str.strip_chars(),
        "ts": parse_event_time(raw, "ts", fmt),
        "kind": pl.when(pl.col("kind").str.strip_chars() != "").then(pl.col("kind").str.strip_chars()).otherwise(pl.lit("co_purchase")),
        "weight": parse_float("weight"),  # blank: 1.0, once judged (a value that is not a number is quarantined)
    }
    checks = [
        not_utf8(["src", "dst", "kind"]),
        Check("src is missing", missing_text("src")),
        Check("dst is missing", missing_text("dst")),
        *known_checks("src", known, lost),
        *known_checks("dst", known, lost),
        Check("src equals dst", value("src") == value("dst")),
        *date_checks("ts", "relations", fmt, required=True, timestamp=True),
        *date_range_checks("ts", window),
        *number_checks("weight", required=False, strictly=True),
    ]
    accepted, quarantined = split_rows(raw, parsed, checks)
    return conform(accepted.with_columns(pl.col("weight").fill_null(1.0)), RELATIONS), quarantined


def ingest(files: dict[str, Path | None], columns: dict[str, dict[str, str]]) -> tuple[dict, dict, dict]:
    """Run the generic adapter; return (standard tables, quarantine tables, accounting) keyed by table.

    The panel is read first: its weeks set the plausible date range (dates.date_window) that every
    table's dates are judged against, before products, then panel, reviews and relations are judged.
    """
    tables: dict[str, pl.DataFrame] = {}
    rejected: dict[str, pl.DataFrame] = {}
    accounting: dict[str, Accounting] = {}
    mappings = {table: table_mapping(columns, table) for table in REQUIRED}

    def keep(table: str, path: Path, accepted: pl.DataFrame, quarantined: pl.DataFrame) -> None:
        tables[table], rejected[table] = accepted, quarantined
        accounting[table] = account(path, accepted, quarantined, table)

    panel_path = Path(files["panel"])
    panel_mapping, panel_format = mappings["panel"]
    raw_panel = read_mapped(panel_path, "panel", panel_mapping)
    week = parse_local_date(raw_panel, "week", panel_format)
    window = panel_window(raw_panel, week)

    products = lost = None
    if files.get("products"):
        path = Path(files["products"])
        mapping, fmt = mappings["products"]
        products, bad, unread, far = ingest_products(drop_unnamed(read_mapped(path, "products", mapping), path), fmt, window)
        keep("products", path, products, bad)
        lost = lost_products(bad, products, path)
        accounting["products"].missing = {f"{c} is not a finite number (read as missing)": len(rows) for c, rows in unread.items()}
        for column, rows in unread.items():
            log.warning("%s: %d value(s) of attribute %r are not finite numbers (source rows %s); read as missing", path,
                        len(rows), column, first_rows(rows))
        if far:
            accounting["products"].missing[launch_reason(window)] = len(far)
            log.warning("%s: %d first_seen_week value(s) before %s or after the data's last plausible week (source rows "
                        "%s); read as missing: those products are listed from their first panel row", path, len(far),
                        f"{EARLIEST:%Y-%m-%d}", first_rows(far))
    known = products["product_id"] if products is not None else None
    panel, bad_panel = ingest_panel(raw_panel, known, week, panel_format, window, lost)
    keep("panel", panel_path, panel, bad_panel)
    warn_same_week(panel_path, bad_panel)
    warn_case_twins(panel_path, panel)
    if products is None:
        tables["products"], rejected["products"] = products_from_panel(panel), pl.DataFrame()
    else:
        tables["products"] = with_first_seen(products, panel)
    known = tables["products"]["product_id"]

    for table, reader in (("reviews", ingest_reviews), ("relations", ingest_relations)):
        if files.get(table):
            path = Path(files[table])
            mapping, fmt = mappings[table]
            accepted, bad = reader(read_mapped(path, table, mapping), known, fmt, window, lost)
            keep(table, path, accepted, bad)
        else:
            tables[table] = pl.DataFrame(schema=REVIEWS if table == "reviews" else RELATIONS)
            rejected[table] = pl.DataFrame()
    if lost is not None and lost.height:
        warn_lost(Path(files["products"]), lost, accounting)
    return tables, rejected, accounting


def warn_same_week(path: Path, bad: pl.DataFrame) -> None:
    """One warning for panel rows quarantined as another row of their product's week: daily data, whose sales would
    otherwise look like a few duplicates."""
    same = bad.filter(pl.col(REASON).str.starts_with(SAME_WEEK)) if bad.height else bad
    if same.height:
        log.warning("%s: %d row(s) fall in a week that already has a row of their product (first: source row %d), so they "
                    "were quarantined: the panel must be weekly, one row per product and week; sum your rows per week",
                    path, same.height, same[SOURCE_ROW][0])


def warn_case_twins(path: Path, panel: pl.DataFrame) -> None:
    """One warning for product ids that differ from another only in letter case ('sku1' and 'SKU1'): kept as different
    products, as written, but a spreadsheet that changed the case of some keys splits one product's sales in two."""
    ids = panel.select(pl.col("product_id").unique())
    twins = ids.filter(pl.col("product_id").str.to_lowercase().is_duplicated()).sort("product_id")["product_id"]
    if twins.len():
        lower = twins.str.to_lowercase()
        first = twins.filter(lower == lower[0]).to_list()
        log.warning("%s: %d product ids differ from another only in letter case (e.g. %s); they are kept as different "
                    "products: if they are one, write them alike", path, twins.len(), " and ".join(map(repr, first)))


def warn_lost(path: Path, lost: pl.DataFrame, accounting: dict[str, Accounting]) -> None:
    """One warning for products quarantined in the products file, with what they cost: their rows in the other files."""
    marker = f"'s {quarantined_in(path)}"
    cost = sum(n for table, acc in accounting.items() if table != "products" for reason, n in acc.quarantined.items() if marker in reason)
    log.warning("%s: %d product(s) were quarantined there (e.g. %r: %s), and %d row(s) of the panel, reviews and relations "
                "with them; fix those rows of the products file", path, lost.height, lost["product_id"][0], lost["why"][0], cost)
