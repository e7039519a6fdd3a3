"""The Snakemake DAG end to end on the tiny preset, and what reruns after a change, from Snakemake's own dry-run."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time

import polars as pl
import pytest
import yaml

from conftest import BIN, ROOT, copy_workflow, snakemake
from hotseller.split import load_split

pytestmark = pytest.mark.slow

CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())  # the shipped config, read only


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
    assert set(metrics["models"]) == {"gnn", "persistence", "momentum", "logreg", "gbt", "logreg_gbt", "gnn_gbt", "blend"}
    assert metrics["headline"]["graph_model"] in {"gnn", "gnn_gbt", "blend"}
    assert metrics["headline"]["baseline"] in {"persistence", "momentum", "logreg", "gbt", "logreg_gbt"}
    for model in metrics["models"].values():
        assert 0.0 < model["test"]["pr_auc"] <= 1.0 and 0.0 < model["test"]["roc_auc"] <= 1.0
    for rule in ("synth", "ingest", "features", "graph", "split", "train", "baselines", "hybrid", "evaluate", "package", "forecast",
                 "profile"):
        assert (tiny_run / f"results/tiny/logs/{rule}.log").exists()
        assert (tiny_run / f"results/tiny/benchmarks/{rule}.tsv").exists()
    # The tiny preset's backtest: 2 test cutoffs (its override), each reported on its own.
    assert metrics["test_cutoffs"] == 2 and len(metrics["per_cutoff"]) == 2
    # The recency weight reaches every stage that fits on training cutoffs, from config.yaml through the rules' flags.
    def read(path: str) -> dict:
        return json.loads((tiny_run / "results/tiny" / path).read_text())

    assert read("train/config.json")["recency_half_life"] == CONFIG["train"]["recency_half_life"]
    search = read("baselines/gbt_search.json")
    assert search["training"]["recency_half_lives"] == CONFIG["baselines"]["recency_half_life"]
    assert sorted({r["recency_half_life"] for r in search["search"]}) == sorted(CONFIG["baselines"]["recency_half_life"])
    assert [r["recency_half_life"] for r in search["logreg"]["search"]] == CONFIG["baselines"]["recency_half_life"]
    assert read("hybrid/hybrid.json")["gnn_gbt"]["recency_half_life"] == search["training"]["recency_half_life"]  # the GBT's kept one


def test_tiny_dag_writes_the_forecast_of_the_validation_champion_for_every_listed_product(tiny_run):
    metrics = json.loads((tiny_run / "results/tiny/evaluation/metrics.json").read_text())
    champion = max(metrics["models"], key=lambda n: metrics["models"][n]["val"]["pr_auc"])
    table = pl.read_csv(tiny_run / "results/tiny/forecast/hot_next_4_weeks.csv")
    examples = pl.read_parquet(tiny_run / "results/tiny/features/forecast.parquet")
    panel = pl.read_parquet(tiny_run / "results/tiny/ingest/panel.parquet")
    assert str(examples["cutoff_week"].unique().item()) == str(panel["week"].max())  # the data's last week
    assert sorted(table["product_id"]) == sorted(examples["product_id"]) and set(table["model"]) == {champion}
    assert table["rank"].to_list() == list(range(1, table.height + 1))
    gnn = pl.read_csv(tiny_run / "results/tiny/forecast/gnn_hot_next_4_weeks.csv")
    assert set(gnn["model"]) == {"gnn"} and gnn.height == table.height
    summary = json.loads((tiny_run / "results/tiny/forecast/forecast.json").read_text())
    assert summary["model"] == champion and summary["week"] == str(panel["week"].max())
    assert summary["expectation"]["precision_at_k"] == metrics["models"][champion]["test"]["precision_at_k"]


def test_nothing_changed_runs_nothing(tiny_run):
    plain = snakemake(tiny_run, "-n", "--config", "dataset=tiny")
    assert planned_jobs(plain.stdout) == set()
    assert "recency_half_life" not in plain.stderr  # the shipped config: the GNN's half-life is among the trees' candidates


def test_a_gnn_recency_weight_the_trees_cannot_take_is_warned_about_at_the_start(tiny_run):
    trees = ", ".join(f"{h:g}" for h in CONFIG["baselines"]["recency_half_life"])
    out = snakemake(tiny_run, "-n", *with_override(tiny_run, "train: {recency_half_life: 5}\n"))
    assert (f"Warning: train.recency_half_life (5, dataset tiny) is not among baselines.recency_half_life ({trees})"
            in out.stderr)


def report_script(html: str, name: str) -> dict:
    """The JSON object that the Snakemake 9 report assigns in its `<script id="name">` block."""
    block = html.split(f'<script id="{name}">', 1)[1].split("</script>", 1)[0]
    return json.loads(block.split(" = ", 1)[1].strip().rstrip(";"))


def test_the_report_bundles_every_page_and_plot_of_the_default_target(tiny_run):
    # Every report() output of the default target, with its category (the model card and the ablation belong to
    # other targets): read from the report's own data, not from its text, where every rule's outputs are listed anyway.
    expected = {"audit/audit.html": "Data", "evaluation/data.html": "Data", "profile/profile.html": "Data",
                "profile/profile.png": "Data", "evaluation/metrics.html": "Evaluation",
                "evaluation/pr_curves.png": "Evaluation", "evaluation/reliability.png": "Evaluation",
                "evaluation/backtest.png": "Evaluation", "evaluation/training_curves.png": "Training",
                "forecast/forecast.html": "1. Forecast"}
    snakemake(tiny_run, "--report", "results/tiny/report.html", "--config", "dataset=tiny")
    html = (tiny_run / "results/tiny/report.html").read_text()
    results, categories = report_script(html, "results"), report_script(html, "categories")
    assert set(results) == {f"results/tiny/{path}" for path in expected}
    placed = {path: category for category, groups in categories.items() for paths in groups.values() for path in paths}
    assert placed == {f"results/tiny/{path}": category for path, category in expected.items()}
    for path, entry in results.items():
        assert entry["caption"].strip()
        assert base64.b64decode(entry["data_uri"].split(",", 1)[1]) == (tiny_run / path).read_bytes()


def with_override(workdir, text: str) -> list[str]:
    """Arguments that layer a YAML override over config.yaml (as a user's own --configfile would)."""
    # All of it in one file: with --config beside --configfile, Snakemake 9.27 re-applies config.yaml over
    # the --configfile values, so the override is given alone, as a user would.
    path = workdir / "override.yaml"
    path.write_text("dataset: tiny\n" + text)
    return ["--configfile", "config.yaml", str(path)]


def test_training_param_reruns_train_and_what_follows(tiny_run):
    out = snakemake(tiny_run, "-n", *with_override(tiny_run, "train: {lr: 0.001}\n")).stdout
    assert planned_jobs(out) == {"train", "hybrid", "evaluate", "package", "forecast", "all"}


def test_a_transfer_source_is_an_input_of_training(tiny_run, tmp_path):
    """train.init_from's files are the train, tune and ablation rules' inputs: a newer source reruns training and what
    follows (by its file time alone, params aside), and a missing one is named before any job of a fresh run starts."""
    shutil.copytree(tiny_run / "results/tiny/train/model", tiny_run / "source_model", dirs_exist_ok=True)  # keeps file times
    override = with_override(tiny_run, "train: {init_from: source_model}\n")
    assert planned_jobs(snakemake(tiny_run, "-n", "--rerun-triggers", "mtime", *override).stdout) == set()
    later = time.time() + 5
    os.utime(tiny_run / "source_model/weights.pt", (later, later))
    out = snakemake(tiny_run, "-n", "--rerun-triggers", "mtime", *override).stdout
    assert planned_jobs(out) == {"train", "hybrid", "evaluate", "package", "forecast", "all"}
    fresh = copy_workflow(tmp_path / "fresh")
    for target, rule in [("all", "train"), ("tune", "tune"), ("results/tiny/ablation/full/seed1/metrics.json", "ablation_train")]:
        missing = snakemake(fresh, "-n", *with_override(fresh, "train: {init_from: nowhere}\n"), "--", target, check=False)
        said = missing.stderr + missing.stdout
        assert missing.returncode != 0 and f"Missing input files for rule {rule}" in said and "nowhere/weights.pt" in said, target


LOCAL_RULES = """
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
with SnakemakeApi(OutputSettings(quiet=set())) as api:
    workflow = api.workflow(resource_settings=ResourceSettings(cores=1), config_settings=ConfigSettings(config={"dataset": "small"}),
                            snakefile=Path("Snakefile"))._workflow
    print(*sorted(workflow._localrules))
"""
SOURCE_STAGES = {f"transfer_source_{rule}" for rule in ("synth", "ingest", "features", "graph", "split", "train")}


def test_the_shipped_transfer_source_is_built_in_the_run_and_feeds_training_and_the_trees(tmp_path):
    """config.yaml's transfer.source: a synthetic dataset's run builds the source market's chain as module rules under
    results/<source>/, and its train and baselines rules read that run's files; the source run itself and the tiny
    preset have none of it."""
    workdir = copy_workflow(tmp_path)
    source = CONFIG["transfer"]["source"]
    out = snakemake(workdir, "-n", "-p", "--config", "dataset=small").stdout
    assert SOURCE_STAGES < planned_jobs(out)
    # The module's split and package run where Snakemake runs, as the main ones do (their rules' `localrule: True`
    # follows them under their new names); read from the parsed workflow (Snakemake's own set; a dry run prints no
    # difference).
    local = subprocess.run([str(BIN / "python"), "-c", LOCAL_RULES], cwd=workdir, capture_output=True, text=True, check=True).stdout
    assert local.split() == ["package", "split", "transfer_source_package", "transfer_source_split"]
    train = out.split("rule train:", 1)[1].split("\n\n", 1)[0]
    assert f"results/{source}/train/model/weights.pt" in train and f"results/{source}/train/model/model.json" in train
    assert f"--init-from results/{source}/train/model --init-parts {CONFIG['train']['init_parts']}" in out
    assert (f"--source results/{source}/features/examples.parquet results/{source}/graph/edges.parquet "
            f"results/{source}/split/split.json --out results/small/baselines") in out
    for dataset in (source, "tiny"):
        out = snakemake(workdir, "-n", "-p", "--config", f"dataset={dataset}").stdout
        assert not {job for job in planned_jobs(out) if job.startswith("transfer_source")} and " --source results/" not in out
        assert "--init-from '' " in out


def test_a_transfer_source_run_starts_each_member_from_its_encoder_and_offers_its_rows_to_the_trees(tiny_run, tmp_path):
    """The tiny market started from another draw of itself (seed 8), built in the same run: the source's chain runs
    once, each member of the target's ensemble starts from the source's member (its sequence encoder), and the
    baselines' GBT is offered exactly the source's training rows."""
    workdir = copy_workflow(tmp_path / "wf")
    # The tiny run's files and records (file times kept): only what the new source changes reruns, by its flags.
    for done in ("results/tiny", ".snakemake/metadata"):
        shutil.copytree(tiny_run / done, workdir / done)
    tiny = CONFIG["datasets"]["tiny"]
    entry = {**tiny, "overrides": {**tiny["overrides"], "synthetic": {"seed": 8}}}
    override = workdir / "override.yaml"
    override.write_text(yaml.safe_dump({"dataset": "tiny", "datasets": {"tiny_source": entry, "tiny": {"overrides": {"transfer": {"source": "tiny_source"}}}}}))
    targets = ["--", "results/tiny/train/metrics.json", "results/tiny/baselines/gbt_search.json"]
    planned = planned_jobs(snakemake(workdir, "-n", "--configfile", "config.yaml", str(override), *targets).stdout)
    assert planned == SOURCE_STAGES | {"train", "baselines"}
    snakemake(workdir, "--configfile", "config.yaml", str(override), *targets)
    log = (workdir / "results/tiny/logs/train.log").read_text()
    ensemble = CONFIG["train"]["ensemble"]
    for member in range(ensemble):
        assert f"Started from results/tiny_source/train/model (member {member}): " in log and "(encoder)" in log
    assert log.count("Started from results/tiny_source/train/model") == ensemble
    examples = pl.read_parquet(workdir / "results/tiny_source/features/examples.parquet")
    rows = examples.filter(pl.col("cutoff").is_in(load_split(workdir / "results/tiny_source/split/split.json")["train"])).height
    search = json.loads((workdir / "results/tiny/baselines/gbt_search.json").read_text())
    assert search["training"]["source_rows"]["offered"] == rows > 0


def test_the_thread_count_is_a_recorded_flag_of_the_model_stages(tiny_run):
    """The thread count moves the last digits of torch's and BLAS's sums, so it is config (`threads`) reaching each
    model stage as a flag, which reruns them when it changes; --cores only schedules (1 core still runs 2 threads)."""
    out = snakemake(tiny_run, "-n", *with_override(tiny_run, "threads: 1\n")).stdout
    assert planned_jobs(out) == {"train", "baselines", "hybrid", "evaluate", "package", "forecast", "all"}
    assert planned_jobs(snakemake(tiny_run, "-n", "--cores", "1", "--config", "dataset=tiny").stdout) == set()
    commands = snakemake(tiny_run, "-n", "-p", "--forcerun", "train", "baselines", "--cores", "1", "--config", "dataset=tiny").stdout
    assert len(re.findall(r"hotseller (?:train|baselines|hybrid) .*--threads 2 ", commands)) == 3


def test_cluster_resources_come_from_the_config(tmp_path):
    """Every CPU stage asks for slurm.cpu_mem_mb and cpu_runtime_min, its partition only when one is named (else the
    profile's); tune and the ablation's runs ask for ceil(train_runtime_min / ensemble) minutes per network they train,
    tune for one GPU."""
    workdir = copy_workflow(tmp_path)
    override = ("slurm: {cpu_mem_mb: 1234, cpu_runtime_min: 77, gpus: 2, train_runtime_min: 100}\n"
                "train: {ensemble: 3}\ntune: {trials: 4, confirm_seeds: 2, holdout: true}\n")
    out = snakemake(workdir, "-n", *with_override(workdir, override), "--", "all", "tune", "ablation").stdout
    resources = dict(re.findall(r"^rule (\w+):.*?^\s+resources: ([^\n]*)", out, flags=re.M | re.S))
    for rule in ("synth", "ingest", "features", "graph", "split", "baselines", "hybrid", "evaluate", "forecast", "profile"):
        assert "mem_mb=1234" in resources[rule] and "runtime=77" in resources[rule], (rule, resources[rule])
        assert "slurm_partition" not in resources[rule]
    assert "gpu=2" in resources["train"] and "gpu=1," in resources["tune"]
    assert "runtime=272," in resources["tune"]  # ceil(100 / 3) = 34 minutes x (4 trials + 2 x 2 confirming runs)
    assert "runtime=34," in resources["ablation_train"] and "runtime=100," in resources["train"]  # one network, three
    named = snakemake(workdir, "-n", *with_override(workdir, "slurm: {cpu_partition: short}\n")).stdout
    assert "slurm_partition=short" in dict(re.findall(r"^rule (\w+):.*?^\s+resources: ([^\n]*)", named, flags=re.M | re.S))["features"]


def test_graph_param_reruns_graph_and_what_follows(tiny_run):
    out = snakemake(tiny_run, "-n", *with_override(tiny_run, "graph: {category_degree: 2}\n")).stdout
    assert planned_jobs(out) == {"graph", "train", "baselines", "audit", "hybrid", "evaluate", "package", "forecast", "profile", "all"}


def test_editing_a_stage_source_reruns_that_stage_and_descendants(tiny_run):
    # A real edit: Snakemake 9 compares checksums of small inputs, so a bare touch would not count.
    source = tiny_run / "workflow/hotseller/split.py"
    original = source.read_text()
    time.sleep(1)
    source.write_text(original + "\n# an edit\n")
    try:
        out = snakemake(tiny_run, "-n", "--config", "dataset=tiny").stdout
        assert planned_jobs(out) == {"split", "train", "baselines", "audit", "hybrid", "evaluate", "package", "forecast", "all"}
    finally:
        source.write_text(original)
    assert planned_jobs(snakemake(tiny_run, "-n", "--config", "dataset=tiny").stdout) == set()


def test_a_finer_training_grid_keeps_the_backtest_and_passes_the_audit(tiny_run, tmp_path):
    """train_stride_weeks 2 on the tiny preset through the real rules: the same validation and test cutoffs as the
    stride-4 run, training cutoffs every 2 weeks (those of the stride-4 run among them), and the audit passes."""
    workdir = copy_workflow(tmp_path)
    snakemake(workdir, *with_override(workdir, "features: {train_stride_weeks: 2}\n"), "--", "results/tiny/audit/audit.json")
    fine = json.loads((workdir / "results/tiny/split/split.json").read_text())["cutoffs"]
    coarse = json.loads((tiny_run / "results/tiny/split/split.json").read_text())["cutoffs"]
    assert fine["val"] == coarse["val"] and fine["test"] == coarse["test"]
    assert set(coarse["train"]) < set(fine["train"])
    assert fine["train"] == list(range(fine["train"][0], coarse["train"][-1] + 1, 2))
    assert json.loads((workdir / "results/tiny/audit/audit.json").read_text())["passed"] is True


def test_a_synthetic_override_draws_another_market_of_the_same_preset(tiny_run, tmp_path):
    """datasets.<name>.overrides.synthetic (benchmarks/market_draws.yaml): with seed 8 the synth rule reruns and writes
    the market `hotseller synth` draws with the preset's sizes and seed 8, not the default seed's."""
    override = with_override(tiny_run, "datasets: {tiny: {overrides: {synthetic: {seed: 8}}}}\n")
    assert "synth" in planned_jobs(snakemake(tiny_run, "-n", *override).stdout)
    workdir = copy_workflow(tmp_path / "wf")
    snakemake(workdir, *with_override(workdir, "datasets: {tiny: {overrides: {synthetic: {seed: 8}}}}\n"), "--",
              "results/tiny/raw/panel.csv")
    direct = tmp_path / "direct"
    sizes = [a for k in ("products", "weeks", "categories", "sellers") for a in (f"--{k}", str(CONFIG["datasets"]["tiny"][k]))]
    subprocess.run([str(BIN / "hotseller"), "synth", "--out-dir", str(direct), *sizes, "--seed", "8",
                    "--bad-row-rate", str(CONFIG["synthetic"]["bad_row_rate"])], check=True)
    drawn = (workdir / "results/tiny/raw/panel.csv").read_text()
    assert drawn == (direct / "panel.csv").read_text()
    assert drawn != (tiny_run / "results/tiny/raw/panel.csv").read_text()


def test_the_market_draws_are_the_realistic_preset_with_other_generator_seeds():
    """benchmarks/market_draws.yaml copies the realistic preset by hand: each draw must stay that preset, differing
    only in its synthetic seed, one seed per draw and none the headline's; a draw's `<draw>_seed<k>` runs differ from
    it only in the network's seed k (benchmarks/seeds_pooled.py reads them under those names)."""
    document = yaml.safe_load((ROOT / "benchmarks/market_draws.yaml").read_text())
    assert document["transfer"] == {"source": ""}  # every draw starts fresh, as the source itself must
    entries = document["datasets"]
    entries["realistic_draw8"] = CONFIG["datasets"]["realistic_draw8"]  # the transfer source, in config.yaml
    draws = {name: entry for name, entry in entries.items() if "_seed" not in name}
    for name, entry in entries.items():
        assert {k: v for k, v in entry.items() if k != "overrides"} == CONFIG["datasets"]["realistic"]
        if name in draws:  # the source starts fresh (it cannot start from itself); another draw starts from it
            fresh = {"transfer": {"source": ""}} if name == CONFIG["transfer"]["source"] else {}
            assert entry["overrides"] == {"synthetic": {"seed": entry["overrides"]["synthetic"]["seed"]}} | fresh
            continue
        draw, k = name.rsplit("_seed", 1)
        assert entry["overrides"] == draws[draw]["overrides"] | {"train": {"seed": int(k)}} and int(k) != CONFIG["train"]["seed"]
    seeds = [entry["overrides"]["synthetic"]["seed"] for entry in draws.values()]
    assert len(set(seeds)) == len(seeds) == len(draws) >= 2 and CONFIG["synthetic"]["seed"] not in seeds
    assert len(entries) > len(draws)


def test_the_transfer_diagnostic_runs_the_shipped_datasets_with_the_encoder_started_from_the_ablations_source():
    """benchmarks/transfer_shipped.yaml copies each shipped dataset by hand (forty-second round): each `<name>_transfer`
    must stay that dataset, its overrides plus the encoder's start from the source the ablation's row used."""
    entries = yaml.safe_load((ROOT / "benchmarks/transfer_shipped.yaml").read_text())["datasets"]
    row = yaml.safe_load((ROOT / "benchmarks/ablation_transfer.yaml").read_text())["ablation"]["variants"]["with_transfer_encoder"]
    assert sorted(entries) == ["olist_transfer", "online_retail_transfer", "realistic_transfer"]
    for name, entry in entries.items():
        shipped = CONFIG["datasets"][name.removesuffix("_transfer")]
        assert {k: v for k, v in entry.items() if k != "overrides"} == {k: v for k, v in shipped.items() if k != "overrides"}
        assert entry["overrides"] == shipped.get("overrides", {}) | {"train": row, "transfer": {"source": ""}}


def test_paths_and_mappings_with_quotes_and_blanks_reach_ingest_intact(tmp_path):
    """The ingest command Snakemake builds for a file and a column named with an apostrophe and a blank, run by bash."""
    workdir = copy_workflow(tmp_path)
    data = tmp_path / "pan el's.csv"
    data.write_text("product_id,week,Qty (men's)\n" + "".join(f"A,2023-{m:02d}-02,3\n" for m in range(1, 13)))
    config = {"dataset": "mine", "datasets": {"mine": {"source": "generic", "files": {"panel": str(data)},
                                                      "columns": {"panel": {"units": "Qty (men's)"}}}}}
    (workdir / "mine.yaml").write_text(yaml.safe_dump(config))
    snakemake(workdir, "--configfile", "config.yaml", "mine.yaml", "--", "results/mine/ingest/panel.parquet")
    panel = pl.read_parquet(workdir / "results/mine/ingest/panel.parquet")
    assert panel.height == 12 and panel["units"].sum() == 36


def test_same_config_same_metrics(tiny_run):
    """Retrain from scratch: the rule resumes a finished checkpoint of the same config, so they go first (else the
    networks' half of the comparison would only reload the first run's weights)."""
    first = (tiny_run / "results/tiny/evaluation/metrics.json").read_text()
    checkpoints = list((tiny_run / "results/tiny/train").rglob("checkpoint.pt"))
    assert checkpoints
    for path in checkpoints:
        path.unlink()
    snakemake(tiny_run, "--forcerun", "train", "baselines", "--config", "dataset=tiny")
    log = (tiny_run / "results/tiny/logs/train.log").read_text()
    assert log.count("No checkpoint at") == len(checkpoints) and "Resumed from" not in log
    assert (tiny_run / "results/tiny/evaluation/metrics.json").read_text() == first


@pytest.mark.parametrize(
    "override,message",
    [
        ("dataset=nope", "'nope' is not one of datasets"),
        ("train: {lr: -1}", "'lr'"),
        ("features: {hot_quantile: 2}", "'hot_quantile'"),
        ("train: {optimiser: sgd}", "'optimiser'"),
        ("features: {train_stride_weeks: 3}", "train_stride_weeks=3 must divide features.stride_weeks=4"),
        ("tune: {space: {lr: {low: 0.1, high: 0.001}}}", "'tune.space.lr': low and high must be numbers with low < high"),
        ("datasets: {tiny: {overrides: {features: {window_weeks: 4}}}}",
         "'datasets.tiny.overrides.features.window_weeks': 4 is less than the minimum of 8"),
    ],
)
def test_wrong_config_fails_before_any_job_naming_the_key(tmp_path, override, message):
    workdir = copy_workflow(tmp_path)
    args = ["--config", override] if "=" in override else with_override(workdir, override + "\n")
    result = snakemake(workdir, "-n", *args, check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (workdir / "results").exists()


def test_the_model_card_stage_writes_the_card_from_the_runs_files(tiny_run, tmp_path):
    """`hotseller model_card` on the tiny run's files (no ablation: that target is not run here): its verdict is the one
    the metrics give, and its HTML page says the same."""
    from conftest import cli_main
    from hotseller.model_card import gnn_verdict

    out = tiny_run / "results/tiny"
    settings = {"dataset": "tiny", "source": "synthetic", "features": CONFIG["features"], "train": CONFIG["train"]}
    code, errors = cli_main("model_card", "--metrics", str(out / "evaluation/metrics.json"), "--split", str(out / "split/split.json"),
                            "--accounting", str(out / "ingest/accounting.json"), "--audit", str(out / "audit/audit.json"),
                            "--train-summary", str(out / "train/metrics.json"), "--gbt-search", str(out / "baselines/gbt_search.json"),
                            "--settings", json.dumps(settings), "--out", str(tmp_path / "card.md"), "--html", str(tmp_path / "card.html"))
    assert (code, errors) == (0, [])
    sentence = gnn_verdict(json.loads((out / "evaluation/metrics.json").read_text()))
    assert sentence in (tmp_path / "card.md").read_text()
    assert "The data are synthetic" in (tmp_path / "card.md").read_text()
    assert (tmp_path / "card.html").read_text().startswith("<")
