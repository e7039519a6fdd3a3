"""Warmup + cosine schedule against its formula; mixup and temporal CutMix against hand values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hotseller.train.augment import Batch, augment, mixup, temporal_cutmix
from hotseller.train.schedule import WARMUP_START, warmup_cosine


def expected_lr(step: int, base: float, total: int, warmup: int) -> float:
    if step < warmup:
        return base * (WARMUP_START + (1 - WARMUP_START) * step / warmup)
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))


@pytest.mark.parametrize("total,ratio", [(100, 0.1), (37, 0.2), (10, 0.0)])
def test_warmup_then_cosine_per_optimizer_step(total, ratio):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.5)
    sched = warmup_cosine(opt, total, ratio)
    warmup = int(ratio * total)
    seen = []
    for _ in range(total):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([expected_lr(s, 0.5, total, warmup) for s in range(total)], abs=1e-9)
    assert max(seen) == pytest.approx(0.5, rel=1e-3)


def batch(n: int = 4, weeks: int = 10) -> Batch:
    seq = torch.arange(n * weeks * 2, dtype=torch.float32).reshape(n, weeks, 2)
    return Batch(seq=seq, static=torch.arange(n, dtype=torch.float32)[:, None], hot=torch.tensor([1.0, 0.0, 0.0, 1.0]),
                 rating=torch.tensor([4.0, 0.0, 2.0, 5.0]), rating_mask=torch.tensor([True, False, True, True]),
                 engagement=torch.tensor([1.0, 2.0, 3.0, 4.0]), sales=torch.tensor([0.1, 0.2, 0.3, 0.4]))


def test_mixup_mixes_inputs_and_every_target_with_one_lambda():
    b, partner = batch(), torch.tensor([1, 0, 3, 2])
    mixed = mixup(b, partner, 0.7)
    assert torch.allclose(mixed.seq[0], 0.7 * b.seq[0] + 0.3 * b.seq[1])
    assert mixed.hot.tolist() == pytest.approx([0.7, 0.3, 0.3, 0.7])
    assert mixed.engagement.tolist() == pytest.approx([1.3, 1.7, 3.3, 3.7])
    assert mixed.sales.tolist() == pytest.approx([0.13, 0.17, 0.33, 0.37])
    assert mixed.rating_mask.tolist() == [False, False, True, True]  # a mixed rating needs both
    assert mixed.rating[2].item() == pytest.approx(0.7 * 2 + 0.3 * 5)


def test_temporal_cutmix_replaces_one_window_and_weights_targets_by_kept_share():
    b, partner = batch(), torch.tensor([3, 2, 1, 0])
    mixed, lam = temporal_cutmix(b, partner, start=2, length=3)
    assert lam == pytest.approx(0.7)
    assert torch.equal(mixed.seq[0, 2:5], b.seq[3, 2:5])
    assert torch.equal(mixed.seq[0, :2], b.seq[0, :2]) and torch.equal(mixed.seq[0, 5:], b.seq[0, 5:])
    assert torch.equal(mixed.static, b.static)
    assert mixed.hot.tolist() == pytest.approx([1.0, 0.0, 0.0, 1.0])  # pairs (0,3) and (1,2) share labels
    assert mixed.engagement[0].item() == pytest.approx(0.7 * 1 + 0.3 * 4)


def test_augment_probability_and_cut_length():
    b = batch(weeks=12)
    rng = np.random.default_rng(0)
    applied = [augment(b, rng, use_mixup=False, use_cutmix=True, aug_prob=0.5, mixup_alpha=0.3, cutmix_ratio=0.3)
               for _ in range(400)]
    lams = [lam for _, partner, lam in applied if partner is not None]
    assert 160 < len(lams) < 240  # about half the batches
    assert set(np.round(lams, 6)) == {round(1 - 4 / 12, 6)}  # round(0.3 * 12) = 4 weeks cut
    none = augment(b, rng, use_mixup=False, use_cutmix=False, aug_prob=1.0, mixup_alpha=0.3, cutmix_ratio=0.3)
    assert none[1] is None and none[2] == 1.0
