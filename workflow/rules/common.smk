# Paths and parameters computed from the config; the logic lives in hotseller.settings (unit-tested).
import json

from hotseller.cli import train_flags
from hotseller.settings import dataset_entry, stage_params

DATASET = config["dataset"]
DATA = dataset_entry(config)
OUT = f"results/{DATASET}"
PKG = "workflow/hotseller"
ENV = "../envs/hotseller.yaml"


def src(*modules):
    """Source files of the package a stage runs, as inputs, so editing them reruns the stage."""
    return [f"{PKG}/{m}" for m in modules]


def raw_files():
    """The raw files ingest reads: the synthetic market's, or the user's (generic source)."""
    if DATA["source"] == "synthetic":
        return {t: f"{OUT}/raw/{f}" for t, f in (("panel", "panel.csv"), ("reviews", "reviews.parquet"),
                                                 ("products", "products.csv"), ("relations", "relations.parquet"))}
    return dict(DATA["files"])


def optional_flags(inputs):
    """--reviews/--products/--relations for the raw files a source has."""
    return " ".join(f"--{t} {inputs[t]}" for t in ("reviews", "products", "relations") if t in inputs.keys())


STANDARD = {t: f"{OUT}/ingest/{t}.parquet" for t in ("panel", "reviews", "products", "relations")}
FEATURES = stage_params(config, "features")
GRAPH = stage_params(config, "graph")
SPLIT = stage_params(config, "split")
TRAIN = stage_params(config, "train")
