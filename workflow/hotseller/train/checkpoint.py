"""Checkpoints written atomically, holding everything an exact resume needs, and what one must match to be resumed."""

from __future__ import annotations

import hashlib
import logging
import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from hotseller.atomic import replacing
from hotseller.sources import PACKAGE, stage_sources
from hotseller.train.config import TrainConfig

if TYPE_CHECKING:
    from hotseller.train.loop import Trainer

log = logging.getLogger(__name__)


def rng_state() -> dict[str, Any]:
    """Every global RNG the loop touches (dropout uses torch's)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_atomic(payload: dict[str, Any], path: Path) -> None:
    """torch.save to a temp file in the same folder, fsync, then rename: a kill never leaves half a checkpoint."""
    with replacing(path) as tmp, open(tmp, "wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())


def load(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=False)


def fingerprint(cfg: TrainConfig, *inputs: Path) -> dict:
    """What a checkpoint must match to be resumed: the config (its thread count included: the count moves the last
    digits, and the workflow reruns train when it changes), the input files, and the training code itself (every
    package file `hotseller train` can run, as its rule lists them), so a rerun after an edit never continues a stale run."""
    config = cfg.as_dict()
    files = {Path(p).name: [Path(p).stat().st_size, Path(p).stat().st_mtime_ns] for p in inputs}
    code = hashlib.sha256(b"".join((PACKAGE / f).read_bytes() for f in stage_sources("train"))).hexdigest()
    return {"config": config, "inputs": files, "code": code}


def try_resume(trainer: Trainer, path: Path, stamp: dict) -> None:
    """Continue from a checkpoint of the same config and inputs; say why when starting over instead."""
    if not path.exists():
        log.info("No checkpoint at %s: starting from epoch 1", path)
        return
    state = load(path)
    if state.get("fingerprint") != stamp:
        log.info("Checkpoint %s was written for another config or other inputs: starting from epoch 1", path)
        return
    trainer.load_state_dict(state)
    log.info("Resumed from %s at epoch %d (step %d)", path, trainer.epoch + 1, trainer.step)
