"""Eighteenth round (docs/rounds.md): does the blends' share, picked as the single best of its grid on validation,
hold up on validation cutoffs it did not see, and would a one-standard-error rule or an even share pick better?

Validation is split in time: its earlier half of cutoffs chooses and the later half scores, then the reverse. Each
side (graph models, baselines) chooses among its candidates by each rule; the figure is the held-out PR-AUC of what it
chose. Reads the headline run's results/<dataset>/train/predictions.parquet and baselines/*.parquet; validation only.

    .venv/bin/python benchmarks/blend_rule.py --dataset <name> --out benchmarks/results/blend_rule_round18_<name>.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from hotseller.baselines import logit_blend  # noqa: E402
from hotseller.scoring import Ranking, average_precision, product_resamples  # noqa: E402
from hotseller.settings import BLEND_PARTNERS  # noqa: E402
from records import update_record  # noqa: E402 - benchmarks/records.py, beside this script

SHARES = np.round(np.linspace(0.1, 0.9, 9), 2)  # a blend's share of its first model (the GNN; the logistic regression)
SINGLE_BASELINES = ("persistence", "momentum", "logreg", "gbt")
RULES = ("best", "one_se", "half")
RESAMPLES = 200
KEYS = ["cutoff", "product_id"]


@dataclass(frozen=True)
class Candidate:
    """One model a side may pick: a single model (share None) or a blend at its first model's share."""

    name: str
    share: float | None
    scores: np.ndarray

    @property
    def unevenness(self) -> float:
        """|share - 0.5|: 0 for an even blend, 0.5 for a single model (the one-SE rule prefers the smallest)."""
        return 0.5 if self.share is None else abs(self.share - 0.5)


def validation_frame(data: Path) -> pl.DataFrame:
    """One row per validation example: cutoff, product_id, hot, and a column of scores per model (the GNN's from train/)."""
    frame = pl.read_parquet(data / "train/predictions.parquet").filter(pl.col("split") == "val").select(*KEYS, "hot", gnn="score")
    for name in (*SINGLE_BASELINES, "logreg_gbt"):
        scores = pl.read_parquet(data / f"baselines/{name}.parquet").filter(pl.col("split") == "val").select(*KEYS, pl.col("score").alias(name))
        joined = frame.join(scores, on=KEYS, how="inner", maintain_order="left")
        if joined.height != frame.height or scores.height != frame.height:
            raise SystemExit(f"{data}/baselines/{name}.parquet holds other validation examples than train/: rerun the workflow")
        frame = joined
    return frame.sort(KEYS)


def candidates(frame: pl.DataFrame) -> dict[str, list[Candidate]]:
    """Each side's candidates: the GNN alone and its blends with each of BLEND_PARTNERS; the single baselines and the
    logistic regression's blends with the trees (`logreg_gbt`'s family)."""
    gnn = frame["gnn"].to_numpy()
    graph = [Candidate("gnn", None, gnn)] + [Candidate(f"gnn+{p}@{w}", float(w), logit_blend(gnn, frame[p].to_numpy(), w))
                                             for p in BLEND_PARTNERS for w in SHARES]
    logreg, gbt = frame["logreg"].to_numpy(), frame["gbt"].to_numpy()
    baseline = [Candidate(name, None, frame[name].to_numpy()) for name in SINGLE_BASELINES]
    baseline += [Candidate(f"logreg+gbt@{w}", float(w), logit_blend(logreg, gbt, w)) for w in SHARES]
    return {"graph": graph, "baseline": baseline}


def resampled_pr_auc(labels: np.ndarray, scores: np.ndarray, products: np.ndarray, seed: int = 0) -> np.ndarray:
    """PR-AUC on RESAMPLES product resamples (the same resamples for every call with the same products)."""
    ranking = Ranking.of(labels, scores)
    return np.concatenate([average_precision(ranking, w) for w in product_resamples(products, RESAMPLES, seed)])


def choose(cands: list[Candidate], labels: np.ndarray, products: np.ndarray, rule: str) -> Candidate:
    """The candidate a rule picks on these examples (ties: the first listed, as evaluate.best_on_validation). Only the
    one-SE rule needs the resamples."""
    pool = [c for c in cands if c.share in (None, 0.5)] if rule == "half" else cands
    points = [float(average_precision(Ranking.of(labels, c.scores), np.ones((1, labels.size)))[0]) for c in pool]
    best = int(np.argmax(points))
    if rule != "one_se":
        return pool[best]
    best_draws = resampled_pr_auc(labels, pool[best].scores, products)
    spread = [np.nanstd(best_draws - resampled_pr_auc(labels, c.scores, products)) for c in pool]  # NaN: no resample has a hot example
    near = [(c, point) for c, point, sd in zip(pool, points, spread) if points[best] - point <= (sd if np.isfinite(sd) else 0.0)]
    return min(near, key=lambda t: (t[0].unevenness, -t[1]))[0]


def folds(cutoffs: list[int]) -> list[tuple[list[int], list[int]]]:
    """(choosing cutoffs, held-out cutoffs): the earlier half then the later half, and the reverse (an odd count gives
    the later half the extra cutoff; each fold counts the same in the mean)."""
    if len(cutoffs) < 2:
        raise SystemExit(f"validation has {len(cutoffs)} cutoff(s): splitting it in time needs at least 2")
    ordered = sorted(cutoffs)
    half = len(ordered) // 2
    early, late = ordered[:half], ordered[half:]
    return [(early, late), (late, early)]


def held_out(frame: pl.DataFrame) -> dict:
    """For each fold, side and rule: what it chose, its PR-AUC where it chose and on the held-out cutoffs; the means."""
    cands = candidates(frame)
    labels = frame["hot"].to_numpy()
    products = np.unique(frame["product_id"].to_numpy(), return_inverse=True)[1]
    record: dict = {"folds": []}
    for choosing, scoring in folds(frame["cutoff"].unique().to_list()):
        pick = frame["cutoff"].is_in(choosing).to_numpy()
        test = frame["cutoff"].is_in(scoring).to_numpy()
        fold: dict = {"choose_on": choosing, "score_on": scoring}
        for side, pool in cands.items():
            pool_pick = [Candidate(c.name, c.share, c.scores[pick]) for c in pool]
            for rule in RULES:
                chosen = choose(pool_pick, labels[pick], np.unique(products[pick], return_inverse=True)[1], rule)
                full = next(c for c in pool if c.name == chosen.name)
                fold.setdefault(side, {})[rule] = {
                    "chosen": chosen.name, "share": chosen.share,
                    "choosing_pr_auc": float(average_precision_score(labels[pick], chosen.scores)),
                    "held_out_pr_auc": float(average_precision_score(labels[test], full.scores[test])),
                }
        record["folds"].append(fold)
    record["mean_held_out"] = {side: {rule: float(np.mean([f[side][rule]["held_out_pr_auc"] for f in record["folds"]])) for rule in RULES}
                               for side in cands}
    record["mean_margin"] = {rule: record["mean_held_out"]["graph"][rule] - record["mean_held_out"]["baseline"][rule] for rule in RULES}
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--results", default="results", help="the workflow's results folder")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    record = held_out(validation_frame(Path(args.results) / args.dataset))
    update_record(Path(args.out), [args.dataset], record)
    print(json.dumps({args.dataset: {k: record[k] for k in ("mean_held_out", "mean_margin")}}, indent=1))


if __name__ == "__main__":
    main()
