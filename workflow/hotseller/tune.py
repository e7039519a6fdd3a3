"""Hyperparameter search of the GNN on validation only (Optuna: seeded TPE sampler, median pruner on each epoch's
validation PR-AUC), its best values written where config.yaml can take them: a YAML file of
`datasets.<name>.overrides.train` (and `dataset: <name>`) to pass with `--configfile config.yaml results/<name>/tune/best.yaml`.

Test cutoffs play no part: every trial is judged by the best validation PR-AUC its early stopping kept. The search's
best is optimistic on the cutoffs it maximised, so with `holdout` the later half of the validation cutoffs is kept from
it: the trials stop and are judged on the earlier half, then the best settings and the configured ones are each trained from
`confirm_seeds` seeds on the same split and compared on the held-out cutoffs (mean PR-AUC over seeds, paired interval
over products, seeds resampled on each side: ablation.summarise). That comparison, not the search's own figure, says whether to adopt.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import optuna
import polars as pl
import yaml

from hotseller import atomic
from hotseller.ablation import Run, summarise
from hotseller.errors import UserError
from hotseller.evaluate import MIN_HOT_FOR_VERDICT
from hotseller.render import fmt
from hotseller.settings import FULL, fixed_by_start
from hotseller.split import check_no_leakage
from hotseller.train.config import TrainConfig
from hotseller.train.loop import train

TUNED = "tuned"
NO_HOLDOUT = "no validation cutoffs held out (tune.holdout: false): the search's best figure is optimistic, nothing checked it"

log = logging.getLogger(__name__)


def suggest(trial: optuna.Trial, space: dict[str, dict]) -> dict:
    """One trial's settings from the search space: {name: {low, high, log?} | {choices}}. Whole numbers for an integer
    setting (log scale or not), any number in the range for the others, whatever the bounds are written as (0 and 1
    for a weight search the interval, not its two ends)."""
    defaults = TrainConfig()
    values = {}
    for name, spec in space.items():
        log_scale = bool(spec.get("log"))
        if "choices" in spec:
            values[name] = trial.suggest_categorical(name, spec["choices"])
        elif type(getattr(defaults, name)) is int:
            values[name] = trial.suggest_int(name, spec["low"], spec["high"], log=log_scale)
        else:
            values[name] = trial.suggest_float(name, float(spec["low"]), float(spec["high"]), log=log_scale)
    return values


def search_split(split: dict, horizon_weeks: int) -> dict[str, list[int]]:
    """The split's cutoffs with the later half of its validation cutoffs as "test" and its test cutoffs dropped: the
    search stops and is judged on "val", its best is judged on "test". A search cutoff whose label window would reach
    past the first held-out cutoff (a stride shorter than the horizon) is left out, as split.check_no_leakage asks."""
    val = split["val"]
    held = val[len(val) - len(val) // 2:]
    searched = [c for c in val[: len(val) - len(held)] if c + horizon_weeks <= held[0]] if held else []
    if not searched:
        raise UserError(f"tune.holdout: the split's validation cutoffs {val} leave none for the search once the "
                        f"later half is held out (label windows of {horizon_weeks} weeks): raise split.val_cutoffs or set tune.holdout: false")
    cutoffs = {"train": split["train"], "val": searched, "test": held}
    check_no_leakage(cutoffs, horizon_weeks)
    return cutoffs


def confirm(base: TrainConfig, best: dict, examples: Path, edges: Path, split: Path, seeds: int, work: Path) -> dict:
    """The configured settings (FULL) and the search's best (TUNED), one network per seed each, compared on the
    split's test cutoffs (the held-out validation cutoffs)."""
    runs = []
    for offset in range(seeds):
        for name, overrides in ((FULL, {}), (TUNED, best)):
            cfg = dataclasses.replace(base, **({"ensemble": 1} | overrides | {"seed": base.seed + offset}))
            train(cfg, examples, edges, split, work / name / f"seed{cfg.seed}")
            runs.append(Run(name, cfg.seed, work / name / f"seed{cfg.seed}" / "predictions.parquet"))
    return summarise(runs, {FULL: {}, TUNED: best}) | {"metric": "PR-AUC on the held-out validation cutoffs"}


def settings_text(settings: dict) -> str:
    """Settings to 3 significant digits, for a table cell."""
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items())


def holdout_verdict(doc: dict) -> str:
    """One line: the tuned settings against the configured ones on the held-out cutoffs, and what to do (the evaluate
    stage's rule: no verdict from fewer than MIN_HOT_FOR_VERDICT hot examples)."""
    tuned = next(row for row in doc["variants"] if row["variant"] == TUNED)
    low, high = tuned["difference_ci"]
    if doc["test_hot"] < MIN_HOT_FOR_VERDICT:
        reading = f"too few hot examples to tell ({doc['test_hot']} < {MIN_HOT_FOR_VERDICT}); keep the configured settings"
    elif low is not None and low > 0:
        reading = "the search's best is better; adopt best.yaml"
    else:
        reading = "no measurable gain; keep the configured settings"
    return f"tuned - configured on the held-out validation cutoffs: {fmt(tuned['difference'])} [{fmt(low)}, {fmt(high)}]: {reading}"


def run_tune(base: TrainConfig, space: dict[str, dict], examples: Path, edges: Path, split: Path, dataset: str, trials: int,
             seed: int, out_dir: Path, holdout: bool = True, confirm_seeds: int = 3) -> dict:
    """Run the study; write trials.csv (every trial's settings, state and validation PR-AUC), best.yaml and tune.md;
    with `holdout`, also holdout.json (the best against the configured settings on the held-out validation cutoffs)."""
    unknown = sorted(set(space) - set(TrainConfig.names()))
    if unknown:
        raise UserError(f"tune.space: {unknown} are not train settings (see workflow/schemas/config.schema.yaml)")
    fixed = fixed_by_start(space, base.init_from, base.init_parts)
    if fixed:
        raise UserError(f"tune.space searches {fixed}, but train.init_from ({base.init_from}) starts every network from a saved one, "
                        f"which fixes them: remove them from tune.space, or set train.init_from: \"\"")
    out_dir = Path(out_dir)
    work = out_dir / "trials"
    searched_on = "validation"
    if holdout:
        document = json.loads(Path(split).read_text())
        cutoffs = search_split(document["cutoffs"], document["horizon_weeks"])
        split = out_dir / "search_split.json"
        atomic.write_text(json.dumps({"horizon_weeks": document["horizon_weeks"], "cutoffs": cutoffs}, indent=2) + "\n", split)
        searched_on, held = f"validation cutoffs {cutoffs['val']}", cutoffs["test"]

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
    checked, verdict = None, None
    if holdout:
        try:
            checked = confirm(base, dict(study.best_params), examples, edges, split, confirm_seeds, out_dir / "confirm")
        finally:
            shutil.rmtree(out_dir / "confirm", ignore_errors=True)
        verdict = holdout_verdict(checked)
    atomic.write_text(json.dumps((checked or {"variants": []}) | {"verdict": verdict or NO_HOLDOUT}, indent=2, default=float) + "\n",
                      out_dir / "holdout.json")
    # It names the dataset too, so it is passed alone (Snakemake 9.27 re-applies config.yaml over a --configfile's values
    # when --config is given beside it).
    best = {"dataset": dataset, "datasets": {dataset: {"overrides": {"train": dict(study.best_params)}}}}
    atomic.write_text(f"# Best of {trials} trials on {searched_on} (PR-AUC {study.best_value:.4f}); pass with\n"
                      f"#   snakemake --cores 2 --configfile config.yaml {out_dir / 'best.yaml'}\n"
                      + (f"# {verdict}\n" if verdict else "") + yaml.safe_dump(best, sort_keys=True), out_dir / "best.yaml")
    done = [r for r in rows if r["state"] == "COMPLETE"]
    lines = [f"# Tuning the GNN on `{dataset}`\n", f"{len(rows)} trials ({len(done)} complete, {len(rows) - len(done)} pruned), seeded TPE "
             f"(seed {seed}), median pruner on PR-AUC per epoch on {searched_on}. Best PR-AUC {study.best_value:.4f} with "
             f"{study.best_params}. Test cutoffs were not used.\n"]
    if checked:
        lines += [f"Held out from the search: validation cutoffs {held} ({checked['test_hot']} hot of "
                  f"{checked['test_examples']} examples). The configured settings and the best, one network per seed "
                  f"(seeds {base.seed} to {base.seed + confirm_seeds - 1}), stopped on the search's cutoffs:\n",
                  "| settings | PR-AUC on the held-out cutoffs, mean over seeds [95% CI] | per seed | difference [95% CI] |",
                  "|---|---|---|---|"]
        for row in checked["variants"]:
            label = "configured" if row["variant"] == FULL else f"tuned ({settings_text(study.best_params)})"
            difference = "-" if row["difference"] is None else f"{fmt(row['difference'])} [{fmt(row['difference_ci'][0])}, {fmt(row['difference_ci'][1])}]"
            lines.append(f"| {label} | {fmt(row['mean'])} [{fmt(row['ci'][0])}, {fmt(row['ci'][1])}] "
                         f"| {', '.join(fmt(v) for v in row['test_pr_auc'])} | {difference} |")
        lines += ["", f"**{verdict}**\n"]
    atomic.write_text("\n".join(lines), out_dir / "tune.md")
    log.info("best PR-AUC %.4f on %s: %s", study.best_value, searched_on, study.best_params)
    if verdict:
        log.info(verdict)
    return {"best_value": study.best_value, "best_params": study.best_params, "trials": rows, "holdout": checked, "verdict": verdict}
