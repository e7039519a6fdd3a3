"""The bad-input corpus: each malformed file has one exact outcome, a clear error or named quarantined rows.

Files live in tests/bad_inputs/: online_retail/<case>.csv are whole inputs; olist/<case>/ holds the files
that replace their namesakes in the valid mini release olist/base/. For a case that reads, the test pins
every quarantined row (file, source row, reason), the accepted count, and read = accepted + quarantined.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from hotseller.ingest import generic, olist, online_retail, write_outputs
from hotseller.ingest.contract import NOT_UTF8, IngestError

CORPUS = Path(__file__).parent / "bad_inputs"
OUTSIDE = "InvoiceDate is outside 1990-01-01 .. 2100-01-01"
QUARANTINED_ORDER = "order_id refers to a quarantined row of olist_orders_dataset.csv"
NO_ITEM = "order has no accepted item in olist_order_items_dataset.csv"
ORDERS, ITEMS, REVIEWS = "olist_orders_dataset.csv", "olist_order_items_dataset.csv", "olist_order_reviews_dataset.csv"
PRODUCTS, SELLERS = "olist_products_dataset.csv", "olist_sellers_dataset.csv"


def quarantine_map(rejected: dict[str, pl.DataFrame]) -> dict[tuple[str, int], str]:
    return {(name, row): reason for name, frame in rejected.items() if frame.height
            for row, reason in frame.select("source_row", "reason").iter_rows()}


def assert_adds_up(accounting: dict, rejected: dict[str, pl.DataFrame]) -> None:
    for name, acc in accounting.items():
        assert acc.read == acc.accepted + sum(acc.quarantined.values()), name
        assert sum(acc.quarantined.values()) == rejected[name].height, name


# --- online_retail: one file per case -------------------------------------------------------------

RETAIL_ERRORS = {
    "empty": r"empty\.csv: file is empty \(expected the online_retail invoice lines table with a header row\)",
    "wrong_delimiter": r"wrong_delimiter\.csv: missing column\(s\) \['InvoiceNo', .*\] for the online_retail invoice lines table; found \['InvoiceNo;StockCode;.*'\]\. "
                       r"The header was read as one column .* is the file delimited by something other than ','\?",
    "missing_column": r"missing_column\.csv: missing column\(s\) \['UnitPrice'\] for the online_retail invoice lines table; "
                      r"found \['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'CustomerID', 'Country'\]",
    "ragged": r"ragged\.csv: cannot be parsed as CSV \(found more fields than defined in 'Schema'\); "
              r"line 3 \(9 fields, the header 8\) has more fields than the header",
    "truncated_in_quote": r"truncated_in_quote\.csv: cannot be parsed as CSV .*a quoted field never closes: the file may be cut short",
}
RETAIL_ERROR_FILES = {"not_a_workbook": ("not_a_workbook.xlsx", r"not_a_workbook\.xlsx: cannot be read as a workbook")}

# case: (accepted lines, {source_row: reason})
RETAIL_OUTCOMES = {
    "header_only": (0, {}),
    "truncated": (2, {3: "InvoiceDate is not a timestamp"}),
    "wrong_types": (1, {1: "Quantity is not a number", 2: "UnitPrice is not a number", 3: "InvoiceDate is not a timestamp",
                        4: "Quantity is not a whole number"}),
    "nulls_in_keys": (1, {1: "InvoiceNo is missing", 2: "StockCode is missing", 3: "Quantity is missing",
                          4: "InvoiceDate is missing", 5: "UnitPrice is missing", 6: "InvoiceNo is missing"}),
    # A blank line is a record of nulls: it is counted and quarantined, and later rows keep their numbers.
    "blank_line": (2, {2: "InvoiceNo is missing"}),
    # Duplicates are judged on parsed values: ' 85123A ' and 2.550 repeat line 1; another quantity does not.
    "duplicates": (2, {2: "duplicate line (same invoice, product, quantity, time, price and customer as an earlier line)",
                       4: "duplicate line (same invoice, product, quantity, time, price and customer as an earlier line)"}),
    "dates_out_of_range": (1, {1: OUTSIDE, 2: OUTSIDE, 3: "InvoiceDate is not a timestamp"}),
    "non_utf8": (1, {2: NOT_UTF8, 3: NOT_UTF8}),
    # 80,995 units is the real record line of the full data and stays.
    "huge_values": (1, {1: "Quantity is above 1,000,000", 2: "UnitPrice is not finite", 3: "UnitPrice is above 1,000,000",
                        5: "Quantity is not finite"}),
    "prices": (1, {1: "UnitPrice is not above 0", 2: "UnitPrice is not above 0", 3: "non-product code: bad debt adjustment"}),
    # DCGS0070 and PADS are products with odd codes (PADS at a price of 0.001), so they stay.
    "non_product": (2, {**{r: "non-product code: postage" for r in (1, 2, 3)}, 4: "non-product code: manual",
                        5: "non-product code: manual", 6: "non-product code: discount", 7: "non-product code: samples",
                        8: "non-product code: bank charges", 9: "non-product code: fees", 10: "non-product code: fees",
                        11: "non-product code: gift voucher"}),
    "returns": (4, {4: "InvoiceNo is a cancellation (C...) but Quantity is positive", 5: "Quantity is zero"}),
    "bom_crlf": (2, {}),
}


@pytest.mark.parametrize("case", sorted(RETAIL_ERRORS))
def test_online_retail_unreadable_file_is_one_clear_error(case):
    with pytest.raises(IngestError, match=RETAIL_ERRORS[case]):
        online_retail.ingest(CORPUS / "online_retail" / f"{case}.csv")


@pytest.mark.parametrize("case", sorted(RETAIL_ERROR_FILES))
def test_online_retail_unreadable_workbook_is_one_clear_error(case):
    name, message = RETAIL_ERROR_FILES[case]
    with pytest.raises(IngestError, match=message):
        online_retail.ingest(CORPUS / "online_retail" / name)


def test_online_retail_missing_workbook_names_it(tmp_path):
    with pytest.raises(IngestError, match=r"Online Retail\.xlsx: file not found \(expected the online_retail invoice lines\)"):
        online_retail.ingest(tmp_path / "Online Retail.xlsx")


@pytest.mark.parametrize("case", sorted(RETAIL_OUTCOMES))
def test_online_retail_bad_rows_are_quarantined_exactly(case):
    path = CORPUS / "online_retail" / f"{case}.csv"
    accepted, expected = RETAIL_OUTCOMES[case]
    tables, rejected, accounting = online_retail.ingest(path)
    assert quarantine_map(rejected) == {(path.name, row): reason for row, reason in expected.items()}
    assert accounting[path.name].accepted == accepted
    assert_adds_up(accounting, rejected)
    # Quarantined rows keep the file's text, not a parsed value.
    if expected:
        assert rejected[path.name].schema["UnitPrice"] == pl.String


def test_online_retail_bom_and_crlf_are_read_cleanly():
    tables, _, _ = online_retail.ingest(CORPUS / "online_retail" / "bom_crlf.csv")
    assert tables["panel"].select("product_id", "units").sort("product_id").rows() == [("71053", 6.0), ("85123A", 6.0)]


def test_online_retail_returns_are_a_column_not_netted():
    tables, _, _ = online_retail.ingest(CORPUS / "online_retail" / "returns.csv")
    rows = tables["panel"].select("week", "units", "returns", "price").rows()
    # Week of 2010-11-29: 6 sold, 2 + 1 returned (a C invoice and a plain negative line); next week 3 returned.
    # Price is revenue / units: 6 x 2.55 sums exactly to 15.3, and 15.3 / 6 is the float 2.5500000000000003.
    assert [(str(w), u, r, p) for w, u, r, p in rows] == [("2010-11-29", 6.0, 3.0, 15.3 / 6), ("2010-12-06", 0.0, 3.0, None)]


# --- olist: a replacement file or two over the valid mini release ---------------------------------

# Quarantined rows of the valid base itself: the review of an order without items (o5, cancelled for lack of
# stock before anything was added). The cancelled order o3 and its review count: status decides nothing.
BASE = {(REVIEWS, 5): NO_ITEM}

OLIST_ERRORS = {
    "missing_column": r"olist_order_items_dataset\.csv: missing column\(s\) \['freight_value'\] for the olist items table; "
                      r"found \['order_id', .*'price'\]\. The olist adapter expects the files and columns of the original",
    "empty_file": r"olist_order_reviews_dataset\.csv: file is empty \(expected the olist reviews table with a header row\)",
    "truncated_in_quote": r"olist_order_reviews_dataset\.csv: cannot be parsed as CSV .*a quoted field never closes",
}

# case: (quarantined rows beyond or instead of BASE (None removes a BASE entry), accepted per file that differs)
OLIST_OUTCOMES = {
    "header_only": ({(REVIEWS, 1): NO_ITEM, (REVIEWS, 2): NO_ITEM, (REVIEWS, 3): NO_ITEM, (REVIEWS, 4): NO_ITEM},
                    {ITEMS: 0, REVIEWS: 0}),
    "nulls_in_keys": ({(ORDERS, 4): "customer_id is missing", (ORDERS, 5): "order_id is missing",
                       (ORDERS, 6): "order_status is missing", (ITEMS, 2): "product_id is missing",
                       (ITEMS, 4): "order_item_id is missing", (ITEMS, 6): "seller_id is missing",
                       (REVIEWS, 4): QUARANTINED_ORDER, (REVIEWS, 5): "order_id is not in olist_orders_dataset.csv"},
                      {ORDERS: 3, ITEMS: 3, REVIEWS: 3}),
    # The first copy of a key wins; the later copy goes, whatever it holds.
    "duplicate_keys": ({(ORDERS, 6): "duplicate key (order_id)", (ITEMS, 7): "duplicate key (order_id, order_item_id)",
                        (SELLERS, 3): "duplicate key (seller_id)"}, {ORDERS: 5, ITEMS: 6, SELLERS: 2}),
    "dates_out_of_range": ({(ORDERS, 2): "order_purchase_timestamp is not a timestamp",
                            (ORDERS, 4): "order_purchase_timestamp is outside 1990-01-01 .. 2100-01-01",
                            (ITEMS, 3): QUARANTINED_ORDER, (ITEMS, 4): QUARANTINED_ORDER, (ITEMS, 6): QUARANTINED_ORDER,
                            (REVIEWS, 1): "review_answer_timestamp is outside 1990-01-01 .. 2100-01-01",
                            (REVIEWS, 2): QUARANTINED_ORDER, (REVIEWS, 4): QUARANTINED_ORDER},
                           {ORDERS: 3, ITEMS: 3, REVIEWS: 1}),
    # An order whose customer is not in the customers file (o7) still counts: the customer only links orders.
    "unknown_ids": ({(ITEMS, 7): "product_id is not in olist_products_dataset.csv",
                     (ITEMS, 8): "seller_id is not in olist_sellers_dataset.csv",
                     (ITEMS, 9): "order_id is not in olist_orders_dataset.csv",
                     (REVIEWS, 6): "order_id is not in olist_orders_dataset.csv"}, {ORDERS: 6, ITEMS: 6, REVIEWS: 4}),
    "ratings": ({(REVIEWS, 1): "review_score is not a whole number from 1 to 5",
                 (REVIEWS, 2): "review_score is not a whole number from 1 to 5",
                 (REVIEWS, 3): "review_score is not a whole number from 1 to 5",
                 (REVIEWS, 4): "review_score is not a number", (REVIEWS, 5): "review_score is missing",
                 (REVIEWS, 6): "review_score is not a whole number from 1 to 5"}, {REVIEWS: 1}),
    "non_utf8": ({(REVIEWS, 2): NOT_UTF8, (REVIEWS, 3): NOT_UTF8, (REVIEWS, 5): None}, {REVIEWS: 1}),
    "non_utf8_keys": ({(PRODUCTS, 4): NOT_UTF8}, {PRODUCTS: 3}),
    "negative_prices": ({(ITEMS, 1): "price is not above 0", (ITEMS, 2): "price is not above 0",
                         (ITEMS, 3): "freight_value is below 0", (ITEMS, 5): "price is above 1,000,000",
                         (REVIEWS, 1): NO_ITEM, (REVIEWS, 3): NO_ITEM, (REVIEWS, 4): NO_ITEM}, {ITEMS: 1, REVIEWS: 1}),
    # Status is read case-blind (DELIVERED is delivered); an unknown one quarantines the order and what refers to it.
    "unknown_status": ({(ORDERS, 2): "order_status is not one of created, approved, invoiced, processing, shipped, "
                                     "delivered, canceled, unavailable",
                        (ITEMS, 3): QUARANTINED_ORDER, (ITEMS, 4): QUARANTINED_ORDER, (REVIEWS, 2): QUARANTINED_ORDER},
                       {ORDERS: 4, ITEMS: 4, REVIEWS: 3}),
    # A product with a bad attribute is quarantined, and its items say why they cannot be placed.
    "wrong_types": ({(PRODUCTS, 2): "product_weight_g is not a number", (PRODUCTS, 4): "product_weight_g is below 0",
                     (ITEMS, 2): "product_id refers to a quarantined row of olist_products_dataset.csv",
                     (ITEMS, 4): "order_item_id is not a number", (ITEMS, 6): "price is not a number",
                     (REVIEWS, 4): NO_ITEM}, {PRODUCTS: 2, ITEMS: 3, REVIEWS: 3}),
}


def olist_folder(tmp_path: Path, case: str) -> Path:
    folder = tmp_path / "olist"
    shutil.copytree(CORPUS / "olist" / "base", folder)
    for replacement in (CORPUS / "olist" / case).iterdir():
        shutil.copy(replacement, folder / replacement.name)
    return folder


def test_olist_base_is_valid_apart_from_an_order_without_items():
    tables, rejected, accounting = olist.ingest(CORPUS / "olist" / "base")
    assert quarantine_map(rejected) == BASE
    assert_adds_up(accounting, rejected)


@pytest.mark.parametrize("case", sorted(OLIST_ERRORS))
def test_olist_unreadable_file_is_one_clear_error(case, tmp_path):
    with pytest.raises(IngestError, match=OLIST_ERRORS[case]):
        olist.ingest(olist_folder(tmp_path, case))


@pytest.mark.parametrize("case", sorted(OLIST_OUTCOMES))
def test_olist_bad_rows_are_quarantined_exactly(case, tmp_path):
    changes, accepted = OLIST_OUTCOMES[case]
    expected = {key: reason for key, reason in {**BASE, **changes}.items() if reason is not None}
    tables, rejected, accounting = olist.ingest(olist_folder(tmp_path, case))
    assert quarantine_map(rejected) == expected
    base_counts = {ORDERS: 5, ITEMS: 6, REVIEWS: 4, PRODUCTS: 4, SELLERS: 2}
    for name, count in {**base_counts, **accepted}.items():
        assert accounting[name].accepted == count, name
    assert_adds_up(accounting, rejected)


def test_olist_missing_file_names_it(tmp_path):
    folder = olist_folder(tmp_path, "ratings")
    (folder / SELLERS).unlink()
    with pytest.raises(IngestError, match=r"olist_sellers_dataset\.csv: file not found \(expected the olist sellers table\)"):
        olist.ingest(folder)


def test_olist_missing_folder_names_it(tmp_path):
    with pytest.raises(IngestError, match=r"nowhere: folder not found \(expected the olist release's CSV files: olist_orders"):
        olist.ingest(tmp_path / "nowhere")


def test_quarantine_files_gather_every_source_file_with_its_name(tmp_path):
    tables, rejected, accounting = olist.ingest(olist_folder(tmp_path, "wrong_types"))
    write_outputs(tmp_path / "out", tables, rejected, accounting)
    panel_q = pl.read_parquet(tmp_path / "out" / "quarantine_panel.parquet")
    assert panel_q.columns[:3] == ["source_file", "source_row", "reason"]
    assert sorted(set(panel_q["source_file"])) == [ITEMS]
    products_q = pl.read_parquet(tmp_path / "out" / "quarantine_products.parquet")
    assert products_q.select("source_file", "source_row", "product_weight_g").rows() == [(PRODUCTS, 2, "heavy"), (PRODUCTS, 4, "-100")]
    report = json.loads((tmp_path / "out" / "accounting.json").read_text())
    assert report[PRODUCTS]["quarantined"] == {"product_weight_g is below 0": 1, "product_weight_g is not a number": 1}
    assert report["total"]["read"] == report["total"]["accepted"] + report["total"]["quarantined"]


# --- generic: the contract's own format gets the same treatment ---------------------------------------


def test_generic_panel_with_non_utf8_bytes_quarantines_the_row(tmp_path):
    path = tmp_path / "panel.csv"
    path.write_bytes(b"product_id,week,units\nA,2024-01-01,3\nCaf\xe9,2024-01-01,2\n")
    tables, rejected, accounting = generic.ingest({"panel": path}, {})
    assert quarantine_map(rejected) == {("panel", 2): NOT_UTF8}
    assert tables["panel"]["product_id"].to_list() == ["A"]


def test_generic_ragged_panel_is_one_clear_error(tmp_path):
    path = tmp_path / "panel.csv"
    path.write_text("product_id,week,units\nA,2024-01-01,3\nB,2024-01-01,2,9\n")
    with pytest.raises(IngestError, match=r"panel\.csv: cannot be parsed as CSV .*; line 3 \(4 fields, the header 3\) has more fields"):
        generic.ingest({"panel": path}, {})
