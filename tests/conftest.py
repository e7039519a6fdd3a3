"""Shared fixtures: the repository root, a tiny synthetic market, and an ingested copy of it."""

from __future__ import annotations

import logging
import os
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
    # Without this environment's bin on PATH, as after `.venv/bin/snakemake` in a shell that did not activate
    # the venv: the workflow itself must find `hotseller` (common.smk).
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != BIN.resolve()]
    env = {**os.environ, "PATH": os.pathsep.join(path)}
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="session")
def tiny_training(tiny_tables, tmp_path_factory) -> dict[str, Path]:
    """examples.parquet, edges.parquet and split.json of the tiny market (W=8, H=4, stride 4)."""
    import json

    from hotseller.features import LabelSpec, build_examples
    from hotseller.graph import GraphSpec, build_edges
    from hotseller.split import make_split

    out = tmp_path_factory.mktemp("prepared")
    spec = LabelSpec(window_weeks=8, horizon_weeks=4, hot_quantile=0.05, stride_weeks=4)
    t = {name: tiny_tables / f"{name}.parquet" for name in ("panel", "reviews", "products", "relations")}
    build_examples(t["panel"], t["reviews"], t["products"], spec).write_parquet(out / "examples.parquet")
    build_edges(t["products"], t["relations"], t["panel"], 8, 4, 4, GraphSpec()).write_parquet(out / "edges.parquet")
    (out / "split.json").write_text(json.dumps(make_split(out / "examples.parquet", 4, 0)))
    return {"examples": out / "examples.parquet", "edges": out / "edges.parquet", "split": out / "split.json"}


def cli_main(*args: str) -> tuple[int, list[str]]:
    """`hotseller.cli.main` run in this process: (its exit code, the messages it logged as ERROR).

    Any exception other than the SystemExit that main raises for a user's mistake propagates and fails the test."""
    from hotseller.cli import main

    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.ERROR)
    handler.emit = records.append
    logger = logging.getLogger("hotseller")
    logger.addHandler(handler)
    try:
        main(list(args))
        code = 0
    except SystemExit as stop:
        code = stop.code
    finally:
        logger.removeHandler(handler)
    return code, [r.getMessage() for r in records]
