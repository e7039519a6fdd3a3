"""Reading a source file as text: what a file is (CSV, TSV, Parquet; UTF-8 or not) and the refusals that stop on a
file no row check could judge (a binary file under a text name, a doubled header name, a ragged line).

Every refusal is one IngestError naming the file and what to do; the rows themselves are judged in `contract`.
"""

from __future__ import annotations

import codecs
import csv
import functools
from pathlib import Path

import polars as pl
import polars.selectors as cs

from hotseller.ingest.contract import FAILED, PARSED, REASON, REJECTED, SOURCE_FILE, SOURCE_ROW, IngestError

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

