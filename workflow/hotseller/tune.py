"""Hyperparameter search of the GNN on validation only (Optuna: seeded TPE sampler, median pruner on each epoch's
validation PR-AUC), its best values written where config.yaml can take them: a YAML file of
`datasets.<name>.overrides.train` (and `dataset: <name>`) to pass with `--configfile config.yaml results/<name>/tune/best.yaml`.

Test cutoffs play no part: every trial is judged by the best validation PR-AUC its early stopping kept.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import optuna
import polars as pl
import yaml

from hotseller import atomic
from hotseller.train.config import TrainConfig
from hotseller.train.loop import train

log = logging.getLogger(__name__)


def suggest(trial: optuna.Trial, space: dict[str, dict]) -> dict:
    """One trial's settings from the search space: {name: {low, high, log?} | {choices}}."""
    values = {}
    for name, spec in space.items():
        if "choices" in spec:
            values[name] = trial.suggest_categorical(name, spec["choices"])
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int) and not spec.get("log"):
            values[name] = trial.suggest_int(name, spec["low"], spec["high"])
        else:
            values[name] = trial.suggest_float(name, float(spec["low"]), float(spec["high"]), log=bool(spec.get("log")))
    return values


def run_tune(base: TrainConfig, space: dict[str, dict], examples: Path, edges: Path, split: Path, dataset: str, trials: int,
             seed: int, out_dir: Path) -> dict:
    """Run the study; write trials.csv (every trial's settings, state and validation PR-AUC), best.yaml and tune.md."""
    unknown = sorted(set(space) - set(TrainConfig.names()))
    if unknown:
        from hotseller.errors import UserError

        raise UserError(f"tune.space: {unknown} are not train settings (see workflow/schemas/config.schema.yaml)")
    out_dir = Path(out_dir)
    work = out_dir / "trials"

    def objective(trial: optuna.Trial) -> float:
        cfg = dataclasses.replace(base, **({"ensemble": 1} | suggest(trial, space)))  # one network a trial unless searched

        def report(epoch: int, val_pr_auc: float) -> None:
            trial.report(val_pr_auc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        try:
            summary = train(cfg, examples, edges, split, work / f"trial{trial.number}", on_epoch=report)
        finally:
            shutil.rmtree(work / f"trial{trial.number}", ignore_errors=True)  # models of trials are not kept
        return summary["val"]["pr_auc"]

    sampler = optuna.samplers.TPESampler(seed=seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=min(5, trials), n_warmup_steps=3)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    study.optimize(objective, n_trials=trials)
    rows = [{"trial": t.number, "state": t.state.name, "val_pr_auc": t.value, **t.params} for t in study.trials]
    atomic.write_csv(pl.DataFrame(rows), out_dir / "trials.csv")
    # It names the dataset too, so it is passed alone (Snakemake 9.27 re-applies config.yaml over a --configfile's values
    # when --config is given beside it).
    best = {"dataset": dataset, "datasets": {dataset: {"overrides": {"train": dict(study.best_params)}}}}
    atomic.write_text(f"# Best of {trials} trials on validation PR-AUC ({study.best_value:.4f}); pass with\n"
                      f"#   snakemake --cores 2 --configfile config.yaml {out_dir / 'best.yaml'}\n"
                      + yaml.safe_dump(best, sort_keys=True), out_dir / "best.yaml")
    done = [r for r in rows if r["state"] == "COMPLETE"]
    lines = [f"# Tuning the GNN on `{dataset}`\n", f"{len(rows)} trials ({len(done)} complete, the rest pruned), seeded TPE "
             f"(seed {seed}), median pruner on validation PR-AUC per epoch. Best validation PR-AUC {study.best_value:.4f} with "
             f"{study.best_params}. Test cutoffs were not used.\n"]
    atomic.write_text("\n".join(lines), out_dir / "tune.md")
    log.info("best validation PR-AUC %.4f: %s", study.best_value, study.best_params)
    return {"best_value": study.best_value, "best_params": study.best_params, "trials": rows}
