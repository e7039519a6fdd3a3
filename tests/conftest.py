"""Shared fixtures: the repository root, a tiny synthetic market, and an ingested copy of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def tiny_market(tmp_path_factory) -> Path:
    """Raw files of a small seeded market (the generic format)."""
    from hotseller.synth import MarketSpec, write_market

    out = tmp_path_factory.mktemp("market") / "raw"
    write_market(MarketSpec(n_products=200, n_weeks=52, n_categories=4, n_sellers=12, seed=3), out)
    return out


@pytest.fixture(scope="session")
def tiny_tables(tiny_market, tmp_path_factory) -> Path:
    """The tiny market ingested into the standard tables."""
    from hotseller.ingest import generic, write_outputs

    out = tmp_path_factory.mktemp("ingest")
    files = {t: tiny_market / f for t, f in (("panel", "panel.csv"), ("reviews", "reviews.parquet"),
                                             ("products", "products.csv"), ("relations", "relations.parquet"))}
    write_outputs(out, *generic.ingest(files, {}))
    return out


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow (Snakefile, config, workflow/) to run Snakemake in, away from results/."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Snakefile", dest)
    shutil.copy(ROOT / "config.yaml", dest)
    shutil.copytree(ROOT / "workflow", dest / "workflow", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def snakemake(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real snakemake of this environment in `cwd`."""
    cmd = [str(BIN / "snakemake"), "--cores", "2", *args]
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result
