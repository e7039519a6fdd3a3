"""How much could the hidden graph be worth under other hype knobs? A screen for a positive-control market: for the
realistic preset with some generator knobs replaced, the PR-AUC gain at the ceiling of knowing every product's hype
(`oracle_now - oracle_now_no_hype`) and of its neighbours' pull alone (`oracle_now - oracle_now_alone`), on the
realistic split's 8 validation and test cutoffs (pooled), labelled as the features stage labels them.

No workflow run is needed: it simulates each market and scores its latent state (benchmarks/oracle.py's oracles),
without the product bootstrap or the models, so its figures are points for comparing knob settings, not results.

    .venv/bin/python benchmarks/hype_knobs.py --out benchmarks/results/hype_knobs.json \\
        --knobs '{}' '{"shock_rate": 0.05, "shock_size": 2.0, "hype_persistence": 0.3, "hype_spread": 0.65}'
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.features import hot_labels  # noqa: E402
from hotseller.settings import stage_params  # noqa: E402
from hotseller.synth import market_spec, simulate  # noqa: E402
from hotseller.train.data import percentile_in_cutoff  # noqa: E402
from oracle import now_scores  # noqa: E402 - benchmarks/oracle.py, beside this script

CUTOFFS = (71, 75, 79, 83, 87, 91, 95, 99)  # the realistic run's validation and test cutoffs (results/realistic/split)
HORIZON, HOT_QUANTILE = 4, 0.05
MODES = ("graph", "alone", "none")


def graph_value(config: dict, knobs: dict) -> dict:
    """PR-AUC of the three hype oracles on the listed products of CUTOFFS, and the two differences."""
    entry, synthetic = config["datasets"]["realistic"], stage_params(dict(config, dataset="realistic"), "synthetic")
    spec = market_spec(entry["products"], entry["weeks"], entry["categories"], entry["sellers"], synthetic["seed"],
                       synthetic["bad_row_rate"], {**entry["market"], **knobs})
    latent: dict = {}
    relations = simulate(spec, latent)["relations"]
    labels, scores = [], {mode: [] for mode in MODES}
    for t in CUTOFFS:
        listed = np.flatnonzero(latent["listed"][:, t])
        labels.append(hot_labels(latent["units"][listed, t + 1 : t + 1 + HORIZON].sum(axis=1), HOT_QUANTILE))
        for mode in MODES:
            scores[mode].append(percentile_in_cutoff(now_scores(spec, latent, t, HORIZON, mode)[listed]))
    hot = np.concatenate(labels)
    pr = {mode: float(average_precision_score(hot, np.concatenate(scores[mode]))) for mode in MODES}
    return {"knobs": knobs, "pairs_ever_co_purchased": relations.select("src", "dst").unique().height, "hot": int(hot.sum()),
            "pr_auc": pr, "all_of_hype": pr["graph"] - pr["none"], "neighbours_pull": pr["graph"] - pr["alone"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--knobs", nargs="+", default=["{}"], help="JSON objects of generator knobs over the realistic preset's")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    config = yaml.safe_load(Path(args.config).read_text())
    rows = [graph_value(config, json.loads(knobs)) for knobs in args.knobs]
    args.out.write_text(json.dumps({"cutoffs": CUTOFFS, "rows": rows}, indent=2) + "\n")
    for row in rows:
        print(f"{json.dumps(row['knobs'])}: all of hype {row['all_of_hype']:+.3f}, neighbours' pull {row['neighbours_pull']:+.3f}")


if __name__ == "__main__":
    main()
