"""End-to-end checks of the Slurm profile against a REAL Slurm cluster (no mocks).

They submit jobs through `profiles/slurm-local` to the single-node cluster that
`scripts/slurm/local-cluster.sh up` stands up (partitions `cpu` and `gpu`, one fake GPU).
Where no such cluster answers they are skipped; set HOTSELLER_REQUIRE_SLURM=1 (CI does)
to make that a failure instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_PROFILE = REPO_ROOT / "profiles" / "slurm-local"
SNAKEMAKE_TIMEOUT_S = 180

# A throwaway workflow: a CPU stage, then a "training" stage that asks for one GPU on the gpu
# partition, with the resource names the real workflow's rules use. Each job records where
# Slurm ran it.
THROWAWAY_SNAKEFILE = """
rule all:
    input: "prepared.txt", "trained.txt"

rule prepare:
    output: "prepared.txt"
    shell: "echo job=$SLURM_JOB_ID partition=$SLURM_JOB_PARTITION > {output}"

rule train:
    input: "prepared.txt"
    output: "trained.txt"
    resources:
        slurm_partition="gpu",
        gpu=1,
        runtime=5,
        mem_mb=1000,
        cpus_per_task=1,
    shell:
        "echo job=$SLURM_JOB_ID partition=$SLURM_JOB_PARTITION"
        " gpus=$SLURM_GPUS_ON_NODE > {output}"
"""


def _slurm_partitions() -> tuple[set[str], str]:
    """Partitions the reachable Slurm controller offers, or an empty set and why there are none."""
    if shutil.which("sbatch") is None:
        return set(), "sbatch is not on PATH (no Slurm client installed)"
    try:
        listing = subprocess.run(
            ["sinfo", "--noheader", "--format=%R"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return set(), f"sinfo failed: {error}"
    if listing.returncode != 0:
        return set(), f"sinfo cannot reach a Slurm controller: {listing.stderr.strip()}"
    return set(listing.stdout.split()), ""


def _require_local_cluster() -> None:
    partitions, why = _slurm_partitions()
    if not why and not {"cpu", "gpu"} <= partitions:
        why = (
            f"the reachable Slurm cluster has partitions {sorted(partitions)}, not the "
            "'cpu' and 'gpu' of the local test cluster"
        )
    if why:
        message = f"{why}; start one with `sudo scripts/slurm/local-cluster.sh up`"
        if os.environ.get("HOTSELLER_REQUIRE_SLURM") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _run_snakemake(workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", str(LOCAL_PROFILE)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=SNAKEMAKE_TIMEOUT_S,
    )


def _slurm_job_logs(workdir: Path, rule: str) -> dict[str, Path]:
    """Per-job logs the executor wrote for a rule, keyed by Slurm job id."""
    rule_dir = workdir / ".snakemake" / "slurm_logs" / f"rule_{rule}"
    return {path.stem: path for path in rule_dir.glob("*.log")}


def _recorded(output: Path) -> dict[str, str]:
    return dict(field.split("=", 1) for field in output.read_text().split())


def _job_field(job_id: str, name: str) -> str:
    """One field of `scontrol show job` (finished jobs stay there for MinJobAge = 300 s)."""
    shown = subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(rf"\b{name}=(\S*)", shown)
    assert match, f"no {name}= in scontrol show job {job_id}:\n{shown}"
    return match.group(1)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory):
    """The throwaway workflow, run once through sbatch; shared by the tests below."""
    _require_local_cluster()
    workdir = tmp_path_factory.mktemp("slurm_workflow")
    (workdir / "Snakefile").write_text(THROWAWAY_SNAKEFILE)
    result = _run_snakemake(workdir)
    assert result.returncode == 0, (
        f"snakemake --profile {LOCAL_PROFILE} failed:\n{result.stdout}\n{result.stderr}"
    )
    return workdir, result


def test_job_runs_through_sbatch(finished_run):
    workdir, result = finished_run
    recorded = _recorded(workdir / "prepared.txt")
    job_id = recorded["job"]
    assert job_id.isdigit(), f"prepare did not run inside a Slurm job: {recorded}"
    assert set(_slurm_job_logs(workdir, "prepare")) == {job_id}
    assert f"submitted with SLURM jobid {job_id}" in result.stdout + result.stderr
    assert recorded["partition"] == "cpu"


def test_gpu_rule_lands_on_gpu_partition(finished_run):
    workdir, _ = finished_run
    recorded = _recorded(workdir / "trained.txt")
    job_id = recorded["job"]
    assert set(_slurm_job_logs(workdir, "train")) == {job_id}
    assert recorded["partition"] == "gpu"
    assert recorded["gpus"] == "1", f"the job was not given the fake GPU: {recorded}"
    assert _job_field(job_id, "Partition") == "gpu"
    assert "gpu:1" in _job_field(job_id, "TresPerJob")


def test_rerun_with_nothing_changed_submits_nothing(finished_run):
    workdir, _ = finished_run
    logs_before = {
        rule: set(_slurm_job_logs(workdir, rule)) for rule in ("prepare", "train")
    }
    result = _run_snakemake(workdir)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Nothing to be done" in output
    assert "submitted with SLURM jobid" not in output
    logs_after = {rule: set(_slurm_job_logs(workdir, rule)) for rule in ("prepare", "train")}
    assert logs_after == logs_before
