"""The olist adapter: the Brazilian E-Commerce Public Dataset by Olist, in its published CSV files.

Seven files of the release are read from one folder (the payments and geolocation files are not needed).
Each file is validated on its own first (keys, types, ranges, duplicates); then order items and reviews
are checked against the files they refer to (their order, product and seller must be there and accepted).
A row that fails lands in quarantine with the first reason and its source row; each file has its own
accounting entry. An order's status is validated but decides nothing: the release holds each order's final
status only, so dropping the orders later cancelled would let hindsight into every past week.

What the standard tables hold (docs/adapters.md has the full account):
- panel: one row per product and week in which it was ordered (purchase time), units = order items, revenue =
  item prices, price = mean item price, freight = freight charged; weeks without orders have no row.
- reviews: each review of an order, once per distinct product of that order, at its answer time.
- products: every accepted product, category translated to English, seller = the seller of its earliest
  ordered item, numeric attributes as attr_*, listed from its first order.
- relations: co_purchase between products of one order; repeat_customer between products one customer
  (customer_unique_id) bought in different orders, known at the later purchase.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hotseller.ingest.contract import (
    ATTR_PREFIX,
    PANEL,
    RELATIONS,
    REVIEWS,
    SOURCE_ROW,
    Accounting,
    Check,
    IngestError,
    account,
    conform,
    exact_sum,
    judge,
    missing_text,
    not_utf8,
    number_checks,
    parse_float,
    unparseable,
    value,
)
from hotseller.ingest.dates import DateWindow, date_window, parse_datetime, timestamp_checks
from hotseller.ingest.files import collect_file, invalid_utf8, require_columns, scan_text
from hotseller.ingest.generic import with_first_seen
from hotseller.ingest.relations import co_purchases, repeat_customers
from hotseller.weeks import week_start

FILES = {
    "orders": "olist_orders_dataset.csv",
    "items": "olist_order_items_dataset.csv",
    "reviews": "olist_order_reviews_dataset.csv",
    "products": "olist_products_dataset.csv",
    "sellers": "olist_sellers_dataset.csv",
    "customers": "olist_customers_dataset.csv",
    "categories": "product_category_name_translation.csv",
}
REQUIRED = {
    "orders": ["order_id", "customer_id", "order_status", "order_purchase_timestamp"],
    "items": ["order_id", "order_item_id", "product_id", "seller_id", "price", "freight_value"],
    "reviews": ["review_id", "order_id", "review_score", "review_answer_timestamp"],
    "products": ["product_id", "product_category_name"],
    "sellers": ["seller_id"],
    "customers": ["customer_id", "customer_unique_id"],
    "categories": ["product_category_name", "product_category_name_english"],
}
# The standard table whose quarantine file receives each file's rejected rows.
QUARANTINE_TABLE = {"orders": "panel", "items": "panel", "reviews": "reviews", "products": "products",
                    "sellers": "products", "categories": "products", "customers": "relations"}

# Every order counts as demand on its purchase week, whatever its status: the release holds the final status
# only, and at a cutoff an order later `canceled` or `unavailable` (cancelled for lack of stock: unmet demand)
# looked like any other. Status is still validated, so a file of another shape is caught.
ORDER_STATUSES = ("created", "approved", "invoiced", "processing", "shipped", "delivered", "canceled", "unavailable")

# Numeric product attributes, with the release's misspellings mapped to readable attr_ names.
ATTRIBUTES = {
    "product_name_lenght": "name_length", "product_description_lenght": "description_length",
    "product_photos_qty": "photos_qty", "product_weight_g": "weight_g", "product_length_cm": "length_cm",
    "product_height_cm": "height_cm", "product_width_cm": "width_cm",
}
MAX_PRICE = 1e6  # BRL per item; the full release's dearest item is 6,735
MAX_ATTRIBUTE = 1e6
HINT = "The olist adapter expects the files and columns of the original Kaggle release (olistbr/brazilian-ecommerce)."


@dataclass
class Judged:
    """One source file after validation: typed accepted rows, raw quarantined rows, their accounting."""

    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    accounting: Accounting


def read(folder: Path, part: str) -> tuple[Path, pl.LazyFrame]:
    """Scan one file of the release as text, failing clearly if it or a needed column is missing."""
    path = folder / FILES[part]
    raw = scan_text(path, f"olist {part}")
    require_columns(raw, REQUIRED[part], path, f"olist {part}", HINT)
    return path, raw


def validate(
    folder: Path, part: str, parsed: dict[str, pl.Expr], checks: list[Check], unique_keys: list[str],
    lookups: list[tuple[pl.LazyFrame, str]] = (),
) -> Judged:
    """Judge one file: its own checks plus checks against `lookups` (id tables joined on a raw column)."""
    path, raw = read(folder, part)
    columns = raw.collect_schema().names()
    for table, column in lookups:
        key = table.collect_schema().names()[0]
        raw = raw.with_columns(pl.col(column).str.strip_chars().alias(key)).join(table, on=key, how="left", maintain_order="left")
    encoding = [not_utf8([c for c in columns if c != SOURCE_ROW])] if invalid_utf8(path) else []
    judged = judge(raw, parsed, [*encoding, *checks], unique_keys)
    accepted, quarantined = collect_file(path, judged.accepted(list(parsed)), judged.quarantined(columns))
    return Judged(accepted, quarantined, account(path, accepted, quarantined, QUARANTINE_TABLE[part]))


def id_table(judged: Judged, key: str, name: str) -> pl.LazyFrame:
    """Every id a file holds, accepted or not: `__<name>` (the join key) and `__<name>_ok` (an accepted row
    has it), so a referring row can say which of the two failed."""
    seen = pl.concat([judged.accepted.select(key), judged.quarantined.select(pl.col(key).str.strip_chars())])
    ok = judged.accepted.select(key, pl.lit(True).alias(f"__{name}_ok"))
    return (
        seen.drop_nulls().unique().join(ok, on=key, how="left").rename({key: f"__{name}"})
        .with_columns(pl.lit(True).alias(f"__{name}_in_file")).lazy()
    )


def reference_checks(name: str, column: str, part: str) -> list[Check]:
    """A referring row's id must be in the referred file and accepted there."""
    return [
        Check(f"{column} is not in {FILES[part]}", pl.col(f"__{name}_in_file").is_null()),
        Check(f"{column} refers to a quarantined row of {FILES[part]}", pl.col(f"__{name}_ok").is_null()),
    ]


def orders_window(folder: Path) -> DateWindow | None:
    """The plausible date range (dates.date_window) from the weeks of the orders' purchase times.

    Orders are what the panel is made of, so their weeks stand in for the panel's; one extra pass over a
    single column of the orders file.
    """
    path, raw = read(folder, "orders")
    (weeks,) = collect_file(path, raw.select(week_start(parse_datetime("order_purchase_timestamp"))))
    return date_window(weeks.to_series())


def window_checks(name: str, window: DateWindow | None) -> list[Check]:
    return [window.check(name)] if window is not None else []


def validate_orders(folder: Path, window: DateWindow | None = None) -> Judged:
    parsed = {
        "order_id": pl.col("order_id").str.strip_chars(),
        "customer_id": pl.col("customer_id").str.strip_chars(),
        "order_status": pl.col("order_status").str.strip_chars().str.to_lowercase(),
        "order_purchase_timestamp": parse_datetime("order_purchase_timestamp"),
    }
    checks = [
        Check("order_id is missing", missing_text("order_id")),
        Check("customer_id is missing", missing_text("customer_id")),
        Check("order_status is missing", missing_text("order_status")),
        Check(f"order_status is not one of {', '.join(ORDER_STATUSES)}", ~value("order_status").is_in(ORDER_STATUSES)),
        *timestamp_checks("order_purchase_timestamp"),
        *window_checks("order_purchase_timestamp", window),
    ]
    return validate(folder, "orders", parsed, checks, ["order_id"])


def validate_keyed(folder: Path, part: str, key: str, others: list[str]) -> Judged:
    """A file whose rows are an id and text values that must be present (sellers, customers, categories)."""
    parsed = {c: pl.col(c).str.strip_chars() for c in (key, *others)}
    checks = [Check(f"{c} is missing", missing_text(c)) for c in (key, *others)]
    return validate(folder, part, parsed, checks, [key])


def validate_products(folder: Path) -> Judged:
    _, raw = read(folder, "products")
    present = [c for c in ATTRIBUTES if c in raw.collect_schema().names()]
    parsed = {
        "product_id": pl.col("product_id").str.strip_chars(),
        "product_category_name": pl.col("product_category_name").str.strip_chars(),
        **{c: parse_float(c) for c in present},
    }
    checks = [Check("product_id is missing", missing_text("product_id"))]
    for c in present:
        checks += number_checks(c, required=False, maximum=MAX_ATTRIBUTE)
    return validate(folder, "products", parsed, checks, ["product_id"])


def validate_items(folder: Path, orders: Judged, products: Judged, sellers: Judged) -> Judged:
    parsed = {
        "order_id": pl.col("order_id").str.strip_chars(),
        "order_item_id": parse_float("order_item_id"),
        "product_id": pl.col("product_id").str.strip_chars(),
        "seller_id": pl.col("seller_id").str.strip_chars(),
        "price": parse_float("price"),
        "freight_value": parse_float("freight_value"),
    }
    checks = [
        Check("order_id is missing", missing_text("order_id")),
        *number_checks("order_item_id", required=True, minimum=1, whole=True, maximum=MAX_ATTRIBUTE),
        Check("product_id is missing", missing_text("product_id")),
        Check("seller_id is missing", missing_text("seller_id")),
        *number_checks("price", required=True, strictly=True, maximum=MAX_PRICE),
        *number_checks("freight_value", required=True, maximum=MAX_PRICE),
        *reference_checks("order", "order_id", "orders"),
        *reference_checks("product", "product_id", "products"),
        *reference_checks("seller", "seller_id", "sellers"),
    ]
    lookups = [
        (id_table(orders, "order_id", "order"), "order_id"),
        (id_table(products, "product_id", "product"), "product_id"),
        (id_table(sellers, "seller_id", "seller"), "seller_id"),
    ]
    return validate(folder, "items", parsed, checks, ["order_id", "order_item_id"], lookups)


def validate_reviews(folder: Path, orders: Judged, items: Judged, window: DateWindow | None = None) -> Judged:
    sold_orders = items.accepted.select(pl.col("order_id").alias("__sold"), pl.lit(True).alias("__sold_ok")).unique()
    _, raw = read(folder, "reviews")
    present = raw.collect_schema().names()
    parsed = {
        "review_id": pl.col("review_id").str.strip_chars(),
        "order_id": pl.col("order_id").str.strip_chars(),
        "review_score": parse_float("review_score"),
        "review_answer_timestamp": parse_datetime("review_answer_timestamp"),
        # Title and message are optional in the release and often empty.
        **{c: pl.col(c).str.strip_chars() if c in present else pl.lit(None, pl.String)
           for c in ("review_comment_title", "review_comment_message")},
    }
    checks = [
        Check("review_id is missing", missing_text("review_id")),
        Check("order_id is missing", missing_text("order_id")),
        Check("review_score is missing", missing_text("review_score")),
        Check("review_score is not a number", unparseable("review_score")),
        Check("review_score is not a whole number from 1 to 5", ~value("review_score").is_in([1.0, 2.0, 3.0, 4.0, 5.0])),
        *timestamp_checks("review_answer_timestamp"),
        *window_checks("review_answer_timestamp", window),
        *reference_checks("order", "order_id", "orders"),
        Check(f"order has no accepted item in {FILES['items']}", pl.col("__sold_ok").is_null()),
    ]
    lookups = [
        (id_table(orders, "order_id", "order"), "order_id"),
        (sold_orders.lazy(), "order_id"),
    ]
    return validate(folder, "reviews", parsed, checks, ["review_id", "order_id"], lookups)


def sold_items(orders: Judged, items: Judged, customers: Judged) -> pl.LazyFrame:
    """Accepted items of every order with its purchase time and the buying person (customer_unique_id)."""
    order_info = orders.accepted.lazy().select("order_id", "customer_id", ts="order_purchase_timestamp")
    people = customers.accepted.lazy().select("customer_id", customer="customer_unique_id")
    return (
        items.accepted.lazy().join(order_info, on="order_id")
        .join(people, on="customer_id", how="left")
        .with_columns(week=week_start(pl.col("ts")))
    )


def build_panel(sold: pl.LazyFrame) -> pl.LazyFrame:
    """Weekly orders per product: a row only in weeks with at least one ordered item."""
    weekly = sold.group_by("product_id", "week").agg(
        units=pl.len().cast(pl.Float64),
        revenue=exact_sum(pl.col("price")),
        freight=exact_sum(pl.col("freight_value")),
    )
    price = pl.col("revenue") / pl.col("units")  # the mean item price
    return conform(weekly.with_columns(price=price, promo=pl.lit(0.0)), PANEL).sort("product_id", "week")


def build_products(products: Judged, categories: Judged, sold: pl.LazyFrame) -> pl.LazyFrame:
    """Products with their English category (Portuguese where the release has no translation) and first seller.

    The seller is the one of the product's earliest ordered item (ties: the lowest seller_id), known from the week the
    product is listed (its first order) on. The seller of most items over the whole release would let later orders
    decide whose ring the product sits in at earlier cutoffs (45 products of the sample when that rule was replaced)."""
    english = categories.accepted.lazy().select("product_category_name", english="product_category_name_english")
    main_seller = (
        sold.sort(["product_id", "ts", "seller_id"])
        .group_by("product_id").agg(seller=pl.col("seller_id").first())
    )
    attrs = [pl.col(c).alias(ATTR_PREFIX + a) for c, a in ATTRIBUTES.items() if c in products.accepted.columns]
    return (
        products.accepted.lazy().join(english, on="product_category_name", how="left")
        .join(main_seller, on="product_id", how="left")
        .select(
            "product_id",
            category=pl.coalesce("english", "product_category_name", pl.lit("unknown")),
            seller="seller",
            first_seen_week=pl.lit(None, pl.Date),
            *attrs,
        )
    )


def build_reviews(reviews: Judged, sold: pl.LazyFrame) -> pl.LazyFrame:
    """Each accepted review once per distinct product of its order; text is title and message joined.

    A review is dated by its answer time, or by its order's purchase time where the release answers it earlier (two
    reviews of the sample, one 39 days before its order): no review can be known before the order it is about."""
    products_of_order = sold.select("order_id", "product_id", ordered="ts").unique()
    text = pl.concat_str(["review_comment_title", "review_comment_message"], separator="\n", ignore_nulls=True)
    return conform(
        reviews.accepted.lazy().join(products_of_order, on="order_id").select(
            "product_id",
            ts=pl.max_horizontal("review_answer_timestamp", "ordered"),
            rating="review_score",
            text=pl.when(text != "").then(text),
            helpful_votes=pl.lit(None, pl.Float64),
        ),
        REVIEWS,
    ).sort("ts", "product_id")


def build_relations(sold: pl.LazyFrame) -> pl.LazyFrame:
    purchases = sold.select(basket="order_id", product_id="product_id", ts="ts", customer="customer")
    relations = pl.concat([co_purchases(purchases), repeat_customers(purchases)])
    return conform(relations, RELATIONS).sort("ts", "src", "dst", "kind")


def ingest(folder: Path) -> tuple[dict, dict, dict]:
    """Run the olist adapter on the release's folder; return (standard tables, quarantine, accounting)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(f"{folder}: folder not found (expected the olist release's CSV files: {', '.join(FILES.values())})")
    window = orders_window(folder)
    orders = validate_orders(folder, window)
    products = validate_products(folder)
    sellers = validate_keyed(folder, "sellers", "seller_id", [])
    customers = validate_keyed(folder, "customers", "customer_id", ["customer_unique_id"])
    categories = validate_keyed(folder, "categories", "product_category_name", ["product_category_name_english"])
    items = validate_items(folder, orders, products, sellers)
    reviews = validate_reviews(folder, orders, items, window)
    judged = {"orders": orders, "items": items, "reviews": reviews, "products": products, "sellers": sellers,
              "customers": customers, "categories": categories}

    sold = sold_items(orders, items, customers)
    panel, product_table, review_table, relations = pl.collect_all(
        [build_panel(sold), build_products(products, categories, sold), build_reviews(reviews, sold), build_relations(sold)]
    )
    tables = {"panel": panel, "reviews": review_table, "products": with_first_seen(product_table, panel), "relations": relations}
    rejected = {FILES[part]: j.quarantined for part, j in judged.items()}
    accounting = {FILES[part]: j.accounting for part, j in judged.items()}
    return tables, rejected, accounting
