"""Dates and timestamps as sources write them: the ISO forms tried by default, a declared format ("%d/%m/%Y" or
spreadsheet serials), UTC offsets, the checks that quarantine what does not parse, and the data's plausible range.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from hotseller.ingest.contract import Check, IngestError, missing_text, unparseable, value
from hotseller.weeks import week_start

# Timestamps outside this range are typing errors or placeholder dates, not e-commerce events.
EARLIEST = dt.datetime(1990, 1, 1)
LATEST = dt.datetime(2100, 1, 1)

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


def timestamp_checks(name: str, *, required: bool = True) -> list[Check]:
    """Missing / unparseable / implausible-date checks for one timestamp column."""
    checks = [
        Check(f"{name} is not a timestamp", unparseable(name)),
        Check(f"{name} is outside {EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d}", ~value(name).is_between(EARLIEST, LATEST, closed="left")),
    ]
    if required:
        checks.insert(0, Check(f"{name} is missing", missing_text(name)))
    return checks



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

    def reason(self, name: str) -> str:
        return (f"{name} is far outside the data's range {self.first:%Y-%m-%d} .. {self.last:%Y-%m-%d} "
                f"(the panel's week quartiles widened by {FENCE_IQRS} IQR + {FENCE_MARGIN_WEEKS} weeks); "
                "fix the year or remove the row")

    def outside(self, week: pl.Expr) -> pl.Expr:
        """True where a week (a Monday) lies outside the window."""
        return ~week.is_between(self.first, self.last)

    def check(self, name: str) -> Check:
        """Rows whose date (a parsed value, any time of day) lies in a week outside the window."""
        return Check(self.reason(name), self.outside(week_start(value(name))))


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
