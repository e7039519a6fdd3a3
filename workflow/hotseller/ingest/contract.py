"""The standard tables every adapter produces, and the validate-and-quarantine machinery they share.

Adapters read raw columns as text, so a bad value is never coerced away before it can be reported: each
check is a polars expression that is true for a bad row, and the first failing check names the reason.
See docs/data-contract.md for the tables' meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

# Typed schema of each standard table, declared once; adapters must produce exactly these columns.
PANEL = {"product_id": pl.String, "week": pl.Date, "units": pl.Float64, "revenue": pl.Float64, "price": pl.Float64, "promo": pl.Float64}
REVIEWS = {"product_id": pl.String, "ts": pl.Datetime("us"), "rating": pl.Float64, "text": pl.String, "helpful_votes": pl.Float64}
PRODUCTS = {"product_id": pl.String, "category": pl.String, "seller": pl.String, "first_seen_week": pl.Date}
RELATIONS = {"src": pl.String, "dst": pl.String, "ts": pl.Datetime("us"), "kind": pl.String, "weight": pl.Float64}
TABLES = {"panel": PANEL, "reviews": REVIEWS, "products": PRODUCTS, "relations": RELATIONS}
ATTR_PREFIX = "attr_"  # numeric static product attributes travel as attr_<name> Float64 columns

SOURCE_ROW = "source_row"
REASON = "reason"


class IngestError(ValueError):
    """Input that cannot be read at all (missing file or column): stop with a message a user can act on."""


@dataclass(frozen=True)
class Check:
    """One validation rule: `bad` is true for rows that violate it; `reason` says so in words."""

    reason: str
    bad: pl.Expr


@dataclass
class Accounting:
    """Row counts of one source file: read = accepted + sum(quarantined.values()) always holds."""

    file: str
    read: int = 0
    accepted: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"file": self.file, "read": self.read, "accepted": self.accepted, "quarantined": self.quarantined}


def require_file(path: Path, table: str) -> Path:
    """Fail early, naming the file and what it should hold, when an input file is missing or empty."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: file not found (expected the {table} table)")
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: file is empty (expected the {table} table with a header row)")
    return path


def require_columns(lf: pl.LazyFrame, needed: list[str], path: Path, table: str) -> None:
    """Fail naming the file, the missing column and the columns that are there."""
    present = [c for c in lf.collect_schema().names() if c != SOURCE_ROW]
    missing = [c for c in needed if c not in present]
    if missing:
        raise IngestError(
            f"{path}: missing column(s) {missing} for the {table} table; found {present}. "
            "Map your column names in config.yaml (datasets.<name>.columns)."
        )


def scan_text(path: Path, table: str, separator: str = ",", encoding: str = "utf8") -> pl.LazyFrame:
    """Scan a CSV or parquet file with every column as text and a 1-based source row number.

    Text first, so that a value that fails to parse is quarantined with what was really in the file.
    Source rows count data rows (the header is row 0), as a spreadsheet user reads them.
    """
    path = require_file(path, table)
    if path.suffix == ".parquet":
        lf = pl.scan_parquet(path)
        lf = lf.with_columns(pl.all().cast(pl.String))
    elif path.suffix in {".csv", ".tsv", ".txt"}:
        try:
            lf = pl.scan_csv(path, separator=separator, infer_schema=False, encoding=encoding)
            lf.collect_schema()
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as err:
            raise IngestError(f"{path}: cannot be read as CSV ({err})") from err
    else:
        raise IngestError(f"{path}: unsupported file type {path.suffix!r}; use .csv or .parquet")
    return lf.with_row_index(SOURCE_ROW, offset=1)


def first_failure(checks: list[Check]) -> pl.Expr:
    """The reason of the first failing check per row, or null when the row passes them all."""
    reason = pl.lit(None, dtype=pl.String)
    for check in reversed(checks):
        reason = pl.when(check.bad.fill_null(False)).then(pl.lit(check.reason)).otherwise(reason)
    return reason.alias(REASON)


PARSED = "__parsed"


def value(name: str) -> pl.Expr:
    """The parsed (typed) value of a raw column, for use inside checks."""
    return pl.col(name + PARSED)


def unparseable(name: str) -> pl.Expr:
    """True where the raw text is present but did not parse to the column's type."""
    return pl.col(name).is_not_null() & (pl.col(name).str.strip_chars() != "") & value(name).is_null()


def split_rows(
    raw: pl.DataFrame, parsed: dict[str, pl.Expr], checks: list[Check], unique_keys: list[str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse the raw text columns, run the checks, and return (accepted typed rows, quarantined raw rows).

    `parsed` maps each output column to an expression over the raw text; checks see raw text as
    pl.col(name) and parsed values as value(name). Duplicates on `unique_keys` are judged among rows that
    passed every other check, so a corrupt copy of a row never pushes the good original into quarantine.
    """
    judged = raw.with_columns([e.alias(k + PARSED) for k, e in parsed.items()]).with_columns(first_failure(checks))
    if unique_keys:
        passed = pl.col(REASON).is_null()
        duplicate = passed & (pl.int_range(pl.len()).over(passed, *[value(k) for k in unique_keys]) > 0)
        reason = f"duplicate key ({', '.join(unique_keys)})"
        judged = judged.with_columns(pl.when(duplicate).then(pl.lit(reason)).otherwise(pl.col(REASON)).alias(REASON))
    bad = judged.get_column(REASON).is_not_null()
    quarantined = raw.filter(bad).with_columns(judged.get_column(REASON).filter(bad))
    accepted = judged.filter(~bad).select([value(k).alias(k) for k in parsed])
    return accepted, quarantined


def parse_float(name: str) -> pl.Expr:
    """Text to Float64; unparseable text becomes null, which a check then reports."""
    return pl.col(name).str.strip_chars().cast(pl.Float64, strict=False)


def parse_datetime(name: str) -> pl.Expr:
    """Text to a microsecond Datetime, accepting ISO dates with or without a time part."""
    text = pl.col(name).str.strip_chars()
    return pl.coalesce(
        text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"),
        text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us"),
        text.str.to_datetime("%Y-%m-%d %H:%M", strict=False, time_unit="us"),
        text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")),
    )


def missing_text(name: str) -> pl.Expr:
    """True where a key-like text column is null or blank."""
    return pl.col(name).is_null() | (pl.col(name).str.strip_chars() == "")


def quarantine_path(out_dir: Path, table: str) -> Path:
    return Path(out_dir) / f"quarantine_{table}.parquet"


def account(file: Path, accepted: pl.DataFrame, quarantined: pl.DataFrame) -> Accounting:
    """Count accepted and quarantined rows per reason for the accounting JSON."""
    reasons = quarantined.group_by(REASON).len().sort(REASON) if quarantined.height else None
    per_reason = {r: int(n) for r, n in reasons.iter_rows()} if reasons is not None else {}
    return Accounting(str(file), accepted.height + quarantined.height, accepted.height, per_reason)


def write_accounting(path: Path, accounting: dict[str, Accounting]) -> None:
    payload = {table: acc.as_dict() for table, acc in accounting.items()}
    payload["total"] = {
        "read": sum(a.read for a in accounting.values()),
        "accepted": sum(a.accepted for a in accounting.values()),
        "quarantined": sum(sum(a.quarantined.values()) for a in accounting.values()),
    }
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")


def conform(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select the contract's columns in order with their declared types, plus any attr_ columns."""
    attrs = sorted(c for c in df.columns if c.startswith(ATTR_PREFIX))
    cols = [(pl.col(c) if c in df.columns else pl.lit(None)).cast(t).alias(c) for c, t in schema.items()]
    return df.select(cols + [pl.col(a).cast(pl.Float64) for a in attrs])
