"""The training loop, in the order a reader expects: forward under autocast, loss / group size,
scaled backward, unscale + clip, scaler step, scheduler step per optimizer step, validate, early-stop,
checkpoint. Everything random is seeded per epoch and per micro-batch, so a resumed run repeats an
uninterrupted one and W processes under torchrun repeat one process with W times the accumulation.
"""

from __future__ import annotations

import copy
import dataclasses
import csv
import json
import logging
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from hotseller import atomic
from hotseller.errors import UserError
from hotseller.graph import RELATION_GROUPS
from hotseller.logits import sigmoid
from hotseller.model_files import init_inputs
from hotseller.recency import snapshot_weights
from hotseller.split import load_split
from hotseller.train import checkpoint
from hotseller.train.augment import Batch, augment
from hotseller.train.config import TrainConfig
from hotseller.train.data import Batcher, Snapshot, load_snapshots
from hotseller.train.distributed import PreemptionGuard, Preempted, World, all_reduce_mean, init_world, shutdown
from hotseller.train.losses import (
    bce_loss, group_contrastive_loss, listwise_rank_loss, masked_mse, pairwise_rank_loss, sigmoid_focal_loss, smooth_binary,
)
from hotseller.train.model import FEATURED_GNNS, TYPED_GNNS, HotSellerNet, as_one
from hotseller.train.saved import save_model
from hotseller.train.schedule import warmup_cosine
from hotseller.train.transfer import initialise

log = logging.getLogger(__name__)
LOSS_TERMS = ("loss", "hot", "contrast", "rating", "engagement", "sales", "rank")
TARGETS = ("hot", "rating", "rating_mask", "engagement", "sales")
RANK_PAIRS = 65_536  # (hot, not hot) pairs per group for the ranking term, at most
PROGRESS_EVERY_S = 60.0  # seconds between progress lines of an epoch when no terminal shows the bar
PREEMPTED_EXIT = 75  # EX_TEMPFAIL: try again (with --resume)


def resolve_amp(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype: `auto` is fp16 on CUDA and off on CPU (bf16 on CPU only when asked)."""
    if mode == "auto":
        mode = "fp16" if device.type == "cuda" else "off"
    return {"off": None, "fp16": torch.float16, "bf16": torch.bfloat16}[mode]


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def to(tensor: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    """An optional tensor (a flat snapshot has no edge attributes) on the device."""
    return None if tensor is None else tensor.to(device)


def seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def batch_losses(model: HotSellerNet, mb, cfg: TrainConfig, rng: np.random.Generator, device: torch.device,
                 amp_dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    """Augment the seeds group by group, run the model once on their graph, and return every loss term and the total.

    A group is `batch_size` seeds: the unit that mixup / CutMix pair within and the contrastive term compares
    within. A sampled micro-batch is one group; a whole snapshot is its shuffled nodes cut into groups, all
    computed by one forward.
    """
    snap, nodes = mb.snap, mb.nodes
    seq, static = snap.seq[nodes].clone(), snap.static[nodes].clone()
    node_targets = {k: getattr(snap, k)[nodes] for k in TARGETS}
    groups = mb.seeds.split(cfg.batch_size)
    mixed_groups, classes = [], []
    for group in groups:
        own = Batch(seq[group], static[group], **{k: v[group] for k, v in node_targets.items()})
        mixed, partner, lam = augment(own, rng, use_mixup=cfg.use_mixup, use_cutmix=cfg.use_cutmix, aug_prob=cfg.aug_prob,
                                      mixup_alpha=cfg.mixup_alpha, cutmix_ratio=cfg.cutmix_ratio)
        seq[group], static[group] = mixed.seq, mixed.static
        mixed_groups.append(mixed)
        # On a mixed batch each example takes the class of whichever of the pair contributes more.
        classes.append(own.hot if partner is None or lam >= 0.5 else own.hot[partner])
    target = {k: torch.cat([getattr(m, k) for m in mixed_groups]).to(device) for k in TARGETS}
    with autocast(device, amp_dtype):
        out = model(seq.to(device), static.to(device), snap.category[nodes].to(device), mb.edge_index.to(device),
                    to(mb.edge_attr, device))
    seeds = mb.seeds.to(device)
    hot_target = smooth_binary(target["hot"], cfg.label_smoothing)
    terms = {"hot": (sigmoid_focal_loss(out["hot"][seeds], hot_target, cfg.focal_alpha, cfg.focal_gamma)
                     if cfg.loss == "focal" else bce_loss(out["hot"][seeds], hot_target))}
    zero = terms["hot"] * 0.0
    terms["contrast"] = (torch.stack([group_contrastive_loss(out["projection"][g.to(device)], c.to(device), cfg.contrast_temperature)
                                      for g, c in zip(groups, classes)]).mean() if cfg.w_contrast > 0 else zero)
    terms["rating"] = masked_mse(out["rating"][seeds], target["rating"], target["rating_mask"]) if cfg.w_rating > 0 else zero
    terms["engagement"] = (masked_mse(out["engagement"][seeds], target["engagement"], torch.ones_like(target["engagement"], dtype=torch.bool))
                           if cfg.w_engagement > 0 else zero)
    everyone = torch.ones_like(target["sales"], dtype=torch.bool)
    terms["sales"] = masked_mse(out["sales"][seeds], target["sales"], everyone) if cfg.w_sales > 0 else zero
    terms["rank"] = rank_term(out["hot"], groups, classes, cfg, rng, device) if cfg.w_rank > 0 else zero
    terms["loss"] = (terms["hot"] + cfg.w_contrast * terms["contrast"] + cfg.w_rating * terms["rating"]
                     + cfg.w_engagement * terms["engagement"] + cfg.w_sales * terms["sales"] + cfg.w_rank * terms["rank"])
    return terms


def rank_term(hot_logits: torch.Tensor, groups: tuple[torch.Tensor, ...], classes: list[torch.Tensor], cfg: TrainConfig,
              rng: np.random.Generator, device: torch.device) -> torch.Tensor:
    """The ranking term, group by group (a group's seeds share a cutoff, the unit the label ranks within), averaged."""
    if cfg.rank_loss == "listwise":
        term = listwise_rank_loss
    else:
        generator = torch.Generator(device=device).manual_seed(int(rng.integers(2**31)))  # drawn after the augmentations
        term = partial(pairwise_rank_loss, max_pairs=RANK_PAIRS, generator=generator)
    return torch.stack([term(hot_logits[g.to(device)], c.to(device) >= 0.5) for g, c in zip(groups, classes)]).mean()


@torch.no_grad()
def predict(model: HotSellerNet, snap: Snapshot, device: torch.device, amp_dtype: torch.dtype | None) -> dict[str, np.ndarray]:
    """Scores of every node of a snapshot in eval mode (the encoder runs chunk by chunk: see `encode_all`)."""
    model.eval()
    with autocast(device, amp_dtype):
        out = model(snap.seq.to(device), snap.static.to(device), snap.category.to(device), snap.edge_index.to(device),
                    to(snap.edge_attr, device))
    return {k: out[k].float().cpu().numpy() for k in ("hot", "rating", "engagement", "embedding")}


def ranking_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """PR-AUC (average precision) and ROC-AUC; NaN where a split has a single class."""
    if labels.min() == labels.max():
        return {"pr_auc": float("nan"), "roc_auc": float("nan")}
    return {"pr_auc": float(average_precision_score(labels, scores)), "roc_auc": float(roc_auc_score(labels, scores))}


def evaluate_snaps(model, snaps: list[Snapshot], device, amp_dtype) -> dict[str, float]:
    preds = [predict(model, s, device, amp_dtype) for s in snaps]
    labels = np.concatenate([s.hot.numpy() for s in snaps])
    return ranking_metrics(labels, np.concatenate([p["hot"] for p in preds]))


class EarlyStopping:
    """Stop after `patience` epochs without a val PR-AUC gain above min_delta; remember the best weights."""

    def __init__(self, patience: int, min_delta: float) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.best = -float("inf")
        self.best_epoch = -1
        self.counter = 0
        self.best_state: dict | None = None

    def update(self, score: float, epoch: int, model: torch.nn.Module) -> bool:
        """Record an epoch's score; return True when it is a new best."""
        if score > self.best + self.min_delta:
            self.best, self.best_epoch, self.counter = score, epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
            return True
        self.counter += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.counter >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "counter": self.counter, "best_state": self.best_state}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.counter, self.best_state = state["best"], state["best_epoch"], state["counter"], state["best_state"]


def switch_off_missing_targets(cfg: TrainConfig, snaps: list[Snapshot]) -> None:
    """A dataset without reviews (e.g. Online Retail) has no rating or engagement targets: drop those heads."""
    if cfg.w_rating > 0 and not any(bool(s.rating_mask.any()) for s in snaps):
        log.info("No review ratings in the training data: rating head switched off (w_rating 0)")
        cfg.w_rating = 0.0
    if cfg.w_engagement > 0 and not any(bool(s.engagement.any()) for s in snaps):
        log.info("No reviews in the training data: engagement head and review features carry nothing, switched off (w_engagement 0)")
        cfg.w_engagement = 0.0


def tensorboard_writer(out_dir: Path):
    """A TensorBoard writer when the tensorboard package is installed, else None (it is optional)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out_dir / "tensorboard"))


def write_log(path: Path, history: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)


def weight_average(model: torch.nn.Module, decay: float) -> AveragedModel | None:
    """An exponential moving average of `model`'s weights (and buffers), updated after every optimizer step: with best
    epochs as early as the second, one epoch's raw weights are a noisy draw, their recent average a steadier one.
    It starts from the weights after the first step; at the update after step n + 1 (n updates averaged so far) it
    decays by min(decay, (1 + n) / (10 + n))
    (TensorFlow's ExponentialMovingAverage with num_updates): a plain `decay` would keep the near-initial weights of
    warmup's first steps for hundreds of steps. None when decay is 0."""
    if decay == 0:
        return None
    if not 0 < decay < 1:
        raise UserError(f"train.ema_decay is {decay}: give 0 (off) or a decay in (0, 1), e.g. 0.99")

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
        n = int(n_averaged)
        d = min(decay, (1 + n) / (10 + n))
        for mean, weight in zip(averaged, current):
            mean.lerp_(weight, 1 - d)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)


class Trainer:
    """Model, optimizer, scaler, scheduler and early stopping, with their checkpoint round trip."""

    def __init__(self, cfg: TrainConfig, model: torch.nn.Module, steps_per_epoch: int, device: torch.device,
                 amp_dtype: torch.dtype | None) -> None:
        self.cfg, self.model = cfg, model
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.steps_per_epoch = steps_per_epoch
        self.scheduler = warmup_cosine(self.optimizer, cfg.epochs * steps_per_epoch, cfg.warmup_ratio)
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
        self.stopper = EarlyStopping(cfg.patience, cfg.min_delta)
        self.history: list[dict] = []
        self.epoch, self.step = 0, 0  # the next epoch to run; optimizer steps taken
        self.ema = weight_average(self.module, cfg.ema_decay)

    @property
    def judged(self) -> HotSellerNet:
        """The weights validation scores and early stopping keeps: the moving average where there is one."""
        return self.module if self.ema is None else self.ema.module

    @property
    def module(self) -> HotSellerNet:
        """The bare model (unwrapped from DistributedDataParallel)."""
        return getattr(self.model, "module", self.model)

    def optimizer_step(self) -> None:
        self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.step += 1
        if self.ema is not None:
            self.ema.update_parameters(self.module)

    def state_dict(self, stamp: dict) -> dict:
        return {"model": self.module.state_dict(), "optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict(),
                "scheduler": self.scheduler.state_dict(), "early_stopping": self.stopper.state_dict(),
                "rng": checkpoint.rng_state(), "epoch": self.epoch, "step": self.step, "history": self.history,
                "stopped": self.stopper.should_stop, "fingerprint": stamp, "ema": None if self.ema is None else self.ema.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.stopper.load_state_dict(state["early_stopping"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        checkpoint.set_rng_state(state["rng"])
        self.epoch, self.step, self.history = state["epoch"], state["step"], state["history"]
        if state["stopped"]:
            self.epoch = self.cfg.epochs


def make_batcher(cfg: TrainConfig) -> Batcher:
    """Full-graph or sampled micro-batches as configured; one neighbour count per GNN layer (none without a GNN)."""
    if cfg.gnn != "none" and len(cfg.num_neighbors) != cfg.gnn_layers:
        raise ValueError(f"train.num_neighbors {list(cfg.num_neighbors)} needs one entry per GNN layer "
                         f"(train.gnn_layers = {cfg.gnn_layers})")
    return Batcher(cfg.batch_size, cfg.full_graph_max_nodes, [] if cfg.gnn == "none" else cfg.num_neighbors)


def run_epoch(trainer: Trainer, snaps: list[Snapshot], batcher: Batcher, world: World, device: torch.device,
              amp_dtype: torch.dtype | None, guard: PreemptionGuard) -> dict[str, float]:
    """One pass over this rank's share of the epoch's micro-batches; returns mean loss terms over all ranks.

    Micro-batch i goes to rank i % world; a group of accumulation_steps local micro-batches makes one
    optimizer step (DDP averages over ranks), so one process with accumulation k*W matches W processes with k.
    """
    cfg, model, epoch = trainer.cfg, trainer.model, trainer.epoch
    plan = batcher.plan(snaps, np.random.default_rng([cfg.seed, epoch]))
    plan = plan[: len(plan) - len(plan) % world.size]  # equal shares: every rank takes the same number of steps
    mine = list(range(world.rank, len(plan), world.size))
    # The trees' per-example weights; a micro-batch's loss is a mean over its seeds, so each seed keeps its weight.
    weights = snapshot_weights([s.cutoff for s in snaps], [s.n_nodes for s in snaps], cfg.recency_half_life) if cfg.recency_half_life else None
    sums = dict.fromkeys(LOSS_TERMS, 0.0)
    model.train()
    bar = tqdm(mine, desc=f"Epoch {epoch + 1}/{cfg.epochs}", disable=not (sys.stderr.isatty() and world.is_main), leave=False)
    quiet_log = bar.disable and world.is_main  # no bar (a Slurm log): a progress line every PROGRESS_EVERY_S instead
    began = last_line = time.perf_counter()
    for local, i in enumerate(bar):
        guard.check()
        group_start = (local // cfg.accumulation_steps) * cfg.accumulation_steps
        group_size = min(cfg.accumulation_steps, len(mine) - group_start)
        last_in_group = local + 1 == group_start + group_size
        snap_index, seeds = plan[i]
        batch_seed = [cfg.seed, epoch, i]  # augmentation depends on the batch, not on the rank that runs it
        mb = batcher.micro_batch(snaps[snap_index], seeds)
        sync = nullcontext() if last_in_group or not world.distributed else model.no_sync()
        with sync:
            terms = batch_losses(model, mb, cfg, np.random.default_rng(batch_seed), device, amp_dtype)
            loss = terms["loss"] if weights is None else terms["loss"] * weights[snap_index]  # off: the same bits
            trainer.scaler.scale(loss / group_size).backward()
        for k in LOSS_TERMS:
            sums[k] += float(terms[k].detach())
        if last_in_group:
            trainer.optimizer_step()
        bar.set_postfix(loss=f"{float(terms['loss'].detach()):.4f}")
        if quiet_log and time.perf_counter() - last_line >= PROGRESS_EVERY_S and local + 1 < len(mine):
            last_line = time.perf_counter()
            log.info("Epoch %d/%d: micro-batch %d/%d, %.1fs", epoch + 1, cfg.epochs, local + 1, len(mine), last_line - began)
    return all_reduce_mean({k: v / max(len(mine), 1) for k, v in sums.items()}, world, device)


def log_epoch(row: dict, cfg: TrainConfig, improved: bool, stopper: EarlyStopping) -> None:
    log.info("Epoch %d/%d: loss %.4f (hot %.4f, contrast %.4f, rating %.4f, engagement %.4f) lr %.2e | val PR-AUC %.4f ROC-AUC %.4f | %.1fs",
             row["epoch"], cfg.epochs, row["train_loss"], row["train_hot"], row["train_contrast"], row["train_rating"],
             row["train_engagement"], row["lr"], row["val_pr_auc"], row["val_roc_auc"], row["seconds"])
    if improved:
        log.info("Saved best model (val PR-AUC=%.4f)", stopper.best)
    else:
        log.info("No improvement for %d/%d epochs", stopper.counter, cfg.patience)


def input_options(cfg: TrainConfig) -> dict[str, bool | str]:
    """The computed inputs a network of `cfg` reads (relative inputs, typed edges for a typed GNN layer, edge features
    for a featured one, neighbour inputs and sequences), as `snapshot` / `load_snapshots` keywords: training and scoring a saved
    model build the same snapshots."""
    return {"relative": cfg.relative_inputs, "typed": cfg.gnn in TYPED_GNNS, "neighbours": cfg.neighbour_inputs,
            "featured": cfg.gnn in FEATURED_GNNS, "neighbour_seq": cfg.neighbour_sequences, "offset_column": cfg.offset_column}


def snapshots_for(cfg: TrainConfig, examples_path: Path, edges_path: Path, split: dict[str, list[int]]):
    """The snapshots, normalizer and category count with the inputs `cfg` asks for: what training and every benchmark
    of it load."""
    return load_snapshots(examples_path, edges_path, split, **input_options(cfg), sales_target=cfg.sales_target)


def member_seed(seed: int, member: int) -> int:
    """The seed of an ensemble's member: member 0 is the run's seed, the others far from seed + 1, seed + 2 (the
    ablation's other seeds), so two seeds' ensembles share no member."""
    return seed + 1000 * member


def train(cfg: TrainConfig, examples_path: Path, edges_path: Path, split_path: Path, out_dir: Path, resume: bool = False,
          on_epoch: Callable[[int, float], None] | None = None) -> dict:
    """Train `cfg.ensemble` members one after another (each early-stopped on validation PR-AUC, its best weights
    restored), then write the model (their average) and its predictions.

    `on_epoch(epoch, val_pr_auc)` is called after each epoch's validation (a hyperparameter search prunes there by
    raising; see hotseller.tune)."""
    if cfg.ensemble < 1:
        raise UserError(f"train.ensemble is {cfg.ensemble}: it is the number of networks to train, at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    world, device = init_world(cfg.device)
    amp_dtype = resolve_amp(cfg.amp, device)
    snaps, norm, n_categories = snapshots_for(cfg, examples_path, edges_path, load_split(split_path))
    switch_off_missing_targets(cfg, snaps["train"])
    stamp = checkpoint.fingerprint(cfg, examples_path, edges_path, split_path, *init_inputs(cfg.init_from))
    if world.is_main:
        (out_dir / "config.json").write_text(json.dumps(cfg.as_dict(), indent=2) + "\n")
    trainers = []
    for member in range(cfg.ensemble):
        member_cfg = dataclasses.replace(cfg, seed=member_seed(cfg.seed, member))
        member_dir = out_dir if cfg.ensemble == 1 else out_dir / f"member{member}"
        member_dir.mkdir(parents=True, exist_ok=True)
        trainers.append(fit(member_cfg, snaps, n_categories, member_dir, stamp | {"member": member}, world, device, amp_dtype,
                            resume, on_epoch, member))
    summary = finish(trainers, snaps, norm, n_categories, out_dir, device, amp_dtype) if world.is_main else {}
    shutdown(world)
    return summary


def new_trainer(cfg: TrainConfig, train_snaps: list[Snapshot], n_categories: int, world: World, device: torch.device,
                amp_dtype: torch.dtype | None, member: int = 0) -> tuple[Trainer, Batcher]:
    """A fresh network of `cfg` from its seed (or, with cfg.init_from, from the saved network's member `member`),
    with its optimizer and schedule sized for `train_snaps`."""
    seed_everything(cfg.seed)
    batcher = make_batcher(cfg)
    first = train_snaps[0]
    model = HotSellerNet(first.seq.shape[-1], first.static.shape[-1], n_categories, cfg.hidden_dim, cfg.gnn, cfg.gnn_layers,
                         cfg.dropout, cfg.encoder, offset=bool(cfg.offset_column))
    if cfg.init_from:
        initialise(model, cfg.init_from, member, cfg.init_parts)
    model = model.to(device)
    if world.distributed:
        model = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    steps_per_epoch = -(-(batcher.count(train_snaps) // world.size) // cfg.accumulation_steps)
    return Trainer(cfg, model, steps_per_epoch, device, amp_dtype), batcher


def refit(cfg: TrainConfig, train_snaps: list[Snapshot], n_categories: int, epochs: int, world: World, device: torch.device,
          amp_dtype: torch.dtype | None, member: int = 0) -> HotSellerNet:
    """A network of `cfg` trained on `train_snaps` for exactly `epochs` epochs of a `cfg.epochs`-epoch schedule (the
    learning rate where the validated run's was at its best epoch), its last weights kept: the refit of a member on
    training + validation cutoffs, with nothing left to stop on (with train.ema_decay, the averaged weights). `member`
    is its place in an ensemble (the saved member it starts from, with train.init_from)."""
    if not 1 <= epochs <= cfg.epochs:
        raise ValueError(f"a refit runs 1 to train.epochs ({cfg.epochs}) epochs, not {epochs}")
    switch_off_missing_targets(cfg, train_snaps)
    trainer, batcher = new_trainer(cfg, train_snaps, n_categories, world, device, amp_dtype, member)
    with PreemptionGuard() as guard:
        while trainer.epoch < epochs:
            started = time.perf_counter()
            losses = run_epoch(trainer, train_snaps, batcher, world, device, amp_dtype, guard)
            trainer.epoch += 1
            log.info("Refit (seed %d) epoch %d/%d: loss %.4f | %.1fs", cfg.seed, trainer.epoch, epochs, losses["loss"],
                     time.perf_counter() - started)
    return trainer.judged


def fit(cfg: TrainConfig, snaps: dict[str, list[Snapshot]], n_categories: int, out_dir: Path, stamp: dict, world: World,
        device: torch.device, amp_dtype: torch.dtype | None, resume: bool,
        on_epoch: Callable[[int, float], None] | None, member: int = 0) -> Trainer:
    """One network (an ensemble's member `member`) from its seed to early stopping, checkpointed in `out_dir` after
    every epoch."""
    train_snaps = snaps["train"]
    trainer, batcher = new_trainer(cfg, train_snaps, n_categories, world, device, amp_dtype, member)
    ckpt_path = out_dir / "checkpoint.pt"
    if resume:
        checkpoint.try_resume(trainer, ckpt_path, stamp)
    n_full = sum(batcher.is_full(s) for s in train_snaps)
    log.info("Training (seed %d) on %s (amp=%s, %d process(es)): %d train snapshots (%d as whole graphs of at most %d nodes, %d "
             "in sampled mini-batches of %d seeds, neighbours %s), %d micro-batches per process per epoch, %d optimizer steps "
             "per epoch", cfg.seed, device, amp_dtype, world.size, len(train_snaps), n_full, cfg.full_graph_max_nodes,
             len(train_snaps) - n_full, cfg.batch_size, batcher.num_neighbors or "none", batcher.count(train_snaps) // world.size,
             trainer.steps_per_epoch)
    board = tensorboard_writer(out_dir) if world.is_main else None
    with PreemptionGuard() as guard:
        try:
            while trainer.epoch < cfg.epochs and not trainer.stopper.should_stop:
                started = time.perf_counter()
                losses = run_epoch(trainer, train_snaps, batcher, world, device, amp_dtype, guard)
                val = evaluate_snaps(trainer.judged, snaps["val"], device, amp_dtype)
                improved = trainer.stopper.update(val["pr_auc"], trainer.epoch, trainer.judged)
                if on_epoch is not None:
                    on_epoch(trainer.epoch, val["pr_auc"])
                row = {"epoch": trainer.epoch + 1, "step": trainer.step, "lr": trainer.scheduler.get_last_lr()[0],
                       **{f"train_{k}": v for k, v in losses.items()}, "val_pr_auc": val["pr_auc"], "val_roc_auc": val["roc_auc"],
                       "seconds": round(time.perf_counter() - started, 3)}
                trainer.history.append(row)
                trainer.epoch += 1
                if world.is_main:
                    log_epoch(row, cfg, improved, trainer.stopper)
                    write_log(out_dir / "train_log.csv", trainer.history)
                    if board is not None:
                        for key, value in row.items():
                            board.add_scalar(key, value, row["epoch"])
                        board.flush()
                    checkpoint.save_atomic(trainer.state_dict(stamp), ckpt_path)
        except Preempted as signal_name:
            log.warning("Received %s: stopping. The checkpoint of epoch %d is on disk; rerun with --resume to continue "
                        "(the interrupted epoch is repeated from its start).", signal_name, trainer.epoch)
            shutdown(world)
            raise SystemExit(PREEMPTED_EXIT) from None
    if trainer.stopper.should_stop and world.is_main:
        log.info("Early stopping: best val PR-AUC %.4f at epoch %d", trainer.stopper.best, trainer.stopper.best_epoch + 1)
    if world.is_main:
        write_log(out_dir / "train_log.csv", trainer.history)  # also when a finished checkpoint was resumed
    trainer.module.load_state_dict(trainer.stopper.best_state)
    return trainer


def finish(trainers: list[Trainer], snaps: dict, norm, n_categories: int, out_dir: Path, device, amp_dtype) -> dict:
    """Save the model (one member, or the members' average), and write its predictions, the training log of every
    member and the metrics summary. `best_epoch` / `epochs_run` are the first member's; `member_*` lists every one."""
    cfg = trainers[0].cfg
    members = [t.module for t in trainers]
    model = as_one(members)
    if len(trainers) > 1:
        write_log(out_dir / "train_log.csv", [{"member": i, **row} for i, t in enumerate(trainers) for row in t.history])
    heads = {"rating": cfg.w_rating > 0, "engagement": cfg.w_engagement > 0}
    predictions = pl.concat([prediction_frame(model, s, name, device, amp_dtype, heads) for name in ("val", "test") for s in snaps[name]])
    atomic.write_parquet(predictions, out_dir / "predictions.parquet")
    best_epochs = [t.stopper.best_epoch + 1 for t in trainers]
    summary = {"best_epoch": best_epochs[0], "epochs_run": len(trainers[0].history), "member_best_epochs": best_epochs,
               "member_epochs_run": [len(t.history) for t in trainers],
               "val": evaluate_split(predictions, "val"), "test": evaluate_split(predictions, "test")}
    first = snaps["train"][0]
    architecture = {"n_channels": first.seq.shape[-1], "n_static": first.static.shape[-1], "n_categories": n_categories,
                    "hidden_dim": cfg.hidden_dim, "gnn": cfg.gnn, "gnn_layers": cfg.gnn_layers, "dropout": cfg.dropout,
                    "encoder": cfg.encoder, "members": len(members), "offset": bool(cfg.offset_column),
                    "relations": len(RELATION_GROUPS)}
    save_model(out_dir / "model", model, norm, {"architecture": architecture, "train": cfg.as_dict(),
                                               "best_epoch": best_epochs[0], "member_best_epochs": best_epochs,
                                               "val_pr_auc": summary["val"]["pr_auc"],
                                               "member_val_pr_auc": [t.stopper.best for t in trainers]})
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    # Validation only in the log a developer watches while iterating: test is for the evaluate stage, looked at once.
    log.info("Best epoch(s) %s restored: val PR-AUC %.4f", best_epochs, summary["val"]["pr_auc"])
    return summary


def prediction_frame(model, snap: Snapshot, split_name: str, device, amp_dtype, heads: dict[str, bool]) -> pl.DataFrame:
    """Per-product predictions and targets of one snapshot, the evaluate stage's input.

    A head that was not trained (`heads[name]` false: weight 0, or no such target in the data) predicts
    nothing meaningful, so its prediction column is null and evaluate reports its RMSE as n/a.
    """
    pred = predict(model, snap, device, amp_dtype)
    return pl.DataFrame({
        "split": split_name, "cutoff": snap.cutoff, "product_id": snap.product_id,
        "score": sigmoid(pred["hot"]), "hot": snap.hot.numpy().astype(np.int8),
        "future_units": snap.future_units, "rating_pred": pred["rating"].astype(np.float64),
        "rating_target": np.where(snap.rating_mask.numpy(), snap.rating.numpy(), np.nan).astype(np.float64),
        "engagement_pred": pred["engagement"].astype(np.float64), "engagement_target": snap.engagement.numpy().astype(np.float64),
    }).with_columns(pl.col("rating_target").fill_nan(None),
                    *(pl.lit(None, pl.Float64).alias(f"{name}_pred") for name, trained in heads.items() if not trained))


def evaluate_split(predictions: pl.DataFrame, split_name: str) -> dict[str, float]:
    part = predictions.filter(pl.col("split") == split_name)
    return ranking_metrics(part["hot"].to_numpy(), part["score"].to_numpy())
