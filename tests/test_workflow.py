"""The Snakemake DAG end to end on the tiny preset, and what reruns after a change, from Snakemake's own dry-run."""

from __future__ import annotations

import json
import re
import time

import pytest

from conftest import copy_workflow, snakemake

pytestmark = pytest.mark.slow


def planned_jobs(dry_run_output: str) -> set[str]:
    """Rule names in the 'Job stats' table of a dry run (empty when there is nothing to do)."""
    if "Nothing to be done" in dry_run_output:
        return set()
    table = dry_run_output.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, flags=re.M)}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("wf"))
    snakemake(workdir, "--config", "dataset=tiny")
    return workdir


def test_tiny_dag_produces_metrics_for_every_model(tiny_run):
    metrics = json.loads((tiny_run / "results/tiny/evaluation/metrics.json").read_text())
    assert set(metrics["models"]) == {"gnn", "momentum", "logreg", "gbt"}
    for model in metrics["models"].values():
        assert 0.0 < model["test"]["pr_auc"] <= 1.0 and 0.0 < model["test"]["roc_auc"] <= 1.0
    for rule in ("synth", "ingest", "features", "graph", "split", "train", "baselines", "evaluate"):
        assert (tiny_run / f"results/tiny/logs/{rule}.log").exists()
        assert (tiny_run / f"results/tiny/benchmarks/{rule}.tsv").exists()


def test_nothing_changed_runs_nothing(tiny_run):
    assert planned_jobs(snakemake(tiny_run, "-n", "--config", "dataset=tiny").stdout) == set()


def with_override(workdir, text: str) -> list[str]:
    """Arguments that layer a YAML override over config.yaml (as a user's own --configfile would)."""
    # All of it in one file: with --config beside --configfile, Snakemake 9.27 re-applies config.yaml over
    # the --configfile values, so the override is given alone, as a user would.
    path = workdir / "override.yaml"
    path.write_text("dataset: tiny\n" + text)
    return ["--configfile", "config.yaml", str(path)]


def test_training_param_reruns_train_and_what_follows(tiny_run):
    out = snakemake(tiny_run, "-n", *with_override(tiny_run, "train: {lr: 0.001}\n")).stdout
    assert planned_jobs(out) == {"train", "evaluate", "all"}


def test_graph_param_reruns_graph_and_what_follows(tiny_run):
    out = snakemake(tiny_run, "-n", *with_override(tiny_run, "graph: {category_degree: 2}\n")).stdout
    assert planned_jobs(out) == {"graph", "train", "baselines", "audit", "evaluate", "all"}


def test_editing_a_stage_source_reruns_that_stage_and_descendants(tiny_run):
    # A real edit: Snakemake 9 compares checksums of small inputs, so a bare touch would not count.
    source = tiny_run / "workflow/hotseller/split.py"
    original = source.read_text()
    time.sleep(1)
    source.write_text(original + "\n# an edit\n")
    try:
        out = snakemake(tiny_run, "-n", "--config", "dataset=tiny").stdout
        assert planned_jobs(out) == {"split", "train", "baselines", "audit", "evaluate", "all"}
    finally:
        source.write_text(original)
    assert planned_jobs(snakemake(tiny_run, "-n", "--config", "dataset=tiny").stdout) == set()


def test_same_config_same_metrics(tiny_run):
    first = (tiny_run / "results/tiny/evaluation/metrics.json").read_text()
    snakemake(tiny_run, "--forcerun", "train", "baselines", "--config", "dataset=tiny")
    assert (tiny_run / "results/tiny/evaluation/metrics.json").read_text() == first


@pytest.mark.parametrize(
    "override,message",
    [
        ("dataset=nope", "'nope' is not one of datasets"),
        ("train: {lr: -1}", "'lr'"),
        ("features: {hot_quantile: 2}", "'hot_quantile'"),
        ("train: {optimiser: sgd}", "'optimiser'"),
    ],
)
def test_wrong_config_fails_before_any_job_naming_the_key(tmp_path, override, message):
    workdir = copy_workflow(tmp_path)
    args = ["--config", override] if "=" in override else with_override(workdir, override + "\n")
    result = snakemake(workdir, "-n", *args, check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (workdir / "results").exists()
