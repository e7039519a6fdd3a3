"""The benchmarks' JSON records: several runs (datasets, variants, seeds) add their entry to one file, each without
overwriting the others'."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller import atomic  # noqa: E402


def update_record(path: Path, keys: list[str], value: object) -> dict:
    """Set document[keys[0]]...[keys[-1]] = value in the JSON record at `path` (created, with its folder, when missing;
    the dicts along `keys` too) and write it back; returns the whole document."""
    path = Path(path)
    document = json.loads(path.read_text()) if path.exists() else {}
    node = document
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    atomic.write_json(document, path)  # makes the folder; a run killed while writing leaves the record as it was
    return document
