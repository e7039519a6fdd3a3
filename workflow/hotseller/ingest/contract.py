"""The standard tables every adapter produces, and the validate-and-quarantine machinery they share.

Adapters read raw columns as text, so a bad value is never coerced away before it can be reported: each
check is a polars expression that is true for a bad row, and the first failing check names the reason.
Judging is lazy (`judge`), so an adapter can stream a large file through its checks and aggregations;
`split_rows` is the eager form for small tables. See docs/adapters.md for the tables and each adapter.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import polars.selectors as cs

from hotseller import atomic
from hotseller.errors import UserError

from hotseller.weeks import week_start

# Typed schema of each standard table, declared once; adapters must produce exactly these columns.
# Panel `returns` (units returned in the week) and `freight` (freight charged in the week) are null where
# a source has no such notion; the later stages read only the columns they need.
PANEL = {
    "product_id": pl.String, "week": pl.Date, "units": pl.Float64, "revenue": pl.Float64, "price": pl.Float64,
    "promo": pl.Float64, "returns": pl.Float64, "freight": pl.Float64,
}
REVIEWS = {"product_id": pl.String, "ts": pl.Datetime("us"), "rating": pl.Float64, "text": pl.String, "helpful_votes": pl.Float64}
PRODUCTS = {"product_id": pl.String, "category": pl.String, "seller": pl.String, "first_seen_week": pl.Date}
RELATIONS = {"src": pl.String, "dst": pl.String, "ts": pl.Datetime("us"), "kind": pl.String, "weight": pl.Float64}
TABLES = {"panel": PANEL, "reviews": REVIEWS, "products": PRODUCTS, "relations": RELATIONS}
ATTR_PREFIX = "attr_"  # numeric static product attributes travel as attr_<name> Float64 columns

SOURCE_ROW = "source_row"
REASON = "reason"
SOURCE_FILE = "source_file"  # added to quarantine files that gather rows of several source files

# Timestamps outside this range are typing errors or placeholder dates, not e-commerce events.
EARLIEST = dt.datetime(1990, 1, 1)
LATEST = dt.datetime(2100, 1, 1)
NOT_UTF8 = "row has bytes that are not valid UTF-8"
REPLACEMENT_CHAR = "\ufffd"  # what a lossy UTF-8 read puts in place of each invalid byte sequence


class IngestError(UserError):
    """Input that cannot be read at all (missing file or column): stop with a message a user can act on (one line,
    exit 2 at the command line)."""


@dataclass(frozen=True)
class Check:
    """One validation rule: `bad` is true for rows that violate it; `reason` says so in words.

    A reason is usually a fixed sentence; an expression lets one rule name the offending value
    (e.g. which order status does not count as a sale), so the accounting counts each value apart.
    """

    reason: str | pl.Expr
    bad: pl.Expr


@dataclass
class Accounting:
    """Row counts of one source file: read = accepted + sum(quarantined.values()) always holds.

    `table` names the standard table whose quarantine file holds this file's rejected rows.
    """

    file: str
    read: int = 0
    accepted: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    table: str = ""
    missing: dict[str, int] = field(default_factory=dict)  # values of accepted rows read as missing, per reason

    def as_dict(self) -> dict:
        counts = {"file": self.file, "table": self.table, "read": self.read, "accepted": self.accepted,
                  "quarantined": self.quarantined}
        return counts | ({"read_as_missing": self.missing} if self.missing else {})


def require_file(path: Path, table: str) -> Path:
    """Fail early, naming the file and what it should hold, when an input file is missing or empty."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: file not found (expected the {table} table)")
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: file is empty (expected the {table} table with a header row)")
    return path


MAPPING_HINT = "Map your column names in config.yaml (datasets.<name>.columns)."


def require_columns(lf: pl.LazyFrame, needed: list[str], path: Path, table: str, hint: str = MAPPING_HINT) -> None:
    """Fail naming the file, the missing column and the columns that are there."""
    present = [c for c in lf.collect_schema().names() if c != SOURCE_ROW]
    missing = [c for c in needed if c not in present]
    if missing:
        if len(present) == 1 and any(sep in present[0] for sep in (";", "\t", "|")):
            hint = f"The header was read as one column {present[0]!r}: is the file delimited by something other than ','?"
        raise IngestError(f"{path}: missing column(s) {missing} for the {table} table; found {present}. {hint}")


def separator_of(path: Path, separator: str = ",") -> str:
    """A .tsv file's fields are tab-separated; others keep the given separator."""
    return "\t" if path.suffix.lower() == ".tsv" and separator == "," else separator


def scan_text(path: Path, table: str, separator: str = ",") -> pl.LazyFrame:
    """Scan a CSV or parquet file with every column as text and a 1-based source row number.

    Text first, so that a value that fails to parse is quarantined with what was really in the file.
    A CSV with bytes that are not UTF-8 is read with lossy decoding so that such a row can be quarantined
    (see `not_utf8`) instead of failing the whole file; a valid one (nearly all) reads the same with strict
    decoding, which costs half as much. Source rows count data rows (the header is row 0), as a
    spreadsheet user reads them; header names are stripped of surrounding blanks.
    """
    path = require_file(path, table)
    suffix = path.suffix.lower()
    separator = separator_of(path, separator)
    if suffix == ".parquet":
        try:
            lf = pl.scan_parquet(path)
            lf = lf.drop(cs.matches(r"^__index_level_\d+__$"))  # pandas' saved index, not a column of the data
            nested = [name for name, dtype in lf.collect_schema().items() if dtype.is_nested()]
            lf = lf.with_columns(pl.all().cast(pl.String))
            lf.collect_schema()
        except pl.exceptions.PolarsError as err:
            raise IngestError(f"{path}: cannot be read as parquet ({err})") from err
        if nested:
            raise IngestError(f"{path}: column(s) {nested} of the {table} table hold lists or structs; give one value per "
                              "cell (a number, a date or text)")
    elif suffix in {".csv", ".tsv", ".txt"}:
        refuse_binary(path, table)
        refuse_utf16(path, table)
        refuse_duplicate_header(path, table, separator)
        try:
            encoding = "utf8-lossy" if invalid_utf8(path) else "utf8"
            lf = pl.scan_csv(path, separator=separator, infer_schema=False, encoding=encoding,
                             with_column_names=lambda names: [n.strip() for n in names])
            lf.collect_schema()
        except pl.exceptions.PolarsError as err:
            raise IngestError(f"{path}: cannot be read as CSV ({err})") from err
    else:
        raise IngestError(f"{path}: unsupported file type {path.suffix!r}; use .csv, .tsv or .parquet (a compressed "
                          "file such as .csv.gz is not read: decompress it first)")
    refuse_reserved(lf.collect_schema().names(), path, table)
    return lf.with_row_index(SOURCE_ROW, offset=1)


def reserved(name: str) -> bool:
    """Whether a column name is one ingestion writes itself (quarantine columns, working columns)."""
    return name in (SOURCE_ROW, REASON, SOURCE_FILE, FAILED, REJECTED) or name.endswith(PARSED)


def refuse_reserved(names: list[str], path: Path, table: str) -> None:
    """Stop on a column named as a column the quarantine files write themselves, or as ingestion's working columns:
    the file's column and ours would collide, or one would overwrite the other."""
    taken = [n for n in names if reserved(n)]
    if taken:
        raise IngestError(f"{path}: column(s) {taken} of the {table} table are named as columns that ingestion writes "
                          f"itself ({SOURCE_ROW!r}, {REASON!r}, {SOURCE_FILE!r}); rename them in the file")


# What a binary file saved under a text name starts with, and what to tell its owner.
MAGIC = {b"PAR1": "looks like a Parquet file; name it .parquet",
         b"PK\x03\x04": "looks like a zip or .xlsx file, not text; export it as CSV (in Excel: Save As, CSV UTF-8)",
         b"\x1f\x8b": "is gzip-compressed; decompress it first (gunzip)"}


def refuse_binary(path: Path, table: str) -> None:
    """Stop on a Parquet or zip (.xlsx) file named as CSV, whose bytes would otherwise read as one garbled column."""
    with open(path, "rb") as handle:
        start = handle.read(4)
    for magic, advice in MAGIC.items():
        if start.startswith(magic):
            raise IngestError(f"{path}: the {table} file {advice}")


def refuse_utf16(path: Path, table: str) -> None:
    """Stop on a UTF-16 text file (Excel's "Unicode text"), whose header would otherwise read as garbled names."""
    with open(path, "rb") as handle:
        start = handle.read(2)
    if start in (b"\xff\xfe", b"\xfe\xff"):
        raise IngestError(f"{path}: the {table} file is UTF-16 text; save it as UTF-8 CSV (in Excel: CSV UTF-8)")


def header_names(path: Path, separator: str = ",") -> list[str]:
    """The names in a CSV file's first record, as written (stripped, without a byte-order mark)."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            names = next(csv.reader(handle, delimiter=separator), [])
    except csv.Error:
        return []  # a header the csv module cannot read (e.g. a field over its size limit): polars reports it
    names = [n.strip() for n in names]
    if names:
        names[0] = names[0].removeprefix("\ufeff").strip()
    return names


def refuse_duplicate_header(path: Path, table: str, separator: str = ",", names: list[str] | None = None) -> None:
    """Stop on a header that names a column twice: which copy a stage would use is anyone's guess.

    Polars (and fastexcel, for a workbook) would rename the second copy (units_duplicated_0, Quantity_1) and read on,
    so the raw header is checked: a CSV's first record, or a workbook's first row given as `names` (stripped). Blank
    names are left alone (an unnamed index column is common and never mapped).
    """
    seen: set[str] = set()
    for name in header_names(path, separator) if names is None else names:
        if name and name in seen:
            raise IngestError(f"{path}: the header names column {name!r} more than once (the {table} table); "
                              "rename or delete the extra copy so that each column has one name")
        seen.add(name)


def collect_file(path: Path, *frames: pl.LazyFrame, separator: str = ",") -> list[pl.DataFrame]:
    """Run lazy queries over one source file together (shared scan, streaming engine).

    Parse errors surface only now, so they are turned into an error that names the file.
    """
    try:
        return pl.collect_all(frames, engine="streaming")
    except pl.exceptions.PolarsError as err:
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        hint = ""
        if "more fields" in first_line:
            hint = f"; {longer_line(path, separator)} has more fields than the header: check the delimiter and the quoting"
        elif "could not parse" in first_line:
            hint = "; a quoted field never closes: the file may be cut short"
        raise IngestError(f"{path}: cannot be parsed as CSV ({first_line}){hint}") from err


def longer_line(path: Path, separator: str = ",") -> str:
    """Where a CSV's first record with more fields than its header starts ("line N" as a text editor counts), for the
    refusal of a ragged file; "a row" when the csv module cannot tell."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            reader = csv.reader(handle, delimiter=separator)
            width, start = len(next(reader, [])), reader.line_num + 1
            for fields in reader:
                if len(fields) > width:
                    return f"line {start} ({len(fields)} fields, the header {width})"
                start = reader.line_num + 1
    except csv.Error:
        pass
    return "a row"


PARSED = "__parsed"
FAILED = "__failed"  # index of a row's first failing check; null when the row passed them all
REJECTED = "__rejected"  # online_retail: a rejected line's raw text, failing check and code, packed in one struct


def value(name: str) -> pl.Expr:
    """The parsed (typed) value of a raw column, for use inside checks."""
    return pl.col(name + PARSED)


def unparseable(name: str, markers: bool = False) -> pl.Expr:
    """True where the raw text is present but did not parse to the column's type; with `markers`, a missing marker
    (NA, null, ...: MISSING_MARKERS) is not unparseable either."""
    # Only a row without a value can qualify, so only the text of those (few) rows is stripped: stripping
    # every row's text costs as much as parsing it.
    unparsed = pl.when(value(name).is_null()).then(pl.col(name)).str.strip_chars()
    bad = unparsed.is_not_null() & (unparsed != "")
    return (bad & ~unparsed.str.to_lowercase().is_in(MISSING_MARKERS) if markers else bad).fill_null(False)


def not_utf8(columns: list[str]) -> Check:
    """Rows where a lossy UTF-8 read had to replace invalid bytes (e.g. a Latin-1 'é')."""
    return Check(NOT_UTF8, pl.any_horizontal([pl.col(c).str.contains(REPLACEMENT_CHAR, literal=True) for c in columns]))


def invalid_utf8(path: Path) -> bool:
    """Whether a text file holds bytes that are not UTF-8, so its rows need the `not_utf8` check.

    Decoding in 16 MiB chunks costs a fraction of a per-row search of every column, which valid files
    (nearly all) can then skip. The scan and the adapter both ask, so the answer is kept per file version.
    """
    stat = Path(path).stat()
    return _invalid_utf8(Path(path).resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _invalid_utf8(path: Path, size: int, mtime_ns: int) -> bool:
    """`invalid_utf8` of one version of a file (its size and modification time are part of the key)."""
    # An ASCII chunk is valid on its own unless it must finish a character the previous chunk began, and
    # `isascii` is twice as fast as decoding, so only the other chunks are decoded.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 24):
                pending, _ = decoder.getstate()
                if pending or not chunk.isascii():
                    decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return True
    return False


@dataclass
class Judgement:
    """Rows with their parsed values and the index of their first failing check.

    The reason is a small integer per row while the rows stream; it becomes text only for the rejected
    rows, so a reason that names a value (an expression) costs nothing on accepted ones.
    """

    rows: pl.LazyFrame
    reasons: list[str | pl.Expr]

    def accepted(self, names: list[str]) -> pl.LazyFrame:
        """The typed values of the rows that passed every check."""
        return self.rows.filter(pl.col(FAILED).is_null()).select([value(k).alias(k) for k in names])

    def reason(self) -> pl.Expr:
        """The text of each row's reason, from FAILED and the parsed values (meant for rejected rows only)."""
        reason = pl.lit(None, pl.String)
        for i, text in reversed(list(enumerate(self.reasons))):
            reason = pl.when(pl.col(FAILED) == i).then(pl.lit(text) if isinstance(text, str) else text).otherwise(reason)
        return reason.alias(REASON)

    def quarantined(self, raw_columns: list[str]) -> pl.LazyFrame:
        """The rejected rows as they were in the file (text), with their source row and reason."""
        return self.rows.filter(pl.col(FAILED).is_not_null()).select(*raw_columns, self.reason())


UniqueRule = tuple[list[str | pl.Expr], str]  # further unique keys (names of parsed values, or expressions) and their reason


def judge(
    raw: pl.LazyFrame, parsed: dict[str, pl.Expr], checks: list[Check], unique_keys: list[str] | None = None,
    duplicate_reason: str | None = None, hashed_keys: bool = False,
    also_unique: tuple[UniqueRule, ...] = (),
) -> Judgement:
    """Parse the raw text columns and find each row's first failing check.

    `parsed` maps each output column to an expression over the raw text; checks see raw text as
    pl.col(name) and parsed values as value(name). Duplicates on `unique_keys` (parsed values) are judged
    among rows that passed every other check, so a corrupt copy of a row never pushes the good original
    into quarantine; the first in file order is kept. With `hashed_keys` the keys are compared through a
    64-bit hash of them, which halves the cost on large files; two different keys then collide with a
    probability of about n**2 / 2**65 (3e-6 for ten million rows), which would quarantine a row as a duplicate.
    `also_unique` adds coarser keys (names of parsed values, or expressions over them), each with its reason, judged in
    turn among the rows still passing (the generic panel: an exact repeat of (product, date) first, then a second date
    in the same week).
    """
    reasons = [check.reason for check in checks]
    first = pl.coalesce([pl.when(check.bad).then(pl.lit(i, pl.UInt8)) for i, check in enumerate(checks)]) if checks else pl.lit(None, pl.UInt8)
    rows = raw.with_columns([e.alias(k + PARSED) for k, e in parsed.items()]).with_columns(first.alias(FAILED))
    rules = [(unique_keys, duplicate_reason or f"duplicate key ({', '.join(unique_keys)})")] if unique_keys else []
    for keys, reason in [*rules, *also_unique]:
        passed = pl.col(FAILED).is_null()
        key = pl.struct(passed.alias("__passed"), *[value(k) if isinstance(k, str) else k.alias(f"__key{i}") for i, k in enumerate(keys)])
        repeat = ~(key.hash() if hashed_keys else key).is_first_distinct()
        code = pl.lit(len(reasons), pl.UInt8)
        reasons.append(reason)
        rows = rows.with_columns(pl.when(passed & repeat).then(code).otherwise(pl.col(FAILED)).alias(FAILED))
    return Judgement(rows, reasons)


def split_rows(
    raw: pl.DataFrame, parsed: dict[str, pl.Expr], checks: list[Check], unique_keys: list[str] | None = None,
    duplicate_reason: str | None = None, also_unique: tuple[UniqueRule, ...] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Judge an in-memory table: return (accepted typed rows, quarantined raw rows)."""
    judged = judge(raw.lazy(), parsed, checks, unique_keys, duplicate_reason, also_unique=also_unique)
    accepted, quarantined = pl.collect_all([judged.accepted(list(parsed)), judged.quarantined(raw.columns)])
    return accepted, quarantined


def parse_float(name: str) -> pl.Expr:
    """Text to Float64; unparseable text becomes null, which a check then reports."""
    return pl.col(name).str.strip_chars().cast(pl.Float64, strict=False)


DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")
# +01:00, +0100 or Z, as exports and tz-aware parquet write it
OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z", "%Y-%m-%d %H:%M%#z")
OFFSET_TAIL = r"(\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(?:Z|[+-]\d\d:?\d\d)$"  # a time's UTC offset (group 1: the time before it)


def parse_datetime(
    name: str, formats: tuple[str, ...] = DATETIME_FORMATS, dates: bool = True, offsets: bool = False, wall_clock: bool = False,
) -> pl.Expr:
    """Text to a microsecond Datetime in the first of `formats` that fits; ISO dates alone too if `dates`; with
    `offsets`, ISO timestamps with a UTC offset too, as their UTC time; with `wall_clock`, the offset is dropped and
    the time read as written (its own time zone's wall clock)."""
    text = pl.col(name).str.strip_chars()
    if wall_clock:
        text = text.str.replace(OFFSET_TAIL, "${1}")
    tried = [text.str.to_datetime(f, strict=False, time_unit="us") for f in formats]
    if offsets:
        tried += [text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC").dt.replace_time_zone(None) for f in OFFSET_FORMATS]
    if dates:
        tried.append(text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")))
    return pl.coalesce(tried) if len(tried) > 1 else tried[0]


def present_formats(sample: pl.Series, formats: tuple[str, ...]) -> tuple[str, ...]:
    """The fewest of `formats` (earlier ones preferred) that parse a sample of a file's timestamp text.

    Parsing a column costs one pass per format tried, and a file is written in one or two; so the formats
    are chosen on its first rows and the whole column is parsed with those only (rows in another format
    are then reported as not a timestamp). All formats are kept when the sample parses in none, so that
    the rows, not the sample, are judged.
    """
    left = sample.drop_nulls().str.strip_chars()
    chosen: list[str] = []
    while left.len():
        parses = {f: left.str.to_datetime(f, strict=False, time_unit="us").is_not_null() for f in formats if f not in chosen}
        best = max(parses, key=lambda f: int(parses[f].sum()), default=None)
        if best is None or not parses[best].any():
            break
        chosen.append(best)
        left = left.filter(~parses[best])
    return tuple(chosen) or formats


def missing_text(name: str) -> pl.Expr:
    """True where a key-like text column is null or blank."""
    return pl.col(name).is_null() | (pl.col(name).str.strip_chars() == "")


MISSING_MARKERS = ("na", "n/a", "nan", "null", "none")  # how spreadsheets, R and pandas write an unknown value


def missing_value(column: str) -> pl.Expr:
    """True where a raw value says "unknown": null or blank (missing_text), or a marker such as NA, n/a, NaN, null."""
    return missing_text(column) | pl.col(column).str.strip_chars().str.to_lowercase().is_in(MISSING_MARKERS)


def figure(x: float) -> str:
    """A bound as a reader writes it: 1,000,000 rather than 1e+06."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:g}"


def number_checks(
    name: str, *, required: bool, minimum: float | None = 0.0, strictly: bool = False, maximum: float | None = None,
    whole: bool = False, markers: bool = False,
) -> list[Check]:
    """Missing / not-a-number / not-finite / out-of-range checks for one numeric column. With `markers`, a marker
    such as NA, null or NaN is missing, not "not a number" or "not finite" (the caller reads NaN as null once judged:
    doing it in the parse would cost a second pass over every value)."""
    checks = [Check(f"{name} is not a number", unparseable(name, markers))]
    if required:
        checks.insert(0, Check(f"{name} is missing", missing_text(name)))
    checks.append(Check(f"{name} is not finite", value(name).is_infinite() if markers else value(name).is_infinite() | value(name).is_nan()))
    if whole:
        checks.append(Check(f"{name} is not a whole number", value(name) != value(name).round(0)))
    if minimum is not None:
        below = value(name) <= minimum if strictly else value(name) < minimum
        checks.append(Check(f"{name} is {'not above' if strictly else 'below'} {figure(minimum)}", below))
    if maximum is not None:
        checks.append(Check(f"{name} is above {figure(maximum)}", value(name).abs() > maximum))
    return checks


def timestamp_checks(name: str, *, required: bool = True) -> list[Check]:
    """Missing / unparseable / implausible-date checks for one timestamp column."""
    checks = [
        Check(f"{name} is not a timestamp", unparseable(name)),
        Check(f"{name} is outside {EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d}", ~value(name).is_between(EARLIEST, LATEST, closed="left")),
    ]
    if required:
        checks.insert(0, Check(f"{name} is missing", missing_text(name)))
    return checks


# --- dates: declared formats and the data's plausible range ---------------------------------------------

DATE_FORMAT = "date_format"  # the optional key of a table's `columns` mapping that declares its date format
EXCEL_SERIAL = "excel"  # a declared format: spreadsheet serial day numbers (45000 is 2023-03-15)
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 0 in the 1900 date system (right from serial 61 on, 1900-03-01)
EXCEL_MAX = 2_958_465  # serial of 9999-12-31, the last date a spreadsheet shows


def has_offsets(raw: pl.DataFrame, name: str) -> bool:
    """Whether any value of a date column ends in a UTC offset, so that it must be read on its wall clock. Asked once
    per file: stripping offsets before each format is tried would cost three times the parse of a clean column."""
    return bool(raw.select(pl.col(name).str.strip_chars().str.contains(OFFSET_TAIL).any()).item())


def check_date_format(fmt: object, table: str) -> str | None:
    """Validate a declared date format before any row is read, so a typo in it is one clear error.

    A format must write and read back a date (strftime codes, e.g. "%d/%m/%Y"), or be "excel".
    """
    if fmt is None or fmt == EXCEL_SERIAL:
        return fmt
    where = f"columns.{table}.{DATE_FORMAT}"
    if not isinstance(fmt, str) or "%" not in fmt:
        raise IngestError(f"{where} is {fmt!r}: give a strftime format such as \"%d/%m/%Y\", or \"excel\" for spreadsheet serial numbers")
    sample = dt.datetime(2023, 12, 3, 4, 5, 6)
    try:
        back = pl.Series([sample.strftime(fmt)]).str.to_datetime(fmt, strict=False, time_unit="us")[0]
    except (ValueError, pl.exceptions.PolarsError):
        back = None
    if back is None or back.date() != sample.date():
        raise IngestError(f"{where} is {fmt!r}, which does not read back a whole date (it writes 2023-12-03 as "
                          f"{sample.strftime(fmt)!r}); give year, month and day, e.g. \"%d/%m/%Y\"")
    return fmt


def parse_local_date(raw: pl.DataFrame, name: str, fmt: str | None) -> pl.Expr:
    """A date column of a week (panel week, first-seen week): read on its wall clock where its values carry offsets."""
    return parse_date_as(name, fmt, wall_clock=fmt is None and has_offsets(raw, name))


def parse_event_time(raw: pl.DataFrame, name: str, fmt: str | None) -> pl.Expr:
    """An event timestamp (a review's, a relation's): a UTC offset read as UTC, its formats (four passes over the
    column) tried only in a file whose values carry offsets."""
    return parse_date_as(name, fmt, offsets=fmt is None and has_offsets(raw, name))


def parse_date_as(name: str, fmt: str | None, offsets: bool = False, wall_clock: bool = False) -> pl.Expr:
    """Text to a microsecond Datetime: the declared format if any, else the ISO forms of parse_datetime. A UTC offset
    is read as UTC where `offsets` (event timestamps); with `wall_clock` (dates: a week is the seller's local week) the
    time is read on its own wall clock: 2023-01-02T00:30+01:00 is Monday 2 January."""
    if fmt is None:
        return parse_datetime(name, offsets=offsets, wall_clock=wall_clock)
    text = pl.col(name).str.strip_chars()
    if fmt == EXCEL_SERIAL:
        days = text.cast(pl.Float64, strict=False)
        days = pl.when(days.is_between(1, EXCEL_MAX)).then(days)  # null for NaN, inf and serials no sheet shows
        return pl.lit(EXCEL_EPOCH) + pl.duration(microseconds=(days * 86_400_000_000).round(0).cast(pl.Int64))
    return text.str.to_datetime(fmt, strict=False, time_unit="us")


def date_reason(name: str, table: str, fmt: str | None, timestamp: bool = False) -> str:
    """Why a date did not parse, saying how to declare the file's format (or which format was declared)."""
    where = f"columns.{table}.{DATE_FORMAT}"
    if fmt is None:
        shape = "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS" if timestamp else "YYYY-MM-DD"
        return f'{name} is not a date ({shape}); declare the file\'s format with {where}, e.g. "%d/%m/%Y" or "excel"'
    return f"{name} does not match the declared format {fmt!r} ({where})"


def date_checks(name: str, table: str, fmt: str | None, *, required: bool, timestamp: bool = False) -> list[Check]:
    """Missing / unparseable checks of one date column (its parsed value must be value(name))."""
    checks = [Check(date_reason(name, table, fmt, timestamp), unparseable(name))]
    if required:
        checks.insert(0, Check(f"{name} is missing", missing_text(name)))
    return checks


# The plausible range of a dataset's dates, from the panel: its weeks' quartiles Q1 and Q3, widened by
# FENCE_IQRS interquartile ranges and FENCE_MARGIN_WEEKS weeks on each side. Quartiles ignore up to a quarter
# of the rows on each side, so even a small panel's few mistyped years cannot stretch the range, and the
# accepted time axis is at most (1 + 2 * FENCE_IQRS) * IQR + 2 * FENCE_MARGIN_WEEKS + 1 weeks long.
FENCE_IQRS = 3
FENCE_MARGIN_WEEKS = 52


@dataclass(frozen=True)
class DateWindow:
    """The Mondays [first, last] between which every week (or the week of every timestamp) must lie."""

    first: dt.date
    last: dt.date

    @property
    def n_weeks(self) -> int:
        return (self.last - self.first).days // 7 + 1

    def check(self, name: str) -> Check:
        """Rows whose date (a parsed value, any time of day) lies in a week outside the window."""
        week = week_start(value(name))
        reason = (f"{name} is far outside the data's range {self.first:%Y-%m-%d} .. {self.last:%Y-%m-%d} "
                  f"(the panel's week quartiles widened by {FENCE_IQRS} IQR + {FENCE_MARGIN_WEEKS} weeks); "
                  "fix the year or remove the row")
        return Check(reason, ~week.is_between(self.first, self.last))


def date_window(weeks: pl.Series, counts: pl.Series | None = None) -> DateWindow | None:
    """The plausible range around a panel's weeks (Mondays); None when no week parsed at all.

    `counts` weighs each week by how many rows it stands for (an adapter that has already summed its
    lines per week), which gives the same quartiles as the rows themselves.
    """
    frame = pl.DataFrame({"day": weeks.cast(pl.Date).cast(pl.Int32),  # days since 1970-01-01
                          "n": counts if counts is not None else pl.repeat(1, len(weeks), dtype=pl.Int64, eager=True)})
    frame = frame.drop_nulls().group_by("day").agg(pl.col("n").sum()).filter(pl.col("n") > 0).sort("day")
    if frame.is_empty():
        return None
    share = frame["n"].cum_sum() / frame["n"].sum()
    q1 = int(frame.filter(share >= 0.25)["day"][0])
    q3 = int(frame.filter(share > 0.75)["day"][0]) if (share > 0.75).any() else int(frame["day"][-1])
    reach = 7 * (FENCE_IQRS * (q3 - q1) // 7 + FENCE_MARGIN_WEEKS)
    epoch = dt.date(1970, 1, 1)
    lowest, highest = (dt.date(1, 1, 1) - epoch).days, (dt.date(9999, 12, 31) - epoch).days

    def date(day: int) -> dt.date:
        """A day number as a date, held inside the years a Python date can hold (1..9999)."""
        return epoch + dt.timedelta(days=min(max(day, lowest), highest))

    return DateWindow(date(q1 - reach), date(q3 + reach))


def quarantine_path(out_dir: Path, table: str) -> Path:
    return Path(out_dir) / f"quarantine_{table}.parquet"


def account(file: Path, accepted: pl.DataFrame, quarantined: pl.DataFrame, table: str = "") -> Accounting:
    """Count accepted and quarantined rows per reason for the accounting JSON."""
    reasons = quarantined.group_by(REASON).len().sort(REASON) if quarantined.height else None
    per_reason = {r: int(n) for r, n in reasons.iter_rows()} if reasons is not None else {}
    return Accounting(str(file), accepted.height + quarantined.height, accepted.height, per_reason, table)


def write_accounting(path: Path, accounting: dict[str, Accounting]) -> None:
    """The accounting JSON: one entry per source file and their total; read = accepted + quarantined in each."""
    for name, acc in accounting.items():
        if acc.read != acc.accepted + sum(acc.quarantined.values()):
            raise AssertionError(f"accounting of {name} does not add up: {acc}")
    payload = {name: acc.as_dict() for name, acc in accounting.items()}
    payload["total"] = {
        "read": sum(a.read for a in accounting.values()),
        "accepted": sum(a.accepted for a in accounting.values()),
        "quarantined": sum(sum(a.quarantined.values()) for a in accounting.values()),
    }
    atomic.write_json(payload, path, ensure_ascii=False)


def conform(df: pl.DataFrame | pl.LazyFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame | pl.LazyFrame:
    """Select the contract's columns in order with their declared types, plus any attr_ columns."""
    names = df.collect_schema().names() if isinstance(df, pl.LazyFrame) else df.columns
    attrs = sorted(c for c in names if c.startswith(ATTR_PREFIX))
    cols = [(pl.col(c) if c in names else pl.lit(None)).cast(t).alias(c) for c, t in schema.items()]
    return df.select(cols + [pl.col(a).cast(pl.Float64) for a in attrs])


MONEY = pl.Decimal(38, 6)  # amounts summed as 128-bit integers of millionths; finer digits are rounded (prices here have 2-3)


def exact_sum(expr: pl.Expr) -> pl.Expr:
    """A group's sum that is the same bits on every run: polars' threads hand a group its rows in no fixed order, and
    a float sum's last bits depend on the order; integers of millionths add up alike in any order."""
    return expr.cast(MONEY).sum().cast(pl.Float64)


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A table with the contract's columns and no rows (e.g. the reviews of a source that has none)."""
    return pl.DataFrame(schema=schema)
