"""Ingest stage: read a configured source, validate at the boundary, write the standard tables.

Every adapter returns (tables, quarantined rows, accounting); this module writes them the same way:
`<table>.parquet`, `quarantine_<table>.parquet` (raw text + source_row + reason) and `accounting.json`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from hotseller.ingest.contract import TABLES, Accounting, IngestError, quarantine_path, write_accounting

log = logging.getLogger(__name__)


def read_source(source: str, files: dict[str, str | None], path: str | None, columns: dict) -> tuple[dict, dict, dict]:
    """Dispatch to an adapter; each returns (standard tables, quarantined rows, accounting) keyed by table."""
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


def write_outputs(out_dir: Path, tables: dict[str, pl.DataFrame], rejected: dict[str, pl.DataFrame], accounting: dict[str, Accounting]) -> None:
    """Write standard tables, quarantine files (always, possibly empty) and the accounting JSON."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        tables[table].write_parquet(out_dir / f"{table}.parquet")
        quarantine = rejected.get(table, pl.DataFrame())
        quarantine = quarantine if quarantine.width else pl.DataFrame(schema={"source_row": pl.UInt32, "reason": pl.String})
        quarantine.write_parquet(quarantine_path(out_dir, table))
    write_accounting(out_dir / "accounting.json", accounting)
    for table, acc in accounting.items():
        log.info(
            "%s: read %d = accepted %d + quarantined %d %s (%s)",
            table, acc.read, acc.accepted, sum(acc.quarantined.values()), acc.quarantined or "", acc.file,
        )
