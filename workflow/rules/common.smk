# Paths and parameters computed from the config; the logic lives in hotseller.settings (unit-tested).
import json
import os
import shlex
import sys
from pathlib import Path

import yaml
from snakemake.settings.types import DeploymentMethod

from hotseller.cli import command_flags
from hotseller.model_files import init_inputs
from hotseller.settings import (BLEND_PARTNERS, check_overrides, check_space, dataset_entry, recency_mismatch, source_model,
                                source_config, stage_params, transfer_source)
from hotseller.sources import stage_sources

# Jobs call `hotseller` (and `torchrun`) of the Python environment that runs Snakemake, also when it was
# started as .venv/bin/snakemake from a shell that did not activate the venv (a Slurm job's inner Snakemake
# evaluates this again with the same environment); under `--sdm conda` the rules' own environment
# (workflow/envs/hotseller.yaml) comes first instead. Keeps Snakemake's default strict-mode prefix.
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    shell.prefix("set -euo pipefail; ")
else:
    shell.prefix(f'set -euo pipefail; export PATH="{os.path.dirname(sys.executable)}:$PATH"; ')

DATASET = config["dataset"]
DATA = dataset_entry(config)
SCHEMA = yaml.safe_load((Path(workflow.basedir) / "workflow/schemas/config.schema.yaml").read_text())
check_overrides(config, SCHEMA)
check_space(config["tune"]["space"], SCHEMA)
RECENCY_MISMATCH = recency_mismatch(config)
if RECENCY_MISMATCH:
    print(f"Warning: {RECENCY_MISMATCH}", file=sys.stderr)
OUT = f"results/{DATASET}"
PKG = "workflow/hotseller"
ENV = "../envs/hotseller.yaml"


def out_dir(wildcards, output):
    """The folder of a rule's first output, for commands that write several files into one folder."""
    return os.path.dirname(output[0])


def train_launcher(gpus):
    """`hotseller`, or torchrun with one process per GPU when a train job has several."""
    return f"torchrun --standalone --nproc-per-node {gpus} -m hotseller.cli" if gpus > 1 else "hotseller"


# Read from this workflow's own copy of the package (a copied or second checkout may share one installed package).
CODE_ROOT = Path(workflow.basedir) / PKG


def stage_code(stage):
    """The package's files that `hotseller <stage>` can run (read from the imports by hotseller.sources), as inputs:
    editing one reruns the stages that can reach it."""
    return [f"{PKG}/{f}" for f in stage_sources(stage, CODE_ROOT)]


SYNTH_FILES = {"panel": "panel.csv", "reviews": "reviews.parquet", "products": "products.csv", "relations": "relations.parquet"}
# The files of each public dataset's original release that its adapter reads (under datasets.<name>.path).
ADAPTER_FILES = {
    "olist": ["olist_orders_dataset.csv", "olist_order_items_dataset.csv", "olist_order_reviews_dataset.csv",
              "olist_products_dataset.csv", "olist_sellers_dataset.csv", "olist_customers_dataset.csv",
              "product_category_name_translation.csv"],
    "online_retail": [],  # path is the workbook itself
}


def raw_files():
    """The raw files ingest reads: the synthetic market's, the user's (generic), or a public dataset's."""
    source = DATA["source"]
    if source == "synthetic":
        return {t: f"{OUT}/raw/{f}" for t, f in SYNTH_FILES.items()}
    if source == "generic":
        return dict(DATA["files"])
    names = ADAPTER_FILES[source]
    return {n: f"{DATA['path']}/{n}" for n in names} if names else {"workbook": DATA["path"]}


def ingest_locations():
    """The ingest command's source arguments (the same paths are the rule's inputs)."""
    source = DATA["source"]
    if source in ("synthetic", "generic"):
        return "--source generic " + " ".join(f"--{t} {shlex.quote(p)}" for t, p in raw_files().items())
    return f"--source {source} --path {shlex.quote(DATA['path'])}"


STANDARD = {t: f"{OUT}/ingest/{t}.parquet" for t in ("panel", "reviews", "products", "relations")}
SYNTHETIC = stage_params(config, "synthetic")
FEATURES = stage_params(config, "features")
GRAPH = stage_params(config, "graph")
SPLIT = stage_params(config, "split")
# transfer.source: the dataset whose run (module rules, Snakefile) this run's networks start from; its model folder is
# train.init_from, so the train, tune and ablation rules take its files as inputs.
SOURCE = transfer_source(config)
TRAIN = stage_params(config, "train") | ({"init_from": source_model(SOURCE)} if SOURCE else {})
# The source run's examples, edges and split: the baselines' GBT is offered its training rows too.
SOURCE_ROWS = [f"results/{SOURCE}/{f}" for f in ("features/examples.parquet", "graph/edges.parquet", "split/split.json")] if SOURCE else []
# Every model stage's torch and BLAS threads: a recorded flag (not the scheduler's count, which --cores caps), since the
# count moves the last digits of their sums.
THREADS = config["threads"]
TRAIN_FLAGS = TRAIN | {"threads": THREADS}  # train's settings as the train, tune and ablation rules pass them
BASELINE_FLAGS = config["baselines"] | {"threads": THREADS}  # the baselines' trees and the hybrid's: one sample and seed
# A GPU job that trains one network (tune's trials, the ablation's runs) gets train's wall time per network of its ensemble.
NETWORK_RUNTIME_MIN = -(-config["slurm"]["train_runtime_min"] // TRAIN["ensemble"])
# CPU stages' cluster resources under `--profile profiles/slurm` (ignored by local runs); an empty partition leaves
# the profile's default-resources partition in force.
CPU = {"mem_mb": config["slurm"]["cpu_mem_mb"], "runtime": config["slurm"]["cpu_runtime_min"]} | (
    {"slurm_partition": config["slurm"]["cpu_partition"]} if config["slurm"]["cpu_partition"] else {})
