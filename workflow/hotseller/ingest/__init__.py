"""Ingest stage: read a configured source, validate at the boundary, write the standard tables.

Every adapter returns (tables, quarantined rows, accounting): the standard tables keyed by table, and
the rejected rows and their accounting keyed alike by source (a table name for generic, a file name for
olist and online_retail). This module writes them the same way: `<table>.parquet`,
`quarantine_<table>.parquet` (source_file + source_row + reason + the raw text) and `accounting.json`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from hotseller import atomic

from hotseller.ingest.contract import (
    REASON,
    SOURCE_FILE,
    SOURCE_ROW,
    TABLES,
    Accounting,
    IngestError,
    quarantine_path,
    write_accounting,
)

log = logging.getLogger(__name__)


def read_source(source: str, files: dict[str, str | None], path: str | None, columns: dict) -> tuple[dict, dict, dict]:
    """Dispatch to an adapter; each returns (standard tables by table, quarantined rows and accounting by source)."""
    if source == "generic":
        if not files.get("panel"):
            raise IngestError("the generic source needs a panel file (--panel / datasets.<name>.files.panel)")
        from hotseller.ingest import generic

        return generic.ingest(files, columns)
    if not path:
        raise IngestError(f"the {source} source needs --path (datasets.<name>.path): the dataset's folder or file")
    if source == "olist":
        from hotseller.ingest import olist

        return olist.ingest(Path(path))
    if source == "online_retail":
        from hotseller.ingest import online_retail

        return online_retail.ingest(Path(path))
    raise IngestError(f"unknown source {source!r}; expected generic, olist or online_retail")


def quarantine_tables(rejected: dict[str, pl.DataFrame], accounting: dict[str, Accounting]) -> dict[str, pl.DataFrame]:
    """Gather each source file's rejected rows into the quarantine file of the standard table it feeds.

    Rows keep their raw text columns; `source_file` and `source_row` say where each came from, so the
    quarantine of a table fed by several files (olist's orders and order items -> panel) stays traceable.
    """
    gathered = {}
    for table in TABLES:
        parts = []
        for name, frame in rejected.items():
            acc = accounting.get(name)
            if frame.height and (acc.table if acc and acc.table else name) == table:
                file = Path(acc.file).name if acc else name
                parts.append(frame.with_columns(pl.lit(file).alias(SOURCE_FILE)))
        if parts:
            frame = pl.concat(parts, how="diagonal_relaxed")
            gathered[table] = frame.select(SOURCE_FILE, SOURCE_ROW, REASON, pl.exclude(SOURCE_FILE, SOURCE_ROW, REASON))
        else:
            gathered[table] = pl.DataFrame(schema={SOURCE_FILE: pl.String, SOURCE_ROW: pl.UInt32, REASON: pl.String})
    return gathered


TOP_REASONS = 3  # quarantine reasons named in the nothing-accepted error


def nothing_accepted(out_dir: Path, accounting: dict[str, Accounting]) -> IngestError:
    """The one-line error for a panel without a single accepted row: which file(s), rows read, top reasons.

    Every later stage needs panel rows (the panel is the time axis), so ingest stops here rather than let
    the next stage fail on an empty table; the quarantine file it points to has already been written.
    """
    feeding = [acc for name, acc in accounting.items() if (acc.table or name) == "panel"]
    files = " + ".join(acc.file for acc in feeding) or "the panel"
    read = sum(acc.read for acc in feeding)
    why = "the file has a header and no data rows" if read == 0 else top_reasons(feeding)
    return IngestError(f"{files}: no panel row was accepted ({read:,} rows read; {why}); "
                       f"see {quarantine_path(out_dir, 'panel')} and {Path(out_dir) / 'accounting.json'}")


def top_reasons(feeding: list[Accounting]) -> str:
    """The most frequent quarantine reasons of some files, with their counts, for a one-line message."""
    reasons: dict[str, int] = {}
    for acc in feeding:
        for reason, n in acc.quarantined.items():
            reasons[reason] = reasons.get(reason, 0) + n
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]
    why = "top reasons: " + "; ".join(f"{reason} ({n:,})" for reason, n in top)
    return why + (f"; and {len(reasons) - TOP_REASONS} more" if len(reasons) > TOP_REASONS else "")


def warn_all_quarantined(out_dir: Path, accounting: dict[str, Accounting]) -> set[str]:
    """One warning per reviews or relations file of which rows were read but none accepted (the panel's case stops
    ingest instead); returns the tables so warned about."""
    warned = set()
    for name, acc in accounting.items():
        table = acc.table or name
        if table in ("reviews", "relations") and acc.read and not acc.accepted:
            log.warning("%s: no %s row was accepted (%s rows read; %s), so the %s table is empty; see %s", acc.file,
                        table, f"{acc.read:,}", top_reasons([acc]), table, quarantine_path(out_dir, table))
            warned.add(table)
    return warned


def write_outputs(out_dir: Path, tables: dict[str, pl.DataFrame], rejected: dict[str, pl.DataFrame], accounting: dict[str, Accounting]) -> None:
    """Write standard tables, quarantine files (always, possibly empty) and the accounting JSON.

    With no accepted panel row, everything is still written (so the quarantine can be read), then the
    stage stops with one line saying why (IngestError).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise IngestError(f"{out_dir}: --out-dir names a file; give a folder (it is made if missing)")
    out_dir.mkdir(parents=True, exist_ok=True)
    for table, quarantine in quarantine_tables(rejected, accounting).items():
        atomic.write_parquet(tables[table], out_dir / f"{table}.parquet")
        atomic.write_parquet(quarantine, quarantine_path(out_dir, table))
    write_accounting(out_dir / "accounting.json", accounting)
    for name, acc in accounting.items():
        log.info(
            "%s: read %d = accepted %d + quarantined %d %s (%s)",
            name, acc.read, acc.accepted, sum(acc.quarantined.values()), acc.quarantined or "", acc.file,
        )
    for table, frame in tables.items():
        log.info("%s: %d rows", table, frame.height)
    if tables["panel"].height == 0:
        raise nothing_accepted(out_dir, accounting)
    warned = warn_all_quarantined(out_dir, accounting)
    if tables["reviews"].height == 0 and "reviews" not in warned:
        log.warning("no reviews in this source: the reviews table is empty, so the review features are zero (and, "
                    "for training, the examples have no rating targets)")
