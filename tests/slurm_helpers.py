"""Helpers for the tests that run jobs on a REAL Slurm cluster (no mocks).

The cluster is the single-node one of `scripts/slurm/local-cluster.sh up` (partitions `cpu` and
`gpu`, fake GPUs, no accounting). Where none answers, the tests are skipped; with
HOTSELLER_REQUIRE_SLURM=1 (CI) they fail instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_PROFILE = REPO_ROOT / "profiles" / "slurm-local"


def slurm_partitions() -> tuple[set[str], str]:
    """Partitions the reachable Slurm controller offers, or an empty set and why there are none."""
    if shutil.which("sbatch") is None:
        return set(), "sbatch is not on PATH (no Slurm client installed)"
    try:
        listing = subprocess.run(
            ["sinfo", "--noheader", "--format=%R"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return set(), f"sinfo failed: {error}"
    if listing.returncode != 0:
        return set(), f"sinfo cannot reach a Slurm controller: {listing.stderr.strip()}"
    return set(listing.stdout.split()), ""


def skip_or_fail(why: str) -> None:
    """Skip, or fail under HOTSELLER_REQUIRE_SLURM=1, saying how to start the local cluster."""
    message = f"{why}; start one with `sudo scripts/slurm/local-cluster.sh up`"
    if os.environ.get("HOTSELLER_REQUIRE_SLURM") == "1":
        pytest.fail(message)
    pytest.skip(message)


def require_local_cluster() -> None:
    partitions, why = slurm_partitions()
    if not why and not {"cpu", "gpu"} <= partitions:
        why = (
            f"the reachable Slurm cluster has partitions {sorted(partitions)}, not the "
            "'cpu' and 'gpu' of the local test cluster"
        )
    if why:
        skip_or_fail(why)


def require_executor_plugin() -> None:
    """`--profile profiles/slurm*` needs Snakemake's Slurm executor plugin, an optional extra."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        message = "snakemake-executor-plugin-slurm is not installed; install it with `make setup-slurm`"
        if os.environ.get("HOTSELLER_REQUIRE_SLURM") == "1":
            pytest.fail(message)
        pytest.skip(message)


def scontrol_fields(*args: str) -> dict[str, str]:
    """`scontrol show ...` as a dict of its Key=Value fields (values without spaces)."""
    shown = subprocess.run(
        ["scontrol", "show", *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return dict(re.findall(r"(\w+)=(\S*)", shown))


def job_field(job_id: str, name: str) -> str:
    """One field of `scontrol show job` (finished jobs stay there for MinJobAge = 300 s)."""
    fields = scontrol_fields("job", job_id)
    assert name in fields, f"no {name}= in scontrol show job {job_id}: {fields}"
    return fields[name]


def job_state(job_id: str) -> str:
    """The job's state as squeue reports it (RUNNING, PENDING, COMPLETING, ...); '' once it is gone."""
    shown = subprocess.run(
        ["squeue", "--noheader", "--jobs", job_id, "--format=%T"],
        capture_output=True, text=True, timeout=30,
    )
    return shown.stdout.strip()


def slurm_job_logs(workdir: Path, rule: str) -> dict[str, Path]:
    """Per-job logs the executor wrote for a rule, keyed by Slurm job id."""
    rule_dir = workdir / ".snakemake" / "slurm_logs" / f"rule_{rule}"
    return {path.stem: path for path in rule_dir.glob("*.log")}


def local_node() -> dict[str, str]:
    """`scontrol show node` of the single node of the local cluster (CPUTot, RealMemory, Gres, ...)."""
    return scontrol_fields("node")


def slurmctld_log() -> Path | None:
    """The controller's own log, when this machine runs it and it can be read."""
    config = subprocess.run(
        ["scontrol", "show", "config"], capture_output=True, text=True, timeout=30
    ).stdout
    match = re.search(r"^SlurmctldLogFile\s*=\s*(\S+)", config, flags=re.M)
    path = Path(match.group(1)) if match else None
    return path if path is not None and os.access(path, os.R_OK) else None
