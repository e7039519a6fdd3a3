"""Outputs appear whole or not at all: each is written to a temporary file beside it and renamed into place.

A stage killed mid-write (SIGKILL, a node lost) or stopped by a full disk leaves at most a hidden `.<name>.*.tmp`
file, never a truncated output that a rerun (or a user) would trust; Snakemake's incomplete marking covers the
rest. The rename is atomic because the temporary file is in the same folder.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from hotseller.errors import UserError


class DiskFullError(UserError):
    """No space left while writing an output: nothing partial was kept."""


@contextmanager
def replacing(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on any failure it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a writer that was killed (SIGKILL cannot clean up)
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it owner-only; an output gets the mode a plain write gives
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        full = is_disk_full(err, path.parent)  # before the temporary file is removed and its space freed
        Path(tmp).unlink(missing_ok=True)
        if full:
            raise DiskFullError(f"{path}: no space left on the device while writing it (nothing partial was kept); "
                                f"free space there or point the results elsewhere") from None
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FULL_BELOW_BYTES = 1 << 20


def is_disk_full(err: BaseException, folder: Path) -> bool:
    """ENOSPC, also when a library wraps or loses it: polars reports "No space left on device (os error 28)", or,
    mid-way through a parquet footer, only "Invalid thrift: transport error"; so a failed write with under 1 MiB
    left on the folder's filesystem counts as a full disk too."""
    if (isinstance(err, OSError) and err.errno == errno.ENOSPC) or f"(os error {errno.ENOSPC})" in str(err):
        return True
    if not isinstance(err, Exception):
        return False  # KeyboardInterrupt, SystemExit: not a write failure
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize < FULL_BELOW_BYTES


ROW_GROUP_ROWS = 512**2  # polars' own default, given explicitly (see write_parquet)


def write_parquet(frame: pl.DataFrame, path: Path | str) -> None:
    """Row groups of a fixed size: left to polars, they follow the frame's in-memory chunks, and those follow the
    thread count, so the same table gave other bytes on a machine with more cores (the realistic panel did)."""
    with replacing(path) as tmp:
        frame.write_parquet(tmp, row_group_size=ROW_GROUP_ROWS)


def write_csv(frame: pl.DataFrame, path: Path | str) -> None:
    with replacing(path) as tmp:
        frame.write_csv(tmp)


def write_text(text: str, path: Path | str) -> None:
    with replacing(path) as tmp:
        tmp.write_text(text)


def write_json(document: object, path: Path | str, **dump_options) -> None:
    write_text(json.dumps(document, indent=2, **dump_options) + "\n", path)
