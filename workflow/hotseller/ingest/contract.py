"""The standard tables every adapter produces, and the validate-and-quarantine machinery they share.

Adapters read raw columns as text, so a bad value is never coerced away before it can be reported: each
check is a polars expression that is true for a bad row, and the first failing check names the reason.
Judging is lazy (`judge`), so an adapter can stream a large file through its checks and aggregations;
`split_rows` is the eager form for small tables. Reading a file as text is `files`, dates and timestamps `dates`.
See docs/adapters.md for the tables and each adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hotseller import atomic
from hotseller.errors import UserError

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

NOT_UTF8 = "row has bytes that are not valid UTF-8"
REPLACEMENT_CHAR = "\ufffd"  # what a lossy UTF-8 read puts in place of each invalid byte sequence


class IngestError(UserError):
    """Input that cannot be read at all (missing file or column): stop with a message a user can act on (one line,
    exit 2 at the command line)."""


@dataclass(frozen=True)
class Check:
    """One validation rule: `bad` is true for rows that violate it; `reason` says so in words.

    A reason is usually a fixed sentence; an expression lets one rule name the offending value
    (e.g. which kind of non-product code a line books), so the accounting counts each value apart.
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
