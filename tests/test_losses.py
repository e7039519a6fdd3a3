"""Loss terms against references computed independently in the test (plain Python math, loops)."""

from __future__ import annotations

import math

import pytest
import torch

from hotseller.train.losses import group_contrastive_loss, masked_mse, sigmoid_focal_loss, smooth_binary, supervised_contrastive_loss


def focal_by_hand(logit: float, y: float, alpha: float, gamma: float) -> float:
    p = 1 / (1 + math.exp(-logit))
    if y == 1:
        return -alpha * (1 - p) ** gamma * math.log(p)
    return -(1 - alpha) * p**gamma * math.log(1 - p)


def test_focal_loss_matches_the_retinanet_formula():
    logits, targets = [0.0, 2.0, -1.0, 3.5], [1.0, 0.0, 1.0, 1.0]
    expected = sum(focal_by_hand(z, y, 0.25, 2.0) for z, y in zip(logits, targets)) / 4
    got = sigmoid_focal_loss(torch.tensor(logits), torch.tensor(targets), 0.25, 2.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # A worked value: logit 0, y = 1 -> p = 0.5, 0.25 * 0.25 * ln 2.
    assert sigmoid_focal_loss(torch.tensor([0.0]), torch.tensor([1.0])).item() == pytest.approx(0.0625 * math.log(2))


def test_focal_with_gamma_zero_and_no_alpha_is_bce():
    logits, targets = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([1.0, 0.0, 0.0])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    assert sigmoid_focal_loss(logits, targets, alpha=-1, gamma=0.0).item() == pytest.approx(bce.item())


def test_label_smoothing_by_hand():
    assert smooth_binary(torch.tensor([1.0, 0.0]), 0.1).tolist() == pytest.approx([0.95, 0.05])


def supcon_by_loops(z: list[list[float]], labels: list[int], t: float) -> float:
    norm = [[v / math.sqrt(sum(x * x for x in row)) for v in row] for row in z]
    dot = [[sum(a * b for a, b in zip(norm[i], norm[j])) / t for j in range(len(z))] for i in range(len(z))]
    losses = []
    for i in range(len(z)):
        positives = [p for p in range(len(z)) if p != i and labels[p] == labels[i]]
        if not positives:
            continue
        denom = sum(math.exp(dot[i][a]) for a in range(len(z)) if a != i)
        losses.append(-sum(math.log(math.exp(dot[i][p]) / denom) for p in positives) / len(positives))
    return sum(losses) / len(losses)


def test_supervised_contrastive_matches_khosla_l_out():
    z = [[1.0, 0.2, -0.3], [0.9, 0.1, 0.0], [-0.5, 1.0, 0.4], [0.1, -0.8, 0.6], [-0.4, 0.9, 0.5]]
    labels = [1, 1, 0, 0, 0]
    got = supervised_contrastive_loss(torch.tensor(z), torch.tensor(labels), temperature=0.5)
    assert got.item() == pytest.approx(supcon_by_loops(z, labels, 0.5), rel=1e-5)


def test_anchor_without_positive_is_excluded_not_nan():
    z = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]
    labels = [1, 0, 0]  # anchor 0 has no positive
    got = supervised_contrastive_loss(torch.tensor(z), torch.tensor(labels), temperature=0.07)
    assert got.item() == pytest.approx(supcon_by_loops(z, labels, 0.07), rel=1e-5)
    lonely = supervised_contrastive_loss(torch.tensor(z, requires_grad=True), torch.tensor([0, 1, 2]))
    assert lonely.item() == 0.0 and not torch.isnan(lonely)


def test_contrastive_in_fp32_under_bf16_autocast():
    z = torch.randn(8, 4)
    labels = torch.tensor([0, 1] * 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = supervised_contrastive_loss(z, labels)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(supervised_contrastive_loss(z, labels).item())


def test_masked_mse_ignores_unknown_targets_and_averages_per_example():
    pred, target = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.5, 99.0, 2.0])
    assert masked_mse(pred, target, torch.tensor([True, False, True])).item() == pytest.approx((0.25 + 0.0 + 1.0) / 3)
    assert masked_mse(pred, target, torch.zeros(3, dtype=torch.bool)).item() == 0.0


def test_recomputed_group_loss_has_the_plain_loss_and_gradient():
    torch.manual_seed(0)
    z = torch.randn(64, 8, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 3, (64,))
    plain = supervised_contrastive_loss(z, labels, 0.1)
    (plain_grad,) = torch.autograd.grad(plain, z)
    recomputed = group_contrastive_loss(z, labels, 0.1)
    (recomputed_grad,) = torch.autograd.grad(recomputed, z)
    assert recomputed.item() == plain.item()
    assert torch.equal(recomputed_grad, plain_grad)
    with torch.no_grad():
        assert group_contrastive_loss(z, labels, 0.1).item() == plain.item()


def test_pairwise_rank_loss_by_hand():
    import math

    from hotseller.train.losses import pairwise_rank_loss

    logits = torch.tensor([2.0, 0.0, 1.0, -1.0])
    positive = torch.tensor([True, False, True, False])
    gen = torch.Generator().manual_seed(0)
    # Pairs (hot, not hot): (2, 0), (2, -1), (1, 0), (1, -1): softplus(-(difference)) for differences 2, 3, 1, 2.
    expected = sum(math.log1p(math.exp(-d)) for d in (2.0, 3.0, 1.0, 2.0)) / 4
    assert float(pairwise_rank_loss(logits, positive, 100, gen)) == pytest.approx(expected)
    assert float(pairwise_rank_loss(logits, torch.zeros(4, dtype=torch.bool), 100, gen)) == 0.0  # no pair: nothing to order
    # Capped: max_pairs drawn pairs, each a real (hot, not hot) pair, so the value lies between the pairs' extremes.
    sampled = float(pairwise_rank_loss(logits, positive, 3, gen))
    assert math.log1p(math.exp(-3.0)) <= sampled <= math.log1p(math.exp(-1.0))


def test_listwise_rank_loss_by_hand():
    import math

    from hotseller.train.losses import listwise_rank_loss

    # Logits ln 1, ln 3, ln 2, ln 2: softmax 1/8, 3/8, 2/8, 2/8; hot products 1 and 2.
    logits = torch.log(torch.tensor([1.0, 3.0, 2.0, 2.0])).requires_grad_()
    positive = torch.tensor([False, True, True, False])
    loss = listwise_rank_loss(logits, positive)
    assert float(loss) == pytest.approx(-(math.log(3 / 8) + math.log(2 / 8)) / 2)
    # Gradient of the mean of -log softmax over 2 positives: softmax - (1/2 at each positive).
    (grad,) = torch.autograd.grad(loss, logits)
    assert grad.tolist() == pytest.approx([1 / 8, 3 / 8 - 1 / 2, 2 / 8 - 1 / 2, 2 / 8])
    # A shift of every logit leaves a softmax unchanged: the term reads only the order within the group.
    assert float(listwise_rank_loss(logits.detach() + 5.0, positive)) == pytest.approx(float(loss))
    assert float(listwise_rank_loss(logits.detach(), torch.zeros(4, dtype=torch.bool))) == 0.0  # nothing hot: no list
    assert float(listwise_rank_loss(logits.detach(), torch.ones(4, dtype=torch.bool))) == 0.0  # all hot: nothing to order


def test_sales_target_is_the_within_cutoff_percentile_by_hand():
    import polars as pl

    from hotseller.train.data import sales_percentile

    # Units 0, 5, 5, 9: average ranks 1, 2.5, 2.5, 4 -> (rank - 0.5) / 4.
    assert sales_percentile(pl.Series([0.0, 5.0, 5.0, 9.0])).tolist() == pytest.approx([0.125, 0.5, 0.5, 0.875])
    assert sales_percentile(pl.Series([None, None], dtype=pl.Float64)).tolist() == [0.0, 0.0]  # the forecast's week


def test_the_log1p_sales_target_is_the_units_own_scale_by_hand():
    import math

    import polars as pl

    from hotseller.train.data import sales_target_values

    units = pl.Series([0.0, 3.0, math.e - 1, None])  # log1p: 0, ln 4, 1; unknown (the forecast's week): 0
    assert sales_target_values(units, "log1p").tolist() == pytest.approx([0.0, math.log(4.0), 1.0, 0.0], rel=1e-6)
    assert sales_target_values(units.head(3), "percentile").tolist() == pytest.approx([1 / 6, 5 / 6, 3 / 6])


def test_the_standardised_log1p_sales_target_by_hand():
    import math

    import polars as pl

    from hotseller.train.data import sales_target_values

    # log1p: 0, 1, 3; mean 4/3; population sd sqrt((16 + 1 + 25) / 9 / 3) = sqrt(14) / 3 -> -4, -1, 5 over sqrt(14).
    units = pl.Series([0.0, math.e - 1, math.e**3 - 1])
    assert sales_target_values(units, "log1p_z").tolist() == pytest.approx([v / math.sqrt(14) for v in (-4, -1, 5)], rel=1e-6)
    assert sales_target_values(pl.Series([None, None], dtype=pl.Float64), "log1p_z").tolist() == [0.0, 0.0]  # the forecast's week
    assert sales_target_values(pl.Series([2.0, 2.0]), "log1p_z").tolist() == [0.0, 0.0]  # no spread: nothing to regress
