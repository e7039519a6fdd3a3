"""Hostile input never takes the pipeline down (issue 19): one hand-written case per rule.

- a date far outside the data's range is quarantined, so the time axis stays that of the good rows;
- nothing accepted stops ingest with one line (file, rows read, top reasons, quarantine file), exit 2;
- a header that names a column twice is refused, naming the column;
- dates in another shape can be declared per table (columns.<table>.date_format), and the reason says how.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl
import pytest

from conftest import cli_main
from hotseller.ingest import generic, olist, online_retail, write_outputs
from hotseller.ingest.contract import IngestError
from hotseller.ingest.dates import FENCE_IQRS, FENCE_MARGIN_WEEKS, date_reason
from hotseller.tables import calendar

CORPUS = Path(__file__).parent / "bad_inputs"
FIRST = dt.date(2023, 1, 2)  # a Monday
N_PRODUCTS, N_WEEKS = 30, 40
FAR = "is far outside the data's range"


def panel_text(rows: list[tuple[str, str, str]] | None = None, typo: tuple[int, str] | None = None) -> str:
    """A clean 30 x 40 panel (1,200 rows), with row `typo[0]` (1-based) given the week text `typo[1]`."""
    rows = rows or [(f"P{p:02d}", str(FIRST + dt.timedelta(weeks=w)), str((p * 7 + w) % 11)) for p in range(N_PRODUCTS) for w in range(N_WEEKS)]
    if typo:
        i, week = typo
        rows[i - 1] = (rows[i - 1][0], week, rows[i - 1][2])
    return "product_id,week,units\n" + "".join(f"{p},{w},{u}\n" for p, w, u in rows)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def assert_adds_up(accounting: dict) -> None:
    for name, acc in accounting.items():
        assert acc.read == acc.accepted + sum(acc.quarantined.values()), name


# --- 1. implausible dates ------------------------------------------------------------------------------


@pytest.mark.parametrize("typo", ["2203-03-06", "1993-03-06", "0203-03-06"])
def test_a_year_typo_is_quarantined_and_the_time_axis_stays_bounded(tmp_path, typo):
    path = write(tmp_path, "panel.csv", panel_text(typo=(37, typo)))
    tables, rejected, accounting = generic.ingest({"panel": path}, {})
    bad = rejected["panel"]
    assert bad["source_row"].to_list() == [37] and bad["week"].to_list() == [typo]
    reason = bad["reason"].item()
    assert re.fullmatch(rf"week {FAR} 202\d-\d\d-\d\d \.\. 202\d-\d\d-\d\d \(the panel's week quartiles widened by "
                        rf"{FENCE_IQRS} IQR \+ {FENCE_MARGIN_WEEKS} weeks\); fix the year or remove the row", reason)
    assert accounting["panel"].read == 1200 and accounting["panel"].accepted == 1199
    assert_adds_up(accounting)
    cal = calendar(tables["panel"].lazy())
    assert (cal.origin, cal.n_weeks) == (FIRST, N_WEEKS)


def test_features_on_a_year_typo_make_the_clean_panels_examples(tmp_path):
    """The issue's case: one far-future row made `features` run past 300 s. Now the row is quarantined and the examples
    are the clean panel's but for that one product-week, so the cost is the clean panel's too (measured in
    benchmarks/hostile.py, not timed here)."""
    from hotseller.features import LabelSpec, build_examples

    made = []
    for name, typo in (("clean", None), ("typo", (5, "2203-01-09"))):
        out = tmp_path / name
        out.mkdir()
        write_outputs(out, *generic.ingest({"panel": write(out, "panel.csv", panel_text(typo=typo))}, {}))
        made.append(build_examples(out / "panel.parquet", out / "reviews.parquet", out / "products.parquet",
                                   LabelSpec(window_weeks=8, horizon_weeks=4, stride_weeks=4)))
    clean, typo = made
    assert typo.select("cutoff", "product_id").equals(clean.select("cutoff", "product_id"))  # same cutoffs, same products
    # Data row 5 is P00's week 4 (4 units): every other product's examples are the clean ones, bit for bit.
    others = pl.col("product_id") != "P00"
    assert typo.filter(others).equals(clean.filter(others))
    # P00 loses those units: its 8-week histories differ only at the cutoffs whose window holds week 4 (7: weeks 0-7,
    # 11: weeks 4-11); no label window (t, t + 4] holds it, so its labels stay.
    mine = [frame.filter(~others).sort("cutoff") for frame in (clean, typo)]
    assert mine[0].select("cutoff", "future_units", "hot").equals(mine[1].select("cutoff", "future_units", "hot"))
    differ = [c for c, a, b in zip(mine[0]["cutoff"], mine[0]["seq"], mine[1]["seq"]) if not a.equals(b)]
    assert differ == [7, 11]


def test_a_small_panel_is_not_stretched_by_its_few_bad_years(tmp_path):
    """Quartiles ignore a quarter of the rows each side: 2 typos in a 10-row panel still cannot stretch it."""
    rows = [("A", str(FIRST + dt.timedelta(weeks=w)), "1") for w in range(10)]
    rows[0] = ("A", "1999-01-04", "1")
    rows[9] = ("A", "2099-01-05", "1")
    tables, rejected, _ = generic.ingest({"panel": write(tmp_path, "panel.csv", panel_text(rows))}, {})
    assert rejected["panel"]["source_row"].to_list() == [1, 10]
    assert calendar(tables["panel"].lazy()).n_weeks == 8


def test_reviews_and_relations_far_outside_the_panel_are_quarantined_and_a_bad_launch_is_read_as_missing(tmp_path, caplog):
    """A review or relation dated in another century is quarantined. A launch date cannot stretch the time axis, and
    quarantining the product would take its 40 weeks of sales with it: a 1970 placeholder (before 1990) or a launch
    after the data's range (a year typo) is read as missing, counted and warned, the product listed from its first
    panel row; a launch years before the panel is real and kept."""
    panel = write(tmp_path, "panel.csv", panel_text())
    products = write(tmp_path, "products.csv", "product_id,first_seen_week\nP00,2022-12-26\nP01,1970-01-05\nP02,2203-01-03\n"
                     "P03,2009-03-02\n" + "".join(f"P{p:02d},\n" for p in range(4, N_PRODUCTS)))
    reviews = write(tmp_path, "reviews.csv", "product_id,ts,rating\nP00,2023-02-01 10:00:00,5\nP02,2230-02-01,4\nP02,2024-06-01,3\n")
    relations = write(tmp_path, "relations.csv", "src,dst,ts\nP00,P02,2023-02-01\nP00,P02,1923-02-01\n")
    files = {"panel": panel, "products": products, "reviews": reviews, "relations": relations}
    with caplog.at_level("WARNING", logger="hotseller.ingest.generic"):
        tables, rejected, accounting = generic.ingest(files, {})
    reasons = {t: dict(rejected[t].select("source_row", "reason").iter_rows()) for t in ("products", "reviews", "relations")}
    assert reasons["products"] == {}
    assert list(reasons["reviews"]) == [2] and reasons["reviews"][2].startswith(f"ts {FAR}")
    assert list(reasons["relations"]) == [2] and reasons["relations"][2].startswith(f"ts {FAR}")
    first_seen = dict(tables["products"].select("product_id", "first_seen_week").iter_rows())
    assert first_seen["P00"] == dt.date(2022, 12, 26) and first_seen["P03"] == dt.date(2009, 3, 2)  # kept: real launches
    assert first_seen["P01"] == first_seen["P02"] == FIRST  # read as missing: listed from their first panel row
    assert accounting["panel"].accepted == N_PRODUCTS * N_WEEKS and accounting["panel"].quarantined == {}
    (missing,) = accounting["products"].missing.items()
    assert missing[0].startswith("first_seen_week is before 1990-01-01 or after 20") and missing[0].endswith("(read as missing)")
    assert missing[1] == 2
    warnings = [r.getMessage() for r in caplog.records if "first_seen_week" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith(f"{products}: 2 first_seen_week value(s) before 1990-01-01")
    assert "(source rows 2, 3)" in warnings[0] and warnings[0].endswith("listed from their first panel row")
    assert_adds_up(accounting)


def test_olist_order_with_a_year_typo_inside_the_fixed_window_is_quarantined(tmp_path):
    import shutil

    folder = tmp_path / "olist"
    shutil.copytree(CORPUS / "olist" / "base", folder)
    orders = folder / "olist_orders_dataset.csv"
    orders.write_text(orders.read_text().replace("2018-01-10 08:00:00", "2081-01-10 08:00:00", 1))
    tables, rejected, accounting = olist.ingest(folder)
    bad = dict(rejected["olist_orders_dataset.csv"].select("source_row", "reason").iter_rows())
    assert bad[4].startswith(f"order_purchase_timestamp {FAR}")
    assert tables["panel"]["week"].max() < dt.date(2019, 1, 1)
    assert_adds_up(accounting)


def test_online_retail_line_with_a_year_typo_is_quarantined(tmp_path):
    lines = (CORPUS / "online_retail" / "base.csv").read_text().splitlines()
    lines[2] = lines[2].replace("2010-12-01", "2081-12-01")
    path = write(tmp_path, "retail.csv", "\n".join(lines) + "\n")
    tables, rejected, accounting = online_retail.ingest(path)
    bad = dict(rejected[path.name].select("source_row", "reason").iter_rows())
    assert bad[2].startswith(f"InvoiceDate {FAR}")
    assert tables["panel"]["week"].max() < dt.date(2012, 1, 1)
    assert_adds_up(accounting)


# --- 2. nothing accepted -----------------------------------------------------------------------------


def test_header_only_panel_stops_with_one_line_after_writing_the_quarantine(tmp_path):
    path = write(tmp_path, "panel.csv", "product_id,week,units\n")
    out = tmp_path / "out"
    with pytest.raises(IngestError) as caught:
        write_outputs(out, *generic.ingest({"panel": path}, {}))
    message = str(caught.value)
    assert message.startswith(f"{path}: no panel row was accepted (0 rows read; the file has a header and no data rows)")
    assert str(out / "quarantine_panel.parquet") in message
    assert (out / "quarantine_panel.parquet").is_file() and (out / "accounting.json").is_file()


def test_all_rows_bad_names_the_top_reasons_with_counts(tmp_path):
    rows = "".join(f"P{i},2023-01-{2 + i:02d},-1\n" for i in range(5)) + "P9,2023-01-02,x\n,2023-01-02,1\nP8,someday,2\n"
    path = write(tmp_path, "panel.csv", "product_id,week,units\n" + rows)
    out = tmp_path / "out"
    with pytest.raises(IngestError) as caught:
        write_outputs(out, *generic.ingest({"panel": path}, {}))
    message = str(caught.value)
    assert message.startswith(f"{path}: no panel row was accepted (8 rows read; top reasons: units is below 0 (5); ")
    assert "; and 1 more)" in message
    report = json.loads((out / "accounting.json").read_text())
    assert report["panel"]["read"] == 8 and report["panel"]["accepted"] == 0
    assert pl.read_parquet(out / "quarantine_panel.parquet").height == 8


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The real command line, in a fresh process, as Snakemake runs it."""
    code = "import sys; from hotseller.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def assert_one_line(code: int, errors: list[str], *fragments: str) -> None:
    assert code == 2 and len(errors) == 1 and "\n" not in errors[0], errors
    for fragment in fragments:
        assert fragment in errors[0]


def test_cli_nothing_accepted_is_exit_2_and_one_line_on_stderr(tmp_path):
    path = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,-3\n")
    result = run_cli("ingest", "--panel", str(path), "--out-dir", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stderr
    for fragment in (str(path), "1 rows read", "units is below 0 (1)", str(tmp_path / "out" / "quarantine_panel.parquet")):
        assert fragment in errors[0]


def test_cli_unreadable_inputs_are_exit_2_and_one_line(tmp_path):
    ragged = write(tmp_path, "ragged.csv", "product_id,week,units\nA,2023-01-02,1\nB,2023-01-02,2,9,9\n")
    assert_one_line(*cli_main("ingest", "--panel", str(ragged), "--out-dir", str(tmp_path / "o1")), "ragged.csv")
    dup = write(tmp_path, "dup.csv", "product_id,week,units, units \nA,2023-01-02,1,2\n")
    assert_one_line(*cli_main("ingest", "--panel", str(dup), "--out-dir", str(tmp_path / "o2")), "'units'")
    ok = write(tmp_path, "ok.csv", "product_id,week,units\nA,03/01/2023,1\n")
    columns = json.dumps({"panel": {"date_format": "dd/mm/yyyy"}})
    assert_one_line(*cli_main("ingest", "--panel", str(ok), "--columns", columns, "--out-dir", str(tmp_path / "o3")),
                    "columns.panel.date_format")
    header_only = write(tmp_path, "header.csv", "product_id,week,units\n")
    assert_one_line(*cli_main("ingest", "--panel", str(header_only), "--out-dir", str(tmp_path / "o4")),
                    "header.csv", "0 rows read")


def test_features_on_an_empty_panel_is_one_line_too(tmp_path):
    """A stage after ingest given an empty panel (e.g. an older ingest output) says so in one line."""
    from hotseller.ingest.contract import PANEL, PRODUCTS, REVIEWS

    for name, schema in (("panel", PANEL), ("reviews", REVIEWS), ("products", PRODUCTS)):
        pl.DataFrame(schema=schema).write_parquet(tmp_path / f"{name}.parquet")
    args = [x for n in ("panel", "reviews", "products") for x in (f"--{n}", str(tmp_path / f"{n}.parquet"))]
    assert_one_line(*cli_main("features", *args, "--out", str(tmp_path / "examples.parquet")), "the panel is empty")


# --- 3. duplicate column names ---------------------------------------------------------------------


@pytest.mark.parametrize(("header", "name"), [("product_id,week,units,units", "units"), ("product_id,week,units, units ", "units"),
                                              ("\ufeffproduct_id,week,product_id,units", "product_id")])
def test_a_column_named_twice_is_refused(tmp_path, header, name):
    path = write(tmp_path, "panel.csv", header + "\nA,2023-01-02,1,2\n")
    with pytest.raises(IngestError, match=rf"panel\.csv: the header names column '{name}' more than once \(the panel table\)"):
        generic.ingest({"panel": path}, {})


def test_a_mapping_onto_a_column_that_exists_is_refused(tmp_path):
    path = write(tmp_path, "panel.csv", "product_id,week,units,sales\nA,2023-01-02,1,2\n")
    with pytest.raises(IngestError, match=r"'sales' \(mapped to 'units'\) and a column already named so are both in the panel file"):
        generic.ingest({"panel": path}, {"panel": {"units": "sales"}})


def test_olist_file_with_a_column_named_twice_is_refused(tmp_path):
    import shutil

    folder = tmp_path / "olist"
    shutil.copytree(CORPUS / "olist" / "base", folder)
    sellers = folder / "olist_sellers_dataset.csv"
    lines = sellers.read_text().splitlines()
    sellers.write_text("\n".join([lines[0] + ",seller_id"] + [line + ",x" for line in lines[1:]]) + "\n")
    with pytest.raises(IngestError, match=r"olist_sellers_dataset\.csv: the header names column 'seller_id' more than once"):
        olist.ingest(folder)


# --- 4. dates in other shapes ------------------------------------------------------------------------


def test_day_first_dates_without_a_declared_format_say_how_to_declare_one(tmp_path):
    path = write(tmp_path, "panel.csv", "product_id,week,units\nA,03/12/2023,1\nA,2023-12-11,2\n")
    tables, rejected, _ = generic.ingest({"panel": path}, {})
    reason = rejected["panel"]["reason"].item()
    assert reason == date_reason("week", "panel", None)
    assert reason == ('week is not a date (YYYY-MM-DD); declare the file\'s format with columns.panel.date_format, '
                      'e.g. "%d/%m/%Y" or "excel"')
    assert tables["panel"].height == 1


def test_a_declared_day_first_format_reads_every_table(tmp_path):
    panel = write(tmp_path, "panel.csv", "product_id,week,units\nA,03/12/2023,1\nB,11/12/2023,2\nB,2023-12-18,3\n")
    reviews = write(tmp_path, "reviews.csv", "product_id,ts,rating\nA,05/12/2023 10:30,4\n")
    columns = {"panel": {"date_format": "%d/%m/%Y"}, "reviews": {"date_format": "%d/%m/%Y %H:%M"}}
    tables, rejected, accounting = generic.ingest({"panel": panel, "reviews": reviews}, columns)
    # 3 December 2023 is a Sunday: its week starts on Monday 27 November.
    assert tables["panel"].select("product_id", "week").rows() == [("A", dt.date(2023, 11, 27)), ("B", dt.date(2023, 12, 11))]
    assert tables["reviews"]["ts"].to_list() == [dt.datetime(2023, 12, 5, 10, 30)]
    assert rejected["panel"]["reason"].to_list() == ["week does not match the declared format '%d/%m/%Y' (columns.panel.date_format)"]
    assert_adds_up(accounting)


def test_excel_serial_numbers_are_read_when_declared(tmp_path):
    path = write(tmp_path, "panel.csv", "product_id,week,units\nA,45000,1\nA,45007.5,2\nA,-3,1\nA,2023-03-20,1\n")
    tables, rejected, _ = generic.ingest({"panel": path}, {"panel": {"product_id": "product_id", "date_format": "excel"}})
    assert tables["panel"]["week"].to_list() == [dt.date(2023, 3, 13), dt.date(2023, 3, 20)]  # 45000 is 2023-03-15
    assert rejected["panel"]["source_row"].to_list() == [3, 4]


@pytest.mark.parametrize("bad", ["dd/mm/yyyy", "%Y", 7])
def test_an_unusable_declared_format_is_one_clear_error(tmp_path, bad):
    path = write(tmp_path, "panel.csv", "product_id,week,units\nA,03/12/2023,1\n")
    with pytest.raises(IngestError, match=r"columns\.panel\.date_format is .*(strftime format|whole date)"):
        generic.ingest({"panel": path}, {"panel": {"date_format": bad}})


def test_a_malformed_columns_option_is_one_clear_error(tmp_path):
    path = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\n")
    with pytest.raises(IngestError, match=r"columns\.panel must map contract column names"):
        generic.ingest({"panel": path}, {"panel": ["week"]})


# --- 5. what a review found (eighteenth session): each fails without its fix ------------------------------------


def test_an_attributes_stray_text_and_non_finite_values_are_read_as_missing_and_counted(tmp_path):
    # weight_g is numeric (4 of its 6 known values are numbers), so "heavy" and "inf" are mistakes: read as missing,
    # counted and named, while the products and their sales stay. "NA" and a blank say "unknown" and are not counted.
    # supplier has a number in one of three values: a code column, so no attribute; colour has none.
    ids = "ABCDEFGH"
    panel = write(tmp_path, "panel.csv", "product_id,week,units\n" + "".join(f"{p},2023-01-02,1\n" for p in ids))
    products = write(tmp_path, "products.csv", "product_id,category,weight_g,supplier,colour\nA,toys,1.5,A-17,red\n"
                                               "B,toys,heavy,1001,blue\nC,toys,inf,B-9,red\nD,toys,NA,,red\nE,toys, ,,red\n"
                                               "F,toys,2,,red\nG,toys,3,,red\nH,toys,4,,red\n")
    tables, rejected, accounting = generic.ingest({"panel": panel, "products": products}, {})
    assert rejected["products"].height == 0 and rejected["panel"].height == 0
    kept = tables["products"].sort("product_id")
    assert kept["product_id"].to_list() == list(ids)
    assert kept["attr_weight_g"].to_list() == [1.5, None, None, None, None, 2.0, 3.0, 4.0]
    assert not {"attr_supplier", "attr_colour"} & set(kept.columns)
    assert accounting["products"].missing == {"weight_g is not a finite number (read as missing)": 2}
    assert accounting["products"].as_dict()["read_as_missing"] == {"weight_g is not a finite number (read as missing)": 2}
    assert "read_as_missing" not in accounting["panel"].as_dict()
    assert_adds_up(accounting)


def test_an_attribute_read_as_missing_is_one_warning_naming_file_column_and_rows(tmp_path, caplog):
    panel = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\nB,2023-01-02,1\nC,2023-01-02,1\n")
    products = write(tmp_path, "products.csv", "product_id,weight_g\nA,1\nB,heavy\nC,2\n")
    with caplog.at_level("WARNING", logger="hotseller.ingest.generic"):
        generic.ingest({"panel": panel, "products": products}, {})
    assert [r.getMessage() for r in caplog.records] == [
        f"{products}: 1 value(s) of attribute 'weight_g' are not finite numbers (source rows 2); read as missing"]


@pytest.mark.parametrize("name", ["reason", "source_row", "source_file"])
def test_a_column_named_as_the_quarantines_own_is_refused_in_one_line(tmp_path, name):
    path = write(tmp_path, "panel.csv", f"product_id,week,units,{name}\nA,2023-01-02,1,x\n")
    assert_one_line(*cli_main("ingest", "--panel", str(path), "--out-dir", str(tmp_path / "out")), "panel.csv", f"'{name}'")


def test_a_relation_weight_that_is_not_a_number_is_quarantined_and_kinds_are_stripped(tmp_path):
    panel = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\nB,2023-01-02,1\n")
    relations = write(tmp_path, "relations.csv", "src,dst,ts,kind,weight\nA,B,2023-01-03, co_purchase ,abc\n"
                                                 "A,B,2023-01-04, co_review ,\nA,B,2023-01-05,   ,2\n")
    tables, rejected, _ = generic.ingest({"panel": panel, "relations": relations}, {})
    assert rejected["relations"].select("source_row", "reason").rows() == [(1, "weight is not a number")]
    assert tables["relations"].sort("ts").select("kind", "weight").rows() == [("co_review", 1.0), ("co_purchase", 2.0)]


def test_a_typo_in_the_columns_option_is_one_clear_error(tmp_path):
    path = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\n")
    with pytest.raises(IngestError, match=r"columns: unknown table\(s\) \['pannel'\]"):
        generic.ingest({"panel": path}, {"pannel": {"units": "qty"}})
    with pytest.raises(IngestError, match=r"columns\.panel: \['prize'\] not a column of the panel table"):
        generic.ingest({"panel": path}, {"panel": {"prize": "my_price"}})


@pytest.mark.parametrize(("dates", "weeks"), [
    # A UK export: 13/12 can only be day first, so 05/12 is 5 December too (weeks start on Monday).
    (["01/12/2010 08:26", "05/12/2010 09:00", "13/12/2010 10:28"], [dt.date(2010, 11, 29), dt.date(2010, 12, 13)]),
    # UCI's export: 12/13 can only be month first.
    (["12/1/2010 8:26", "12/13/2010 9:00"], [dt.date(2010, 11, 29), dt.date(2010, 12, 13)]),
    # Every field 12 or less reads either way: month first, as UCI's (12/3/2010 is 3 December).
    (["12/3/2010 8:26"], [dt.date(2010, 11, 29)]),
    # ISO dates first (the formats are picked from the first rows), a day-first line later: read, not quarantined.
    (["2010-12-01 08:26:00"] * 3 + ["13/12/2010 10:28"], [dt.date(2010, 11, 29), dt.date(2010, 12, 13)]),
])
def test_online_retail_reads_day_first_dates_where_only_that_reading_fits(tmp_path, dates, weeks):
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    rows = "".join(f"5363{i},85123A,WHITE HANGING HEART,6,{d},2.55,17850,United Kingdom\n" for i, d in enumerate(dates))
    path = write(tmp_path, "retail.csv", header + rows)
    tables, rejected, accounting = online_retail.ingest(path)
    assert sorted(tables["panel"]["week"].unique().to_list()) == weeks
    assert rejected[path.name].height == 0
    assert_adds_up(accounting)


def test_an_out_dir_that_is_a_file_is_one_line(tmp_path):
    path = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\n")
    assert_one_line(*cli_main("ingest", "--panel", str(path), "--out-dir", str(path)), "--out-dir names a file")


def test_a_utf16_file_and_a_parquet_list_column_are_one_line_each(tmp_path):
    utf16 = tmp_path / "panel.csv"
    utf16.write_text("product_id,week,units\nA,2023-01-02,1\n", encoding="utf-16")  # Python writes the byte-order mark
    assert_one_line(*cli_main("ingest", "--panel", str(utf16), "--out-dir", str(tmp_path / "o1")), "panel.csv", "UTF-16")
    nested = tmp_path / "panel.parquet"
    pl.DataFrame({"product_id": ["A"], "week": ["2023-01-02"], "units": [[1, 2]]}).write_parquet(nested)
    assert_one_line(*cli_main("ingest", "--panel", str(nested), "--out-dir", str(tmp_path / "o2")), "panel.parquet", "['units']")


def test_pandas_saved_index_is_not_read_as_a_column(tmp_path):
    path = tmp_path / "products.parquet"
    pl.DataFrame({"product_id": ["A", "B"], "weight_g": ["1", "2"], "__index_level_0__": [7, 9]}).write_parquet(path)
    panel = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\nB,2023-01-02,1\n")
    tables, _, _ = generic.ingest({"panel": panel, "products": path}, {})
    assert [c for c in tables["products"].columns if c.startswith("attr_")] == ["attr_weight_g"]


def test_event_timestamps_with_a_utc_offset_are_read_as_utc(tmp_path):
    panel = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\nB,2023-01-02,1\n")
    # 23:30 at UTC-5 on Sunday 1 January is 04:30 UTC on Monday 2 January: the next week (weeks start on Monday).
    reviews = write(tmp_path, "reviews.csv", "product_id,ts,rating\nA,2023-01-03T10:00:00+01:00,4\nA,2023-01-03 10:00:00.000000+0100,5\n"
                                             "B,2023-01-03T10:00:00Z,3\nB,2023-01-01 23:30:00-05:00,2\nB,2023-01-03 10:00:00,1\n")
    tables, rejected, _ = generic.ingest({"panel": panel, "reviews": reviews}, {})
    assert rejected["reviews"].height == 0
    assert tables["reviews"]["ts"].to_list() == [dt.datetime(2023, 1, 3, 9), dt.datetime(2023, 1, 3, 9), dt.datetime(2023, 1, 3, 10),
                                                 dt.datetime(2023, 1, 2, 4, 30), dt.datetime(2023, 1, 3, 10)]


def test_a_near_miss_in_the_products_mapping_is_one_warning(tmp_path, caplog):
    panel = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\n")
    products = write(tmp_path, "products.csv", "product_id,cat\nA,toys\n")
    with caplog.at_level("WARNING", logger="hotseller.ingest.generic"):
        tables, _, _ = generic.ingest({"panel": panel, "products": products}, {"products": {"categroy": "cat"}})
    assert [r.getMessage() for r in caplog.records] == [
        "columns.products: 'categroy' is not a products column, so it names an attribute; did you mean 'category'?"]
    assert tables["products"]["category"].to_list() == ["unknown"]  # as the warning says: the mapping did not set it


def tiny_xlsx(path: Path, rows: list[list[str]]) -> None:
    """A one-sheet workbook of text cells (inline strings), written as its XML parts: no writer library needed."""
    def cell(ref, text):
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'
    sheet_rows = "".join(f'<row r="{i + 1}">' + "".join(cell(f"{chr(65 + j)}{i + 1}", str(v)) for j, v in enumerate(row)) + "</row>"
                         for i, row in enumerate(rows))
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Online Retail" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<sheetData>{sheet_rows}</sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)


def test_a_workbook_whose_header_names_a_column_twice_is_refused(tmp_path):
    # fastexcel would read the second copy as Quantity_1 and the adapter would silently use the first: refused, as in a CSV.
    header = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
    row = ["536365", "85123A", "WHITE HANGING HEART", "6", "2010-12-01 08:26:00", "2.55", "17850", "United Kingdom"]
    ok, twice = tmp_path / "ok.xlsx", tmp_path / "twice.xlsx"
    tiny_xlsx(ok, [header, row])
    assert online_retail.ingest(ok)[0]["panel"]["units"].to_list() == [6.0]  # the hand-made workbook reads
    tiny_xlsx(twice, [header + ["Quantity "], row + ["7"]])
    with pytest.raises(IngestError, match=r"twice\.xlsx: the header names column 'Quantity' more than once"):
        online_retail.ingest(twice)


# --- 6. what the review of bad user input found (notes/review_inputs.md): each fails without its fix ---------------


def test_a_product_quarantined_in_the_products_file_names_that_row_wherever_its_rows_are_and_warns_once(tmp_path, caplog):
    """Finding 1: B's category is Latin-1 and C's first_seen_week is a typo, so both product rows are quarantined. Their
    panel, review and relation rows say so (not "not a known product", which stays for Z, absent from the file)."""
    panel = write(tmp_path, "panel.csv", "product_id,week,units\n" + "".join(f"{p},{w},1\n" for p in "ABC" for w in ("2023-01-02", "2023-01-09")))
    products = tmp_path / "products.csv"
    products.write_bytes(b"product_id,category,first_seen_week\nA,toys,\nB,Beaut\xe9,\nC,toys,2023-13-01\n")
    reviews = write(tmp_path, "reviews.csv", "product_id,ts,rating\nA,2023-01-03,4\nB,2023-01-03,5\nZ,2023-01-03,3\n")
    relations = write(tmp_path, "relations.csv", "src,dst,ts\nA,C,2023-01-03\n")
    with caplog.at_level("WARNING", logger="hotseller.ingest.generic"):
        tables, rejected, accounting = generic.ingest({"panel": panel, "products": products, "reviews": reviews, "relations": relations}, {})
    utf8 = "row has bytes that are not valid UTF-8"
    not_a_date = date_reason("first_seen_week", "products", None)
    assert rejected["panel"].select("source_row", "reason").rows() == [
        (3, f"product_id's row in products.csv was quarantined ({utf8})"), (4, f"product_id's row in products.csv was quarantined ({utf8})"),
        (5, f"product_id's row in products.csv was quarantined ({not_a_date})"), (6, f"product_id's row in products.csv was quarantined ({not_a_date})")]
    assert rejected["reviews"].select("source_row", "reason").rows() == [
        (2, f"product_id's row in products.csv was quarantined ({utf8})"), (3, "product_id is not a known product")]
    assert rejected["relations"]["reason"].to_list() == [f"dst's row in products.csv was quarantined ({not_a_date})"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{products}: 2 product(s) were quarantined there (e.g. 'B': {utf8}), and 6 row(s) of the panel, reviews and relations "
        "with them; fix those rows of the products file"]
    assert_adds_up(accounting)
    braces = tmp_path / "products {}.csv"  # a file name is text, never a format string
    braces.write_bytes(products.read_bytes())
    rejected = generic.ingest({"panel": panel, "products": braces}, {})[1]
    assert rejected["panel"]["reason"][0] == f"product_id's row in products {{}}.csv was quarantined ({utf8})"


def test_nothing_accepted_because_every_product_was_quarantined_names_the_products_files_reason(tmp_path):
    panel = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\nA,2023-01-09,2\n")
    products = write(tmp_path, "products.csv", "product_id,first_seen_week\nA,02/01/2023\n")
    with pytest.raises(IngestError) as caught:
        write_outputs(tmp_path / "out", *generic.ingest({"panel": panel, "products": products}, {}))
    reason = f"product_id's row in products.csv was quarantined ({date_reason('first_seen_week', 'products', None)})"
    assert f"2 rows read; top reasons: {reason} (2))" in str(caught.value)


def test_missing_markers_and_yes_no_in_optional_panel_columns_keep_the_row(tmp_path):
    """Finding 2: NA, NaN, null, none and blank in price, promo, revenue, returns and freight are unknown values, not
    bad rows; promo reads true/false/yes/no as 1/0. A price of 0 and a promo of "maybe" are still mistakes."""
    path = write(tmp_path, "panel.csv", "product_id,week,units,price,promo,revenue,returns,freight\n"
                 "A,2023-01-02,2,NA,1,,0,1\nB,2023-01-02,2,3,NA,n/a,None,null\nC,2023-01-02,2,NaN,FALSE,,,\n"
                 "D,2023-01-02,2,null,yes,5,NAN,\nE,2023-01-02,2,4, No ,,1,\nF,2023-01-02,2,0,,,,\nG,2023-01-02,2,1,maybe,,,\n")
    tables, rejected, accounting = generic.ingest({"panel": path}, {})
    assert rejected["panel"].select("source_row", "reason").rows() == [(6, "price is not above 0"), (7, "promo is not a number")]
    assert tables["panel"].select("product_id", "price", "promo", "revenue", "returns", "freight").rows() == [
        ("A", None, 1.0, None, 0.0, 1.0), ("B", 3.0, 0.0, 6.0, None, None), ("C", None, 0.0, None, None, None),
        ("D", None, 1.0, 5.0, None, None), ("E", 4.0, 0.0, 8.0, 1.0, None)]
    boolean = tmp_path / "panel.parquet"  # a promotion flag as pandas and polars write it
    pl.DataFrame({"product_id": ["A", "B", "C"], "week": [FIRST] * 3, "units": [1.0] * 3, "promo": [True, False, None]}).write_parquet(boolean)
    tables, rejected, _ = generic.ingest({"panel": boolean}, {})
    assert rejected["panel"].height == 0 and tables["panel"]["promo"].to_list() == [1.0, 0.0, 0.0]


def test_daily_rows_are_quarantined_as_another_row_of_their_week_with_one_warning(tmp_path, caplog):
    """Finding 3: 2023-01-04 and -08 fall in the week of Monday 2023-01-02, which already has a row of A: they are not
    duplicates, they are daily data. An exact repeat of (A, 2023-01-02) stays a duplicate key."""
    path = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,5\nA,2023-01-04,7\nA,2023-01-08,1\nA,2023-01-09,2\n"
                                        "B,2023-01-02,3\nA,2023-01-02,5\n")
    with caplog.at_level("WARNING", logger="hotseller.ingest.generic"):
        tables, rejected, accounting = generic.ingest({"panel": path}, {})
    same = "another row of this product falls in the same week: the panel must be weekly; sum your rows per week"
    assert rejected["panel"].select("source_row", "reason").rows() == [(2, same), (3, same), (6, "duplicate key (product_id, week)")]
    assert tables["panel"].select("product_id", "week", "units").rows() == [("A", FIRST, 5.0), ("A", dt.date(2023, 1, 9), 2.0), ("B", FIRST, 3.0)]
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: 2 row(s) fall in a week that already has a row of their product (first: source row 2), so they were "
        "quarantined: the panel must be weekly, one row per product and week; sum your rows per week"]
    assert_adds_up(accounting)


def test_a_reviews_or_relations_file_with_every_row_quarantined_is_one_warning_with_its_reasons(tmp_path, caplog):
    """Finding 6: lower-case ids match no product. The warning names the file and why, not "no reviews in this source"."""
    panel = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\nB,2023-01-02,1\n")
    reviews = write(tmp_path, "reviews.csv", "product_id,ts,rating\na,2023-01-03,4\nb,2023-01-03,5\nA,2023-01-03,9\n")
    relations = write(tmp_path, "relations.csv", "src,dst,ts\na,b,2023-01-03\nA,A,2023-01-03\n")
    out = tmp_path / "out"
    with caplog.at_level("WARNING", logger="hotseller.ingest"):
        write_outputs(out, *generic.ingest({"panel": panel, "reviews": reviews, "relations": relations}, {}))
    assert [r.getMessage() for r in caplog.records] == [
        f"{reviews}: no reviews row was accepted (3 rows read; top reasons: product_id is not a known product (2); "
        f"rating is outside 1..5 (1)), so the reviews table is empty; see {out / 'quarantine_reviews.parquet'}",
        f"{relations}: no relations row was accepted (2 rows read; top reasons: src equals dst (1); src is not a known "
        f"product (1)), so the relations table is empty; see {out / 'quarantine_relations.parquet'}"]


def test_a_mapping_names_no_internal_column_and_is_refused_in_one_line_when_it_uses_one(tmp_path):
    """Findings 4 and 12: the columns found exclude ingestion's source_row; a mapping to or from an internal name, or of
    one of your columns to two contract columns, is one line (it was a traceback or a silently dropped mapping)."""
    path = write(tmp_path, "mapped.csv", "sku,date,sales\nA,2023-01-02,1\n")
    with pytest.raises(IngestError, match=re.escape("mapped column(s) ['SKU'] not found for the panel table; found ['sku', 'date', 'sales']")):
        generic.ingest({"panel": path}, {"panel": {"product_id": "SKU", "week": "date", "units": "sales"}})
    internal = {"panel": {"product_id": "source_row", "week": "date", "units": "sales"}}
    assert_one_line(*cli_main("ingest", "--panel", str(path), "--columns", json.dumps(internal), "--out-dir", str(tmp_path / "o")),
                    "columns.panel: ['source_row'] are names ingestion uses itself")
    with pytest.raises(IngestError, match=re.escape("columns.products: ['reason'] are names ingestion uses itself")):
        generic.ingest({"panel": path, "products": path}, {"panel": {"product_id": "sku", "week": "date", "units": "sales"},
                                                           "products": {"reason": "date"}})
    for mapping in ({"product_id": "sku", "week": "date", "units": "sales", "revenue": "sales"},
                    {"product_id": "sku", "week": "date", "revenue": "sales", "units": "sales"}):
        with pytest.raises(IngestError, match=r"columns\.panel: your column 'sales' is mapped to '(units|revenue)' and '(revenue|units)'; "):
            generic.ingest({"panel": path}, {"panel": mapping})


def test_a_revenue_that_overflows_is_quarantined(tmp_path):
    """Finding 9: 10^12 units (the most a week may hold) at a price of 1e300 is a finite number of units but an infinite
    revenue."""
    path = write(tmp_path, "panel.csv", "product_id,week,units,price,revenue\nA,2023-01-02,1e12,1e300,\nB,2023-01-02,1e12,1e300,5\n"
                                        "C,2023-01-02,3,2,\nD,2023-01-02,1e12,1e300,NaN\n")
    tables, rejected, _ = generic.ingest({"panel": path}, {})
    assert rejected["panel"].select("source_row", "reason").rows() == [(1, "revenue (units x price) is not finite"),
                                                                       (4, "revenue (units x price) is not finite")]
    assert tables["panel"].select("product_id", "revenue").rows() == [("B", 5.0), ("C", 6.0)]


@pytest.mark.parametrize(("header", "shown"), [(",product_id,weight", "column 1 (no name)"), ("Unnamed: 0,product_id,weight", "column 1 ('Unnamed: 0')")])
def test_a_products_column_without_a_name_is_dropped_with_one_warning(tmp_path, caplog, header, shown):
    """Finding 8: pandas' saved row index is not an attribute (of a file sorted by sales it would leak the target)."""
    panel = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1\nB,2023-01-02,1\n")
    products = write(tmp_path, "products.csv", f"{header},\n0,A,1.5,\n1,B,2.5,\n")  # and a trailing blank column: dropped quietly
    with caplog.at_level("WARNING", logger="hotseller.ingest.generic"):
        tables, _, _ = generic.ingest({"panel": panel, "products": products}, {})
    assert [c for c in tables["products"].columns if c.startswith("attr_")] == ["attr_weight"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{products}: {shown} of the products file dropped: a column without a name (e.g. a saved row index) is not an "
        "attribute; name it in the header to keep it"]


def test_file_types_tsv_upper_case_and_binary_files_named_csv(tmp_path):
    """Finding 11: .tsv is read tab-separated, a suffix in capitals is the same suffix, and a parquet or zip file named
    .csv is refused saying what it is (its bytes were read as one garbled column)."""
    rows = "A\t2023-01-02\t1\nB\t2023-01-09\t2\n"
    tsv = write(tmp_path, "panel.tsv", "product_id\tweek\tunits\n" + rows)
    upper = write(tmp_path, "PANEL.CSV", "product_id,week,units\n" + rows.replace("\t", ","))
    for path in (tsv, upper):
        assert generic.ingest({"panel": path}, {})[0]["panel"]["units"].to_list() == [1.0, 2.0]
    parquet = tmp_path / "panel.csv"
    pl.DataFrame({"product_id": ["A"], "week": ["2023-01-02"], "units": [1]}).write_parquet(parquet)
    with pytest.raises(IngestError, match=r"panel\.csv: the panel file looks like a Parquet file; name it \.parquet$"):
        generic.ingest({"panel": parquet}, {})
    book = tmp_path / "book.csv"
    tiny_xlsx(book, [["product_id", "week", "units"], ["A", "2023-01-02", "1"]])
    with pytest.raises(IngestError, match=r"book\.csv: the panel file looks like a zip or \.xlsx file, not text; export it as CSV"):
        generic.ingest({"panel": book}, {})
    gzipped = tmp_path / "gzipped.csv"
    gzipped.write_bytes(b"\x1f\x8b\x08\x00")
    with pytest.raises(IngestError, match=r"gzipped\.csv: the panel file is gzip-compressed; decompress it first"):
        generic.ingest({"panel": gzipped}, {})
    ragged = write(tmp_path, "ragged.tsv", "product_id\tweek\tunits\nA\t2023-01-02\t1\nB\t2023-01-09\t2\t9\n")
    with pytest.raises(IngestError, match=r"line 3 \(4 fields, the header 3\) has more fields than the header"):
        generic.ingest({"panel": ragged}, {})
    gz = tmp_path / "panel.csv.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00")
    with pytest.raises(IngestError, match=r"unsupported file type '\.gz'; use \.csv, \.tsv or \.parquet \(a compressed file such as "
                                          r"\.csv\.gz is not read: decompress it first\)"):
        generic.ingest({"panel": gz}, {})


def test_an_iso_t_timestamp_without_seconds_is_read(tmp_path):
    """Finding 13: the docs accept ISO T timestamps; 2023-01-03T10:00 (no seconds) was quarantined."""
    panel = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-03T10:00,1\n")
    reviews = write(tmp_path, "reviews.csv", "product_id,ts,rating\nA,2023-01-03T10:00,4\nA,2023-01-03T10:00+01:00,4\n"
                                             "A,2023-01-03 10:00+01:00,4\n")
    tables, rejected, _ = generic.ingest({"panel": panel, "reviews": reviews}, {})
    assert tables["panel"]["week"].to_list() == [FIRST]
    assert tables["reviews"]["ts"].to_list() == [dt.datetime(2023, 1, 3, 10), dt.datetime(2023, 1, 3, 9), dt.datetime(2023, 1, 3, 9)]


def test_a_time_zone_aware_week_is_read_on_its_own_wall_clock(tmp_path):
    """Finding 5: Monday 2 January 00:30 in Berlin is Sunday 23:30 UTC; the seller's week is the one of its own date,
    so it is read on the wall clock (week 2023-01-02), as a UTC parquet column (pandas' utc=True) and an offset in a CSV."""
    local = pl.Series([dt.datetime(2023, 1, 2, 0, 30), dt.datetime(2023, 1, 9, 0, 30)])
    for zone in ("UTC", "Europe/Berlin"):
        path = tmp_path / f"panel_{zone.replace('/', '_')}.parquet"
        pl.DataFrame({"product_id": ["A", "A"], "week": local.dt.replace_time_zone(zone), "units": [1.0, 2.0]}).write_parquet(path)
        tables, rejected, _ = generic.ingest({"panel": path}, {})
        assert rejected["panel"].height == 0 and tables["panel"]["week"].to_list() == [FIRST, dt.date(2023, 1, 9)], zone
    csv = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02T00:30:00+01:00,1\nA,2023-01-15 23:30:00-0500,2\n"
                                       "A,2023-01-16T00:00:00Z,3\n")
    tables, rejected, _ = generic.ingest({"panel": csv}, {})
    assert rejected["panel"].height == 0  # read as UTC, Sunday 15th 23:30 at UTC-5 would fall in the week of the 16th too
    assert tables["panel"]["week"].to_list() == [FIRST, dt.date(2023, 1, 9), dt.date(2023, 1, 16)]


def test_units_beyond_any_shops_week_are_quarantined(tmp_path):
    """1e308 units (with no price, so no revenue overflows) would make the product's cumulative units infinite and every
    input NaN after normalisation; 10^12 itself is kept."""
    path = write(tmp_path, "panel.csv", "product_id,week,units\nA,2023-01-02,1e308\nA,2023-01-09,1000000000000\nB,2023-01-02,3\n")
    tables, rejected, accounting = generic.ingest({"panel": path}, {})
    assert rejected["panel"].select("source_row", "reason").rows() == [(1, "units is above 1,000,000,000,000")]
    assert tables["panel"]["units"].to_list() == [1e12, 3.0]
    assert_adds_up(accounting)


def test_product_ids_that_differ_only_in_case_are_kept_apart_with_one_warning(tmp_path, caplog):
    path = write(tmp_path, "panel.csv", "product_id,week,units\nsku1,2023-01-02,1\nSKU1,2023-01-09,2\nSku1,2023-01-16,1\nB,2023-01-02,3\n")
    with caplog.at_level("WARNING", logger="hotseller.ingest.generic"):
        tables = generic.ingest({"panel": path}, {})[0]
    assert sorted(tables["panel"]["product_id"]) == ["B", "SKU1", "Sku1", "sku1"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: 3 product ids differ from another only in letter case (e.g. 'SKU1' and 'Sku1' and 'sku1'); they are kept as "
        "different products: if they are one, write them alike"]
