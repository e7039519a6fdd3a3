"""Ingestion: validation reasons, quarantine accounting and clear errors, on hand-made files."""

from __future__ import annotations

import json

import polars as pl
import pytest

from hotseller.ingest import generic, write_outputs
from hotseller.ingest.contract import IngestError

# The reasons as a user reads them, written out (not taken from the code under test).
NOT_A_WEEK = 'week is not a date (YYYY-MM-DD); declare the file\'s format with columns.panel.date_format, e.g. "%d/%m/%Y" or "excel"'
NOT_A_TS = ('ts is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS); declare the file\'s format with columns.reviews.date_format, '
            'e.g. "%d/%m/%Y" or "excel"')

PANEL_CSV = """product_id,week,units,revenue,price
A,2024-01-01,3,30,10
A,2024-01-08,-1,0,10
,2024-01-08,2,20,10
B,2024-13-01,1,10,10
B,2024-01-03,x,10,10
B,2024-01-10,2,,11
B,2024-01-10,5,55,11
C,2024-01-01,1,10,0
D,2024-01-01,1,10,10
A,2024-01-15,inf,10,10
"""
PRODUCTS_CSV = """product_id,category,seller,weight_g,color
A,toys,s1,120,red
B,toys,s2,,blue
C,books,,300,green
C,books,,300,green
"""
REVIEWS_CSV = """product_id,ts,rating,text
A,2024-01-02 10:00:00,5,great
B,2024-01-03,6,too good
Z,2024-01-03,4,unknown product
A,yesterday,3,bad date
"""


@pytest.fixture
def raw(tmp_path):
    for name, text in (("panel.csv", PANEL_CSV), ("products.csv", PRODUCTS_CSV), ("reviews.csv", REVIEWS_CSV)):
        (tmp_path / name).write_text(text)
    return tmp_path


def run(raw, **files):
    paths = {"panel": raw / "panel.csv", "products": raw / "products.csv", "reviews": raw / "reviews.csv", **files}
    return generic.ingest(paths, {})


def test_each_bad_row_is_quarantined_with_its_reason_and_source_row(raw):
    tables, rejected, accounting = run(raw)
    reasons = dict(rejected["panel"].select("source_row", "reason").iter_rows())
    assert reasons == {
        2: "units is below 0",
        3: "product_id is missing",
        4: NOT_A_WEEK,
        5: "units is not a number",
        7: "duplicate key (product_id, week)",
        8: "price is not above 0",
        9: "product_id is not a known product",
        10: "units is not finite",
    }
    # Quarantined rows keep the text that was in the file.
    assert rejected["panel"].filter(pl.col("source_row") == 5)["units"].item() == "x"
    panel = tables["panel"]
    assert panel.select("product_id", "units").rows() == [("A", 3.0), ("B", 2.0)]
    # A missing revenue is completed as units * price; weeks are Mondays.
    assert panel.filter(pl.col("product_id") == "B")["revenue"].item() == 22.0
    assert panel["week"].cast(pl.String).to_list() == ["2024-01-01", "2024-01-08"]


def test_accounting_adds_up_for_every_file(raw, tmp_path):
    tables, rejected, accounting = run(raw)
    write_outputs(tmp_path / "out", tables, rejected, accounting)
    report = json.loads((tmp_path / "out" / "accounting.json").read_text())
    assert report["panel"]["read"] == 10 and report["panel"]["accepted"] == 2
    assert report["products"] == {"file": str(raw / "products.csv"), "table": "products", "read": 4, "accepted": 3,
                                  "quarantined": {"duplicate key (product_id)": 1}}
    assert report["reviews"]["quarantined"] == {"product_id is not a known product": 1, "rating is outside 1..5": 1,
                                                NOT_A_TS: 1}
    for table in ("panel", "products", "reviews"):
        entry = report[table]
        assert entry["read"] == entry["accepted"] + sum(entry["quarantined"].values())
        assert pl.read_parquet(tmp_path / "out" / f"quarantine_{table}.parquet").height == sum(entry["quarantined"].values())
    assert report["total"]["read"] == 18


def test_products_get_numeric_attributes_and_first_seen_week(raw):
    tables, _, _ = run(raw)
    products = tables["products"]
    assert "attr_weight_g" in products.columns and "attr_color" not in products.columns
    first = dict(products.select("product_id", "first_seen_week").iter_rows())
    assert str(first["A"]) == "2024-01-01" and str(first["B"]) == "2024-01-08" and first["C"] is None


def test_missing_file_names_the_file(raw):
    with pytest.raises(IngestError, match=r"nope\.csv: file not found \(expected the panel table\)"):
        generic.ingest({"panel": raw / "nope.csv"}, {})


def test_missing_column_names_file_column_and_what_was_found(raw):
    (raw / "bad.csv").write_text("product_id,date,units\nA,2024-01-01,1\n")
    with pytest.raises(IngestError, match=r"bad\.csv: missing column\(s\) \['week'\] for the panel table; found \['product_id', 'date', 'units'\]"):
        generic.ingest({"panel": raw / "bad.csv"}, {})


def test_column_mapping_reads_the_seed_style_panel(raw):
    (raw / "enhanced_panel.csv").write_text("asin,week_start,sales\nA,2024-01-03,4\nB,2024-01-10,1\n")
    tables, rejected, accounting = generic.ingest(
        {"panel": raw / "enhanced_panel.csv"}, {"panel": {"product_id": "asin", "week": "week_start", "units": "sales"}}
    )
    assert tables["panel"].select("product_id", "units").rows() == [("A", 4.0), ("B", 1.0)]
    assert tables["products"]["category"].to_list() == ["unknown", "unknown"]
    assert accounting["panel"].read == 2


def test_empty_file_is_a_clear_error(raw):
    (raw / "empty.csv").write_text("")
    with pytest.raises(IngestError, match="file is empty"):
        generic.ingest({"panel": raw / "empty.csv"}, {})


def test_synthetic_bad_rows_are_all_caught(tiny_market, tiny_tables):
    """The generator appends corrupt copies of a few rows (synth.corrupt_panel: units -3, week 2023-13-45, no
    product_id, price abc). Found in the raw text here, they are exactly the rows quarantined, each for its fault."""
    accounting = json.loads((tiny_tables / "accounting.json").read_text())
    raw = pl.read_csv(tiny_market / "panel.csv", infer_schema=False).with_columns(source_row=pl.int_range(1, pl.len() + 1, dtype=pl.UInt32))
    fault = (pl.when(pl.col("units") == "-3").then(pl.lit("units is below 0"))
             .when(pl.col("week") == "2023-13-45").then(pl.lit("week is not a date"))
             .when(pl.col("product_id").is_null()).then(pl.lit("product_id is missing"))
             .when(pl.col("price") == "abc").then(pl.lit("price is not a number")))
    bad = raw.with_columns(fault=fault).filter(pl.col("fault").is_not_null()).select("source_row", "fault")
    assert bad.height > 0 and bad["fault"].n_unique() == 4
    assert bad["source_row"].to_list() == list(range(raw.height - bad.height + 1, raw.height + 1))  # appended, never substituted
    quarantined = pl.read_parquet(tiny_tables / "quarantine_panel.parquet").sort("source_row")
    assert quarantined["source_row"].to_list() == bad["source_row"].to_list()
    assert all(reason.startswith(f) for reason, f in zip(quarantined["reason"], bad["fault"]))
    assert sum(accounting["panel"]["quarantined"].values()) == bad.height
    assert accounting["panel"]["accepted"] == raw.height - bad.height
