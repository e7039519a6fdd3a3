"""End-to-end checks of the Slurm profile against a REAL Slurm cluster (no mocks).

They submit jobs through `profiles/slurm-local` to the single-node cluster that
`scripts/slurm/local-cluster.sh up` stands up (partitions `cpu` and `gpu`, one fake GPU).
Where no such cluster answers they are skipped; set HOTSELLER_REQUIRE_SLURM=1 (CI does)
to make that a failure instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from slurm_helpers import LOCAL_PROFILE, job_field, require_local_cluster, slurm_job_logs
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


def _run_snakemake(workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", str(LOCAL_PROFILE)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=SNAKEMAKE_TIMEOUT_S,
    )


def _recorded(output: Path) -> dict[str, str]:
    return dict(field.split("=", 1) for field in output.read_text().split())


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory):
    """The throwaway workflow, run once through sbatch; shared by the tests below."""
    require_local_cluster()
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
    assert set(slurm_job_logs(workdir, "prepare")) == {job_id}
    assert f"submitted with SLURM jobid {job_id}" in result.stdout + result.stderr
    assert recorded["partition"] == "cpu"


def test_gpu_rule_lands_on_gpu_partition(finished_run):
    workdir, _ = finished_run
    recorded = _recorded(workdir / "trained.txt")
    job_id = recorded["job"]
    assert set(slurm_job_logs(workdir, "train")) == {job_id}
    assert recorded["partition"] == "gpu"
    assert recorded["gpus"] == "1", f"the job was not given the fake GPU: {recorded}"
    assert job_field(job_id, "Partition") == "gpu"
    assert "gpu:1" in job_field(job_id, "TresPerJob")


def test_rerun_with_nothing_changed_submits_nothing(finished_run):
    workdir, _ = finished_run
    logs_before = {
        rule: set(slurm_job_logs(workdir, rule)) for rule in ("prepare", "train")
    }
    result = _run_snakemake(workdir)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Nothing to be done" in output
    assert "submitted with SLURM jobid" not in output
    logs_after = {rule: set(slurm_job_logs(workdir, rule)) for rule in ("prepare", "train")}
    assert logs_after == logs_before
