"""Batch augmentations on the seed nodes' inputs: mixup and temporal CutMix, with matching target mixing.

Both mix a batch with a permutation of itself (its partner) and return the mixing weight lambda, the
share of each example that is still its own. Targets, including masks, are mixed with the same lambda.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Batch:
    """Seed-node inputs and targets of one micro-batch (seq: [B, W, C], static: [B, S])."""

    seq: torch.Tensor
    static: torch.Tensor
    hot: torch.Tensor
    rating: torch.Tensor
    rating_mask: torch.Tensor
    engagement: torch.Tensor
    sales: torch.Tensor


def mix_targets(batch: Batch, partner: torch.Tensor, lam: float) -> dict[str, torch.Tensor]:
    """Targets mixed with weight lam; a mixed rating is known only where both examples had one."""
    return {
        "hot": lam * batch.hot + (1 - lam) * batch.hot[partner],
        "rating": lam * batch.rating + (1 - lam) * batch.rating[partner],
        "rating_mask": batch.rating_mask & batch.rating_mask[partner],
        "engagement": lam * batch.engagement + (1 - lam) * batch.engagement[partner],
        "sales": lam * batch.sales + (1 - lam) * batch.sales[partner],
    }


def mixup(batch: Batch, partner: torch.Tensor, lam: float) -> Batch:
    """Mixup (Zhang et al., 2018): x = lam * x_i + (1 - lam) * x_partner, targets likewise."""
    return Batch(
        seq=lam * batch.seq + (1 - lam) * batch.seq[partner],
        static=lam * batch.static + (1 - lam) * batch.static[partner],
        **mix_targets(batch, partner, lam),
    )


def temporal_cutmix(batch: Batch, partner: torch.Tensor, start: int, length: int) -> tuple[Batch, float]:
    """Replace weeks start..start+length-1 of each sequence with its partner's; lambda = 1 - length / W."""
    window_weeks = batch.seq.shape[1]
    seq = batch.seq.clone()
    seq[:, start : start + length] = batch.seq[partner, start : start + length]
    lam = 1.0 - length / window_weeks
    return Batch(seq=seq, static=batch.static, **mix_targets(batch, partner, lam)), lam


def augment(batch: Batch, rng: np.random.Generator, *, use_mixup: bool, use_cutmix: bool, aug_prob: float,
            mixup_alpha: float, cutmix_ratio: float) -> tuple[Batch, torch.Tensor | None, float]:
    """With probability aug_prob, apply mixup or CutMix (one of them, chosen evenly, when both are on).

    Returns the batch, the partner permutation (None when not augmented) and lambda (1.0 when not).
    All randomness comes from `rng`, seeded per epoch by the loop, so a resumed run draws the same.
    """
    methods = [m for m, on in (("mixup", use_mixup), ("cutmix", use_cutmix)) if on]
    if not methods or rng.random() >= aug_prob:
        return batch, None, 1.0
    method = methods[rng.integers(len(methods))]
    partner = torch.as_tensor(rng.permutation(batch.hot.shape[0]), device=batch.hot.device)
    if method == "mixup":
        lam = float(rng.beta(mixup_alpha, mixup_alpha))
        return mixup(batch, partner, lam), partner, lam
    window_weeks = batch.seq.shape[1]
    length = max(1, round(cutmix_ratio * window_weeks))
    start = int(rng.integers(window_weeks - length + 1))
    mixed, lam = temporal_cutmix(batch, partner, start, length)
    return mixed, partner, lam
