"""Learning-rate schedule: linear warmup then cosine decay, from torch's own schedulers."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR

WARMUP_START = 1e-3  # LinearLR rejects 0; the first step runs at lr * 1e-3


def warmup_steps(total_steps: int, warmup_ratio: float) -> int:
    return int(math.floor(warmup_ratio * total_steps))


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float) -> LRScheduler:
    """Linear warmup over warmup_ratio of the optimizer steps, then cosine decay to 0 at total_steps.

    Step it once per optimizer step (after optimizer.step()), not per micro-batch.
    """
    warmup = warmup_steps(total_steps, warmup_ratio)
    cosine = CosineAnnealingLR(optimizer, T_max=max(total_steps - warmup, 1))
    if warmup == 0:
        return cosine
    linear = LinearLR(optimizer, start_factor=WARMUP_START, end_factor=1.0, total_iters=warmup)
    return SequentialLR(optimizer, [linear, cosine], milestones=[warmup])
