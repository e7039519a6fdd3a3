"""The tiny workflow through `snakemake --profile profiles/slurm-local` on the REAL local Slurm cluster.

No mocks: every job is an `sbatch` job of the cluster that `scripts/slurm/local-cluster.sh up` starts
(partitions `cpu` and `gpu`, one fake GPU, no accounting). One Slurm run of a copy of the workflow, after
a local run of another copy with the same override, serves every test below. While the Slurm run goes on, the test interrupts its
`train` job twice, the two ways a cluster stops a job:

1. `scancel --signal=TERM <job>`: Slurm signals the job's steps; the trainer catches SIGTERM, exits 75
   with the checkpoint of its last epoch on disk, the job FAILS, and Snakemake's retry (`--retries 1`,
   as `profiles/slurm` sets `retries: 1`) submits a new job that resumes from the checkpoint.
2. `scontrol requeue <job>` (what preemption with PreemptMode=REQUEUE or a node failure with `--requeue`
   does): Slurm kills the job (SIGTERM, then SIGKILL after KillWait) and queues it again under the same
   job id; Snakemake keeps waiting, and the restarted job resumes from the checkpoint again.

Then the outputs must equal the local, uninterrupted run's, byte for byte. Skipped where no such cluster
answers; with HOTSELLER_REQUIRE_SLURM=1 (CI) that is a failure instead.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, copy_workflow
from slurm_helpers import (
    LOCAL_PROFILE,
    local_node,
    require_executor_plugin,
    require_local_cluster,
    scontrol_fields,
    skip_or_fail,
    slurm_job_logs,
    slurmctld_log,
)

pytestmark = pytest.mark.slow

OUT = "results/tiny"
CHECKPOINT = f"{OUT}/train/checkpoint.pt"
EPOCHS = 8  # the preset's 6, and 2 more as a margin for the interruptions
TRAIN_CPUS = 2  # the train job's --cpus-per-task (its --threads is the config's threads, also 2); the local run gets --cores 2
TRAIN_MEM_MB = 2048
LOCAL_RULES = {"split", "package"}  # the rules marked localrule: True
RUN_TIMEOUT_S = 1500  # a bound for a hung run (see docs/slurm.md); a quiet 2-core machine needs far less
STEP_TIMEOUT_S = 600
POLL_S = 0.5
FAST_POLL_S = 0.05


def override_yaml(node: dict[str, str]) -> str:
    """The override a user writes to fit the workflow to this cluster (docs/slurm.md)."""
    cpus, memory, gres = int(node.get("CPUTot", 0)), int(node.get("RealMemory", 0)), node.get("Gres", "")
    if cpus < TRAIN_CPUS or memory < TRAIN_MEM_MB or "gpu" not in gres:
        skip_or_fail(f"the local Slurm node has CPUTot={cpus}, RealMemory={memory}, Gres={gres!r}; these "
                     f"tests need {TRAIN_CPUS} CPUs, {TRAIN_MEM_MB} MB and a gpu GRES")
    return (
        "dataset: tiny\n"
        # Pinned (where the preset sets them), so that the trainer still runs when the test interrupts it; one network,
        # so that its checkpoint is train/checkpoint.pt (an ensemble's members checkpoint in train/member<i>/).
        f"datasets: {{tiny: {{overrides: {{train: {{epochs: {EPOCHS}, patience: {EPOCHS}, ensemble: 1}}}}}}}}\n"
        "slurm:\n"
        "  cpu_partition: cpu\n"
        "  cpu_mem_mb: 1000\n"  # the node's memory is checked against train's; the CPU stages of the tiny run need far less
        "  cpu_runtime_min: 10\n"
        "  gpu_partition: gpu\n"
        "  gpus: 1\n"
        '  gpu_model: ""\n'  # the fake GPUs have no model name: --gpus=1
        "  train_runtime_min: 20\n"
        f"  train_mem_mb: {TRAIN_MEM_MB}\n"
        f"  train_cpus: {TRAIN_CPUS}\n"
    )


def start_snakemake(workdir: Path, *args: str) -> subprocess.Popen:
    """This environment's snakemake in `workdir`, output to workdir/snakemake.out (the rules call `hotseller`)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = open(workdir / "snakemake.out", "w")  # noqa: SIM115 - closed by finish()
    proc = subprocess.Popen([str(BIN / "snakemake"), *args, "--configfile", "override.yaml"], cwd=workdir, env=env,
                            stdout=out, stderr=subprocess.STDOUT, text=True)
    proc.out_file = out  # type: ignore[attr-defined]
    return proc


def finish(proc: subprocess.Popen, workdir: Path, timeout: float) -> str:
    """Wait for a run started by start_snakemake (killing it when it takes too long); return its output."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()  # Snakemake cancels its Slurm jobs on SIGTERM
        proc.wait(timeout=60)
    proc.out_file.close()  # type: ignore[attr-defined]
    return (workdir / "snakemake.out").read_text()


def checkpoint_mtime(workdir: Path) -> int | None:
    """When checkpoint.pt was last replaced (the trainer writes it atomically after every epoch)."""
    try:
        return (workdir / CHECKPOINT).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def wait_for(what: str, condition, proc: subprocess.Popen, timeout: float = STEP_TIMEOUT_S, poll: float = POLL_S):
    """Poll `condition` until it returns something true; fail if Snakemake ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"snakemake ended (exit {proc.returncode}) while waiting for {what}")
        time.sleep(poll)
    raise AssertionError(f"no {what} after {timeout} s")


def interrupt_training(workdir: Path, proc: subprocess.Popen) -> dict:
    """Stop the train job with `scancel --signal=TERM`, then its retry with `scontrol requeue`; record what happened.

    Each interruption follows a new checkpoint at once (polled every 50 ms): on an idle machine an epoch of the
    tiny preset takes well under a second, so the epochs left after it are the margin.
    """
    record: dict = {}
    train_log = workdir / OUT / "logs" / "train.log"

    def train_jobs() -> list[str]:
        return sorted(slurm_job_logs(workdir, "train"), key=int)

    # 1. The first train job, as soon as it has written a checkpoint: SIGTERM to its steps.
    wait_for("a first checkpoint", lambda: checkpoint_mtime(workdir), proc, poll=FAST_POLL_S)
    (first,) = train_jobs()  # its log is created when the job starts
    subprocess.run(["scancel", "--signal=TERM", first], check=True, timeout=30)
    record.update(first=first, first_signalled=scontrol_fields("job", first))
    # Its end, read at once: Slurm forgets a job MinJobAge (300 s) after it ends, and the retry may queue longer.
    record["first_ended"] = wait_for(f"the end of job {first}", lambda: ended(first), proc)

    # 2. Snakemake's retry, a new job: requeue it as soon as it has written a checkpoint of its own.
    second = wait_for("a retry of train", lambda: next((j for j in train_jobs() if j != first), None), proc,
                      timeout=RUN_TIMEOUT_S)  # it may wait for `baselines`, which takes both CPUs
    record["second"] = second
    stamp = checkpoint_mtime(workdir)  # the first job is over: only the retry writes checkpoints now
    wait_for(f"a checkpoint of job {second}", lambda: checkpoint_mtime(workdir) != stamp, proc, poll=FAST_POLL_S)

    # 3. `scontrol requeue`: Slurm kills the job and queues it again under the same id. Slurm 22.05 holds a
    #    requeued job for ~2 min (Reason=BeginTime); StartTime=now lets it start at once.
    subprocess.run(["scontrol", "requeue", second], check=True, timeout=30)
    record["requeued"] = wait_for(f"job {second} queued again", lambda: (
        (fields := scontrol_fields("job", second))["Restarts"] != "0"
        and fields["JobState"] not in ("RUNNING", "COMPLETING", "REQUEUED") and fields), proc)
    record["retry_log"] = train_log.read_text()  # the retry's trainer is gone; its restart rewrites this log
    if record["requeued"]["JobState"] == "PENDING":
        subprocess.run(["scontrol", "update", f"JobId={second}", "StartTime=now"], check=True, timeout=30)
    record["second_ended"] = wait_for(f"the end of job {second}", lambda: ended(second), proc)
    return record


def ended(job: str) -> dict[str, str] | None:
    """`scontrol show job` once the job has ended, else None."""
    fields = scontrol_fields("job", job)
    return fields if fields["JobState"] in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL",
                                            "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED") else None


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A local run, then a Slurm run (interrupted twice), of two copies of the tiny workflow."""
    require_local_cluster()
    require_executor_plugin()
    override = override_yaml(local_node())
    local_dir = copy_workflow(tmp_path_factory.mktemp("local_run"))
    slurm_dir = copy_workflow(tmp_path_factory.mktemp("slurm_run"))
    for workdir in (local_dir, slurm_dir):
        (workdir / "override.yaml").write_text(override)

    # One after the other: torch and the GBT baseline spin two OpenMP threads each, and two runs side by side
    # on two cores made each epoch 20-50 times slower than alone (measured).
    started = time.monotonic()
    local = start_snakemake(local_dir, "--cores", "2")
    local_output = finish(local, local_dir, RUN_TIMEOUT_S)
    assert local.returncode == 0, f"the local run failed:\n{local_output[-6000:]}"
    local_seconds = time.monotonic() - started

    slurm = start_snakemake(slurm_dir, "--profile", str(LOCAL_PROFILE), "--retries", "1")
    try:
        preemption = interrupt_training(slurm_dir, slurm)
    except Exception as error:  # noqa: BLE001 - let the run end; the preemption tests report this
        preemption = {"error": error}
    slurm_output = finish(slurm, slurm_dir, RUN_TIMEOUT_S)
    assert slurm.returncode == 0, f"snakemake --profile {LOCAL_PROFILE} failed:\n{slurm_output[-8000:]}"
    print(f"local run {local_seconds:.0f} s, Slurm run {time.monotonic() - started - local_seconds:.0f} s")
    return {"local": local_dir, "slurm": slurm_dir, "output": slurm_output, "local_output": local_output,
            "preemption": preemption}


def submitted_jobs(output: str) -> dict[str, str]:
    """Slurm job id -> rule, from Snakemake's 'submitted with SLURM jobid' lines."""
    return {m.group(1): m.group(2) for m in re.finditer(
        r"submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/\1\.log\)", output)}


def rules_run(output: str) -> set[str]:
    """Rules of a run's 'Job stats' table, less the `all` target."""
    table = output.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, flags=re.M)} - {"all"}


def preemption(runs: dict) -> dict:
    record = runs["preemption"]
    if "error" in record:
        raise record["error"]
    return record


def test_every_job_went_through_sbatch(runs):
    slurm_dir, output = runs["slurm"], runs["output"]
    jobs = submitted_jobs(output)
    rules = rules_run(runs["local_output"]) - LOCAL_RULES
    assert set(jobs.values()) == rules, "the Slurm run did not submit the rules the local run ran (less its local rules)"
    assert not any(slurm_job_logs(slurm_dir, rule) for rule in LOCAL_RULES)  # run by Snakemake itself, never submitted
    for rule in rules:
        logged = set(slurm_job_logs(slurm_dir, rule))
        assert logged == {job for job, r in jobs.items() if r == rule}
        assert len(logged) == (2 if rule == "train" else 1), f"{rule}: jobs {sorted(logged)}"
    # The scheduler's own record of each job: submitted, and started on the partition the rule asks for.
    log = slurmctld_log()
    if log is None:
        pytest.skip("slurmctld's log is not readable here; the per-job logs were checked")
    scheduler = log.read_text(errors="replace")
    for job, rule in jobs.items():
        assert re.search(rf"_slurm_rpc_submit_batch_job: JobId={job}\b", scheduler), f"{rule} job {job} never submitted"
        partitions = set(re.findall(rf"sched: Allocate JobId={job} NodeList=\S+ #CPUs=\d+ Partition=(\w+)", scheduler))
        partitions |= set(re.findall(rf"sched/backfill: _start_job: Started JobId={job} in (\w+) on", scheduler))
        assert partitions == {"gpu" if rule == "train" else "cpu"}, f"{rule} job {job} ran on {partitions}"


def test_train_ran_on_the_gpu_partition_with_the_fake_gpu(runs):
    job = preemption(runs)["first_signalled"]
    assert job["Partition"] == "gpu"
    assert job["TresPerJob"] == "gres:gpu:1", job
    tres = dict(item.split("=", 1) for item in job["TRES"].split(","))  # e.g. cpu=2,mem=2G,node=1,billing=2
    assert int(tres["cpu"]) == TRAIN_CPUS, job["TRES"]
    assert megabytes(tres["mem"]) == TRAIN_MEM_MB, job["TRES"]


def megabytes(size: str) -> int:
    """A Slurm memory size (2048M, 2G, ...) in MB."""
    return int(float(size[:-1]) * {"M": 1, "G": 1024, "T": 1024**2}[size[-1]])


def test_outputs_equal_the_local_run(runs):
    local, slurm = runs["local"] / OUT, runs["slurm"] / OUT
    for name in ("evaluation/metrics.json", "train/metrics.json"):
        assert json.loads((slurm / name).read_text()) == json.loads((local / name).read_text()), name
        assert (slurm / name).read_bytes() == (local / name).read_bytes(), name
    import polars as pl

    assert pl.read_parquet(slurm / "train/predictions.parquet").equals(pl.read_parquet(local / "train/predictions.parquet"))

    def history(path: Path) -> list[dict]:
        with open(path) as handle:
            return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]

    # Every epoch's losses and validation scores, across the two interruptions.
    assert history(slurm / "train/train_log.csv") == history(local / "train/train_log.csv")
    assert len(history(slurm / "train/train_log.csv")) == EPOCHS


def test_scancel_term_reaches_the_trainer_and_the_retry_resumes(runs):
    record, output = preemption(runs), runs["output"]
    first = record["first"]
    # The trainer caught the signal (its log, which Snakemake shows for the failed job) ...
    stopped = re.search(r"Received SIGTERM: stopping\. The checkpoint of epoch (\d+) is on disk", output)
    assert stopped, f"no sign that the trainer of job {first} caught SIGTERM:\n{output[-6000:]}"
    epoch = int(stopped.group(1))
    assert 1 <= epoch < EPOCHS
    # ... the job failed, Snakemake submitted it again as a new job, and that resumed after the checkpoint.
    assert record["first_ended"]["JobState"] == "FAILED", record["first_ended"]
    assert f"SLURM-job '{first}' failed" in output
    assert f"Resumed from {CHECKPOINT} at epoch {epoch + 1} " in record["retry_log"]
    assert "No checkpoint" not in record["retry_log"]


def test_requeue_restarts_the_same_job_which_resumes(runs):
    record = preemption(runs)
    second = record["second"]
    assert record["requeued"]["Restarts"] == "1", record["requeued"]
    # The requeue's SIGTERM reached the retry's trainer too ...
    stopped = re.search(r"Received SIGTERM: stopping\. The checkpoint of epoch (\d+) is on disk", record["retry_log"])
    assert stopped, record["retry_log"][-3000:]
    epoch = int(stopped.group(1))
    # ... and the same job, started again, resumed after the checkpoint and finished.
    ended = record["second_ended"]
    assert ended["JobState"] == "COMPLETED" and ended["Restarts"] == "1", ended
    train_log = (runs["slurm"] / OUT / "logs" / "train.log").read_text()
    assert f"Resumed from {CHECKPOINT} at epoch {epoch + 1} " in train_log
    # The profile's --open-mode=append keeps both runs of the job in its Slurm log.
    slurm_log = slurm_job_logs(runs["slurm"], "train")[second].read_text()
    assert slurm_log.count("localrule train:") == 2, slurm_log[-3000:]
    assert f"SLURM-job '{second}' failed" not in runs["output"]


def test_second_run_with_nothing_changed_submits_nothing(runs):
    slurm_dir = runs["slurm"]
    before = {rule: set(slurm_job_logs(slurm_dir, rule)) for rule in set(submitted_jobs(runs["output"]).values())}
    rerun = start_snakemake(slurm_dir, "--profile", str(LOCAL_PROFILE))
    output = finish(rerun, slurm_dir, 300)
    assert rerun.returncode == 0, output
    assert "Nothing to be done" in output
    assert "submitted with SLURM jobid" not in output
    assert {rule: set(slurm_job_logs(slurm_dir, rule)) for rule in before} == before
