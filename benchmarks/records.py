"""The benchmarks' JSON records: several runs (datasets, variants, seeds) add their entry to one file, each without
overwriting the others'."""

from __future__ import annotations

import json
from pathlib import Path


def update_record(path: Path, keys: list[str], value: object) -> dict:
    """Set document[keys[0]]...[keys[-1]] = value in the JSON record at `path` (created, with its folder, when missing;
    the dicts along `keys` too) and write it back; returns the whole document."""
    path = Path(path)
    document = json.loads(path.read_text()) if path.exists() else {}
    node = document
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return document
