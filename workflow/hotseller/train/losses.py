"""Loss terms of the multi-task objective, each a formula small enough to check by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def smooth_binary(targets: torch.Tensor, eps: float) -> torch.Tensor:
    """Binary label smoothing: y * (1 - eps) + eps / 2, so 1 -> 1 - eps/2 and 0 -> eps/2."""
    return targets * (1.0 - eps) + eps / 2.0


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0) -> torch.Tensor:
    """Mean RetinaNet focal loss (Lin et al., 2017), defined for soft targets in [0, 1].

    p_t = p*y + (1-p)(1-y) and alpha_t = alpha*y + (1-alpha)(1-y), so hard targets give the paper's form;
    alpha < 0 disables the class weighting.
    """
    logits, targets = logits.float(), targets.float()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss.mean()


def bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Plain binary cross-entropy, the ablation's replacement for the focal loss."""
    return F.binary_cross_entropy_with_logits(logits.float(), targets.float())


def supervised_contrastive_loss(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al., 2020, L_out) on L2-normalised embeddings.

    For anchor i with positives P(i) (same label, j != i):
    L_i = -1/|P(i)| * sum_p log( exp(z_i.z_p / T) / sum_{a != i} exp(z_i.z_a / T) ).
    Anchors without a positive in the batch are excluded; with none at all the loss is 0 (not NaN).
    Computed in fp32 whatever the autocast context, since bf16 logits of 1/T = 14 scale lose precision.
    """
    with torch.autocast(embeddings.device.type, enabled=False):
        return _supcon_fp32(embeddings.float(), labels, temperature)


def group_contrastive_loss(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """supervised_contrastive_loss of one group, its n x n matrices recomputed in backward instead of kept.

    A whole snapshot is hundreds of groups (645 at a million products), ~7 MB each when kept (a 95k-node
    step's peak fell by 670 MB). The loss has no randomness, so the recomputation gives the same gradient.
    """
    if not torch.is_grad_enabled():
        return supervised_contrastive_loss(embeddings, labels, temperature)
    return checkpoint(supervised_contrastive_loss, embeddings, labels, temperature, use_reentrant=False)


def _supcon_fp32(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    z = F.normalize(embeddings, dim=1)
    n = z.shape[0]
    logits = z @ z.T / temperature
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = positives.sum(1)
    has_pos = n_pos > 0
    if not has_pos.any():
        return z.sum() * 0.0
    mean_log_prob_pos = log_prob.masked_fill(~positives, 0.0).sum(1)[has_pos] / n_pos[has_pos]
    return -mean_log_prob_pos.mean()


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Squared error where mask is true, averaged over the whole batch (unknown targets count as 0 error).

    Dividing by the batch size rather than the number of known targets keeps the loss a per-example
    mean, so micro-batches accumulate to exactly the gradient of one large batch; never NaN.
    """
    error = (pred.float() - target.float()) ** 2
    return torch.where(mask.bool(), error, torch.zeros_like(error)).mean()


def pairwise_rank_loss(logits: torch.Tensor, positive: torch.Tensor, max_pairs: int, generator: torch.Generator) -> torch.Tensor:
    """Mean softplus(-(s_pos - s_neg)) over (hot, not hot) pairs of one group (RankNet's logistic pairwise loss): the
    label is a within-cutoff top share, so what matters is the order of products, not each one's level. All pairs when
    there are at most `max_pairs`, else `max_pairs` drawn uniformly; 0 without a pair."""
    pos, neg = torch.nonzero(positive).squeeze(1), torch.nonzero(~positive).squeeze(1)
    if pos.numel() == 0 or neg.numel() == 0:
        return logits.sum() * 0.0
    if pos.numel() * neg.numel() <= max_pairs:
        i, j = torch.meshgrid(pos, neg, indexing="ij")
        i, j = i.reshape(-1), j.reshape(-1)
    else:
        i = pos[torch.randint(pos.numel(), (max_pairs,), generator=generator, device=generator.device)]
        j = neg[torch.randint(neg.numel(), (max_pairs,), generator=generator, device=generator.device)]
    return torch.nn.functional.softplus(-(logits[i].float() - logits[j].float())).mean()


def listwise_rank_loss(logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """ListNet's top-one cross-entropy (Cao et al., 2007) with the hot products as the target list: the mean over hot
    products i of -log softmax(s)_i, the softmax taken over the whole group (seeds of one cutoff). Where the pairwise
    term compares one hot and one not-hot product at a time, this scores each hot product against every product of
    its group at once, as the label (a within-cutoff top share) does. 0 without both a hot and a not-hot product
    (nothing to order), as the pairwise term."""
    if not positive.any() or positive.all():
        return logits.sum() * 0.0
    log_p = torch.log_softmax(logits.float(), dim=0)
    return -log_p[positive].mean()
