"""Faults: a stage killed mid-write leaves nothing a rerun would trust, and a full disk is one clear line with no
partial output. Real processes, real signals, a real (small) tmpfs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BIN, copy_workflow, snakemake

pytestmark = pytest.mark.slow
SMALL = ["--config", "dataset=small"]
TARGETS = {"features": ["features/examples.parquet", "features/forecast.parquet"],
           "graph": ["graph/edges.parquet", "graph/forecast_edges.parquet"]}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """The small preset's data stages run once, uninterrupted: the bytes every rerun must reproduce."""
    workdir = copy_workflow(tmp_path_factory.mktemp("faults"))
    outputs = [f"results/small/{p}" for paths in TARGETS.values() for p in paths]
    snakemake(workdir, *outputs, *SMALL)
    return workdir, {p: (workdir / p).read_bytes() for p in outputs}


def kill_while_writing(workdir: Path, stage: str, timeout: float = 120.0) -> bool:
    """Start Snakemake for the stage's outputs and SIGKILL it and the job the moment the job's temporary output
    file appears (mid-write); returns whether that moment was caught (else the run was killed when it ended)."""
    folder = workdir / "results/small" / stage
    cmd = [str(BIN / "snakemake"), "--cores", "2", *[f"results/small/{p}" for p in TARGETS[stage]], *SMALL]
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline, caught = time.monotonic() + timeout, False
    while time.monotonic() < deadline and proc.poll() is None:
        if folder.exists() and any(f.name.endswith(".tmp") for f in folder.iterdir()):
            caught = True
            break
        time.sleep(0.001)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and its job share the session: a lost node, not a clean stop
    proc.wait()
    return caught


@pytest.mark.parametrize("stage", ["features", "graph"])
def test_sigkill_mid_write_leaves_no_trusted_partial_output_and_a_rerun_is_byte_identical(small_run, stage):
    workdir, reference = small_run
    for attempt in range(5):
        for path in TARGETS[stage]:
            (workdir / "results/small" / path).unlink(missing_ok=True)
        if kill_while_writing(workdir, stage):
            break
    else:
        pytest.fail(f"the {stage} job's temporary output was never seen in 5 runs; cannot kill it mid-write")
    for path in TARGETS[stage]:
        out = workdir / "results/small" / path
        # Either absent, or (had the rename happened just before the kill) whole: never a truncated file.
        assert not out.exists() or out.read_bytes() == reference[f"results/small/{path}"]
    # What a user does after a crash: release Snakemake's lock, then rerun what it marked incomplete.
    snakemake(workdir, "--unlock", *SMALL)
    snakemake(workdir, "--rerun-incomplete", *[f"results/small/{p}" for p in TARGETS[stage]], *SMALL)
    for path in TARGETS[stage]:
        assert (workdir / "results/small" / path).read_bytes() == reference[f"results/small/{path}"]
    assert not [f for f in (workdir / "results/small" / stage).iterdir() if f.name.endswith(".tmp")]


@pytest.fixture
def small_disk(tmp_path):
    """A 16 KiB tmpfs: too small for the tiny market's examples. Needs root (mount); skipped, saying so, without."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_is_one_line_and_keeps_no_partial_output(tiny_tables, small_disk):
    out = small_disk / "examples.parquet"
    result = subprocess.run([sys.executable, "-m", "hotseller.cli", "features", "--panel", str(tiny_tables / "panel.parquet"),
                             "--reviews", str(tiny_tables / "reviews.parquet"), "--products", str(tiny_tables / "products.parquet"),
                             "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and f"{out}: no space left on the device" in errors[0]
    assert list(small_disk.iterdir()) == []  # neither the output nor its temporary file


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), RuntimeError("write failed: No space left on device (os error 28)")])
def test_a_full_disk_without_root_is_a_user_error_and_keeps_nothing(tmp_path, error):
    """The full-disk path without a small tmpfs (which needs root, and may be skipped): ENOSPC raised mid-write, as the
    OS raises it and as polars words it, becomes DiskFullError; neither the output nor its temporary file is left."""
    from hotseller import atomic

    out = tmp_path / "examples.parquet"
    with pytest.raises(atomic.DiskFullError, match=f"{out}: no space left on the device while writing it"):
        with atomic.replacing(out) as tmp:
            tmp.write_bytes(b"partial")
            raise error
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="not a disk problem"):  # any other failure keeps its own type, nothing partial either
        with atomic.replacing(out) as tmp:
            tmp.write_bytes(b"partial")
            raise ValueError("not a disk problem")
    assert list(tmp_path.iterdir()) == []


def test_an_atomic_output_has_the_mode_a_plain_write_gives(tmp_path):
    from hotseller import atomic

    atomic.write_text("x", tmp_path / "atomic.txt")
    (tmp_path / "plain.txt").write_text("x")
    assert (tmp_path / "atomic.txt").stat().st_mode == (tmp_path / "plain.txt").stat().st_mode  # not mkstemp's 0600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_parquet_output_has_the_same_bytes_however_polars_chunked_the_table(tmp_path):
    """polars keeps a table in chunks whose number follows its thread count; the written file must not (the realistic
    panel's bytes differed between POLARS_MAX_THREADS=1 and 2 before row groups got a fixed size)."""
    import polars as pl

    from hotseller import atomic

    # More rows than one row group (512**2): below that, polars wrote one group whatever the chunks.
    table = pl.select(i=pl.int_range(400_000)).select(product_id=pl.format("P{}", pl.col("i") % 997), units=(pl.col("i") % 13).cast(pl.Float64))
    chunked = pl.concat([table.slice(start, 100_000) for start in range(0, table.height, 100_000)], rechunk=False)
    assert chunked.n_chunks() == 4 and table.n_chunks() == 1 and chunked.equals(table)
    atomic.write_parquet(table, tmp_path / "one.parquet")
    atomic.write_parquet(chunked, tmp_path / "four.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "four.parquet").read_bytes()
    assert pl.read_parquet(tmp_path / "four.parquet").equals(table)
