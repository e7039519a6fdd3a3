"""Property-based tests of the data contract over the generic source (issue 19), with Hypothesis.

Each example is a small random valid dataset (panel, and optionally products, reviews and relations, as
CSV files) with up to three random corruptions: wrong types, out-of-range and non-finite numbers, blank
cells, non-UTF-8 bytes, binary garbage, BOM and CRLF, another delimiter, ragged rows, an unclosed quote, duplicated rows, implausible
dates, dates in another shape, unknown products, an empty file, a header-only file, a column named twice.
`hotseller ingest` then runs on the files (its parser and stage function, in this process), and for every
example:
- it either succeeds, or stops with an IngestError, the one line `main` prints with exit 2; anything else
  (a traceback) fails the test;
- on success, per file read = accepted + quarantined, read is the number of data rows written (unless an
  unclosed quote merged rows), and each quarantine file holds exactly its file's quarantined rows;
- every accepted row satisfies the contract (types, ranges, Monday weeks, unique keys, known products,
  src != dst) and every accepted date lies in 2000..2050 (the clean data are 2021..2025; the implausible
  ones are centuries away);
- the time axis is bounded: the accepted panel spans at most (1 + 2 * FENCE_IQRS) * W + 2 * FENCE_MARGIN_WEEKS + 1
  weeks, W the clean panel's weeks (at most 3 of its >= 20 rows are corrupted, so its quartiles stay inside
  the clean weeks).

The seed is fixed (derandomize) and the budget small (HOTSELLER_HYPOTHESIS_EXAMPLES, default 40 per test;
raise it in CI or when hunting, e.g. 500).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from conftest import cli_main
from hotseller.ingest.contract import PANEL, PRODUCTS, RELATIONS, REVIEWS
from hotseller.ingest.dates import FENCE_IQRS, FENCE_MARGIN_WEEKS

EXAMPLES = int(os.environ.get("HOTSELLER_HYPOTHESIS_EXAMPLES", "40"))
PROFILE = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
START = dt.date(2021, 1, 4)  # a Monday; clean datasets start up to ~4 years after it
LATIN1 = "__LATIN1__"  # a cell marker that becomes a byte that is not UTF-8 (a Latin-1 é) when written
TABLES = ("panel", "products", "reviews", "relations")
DATE_COLUMN = {"panel": "week", "products": "first_seen_week", "reviews": "ts", "relations": "ts"}
PRODUCT_COLUMNS = {"panel": ["product_id"], "products": ["product_id"], "reviews": ["product_id"], "relations": ["src", "dst"]}
CELL_KINDS = ("wrong_type", "negative", "not_finite", "blank", "non_utf8", "implausible_date", "other_date_shape",
              "unknown_product", "duplicate_row", "ragged_more", "ragged_fewer", "unclosed_quote")
FILE_KINDS = ("wrong_delimiter", "empty", "header_only", "duplicate_header", "garbage", "windows")


@dataclass
class Table:
    """One CSV file as text cells, rendered to bytes only when written."""

    header: list[str]
    rows: list[list[str]]
    delimiter: str = ","
    empty: bool = False
    merged: bool = False  # an unclosed quote may merge rows, so the row count is not known
    garbage: bytes = b""  # replaces the whole file when set (e.g. a zip or a binary saved as .csv)
    windows: bool = False  # written with a byte-order mark and CRLF line ends, as spreadsheet exports are

    def render(self) -> bytes:
        if self.empty:
            return b""
        if self.garbage:
            return self.garbage
        lines = [self.delimiter.join(self.header)] + [self.delimiter.join(row) for row in self.rows]
        end = "\r\n" if self.windows else "\n"
        text = ("\ufeff" if self.windows else "") + end.join(lines) + end
        return text.encode().replace(LATIN1.encode(), b"Caf\xe9")


@dataclass
class Dataset:
    tables: dict[str, Table]
    n_weeks: int  # weeks of the clean panel
    corruptions: list[tuple] = field(default_factory=list)


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    """A valid dataset: every product sells in every week of a 10-26 week span (so >= 20 panel rows)."""
    n_products, n_weeks = draw(st.integers(2, 6)), draw(st.integers(10, 26))
    first = START + dt.timedelta(weeks=draw(st.integers(0, 200)))
    ids = [f"P{i}" for i in range(n_products)]
    days = st.integers(0, 7 * n_weeks - 1)

    def stamp(day: int, with_time: bool) -> str:
        moment = dt.datetime.combine(first, dt.time()) + dt.timedelta(days=day, hours=day % 24)
        return moment.strftime("%Y-%m-%d %H:%M:%S") if with_time else moment.strftime("%Y-%m-%d")

    panel = [[p, str(first + dt.timedelta(weeks=w, days=draw(st.integers(0, 6)))), str(draw(st.integers(0, 40))),
              "", str(draw(st.integers(1, 99)) / 2)] for p in ids for w in range(n_weeks)]
    tables = {"panel": Table(["product_id", "week", "units", "revenue", "price"], panel)}
    if draw(st.booleans()):
        declared = st.one_of(st.just(""), st.integers(0, n_weeks - 1).map(lambda w: str(first + dt.timedelta(weeks=w))))
        tables["products"] = Table(["product_id", "category", "seller", "weight_g", "first_seen_week"],
                                   [[p, draw(st.sampled_from(["toys", "books", "garden"])), f"s{i % 3}", str(10 * i + 1), draw(declared)]
                                    for i, p in enumerate(ids)])
    if draw(st.booleans()):
        tables["reviews"] = Table(["product_id", "ts", "rating", "text"], [
            [draw(st.sampled_from(ids)), stamp(draw(days), draw(st.booleans())), str(draw(st.integers(1, 5))), "fine"]
            for _ in range(draw(st.integers(1, 8)))])
    if draw(st.booleans()):
        pairs = [(a, b) for a in ids for b in ids if a != b]
        tables["relations"] = Table(["src", "dst", "ts", "weight"], [
            [*draw(st.sampled_from(pairs)), stamp(draw(days), False), str(draw(st.integers(1, 5)))]
            for _ in range(draw(st.integers(1, 8)))])
    return Dataset(tables, n_weeks)


def corrupt_cell(table: str, t: Table, kind: str, row: int, column: int, variant: int) -> None:
    """Apply one row-level corruption to row `row` (modulo the row count) of one table."""
    if not t.rows:
        return
    r = row % len(t.rows)
    cells = t.rows[r]
    c = column % len(cells)
    # A header corrupted before may have lost a column's name: its cells then stay as they are.
    date_col = t.header.index(DATE_COLUMN[table]) if DATE_COLUMN[table] in t.header else None
    date_col = date_col if date_col is not None and date_col < len(cells) else None  # a row cut short before
    numeric = [i for i, name in enumerate(t.header) if name in {"units", "price", "rating", "weight", "weight_g"} and i < len(cells)]
    if kind == "wrong_type":
        cells[numeric[c % len(numeric)] if numeric else c] = ["x", "12,5", "three", "1.2.3"][variant % 4]
    elif kind == "negative":
        cells[numeric[c % len(numeric)] if numeric else c] = ["-1", "-0.5", "0", "7"][variant % 4]
    elif kind == "not_finite":
        cells[numeric[c % len(numeric)] if numeric else c] = ["inf", "NaN", "1e309", "-inf"][variant % 4]
    elif kind == "blank":
        cells[c] = ["", " ", "  "][variant % 3]
    elif kind == "non_utf8":
        cells[c] = LATIN1
    elif kind == "implausible_date" and date_col is not None and cells[date_col][:4].isdigit():
        text = cells[date_col]
        cells[date_col] = [str(int(text[:4]) + 180), str(int(text[:4]) - 30), "0203", "1893"][variant % 4] + text[4:]
    elif kind == "other_date_shape" and date_col is not None:
        cells[date_col] = ["03/12/2023", "45000", "12/31/2023", "2023-02-30", "yesterday"][variant % 5]
    elif kind == "unknown_product":
        columns = [i for i, name in enumerate(t.header) if name in PRODUCT_COLUMNS[table] and i < len(cells)]
        if columns:
            cells[columns[variant % len(columns)]] = "ZZ-unknown"
    elif kind == "duplicate_row":
        t.rows.insert(r + 1, list(cells))
    elif kind == "ragged_more":
        cells.append("extra")
    elif kind == "ragged_fewer" and len(cells) > 1:
        cells.pop()
    elif kind == "unclosed_quote":
        cells[c] = '"' + cells[c]
        t.merged = True


def corrupt_file(t: Table, kind: str, column: int) -> None:
    """Apply one file-level corruption."""
    if kind == "wrong_delimiter":
        t.delimiter = ";"
    elif kind == "empty":
        t.empty = True
    elif kind == "header_only":
        t.rows = []
    elif kind == "duplicate_header":
        t.header[(column + 1) % len(t.header)] = t.header[column % len(t.header)]
    elif kind == "garbage":
        t.garbage = [b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xff\xfe\x00\x00", b"\x00" * 64, bytes(range(256))][column % 3]
    elif kind == "windows":
        t.windows = True


corruption = st.tuples(
    st.sampled_from(TABLES), st.sampled_from(CELL_KINDS + FILE_KINDS), st.integers(0, 10_000), st.integers(0, 20), st.integers(0, 20)
)


@st.composite
def corrupted(draw: st.DrawFn) -> Dataset:
    data = draw(datasets())
    for table, kind, row, column, variant in draw(st.lists(corruption, min_size=1, max_size=3)):
        table = table if table in data.tables else "panel"  # the optional files are not always there
        t = data.tables[table]
        if kind in FILE_KINDS:
            corrupt_file(t, kind, column)
        else:
            corrupt_cell(table, t, kind, row, column, variant)
        data.corruptions.append((table, kind))
    return data


def run_ingest(folder: Path, data: Dataset) -> tuple[int, str]:
    """Write the files and run `hotseller ingest` on them through the command line's own `main`: (0, "") or (2, the
    one line it logged as an error)."""
    argv = ["ingest", "--out-dir", str(folder / "out")]
    for name, t in data.tables.items():
        path = folder / f"{name}.csv"
        path.write_bytes(t.render())
        argv += [f"--{name}", str(path)]
    code, errors = cli_main(*argv)
    assert (code, len(errors)) in ((0, 0), (2, 1)) and not any("\n" in e for e in errors), (code, errors)
    return code, errors[0] if errors else ""


def finite(column: str) -> pl.Expr:
    return pl.col(column).is_finite()


def check_outputs(out: Path, data: Dataset) -> None:
    """Accounting adds up and every accepted row satisfies the contract."""
    report = json.loads((out / "accounting.json").read_text())
    for table, t in data.tables.items():
        entry = report[table]
        quarantined = sum(entry["quarantined"].values())
        assert entry["read"] == entry["accepted"] + quarantined, entry
        if not t.merged:
            assert entry["read"] == len(t.rows), (entry, len(t.rows))
        assert pl.read_parquet(out / f"quarantine_{table}.parquet").height == quarantined

    tables = {name: pl.read_parquet(out / f"{name}.parquet") for name in TABLES}
    for name, schema in (("panel", PANEL), ("products", PRODUCTS), ("reviews", REVIEWS), ("relations", RELATIONS)):
        assert dict(list(tables[name].schema.items())[: len(schema)]) == schema, name
    known = tables["products"]["product_id"]
    assert known.null_count() == 0 and known.is_unique().all() and (known.str.strip_chars() != "").all()

    panel = tables["panel"]
    assert panel.height > 0  # an empty panel is refused with a message instead
    bad = panel.filter(
        pl.col("product_id").is_null() | (pl.col("product_id").str.strip_chars() == "")
        | ~pl.col("product_id").is_in(known.implode())
        | ~finite("units") | (pl.col("units") < 0)
        | (pl.col("price").is_not_null() & (~finite("price") | (pl.col("price") <= 0)))
        | (pl.col("revenue").is_not_null() & (~finite("revenue") | (pl.col("revenue") < 0)))
        | (pl.col("week").dt.weekday() != 1)
    )
    assert bad.is_empty(), bad
    assert not panel.select("product_id", "week").is_duplicated().any()

    reviews, relations = tables["reviews"], tables["relations"]
    assert reviews.filter(~pl.col("product_id").is_in(known.implode()) | ~pl.col("rating").is_between(1, 5) | pl.col("ts").is_null()).is_empty()
    assert relations.filter(
        ~pl.col("src").is_in(known.implode()) | ~pl.col("dst").is_in(known.implode()) | (pl.col("src") == pl.col("dst"))
        | ~finite("weight") | (pl.col("weight") <= 0) | pl.col("ts").is_null()
    ).is_empty()

    dates = [panel["week"], reviews["ts"].dt.date(), relations["ts"].dt.date(), tables["products"]["first_seen_week"]]
    years = pl.concat([d.drop_nulls().dt.year() for d in dates])
    assert years.is_empty() or (years.min() >= 2000 and years.max() <= 2050), years.unique().to_list()
    span = (panel["week"].max() - panel["week"].min()).days // 7 + 1
    assert span <= (1 + 2 * FENCE_IQRS) * data.n_weeks + 2 * FENCE_MARGIN_WEEKS + 1, span


@PROFILE
@given(datasets())
def test_a_clean_dataset_is_accepted_whole(data):
    with tempfile.TemporaryDirectory() as tmp:
        code, message = run_ingest(Path(tmp), data)
        assert code == 0, message
        check_outputs(Path(tmp) / "out", data)
        report = json.loads((Path(tmp) / "out" / "accounting.json").read_text())
        assert report["total"]["quarantined"] == 0
        assert report["panel"]["accepted"] == len(data.tables["panel"].rows)


@PROFILE
@given(corrupted())
def test_any_corruption_is_quarantined_or_refused_in_one_line(data):
    for table, kind in data.corruptions:
        event(f"corruption: {kind}")
    with tempfile.TemporaryDirectory() as tmp:
        code, message = run_ingest(Path(tmp), data)
        event(f"outcome: {'ingested' if code == 0 else message.split(': ', 1)[-1][:40]}")
        if code == 0:
            check_outputs(Path(tmp) / "out", data)
            return
        if "no panel row was accepted" in message:
            # Nothing is lost: the quarantine and the accounting were written before the stop.
            out = Path(tmp) / "out"
            assert (out / "quarantine_panel.parquet").is_file() and (out / "accounting.json").is_file()
            assert str(out / "quarantine_panel.parquet") in message
        else:
            # A file-level refusal names the file or the option at fault.
            assert any(str(Path(tmp) / f"{name}.csv") in message for name in data.tables) or "columns." in message, message


@PROFILE
@given(datasets(), st.sampled_from(TABLES), st.integers(0, 10_000), st.sampled_from([180, -30, -1820]))
def test_a_far_date_never_reaches_the_standard_tables(data, table, row, years):
    """An implausible year in any table is quarantined with the rule's reason, whatever the row; in the products file
    (a launch date, which cannot stretch the time axis) it is read as missing and counted, the product kept, unless it
    is a real launch before the panel (after 1990), which is kept as it is."""
    if table not in data.tables:
        table = "panel"
    t = data.tables[table]
    r = row % len(t.rows)
    col = t.header.index(DATE_COLUMN[table])
    assume(t.rows[r][col])  # products' first_seen_week is optional: a blank one has no year to move
    text = t.rows[r][col]
    t.rows[r][col] = f"{int(text[:4]) + years:04d}" + text[4:]
    with tempfile.TemporaryDirectory() as tmp:
        code, message = run_ingest(Path(tmp), data)
        assert code == 0, message
        check_outputs(Path(tmp) / "out", data)
        quarantine = pl.read_parquet(Path(tmp) / "out" / f"quarantine_{table}.parquet")
        if table == "products":  # a launch: never quarantined; kept when it is a real launch before the panel
            assert r + 1 not in quarantine["source_row"].to_list()
            missing = json.loads((Path(tmp) / "out" / "accounting.json").read_text())["products"].get("read_as_missing", {})
            moved = dt.date.fromisoformat(t.rows[r][col][:10])
            kept = moved - dt.timedelta(days=moved.weekday()) in pl.read_parquet(Path(tmp) / "out" / "products.parquet")["first_seen_week"].to_list()
            assert kept == (years < 0 and moved >= dt.date(1990, 1, 1))
            assert kept != any(k.startswith("first_seen_week is before 1990-01-01") for k in missing)
            return
        assert quarantine.select("source_row", "reason").row(0)[0] == r + 1
        assert quarantine["reason"][0].startswith(f"{DATE_COLUMN[table]} is far outside the data's range")

