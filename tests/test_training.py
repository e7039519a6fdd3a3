"""The training loop's mechanics on a real (tiny) graph: accumulation, AMP paths, early stopping, resume."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import polars as pl
import pytest
import torch

from hotseller.errors import UserError
from hotseller.split import load_split
from hotseller.train import checkpoint
from hotseller.train.config import CHOICES, TrainConfig
from hotseller.train.data import Batcher, load_snapshots, undirected
from hotseller.train.distributed import init_world
from hotseller.train.loop import EarlyStopping, Trainer, batch_losses, predict, refit, snapshots_for, train
from hotseller.train.model import HotSellerNet
from hotseller.train.sampling import neighbor_sampler, sampled_subgraph

EXACT = Batcher(batch_size=16, full_max_nodes=0, num_neighbors=[-1, -1])  # sampled micro-batches, all neighbours
FAST = dict(epochs=2, batch_size=128, lr=2e-3, hidden_dim=16, accumulation_steps=1, patience=5, threads=1)


def grads(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]


def test_four_micro_batches_of_16_equal_one_batch_of_64(tiny_training):
    snaps, _, n_cat = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]))
    snap = snaps["train"][-1]
    torch.manual_seed(0)
    model = HotSellerNet(snap.seq.shape[-1], snap.static.shape[-1], n_cat, hidden=16, dropout=0.0)
    # The contrastive term compares examples within a batch, so it is the one term that is not additive.
    cfg = TrainConfig(w_contrast=0.0, use_mixup=False, use_cutmix=False)
    seeds = torch.arange(64)
    rng = np.random.default_rng(0)
    model.zero_grad()
    batch_losses(model, EXACT.micro_batch(snap, seeds), cfg, rng, torch.device("cpu"), None)["loss"].backward()
    whole = grads(model)
    model.zero_grad()
    for chunk in seeds.split(16):
        (batch_losses(model, EXACT.micro_batch(snap, chunk), cfg, rng, torch.device("cpu"), None)["loss"] / 4).backward()
    for a, b in zip(whole, grads(model)):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)


def test_whole_snapshot_gradient_equals_its_sampled_micro_batches(tiny_training):
    """Full-graph training of a snapshot (one forward, loss over all nodes) has the gradient of exact neighbourhood
    micro-batches covering it, each weighted by its share of the nodes."""
    snaps, _, n_cat = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]))
    snap = snaps["train"][-1]
    torch.manual_seed(0)
    model = HotSellerNet(snap.seq.shape[-1], snap.static.shape[-1], n_cat, hidden=16, dropout=0.0)
    cfg = TrainConfig(w_contrast=0.0, use_mixup=False, use_cutmix=False)
    rng = np.random.default_rng(0)
    whole = Batcher(batch_size=16, full_max_nodes=snap.n_nodes, num_neighbors=[-1, -1])
    assert whole.is_full(snap) and not EXACT.is_full(snap)
    model.zero_grad()
    batch_losses(model, whole.micro_batch(snap, torch.randperm(snap.n_nodes)), cfg, rng, torch.device("cpu"), None)["loss"].backward()
    full = grads(model)
    model.zero_grad()
    for chunk in torch.arange(snap.n_nodes).split(50):
        (batch_losses(model, EXACT.micro_batch(snap, chunk), cfg, rng, torch.device("cpu"), None)["loss"] * chunk.numel() / snap.n_nodes).backward()
    for a, b in zip(full, grads(model)):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)


def test_the_listwise_term_ranks_each_group_against_its_own_hot_products(tiny_training):
    """batch_losses' listwise ranking term is, group by group, the mean over hot seeds of -log softmax of the hot
    logits over the group's seeds, then averaged over groups (a group without a hot seed counts 0); reference in numpy
    from the full-graph logits, which exact-neighbourhood micro-batches reproduce."""
    snaps, _, n_cat = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]))
    snap = snaps["train"][-1]
    torch.manual_seed(0)
    model = HotSellerNet(snap.seq.shape[-1], snap.static.shape[-1], n_cat, hidden=16, dropout=0.0)
    cfg = TrainConfig(batch_size=16, w_contrast=0.0, use_mixup=False, use_cutmix=False, w_rank=1.0, rank_loss="listwise")
    hot = snap.hot.numpy() >= 0.5
    # Four groups of 16: the first without a hot seed, each other with 3 hot seeds among 13 that are not.
    hot_idx, cold_idx = np.flatnonzero(hot), np.flatnonzero(~hot)
    assert hot_idx.size >= 9 and cold_idx.size >= 55
    seeds = np.concatenate([cold_idx[:16]] + [np.concatenate([hot_idx[3 * g:3 * g + 3], cold_idx[16 + 13 * g:29 + 13 * g]]) for g in range(3)])
    term = batch_losses(model, EXACT.micro_batch(snap, torch.from_numpy(seeds)), cfg, np.random.default_rng(0),
                        torch.device("cpu"), None)["rank"]
    logits = predict(model, snap, torch.device("cpu"), None)["hot"].astype(np.float64)
    expected = []
    for group in np.split(seeds, 4):
        s = logits[group]
        log_p = s - s.max() - np.log(np.exp(s - s.max()).sum())
        expected.append(-log_p[hot[group]].mean() if hot[group].any() else 0.0)
    assert expected[0] == 0.0 and all(e > 0 for e in expected[1:])
    assert term.item() == pytest.approx(np.mean(expected), rel=1e-5)


def test_a_named_setting_outside_its_names_is_refused():
    with pytest.raises(UserError, match="train.rank_loss is 'listwse': use one of pairwise, listwise"):
        TrainConfig(rank_loss="listwse")
    with pytest.raises(UserError, match="train.sales_target is 'log'"):
        TrainConfig.from_section({"sales_target": "log"})
    with pytest.raises(UserError, match="train.recency_half_life is -1: give 0 \\(off\\)"):
        TrainConfig(recency_half_life=-1)


def test_the_trainer_reads_the_sales_target_its_config_names(tiny_training):
    """snapshots_for builds the sales head's target as train.sales_target says: log1p of each example's future units,
    that standardised within its cutoff, or their within-cutoff percentile (reference: the ranks in numpy)."""
    split = load_split(tiny_training["split"])
    for form in ("log1p", "log1p_z", "percentile"):
        snaps, _, _ = snapshots_for(TrainConfig(sales_target=form), tiny_training["examples"], tiny_training["edges"], split)
        for snap in snaps["train"] + snaps["val"]:
            units = snap.future_units.astype(np.float64)
            ranks = (np.argsort(np.argsort(units, kind="stable"), kind="stable") + 1.0)
            for value in np.unique(units):  # ties share their average rank
                ranks[units == value] = ranks[units == value].mean()
            logged = np.log1p(units)
            expected = {"log1p": logged, "log1p_z": (logged - logged.mean()) / logged.std(), "percentile": (ranks - 0.5) / units.size}[form]
            np.testing.assert_allclose(snap.sales.numpy(), expected, rtol=1e-6, atol=1e-7)


def test_epoch_plan_covers_every_node_once():
    """Whole snapshots are one micro-batch each, larger ones batch_size seeds at a time; no node twice or missed."""
    from types import SimpleNamespace

    snaps = [SimpleNamespace(n_nodes=n) for n in (30, 100, 7)]
    batcher = Batcher(batch_size=16, full_max_nodes=40, num_neighbors=[5])
    plan = batcher.plan(snaps, np.random.default_rng(0))
    assert len(plan) == batcher.count(snaps) == 1 + 7 + 1
    for i, snap in enumerate(snaps):
        seeds = torch.cat([s for j, s in plan if j == i])
        assert sorted(seeds.tolist()) == list(range(snap.n_nodes))
        assert all(s.numel() <= 16 for j, s in plan if j == 1)


def test_neighbour_counts_must_match_the_gnn_layers():
    from hotseller.train.loop import make_batcher

    with pytest.raises(ValueError, match=r"train.num_neighbors \[10\] needs one entry per GNN layer \(train.gnn_layers = 2\)"):
        make_batcher(TrainConfig(num_neighbors=[10], gnn_layers=2))
    assert make_batcher(TrainConfig(num_neighbors=[10], gnn="none")).num_neighbors == []  # no GNN: seeds only


def random_graph(n: int, m: int, seed: int) -> torch.Tensor:
    from torch_geometric.utils import coalesce, to_undirected

    g = torch.Generator().manual_seed(seed)
    edges = torch.randint(0, n, (2, m), generator=g)
    return coalesce(to_undirected(edges[:, edges[0] != edges[1]], num_nodes=n), num_nodes=n)


def test_neighbour_sampler_draws_real_edges_within_the_fanout():
    """Hop 1: each seed gets min(in-degree, 4) distinct in-edges; hop 2: each newly found node min(in-degree, 2);
    every sampled edge is an edge of the graph. The reference is a count over the edge list, here."""
    n = 300
    edge_index = random_graph(n, 1500, seed=1)
    in_degree = torch.bincount(edge_index[1], minlength=n)
    edges = set(map(tuple, edge_index.t().tolist()))
    torch.manual_seed(0)
    seeds = torch.tensor([5, 17, 99, 250])
    nodes, local, _ = sampled_subgraph(neighbor_sampler(edge_index, n, [4, 2]), edge_index, seeds)
    assert nodes[:4].tolist() == seeds.tolist() and nodes.unique().numel() == nodes.numel()
    sampled = [(int(nodes[s]), int(nodes[t])) for s, t in local.t().tolist()]
    assert set(sampled) <= edges and len(set(sampled)) == len(sampled)
    for t in range(4):
        assert sum(1 for _, d in sampled if d == int(seeds[t])) == min(int(in_degree[seeds[t]]), 4)
    found = {s for s, d in sampled if d in set(seeds.tolist())} - set(seeds.tolist())
    for node in found:
        assert sum(1 for _, d in sampled if d == node) == min(int(in_degree[node]), 2)


def test_sampling_is_uniform_over_neighbours():
    """A node with 10 in-neighbours and a fan-out of 3: each neighbour is drawn with probability 3/10."""
    edge_index = torch.stack([torch.arange(1, 11), torch.zeros(10, dtype=torch.long)])
    sampler = neighbor_sampler(edge_index, 11, [3])
    torch.manual_seed(0)
    counts = torch.zeros(11)
    trials = 3000
    for _ in range(trials):
        nodes, _, _ = sampled_subgraph(sampler, edge_index, torch.tensor([0]))
        counts[nodes[1:]] += 1
    assert torch.allclose(counts[1:] / trials, torch.full((10,), 0.3), atol=0.035)


@pytest.mark.parametrize("gnn", ["sage", "rgcn", "gat_edges"])
def test_all_neighbours_batch_equals_full_graph_forward(tiny_training, gnn):
    """NeighborLoader with num_neighbors -1 per hop gives the exact receptive field of the seeds (with the edges'
    relation groups, for the typed layer, and their features, for the featured one)."""
    typed, featured = gnn == "rgcn", gnn == "gat_edges"
    snaps, _, n_cat = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]),
                                     typed=typed, featured=featured)
    snap = snaps["val"][0]
    assert (snap.edge_attr is not None) == (typed or featured)
    model = HotSellerNet(snap.seq.shape[-1], snap.static.shape[-1], n_cat, hidden=16, dropout=0.0, gnn=gnn).eval()
    seeds = torch.tensor([0, 5, 17, 40])
    mb = EXACT.micro_batch(snap, seeds)
    assert mb.nodes.numel() < snap.n_nodes
    with torch.no_grad():
        full = model(snap.seq, snap.static, snap.category, snap.edge_index, snap.edge_attr)["hot"][seeds]
        part = model(snap.seq[mb.nodes], snap.static[mb.nodes], snap.category[mb.nodes], mb.edge_index, mb.edge_attr)["hot"][mb.seeds]
    assert torch.allclose(full, part, atol=1e-5)


def test_typed_edges_are_both_directions_of_each_pair_and_relation():
    """A pair linked by a ring and by an event relation is two edges each way; a repeated (pair, relation) is one."""
    src, dst, kind = np.array([0, 0, 0, 1]), np.array([1, 1, 1, 2]), np.array([0, 2, 2, 2])
    edge_index, edge_attr = undirected(src, dst, 3, kind)
    got = sorted(zip(edge_index[0].tolist(), edge_index[1].tolist(), edge_attr.tolist()))
    assert got == [(0, 1, 0), (0, 1, 2), (1, 0, 0), (1, 0, 2), (1, 2, 2), (2, 1, 2)]
    flat, none = undirected(src, dst, 3, None)
    assert none is None and sorted(zip(*flat.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1)]


def test_typed_snapshot_edges_are_the_cutoffs_edges_with_their_relation_group(tiny_training):
    """Every row of edges.parquet at the cutoff, both directions, as node positions with graph.relation_group of its
    kind, and nothing else: the kinds stay aligned with the edges through the relabelling."""
    from hotseller.graph import relation_group
    from hotseller.train.data import snapshot

    examples, edges = pl.scan_parquet(tiny_training["examples"]), pl.scan_parquet(tiny_training["edges"])
    cutoff = load_split(tiny_training["split"])["train"][-1]
    snap = snapshot(examples, edges, cutoff, 6, typed=True)
    position = {int(p): i for i, p in enumerate(examples.filter(pl.col("cutoff") == cutoff).sort("product_idx").collect()["product_idx"])}
    rows = edges.filter(pl.col("cutoff") == cutoff).collect()
    groups = relation_group(rows["kind"])
    assert len(set(groups.tolist())) == 3
    expected = {(position[a], position[b], int(g)) for a, b, g in zip(rows["src"], rows["dst"], groups)}
    expected |= {(b, a, g) for a, b, g in expected}
    got = list(zip(snap.edges[0].tolist(), snap.edges[1].tolist(), snap.edge_attr.tolist()))
    assert len(got) == len(set(got)) and set(got) == expected


@pytest.mark.parametrize("dropped", [0, 3])
def test_featured_snapshot_edges_are_each_pair_once_with_its_features(tiny_training, tmp_path, dropped):
    """Each stored pair of the cutoff between its listed products, once each way, with features worked out row by row
    from edges.parquet: log1p of the summed event weights, 1 / (1 + weeks since the pair's last event), one flag per
    relation group; the flat snapshot's edges are the same pairs. With `dropped` products missing from the cutoff's
    examples, their pairs are left out and the others keep their own features."""
    from hotseller.graph import EDGE_FEATURES, relation_group
    from hotseller.train.data import snapshot

    cutoff = load_split(tiny_training["split"])["train"][-1]
    rows = pl.read_parquet(tiny_training["edges"]).filter(pl.col("cutoff") == cutoff)
    linked = rows.filter(pl.col("kind") == "co_purchase")["src"].unique().sort()[:dropped].to_list()
    examples = pl.read_parquet(tiny_training["examples"]).filter(~pl.col("product_idx").is_in(linked))
    examples.write_parquet(tmp_path / "examples.parquet")
    examples, edges = pl.scan_parquet(tmp_path / "examples.parquet"), pl.scan_parquet(tiny_training["edges"])
    snap = snapshot(examples, edges, cutoff, 6, featured=True)
    position = {int(p): i for i, p in enumerate(examples.filter(pl.col("cutoff") == cutoff).sort("product_idx").collect()["product_idx"])}
    expected: dict[tuple[int, int], list] = {}
    for row, group in zip(rows.iter_rows(named=True), relation_group(rows["kind"])):
        if row["src"] not in position or row["dst"] not in position:
            continue
        pair = expected.setdefault((position[row["src"]], position[row["dst"]]), [0.0, None, 0.0, 0.0, 0.0])
        if group == 2:
            pair[0] += row["weight"]
            pair[1] = max(pair[1] or -1, row["last_event_t"])
        pair[2 + int(group)] = 1.0
    want = {pair: [np.log1p(w), 0.0 if last is None else 1 / (1 + cutoff - last), *flags] for pair, (w, last, *flags) in expected.items()}
    want |= {(b, a): f for (a, b), f in want.items()}
    assert EDGE_FEATURES == ["log_weight", "recency", "is_category", "is_seller", "is_events"]
    assert any(f[0] > 0 for f in want.values()) and any(sum(f[2:]) > 1 for f in want.values())  # events, and a pair of two groups
    got = {(a, b): f for a, b, f in zip(snap.edges[0].tolist(), snap.edges[1].tolist(), snap.edge_attr.tolist())}
    assert len(got) == snap.edges.shape[1] == len(want) and got.keys() == want.keys()
    for pair, features in want.items():
        assert got[pair] == pytest.approx(features, rel=1e-6), pair
    flat = snapshot(examples, edges, cutoff, 6)
    assert set(zip(*flat.edges.tolist())) == set(got)
    with pytest.raises(ValueError, match="not both"):
        snapshot(examples, edges, cutoff, 6, typed=True, featured=True)


def test_featured_layer_reads_each_edges_features():
    """GATv2 with edge features: changing one edge's features changes its target's output and no product's that the
    edge does not reach; without features it refuses."""
    torch.manual_seed(0)
    n = 5
    seq, static, category = torch.randn(n, 4, 3), torch.randn(n, 2), torch.zeros(n, dtype=torch.long)
    edge_index = torch.tensor([[0, 2, 1, 2, 3, 4], [2, 0, 2, 1, 4, 3]])
    features = torch.rand(6, 5)
    model = HotSellerNet(3, 2, 1, hidden=8, gnn="gat_edges", gnn_layers=1, dropout=0.0).eval()
    changed = features.clone()
    changed[0] = torch.tensor([3.0, 1.0, 0.0, 0.0, 1.0])  # the edge 0 -> 2 becomes a recent, heavy co-purchase
    with torch.no_grad():
        before = model(seq, static, category, edge_index, features)["hot"]
        after = model(seq, static, category, edge_index, changed)["hot"]
    assert not torch.isclose(before[2], after[2], atol=1e-5)
    assert torch.allclose(before[[0, 1, 3, 4]], after[[0, 1, 3, 4]], atol=1e-6)
    with pytest.raises(ValueError, match="features"):
        model(seq, static, category, edge_index)


def test_one_batcher_keeps_a_flat_and_a_typed_snapshot_of_one_cutoff_apart(tiny_training):
    """The sampler a Batcher caches belongs to one snapshot, not to a cutoff: after a flat snapshot, a typed one of the
    same cutoff is sampled from its own graph (its sampled edges and kinds are its own)."""
    from hotseller.train.data import snapshot

    examples, edges = pl.scan_parquet(tiny_training["examples"]), pl.scan_parquet(tiny_training["edges"])
    cutoff = load_split(tiny_training["split"])["val"][0]
    flat, typed = snapshot(examples, edges, cutoff, 6), snapshot(examples, edges, cutoff, 6, typed=True)
    assert typed.edges.shape[1] != flat.edges.shape[1]
    batcher = Batcher(batch_size=16, full_max_nodes=0, num_neighbors=[-1, -1])
    seeds = torch.tensor([0, 5, 17, 40])
    batcher.micro_batch(flat, seeds)
    mb = batcher.micro_batch(typed, seeds)
    own = set(zip(typed.edges[0].tolist(), typed.edges[1].tolist(), typed.edge_attr.tolist()))
    sampled = {(int(mb.nodes[a]), int(mb.nodes[b]), int(k)) for a, b, k in zip(mb.edge_index[0], mb.edge_index[1], mb.edge_attr)}
    into_seeds = {e for e in own if e[1] in set(seeds.tolist())}
    assert into_seeds <= sampled <= own


def test_typed_layer_reads_each_edges_relation():
    """R-GCN with the event relation's weight at zero ignores event edges: the output equals that of the graph
    without them, and differs from it once the weight is back. Sage sees no kinds and needs none."""
    torch.manual_seed(0)
    n, hidden = 6, 8
    seq, static, category = torch.randn(n, 4, 3), torch.randn(n, 2), torch.zeros(n, dtype=torch.long)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 0, 3, 2, 5, 4]])
    edge_attr = torch.tensor([0, 0, 2, 2, 1, 1])
    model = HotSellerNet(3, 2, 1, hidden=hidden, gnn="rgcn", gnn_layers=1, dropout=0.0).eval()
    rings = edge_attr != 2
    with torch.no_grad():
        with_events = model(seq, static, category, edge_index, edge_attr)["hot"]
        model.convs[0].weight[2].zero_()
        silenced = model(seq, static, category, edge_index, edge_attr)["hot"]
        without = model(seq, static, category, edge_index[:, rings], edge_attr[rings])["hot"]
    assert torch.allclose(silenced, without, atol=1e-6)
    assert not torch.allclose(with_events[2:4], silenced[2:4], atol=1e-4)
    with pytest.raises(ValueError, match="relation group"):
        model(seq, static, category, edge_index)


def test_chunked_prediction_equals_one_forward(tiny_training):
    from hotseller.train.loop import predict

    snaps, _, n_cat = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]))
    snap = snaps["test"][0]
    model = HotSellerNet(snap.seq.shape[-1], snap.static.shape[-1], n_cat, hidden=16).eval()
    with torch.no_grad():
        whole = model(snap.seq, snap.static, snap.category, snap.edge_index)
    model.encode_chunk = 7
    chunked = predict(model, snap, torch.device("cpu"), None)
    for key in ("hot", "rating", "engagement"):
        assert np.allclose(chunked[key], whole[key].numpy(), atol=1e-5)


def test_checkpointed_encoder_chunks_give_the_whole_graph_gradient(tiny_training):
    """Training a whole snapshot chunk by chunk through torch.utils.checkpoint changes memory, not the gradient:
    same loss and gradients as one plain forward, dropout on (its draws are replayed in the recomputation)."""
    snaps, _, n_cat = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]))
    snap = snaps["train"][-1]
    torch.manual_seed(0)
    model = HotSellerNet(snap.seq.shape[-1], snap.static.shape[-1], n_cat, hidden=16, dropout=0.3).train()
    cfg = TrainConfig(batch_size=16)
    mb = Batcher(16, 10**9, [10, 5]).micro_batch(snap, torch.randperm(snap.n_nodes))
    results = []
    for chunk in (10**9, 11):
        model.encode_chunk = chunk
        model.zero_grad()
        torch.manual_seed(1)
        loss = batch_losses(model, mb, cfg, np.random.default_rng(0), torch.device("cpu"), None)["loss"]
        loss.backward()
        results.append((float(loss.detach()), grads(model)))
    (loss_plain, plain), (loss_chunked, chunked) = results
    assert snap.n_nodes > 3 * 11 and loss_chunked == pytest.approx(loss_plain, rel=1e-6)
    for a, b in zip(plain, chunked):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)


def test_normalizer_statistics_match_the_concatenated_training_data():
    """Per-channel mean and sample std, computed snapshot by snapshot, equal torch's over all training rows."""
    from hotseller.train.data import channel_stats

    parts = [torch.randn(n, 5, dtype=torch.float32) * 3 + 7 for n in (13, 1, 40)]
    mean, std = channel_stats(parts)
    whole = torch.cat(parts)
    assert torch.allclose(mean, whole.mean(0), atol=1e-5) and torch.allclose(std, whole.std(0), atol=1e-5)


def test_a_column_constant_in_training_is_scaled_by_one_and_far_inputs_are_counted():
    """A column every training product shares (a category ring where all have 8 neighbours) has sd 0: scaled by 1, as
    scikit-learn's StandardScaler does, a product with 1 neighbour sits log(9) - log(2) below it, not 1.5 million sds;
    and a standardised input beyond 10 sds is counted as an extrapolation."""
    from types import SimpleNamespace

    from hotseller.train.data import Normalizer, channel_stats, far_inputs

    train = torch.tensor([[np.log(9.0), 1.0], [np.log(9.0), 3.0], [np.log(9.0), 5.0]], dtype=torch.float32)
    mean, std = channel_stats([train])
    assert std[0] == 0 and std[1] == pytest.approx(2.0)
    norm = Normalizer(torch.zeros(1), torch.ones(1), mean, std, ["degree", "level"])
    snap = SimpleNamespace(seq=torch.zeros(2, 1), static=torch.tensor([[np.log(2.0), 3.0], [np.log(9.0), 45.0]], dtype=torch.float32))
    norm.apply(snap)
    assert snap.static[:, 0].tolist() == pytest.approx([np.log(2.0) - np.log(9.0), 0.0], abs=1e-6)
    assert snap.static[:, 1].tolist() == pytest.approx([0.0, 21.0])
    assert far_inputs(snap, norm.static_columns) == {"level": 1}


def test_the_normalizer_is_fitted_on_the_training_cutoffs_alone(tiny_training, tmp_path):
    """Its statistics are numpy's over the training cutoffs' raw rows of examples.parquet (a reference computed here),
    and multiplying every validation and test input by 10 leaves them as they were: nothing leaks from later cutoffs."""
    split = load_split(tiny_training["split"])
    _, norm, _ = load_snapshots(tiny_training["examples"], tiny_training["edges"], split)
    examples = pl.read_parquet(tiny_training["examples"])
    train_rows = examples.filter(pl.col("cutoff").is_in(split["train"]))
    seq = train_rows["seq"].to_numpy().astype(np.float64).reshape(-1, norm.seq_mean.numel())
    static = train_rows.select(norm.static_columns).to_numpy().astype(np.float64)
    for stat, reference in ((norm.seq_mean, seq.mean(0)), (norm.seq_std, seq.std(0, ddof=1)),
                            (norm.static_mean, static.mean(0)), (norm.static_std, static.std(0, ddof=1))):
        assert np.allclose(stat.numpy(), reference, rtol=1e-5, atol=1e-6)
    later = pl.col("cutoff").is_in(split["val"] + split["test"])
    scaled = examples.with_columns(pl.when(later).then(pl.col("seq") * 10).otherwise("seq").alias("seq"),
                                   *[pl.when(later).then(pl.col(c) * 10).otherwise(c).alias(c) for c in norm.static_columns])
    scaled.write_parquet(tmp_path / "examples.parquet")
    _, again, _ = load_snapshots(tmp_path / "examples.parquet", tiny_training["edges"], split)
    for name in ("seq_mean", "seq_std", "static_mean", "static_std"):
        assert torch.equal(getattr(again, name), getattr(norm, name)), name


def test_early_stopping_counts_and_keeps_the_best_weights():
    model = torch.nn.Linear(1, 1)
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    assert stopper.update(0.5, 0, model)
    best = model.weight.detach().clone()
    with torch.no_grad():
        model.weight += 1
    assert not stopper.update(0.505, 1, model)  # below min_delta: no improvement
    assert stopper.counter == 1 and not stopper.should_stop
    assert not stopper.update(0.4, 2, model)
    assert stopper.should_stop and stopper.best_epoch == 0
    assert torch.equal(stopper.best_state["weight"], best)


def test_the_weight_average_follows_its_recurrence_from_the_first_step():
    """train.ema_decay: after steps 1..k the averaged weights are e1 = w1, e_j = d_j e_(j-1) + (1 - d_j) w_j with
    d_j = min(decay, j / (9 + j)) (worked here from the raw weights recorded after each step; decay 0.2 is reached
    at the third step, so both sides of the min are used), and they are what validation judges."""
    torch.manual_seed(0)
    decay = 0.2
    trainer = Trainer(TrainConfig(lr=0.1, weight_decay=0.0, ema_decay=decay, grad_clip=100.0, epochs=1, warmup_ratio=0.0),
                      torch.nn.Linear(3, 1), steps_per_epoch=5, device=torch.device("cpu"), amp_dtype=None)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    expected = None
    for j in range(1, 6):
        ((trainer.model(x) - y) ** 2).mean().backward()
        trainer.optimizer_step()
        raw = trainer.model.weight.detach().clone()
        d = min(decay, j / (9 + j))
        expected = raw if expected is None else d * expected + (1 - d) * raw
    assert trainer.judged is not trainer.model
    assert torch.allclose(trainer.judged.weight, expected, atol=1e-7)
    assert not torch.allclose(trainer.judged.weight, trainer.model.weight)  # the raw weights moved on
    plain = Trainer(TrainConfig(ema_decay=0.0), torch.nn.Linear(3, 1), steps_per_epoch=4, device=torch.device("cpu"), amp_dtype=None)
    assert plain.judged is plain.model


@pytest.mark.parametrize("decay", [1.0, -0.5])
def test_a_decay_outside_0_1_is_named(decay):
    with pytest.raises(UserError, match="train.ema_decay is"):
        Trainer(TrainConfig(ema_decay=decay), torch.nn.Linear(3, 1), steps_per_epoch=4, device=torch.device("cpu"), amp_dtype=None)


@pytest.mark.parametrize("full_graph_max_nodes", [1_000_000, 0])  # whole graphs; sampled mini-batches (the shipped mode)
def test_a_refit_retraces_the_run_and_keeps_its_last_weights(tiny_training, tmp_path, full_graph_max_nodes):
    """Refit on the run's own training cutoffs for all its epochs: the same steps, so the weights of the run's last epoch
    (its checkpoint; the run itself restores its best epoch's). Two epochs of the 3-epoch schedule are not a 2-epoch run."""
    cfg = TrainConfig(**{**FAST, "epochs": 3}, use_mixup=True, use_cutmix=True, full_graph_max_nodes=full_graph_max_nodes)
    train(cfg, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path)
    last = checkpoint.load(tmp_path / "checkpoint.pt")["model"]
    snaps, _, n_categories = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]))
    world, device = init_world("cpu")
    again = refit(cfg, snaps["train"], n_categories, 3, world, device, None).state_dict()
    assert again.keys() == last.keys()
    assert all(torch.equal(again[k], last[k]) for k in last)
    shorter = refit(cfg, snaps["train"], n_categories, 2, world, device, None).state_dict()
    assert not all(torch.equal(shorter[k], last[k]) for k in last)
    two_epoch_run = refit(dataclasses.replace(cfg, epochs=2), snaps["train"], n_categories, 2, world, device, None).state_dict()
    assert not all(torch.equal(shorter[k], two_epoch_run[k]) for k in last)  # the learning rate follows cfg.epochs
    with pytest.raises(ValueError, match="1 to train.epochs"):
        refit(cfg, snaps["train"], n_categories, 4, world, device, None)


def test_a_refit_with_a_weight_average_keeps_the_runs_last_average(tiny_training, tmp_path):
    """With train.ema_decay the refit returns the averaged weights: those of the run's last epoch (its checkpoint's
    average), not the raw weights it ended with."""
    cfg = TrainConfig(**{**FAST, "epochs": 2}, ema_decay=0.9)
    train(cfg, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path)
    state = checkpoint.load(tmp_path / "checkpoint.pt")
    average = {k.removeprefix("module."): v for k, v in state["ema"].items() if k != "n_averaged"}
    snaps, _, n_categories = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]))
    world, device = init_world("cpu")
    again = refit(cfg, snaps["train"], n_categories, 2, world, device, None).state_dict()
    assert again.keys() == average.keys()
    assert all(torch.equal(again[k], average[k]) for k in average)
    assert not all(torch.equal(again[k], state["model"][k]) for k in average)


def test_amp_modes_resolve_to_the_autocast_dtype_the_device_gets():
    """`auto` is fp16 on CUDA and off on CPU; bf16 and fp16 are what they say on either; under bf16 autocast a CPU
    forward computes its linear layers in bf16, and with no dtype it stays in fp32."""
    from hotseller.train.loop import autocast, resolve_amp

    cpu, cuda = torch.device("cpu"), torch.device("cuda")  # a device object needs no GPU
    assert [resolve_amp(m, cpu) for m in ("auto", "off", "bf16", "fp16")] == [None, None, torch.bfloat16, torch.float16]
    assert resolve_amp("auto", cuda) is torch.float16 and resolve_amp("off", cuda) is None
    layer, x = torch.nn.Linear(4, 2), torch.randn(3, 4)
    with autocast(cpu, torch.bfloat16):
        assert layer(x).dtype == torch.bfloat16
    with autocast(cpu, None):
        assert layer(x).dtype == torch.float32


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_paths_train_on_cpu(tiny_training, tmp_path, amp):
    cfg = TrainConfig(**{**FAST, "epochs": 1}, amp=amp, use_mixup=True, use_cutmix=True)
    summary = train(cfg, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path)
    assert 0.0 < summary["val"]["pr_auc"] <= 1.0
    scaler = checkpoint.load(tmp_path / "checkpoint.pt")["scaler"]
    # fp16 goes through GradScaler (its state holds a scale); bf16 needs none, so the scaler is disabled.
    assert ("scale" in scaler) == (amp == "fp16")


def test_same_seed_same_metrics(tiny_training, tmp_path):
    cfg = TrainConfig(**FAST, use_mixup=True, use_cutmix=True)
    a = train(cfg, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path / "a")
    b = train(cfg, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], tmp_path / "b")
    assert a == b
    assert pl.read_parquet(tmp_path / "a" / "predictions.parquet").equals(pl.read_parquet(tmp_path / "b" / "predictions.parquet"))


def test_a_checkpoint_of_another_config_or_other_inputs_is_not_resumed(tiny_training, tmp_path, caplog):
    """The rule always passes --resume, so a finished checkpoint left by an earlier config (or earlier inputs) must be
    set aside: the rerun then equals a fresh run of the new config, not the old weights reloaded."""
    data = tiny_training
    old, new = TrainConfig(**FAST), TrainConfig(**FAST | {"lr": 5e-3})
    fresh = train(new, data["examples"], data["edges"], data["split"], tmp_path / "fresh")
    train(old, data["examples"], data["edges"], data["split"], tmp_path / "run")
    with caplog.at_level("INFO", logger="hotseller.train"):
        rerun = train(new, data["examples"], data["edges"], data["split"], tmp_path / "run", resume=True)
    assert "was written for another config or other inputs" in caplog.text
    assert rerun == fresh and history_without_times(tmp_path / "run") == history_without_times(tmp_path / "fresh")
    caplog.clear()
    with caplog.at_level("INFO", logger="hotseller.train"):
        assert train(new, data["examples"], data["edges"], data["split"], tmp_path / "run", resume=True) == fresh
    assert "Resumed from" in caplog.text  # same config, same inputs: the finished run is reloaded
    caplog.clear()
    with caplog.at_level("INFO", logger="hotseller.train"):  # another thread count: other last digits, so not resumed
        train(dataclasses.replace(new, threads=2), data["examples"], data["edges"], data["split"], tmp_path / "run", resume=True)
    assert "was written for another config or other inputs" in caplog.text
    examples = tmp_path / "examples.parquet"  # the same table, rewritten: other inputs by the fingerprint's reading
    examples.write_bytes(data["examples"].read_bytes())
    caplog.clear()
    with caplog.at_level("INFO", logger="hotseller.train"):
        train(new, examples, data["edges"], data["split"], tmp_path / "run", resume=True)
    assert "was written for another config or other inputs" in caplog.text


def train_command(data: dict, out, epochs: int, resume: bool = False, extra: tuple[str, ...] = ()) -> list[str]:
    cmd = [sys.executable, "-m", "hotseller.cli", "train", "--examples", str(data["examples"]), "--edges", str(data["edges"]),
           "--split", str(data["split"]), "--out", str(out), "--epochs", str(epochs), "--batch_size", "16", "--lr", "0.002",
           "--hidden_dim", "16", "--accumulation_steps", "2", "--use_mixup", "--use_cutmix", "--patience", "10", "--threads", "1"]
    return cmd + list(extra) + (["--resume"] if resume else [])


def history_without_times(out) -> list[dict]:
    return pl.read_csv(out / "train_log.csv").drop("seconds").to_dicts()


SAMPLED = ("--full_graph_max_nodes", "0", "--num_neighbors", "4", "2")  # neighbour sampling draws from the RNG too


@pytest.mark.parametrize("sig,exit_code,extra", [(signal.SIGKILL, -signal.SIGKILL, ()), (signal.SIGKILL, -signal.SIGKILL, SAMPLED),
                                                 (signal.SIGTERM, 75, ()), (signal.SIGUSR1, 75, ()),
                                                 (signal.SIGKILL, -signal.SIGKILL, ("--ema_decay", "0.9"))])
def test_killed_or_preempted_then_resumed_matches_an_uninterrupted_run(tiny_training, tmp_path, sig, exit_code, extra):
    """SIGKILL after a checkpoint, or the scheduler's SIGTERM / SIGUSR1 (caught: exit 75 = try again), then --resume;
    whole-snapshot batches, once sampled mini-batches, and once with a moving average of the weights (its state
    resumes too)."""
    epochs = 5
    subprocess.run(train_command(tiny_training, tmp_path / "full", epochs, extra=extra), check=True, capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(train_command(tiny_training, killed, epochs, extra=extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (killed / "checkpoint.pt").exists() and checkpoint.load(killed / "checkpoint.pt")["epoch"] >= 1:
            os.kill(proc.pid, sig)
            break
        time.sleep(0.02)
    stderr = proc.communicate()[1]
    assert proc.returncode == exit_code, f"training ended with {proc.returncode}, not by the signal: make the run longer"
    if sig != signal.SIGKILL:
        assert f"Received {signal.Signals(sig).name}: stopping" in stderr
    stopped_at = checkpoint.load(killed / "checkpoint.pt")["epoch"]
    assert stopped_at < epochs - 1
    subprocess.run(train_command(tiny_training, killed, epochs, resume=True, extra=extra), check=True, capture_output=True)
    assert json.loads((killed / "metrics.json").read_text()) == json.loads((tmp_path / "full" / "metrics.json").read_text())
    assert history_without_times(killed) == history_without_times(tmp_path / "full")


@pytest.mark.parametrize("neighbours", ["exact", "sampled"])
def test_two_gloo_processes_match_one_process(tiny_training, tmp_path, neighbours):
    """torchrun with 2 CPU processes (gloo, accumulation 1) vs 1 process with accumulation 2: the same groups
    of micro-batches make each optimizer step, so with exact neighbourhoods (no sampling draws, which follow each
    process's own generator; augmentations are seeded per batch) the same losses, validation PR-AUC and weights,
    up to the order gradients are summed in. With the shipped sampling ([10, 5]) each process draws its own
    neighbourhoods, so only the steps match exactly and validation PR-AUC within 0.02. The batch size is chosen so the
    epoch has an even number of micro-batches: with an odd one, the 2-process run drops the last so both ranks take
    the same number of steps."""
    snaps, _, _ = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]))
    batch_size = next(b for b in range(32, 64) if Batcher(b, 0, [10, 5]).count(snaps["train"]) % 2 == 0)  # nothing dropped
    common = ["--examples", str(tiny_training["examples"]), "--edges", str(tiny_training["edges"]), "--full_graph_max_nodes", "0",
              "--split", str(tiny_training["split"]), "--epochs", "2", "--batch_size", str(batch_size), "--lr", "0.002",
              "--hidden_dim", "16", "--dropout", "0", "--threads", "1", "--use_mixup", "--use_cutmix",
              "--num_neighbors", *(["-1", "-1"] if neighbours == "exact" else ["10", "5"])]
    one = subprocess.run([sys.executable, "-m", "hotseller.cli", "train", *common, "--accumulation_steps", "2",
                          "--out", str(tmp_path / "one")], capture_output=True, text=True)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "hotseller.cli", "train", *common, "--accumulation_steps", "1", "--out", str(tmp_path / "two")],
                         capture_output=True, text=True)
    assert two.returncode == 0, two.stderr[-3000:]
    assert "Rank 1 of 2 on cpu (gloo)" in two.stderr
    a = pl.read_csv(tmp_path / "one" / "train_log.csv")
    b = pl.read_csv(tmp_path / "two" / "train_log.csv")
    assert a.columns == b.columns
    assert a["step"].to_list() == b["step"].to_list()
    if neighbours == "sampled":
        assert all(abs(x - y) <= 0.02 for x, y in zip(a["val_pr_auc"], b["val_pr_auc"]))
    else:
        np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-5)
        np.testing.assert_allclose(a["val_pr_auc"], b["val_pr_auc"], rtol=1e-5)
        weights = [checkpoint.load(tmp_path / run / "checkpoint.pt")["model"] for run in ("one", "two")]
        assert weights[0].keys() == weights[1].keys()
        assert all(torch.allclose(weights[0][k], weights[1][k], atol=1e-5) for k in weights[0])
    assert checkpoint.load(tmp_path / "two" / "checkpoint.pt")["epoch"] == 2


def test_an_ensemble_is_its_members_trained_alone_with_their_logits_averaged(tiny_training, tmp_path):
    """Members are ordinary runs at seed + 1000 * member: member 1 equals a single network trained at that seed; the
    saved ensemble's hot score is the sigmoid of the members' mean logit, its embedding their side-by-side embeddings."""
    from hotseller.hybrid import gnn_outputs
    from hotseller.train.loop import member_seed
    from hotseller.train.saved import load_model

    data = (tiny_training["examples"], tiny_training["edges"], tiny_training["split"])
    cfg = TrainConfig(**FAST, seed=3)
    summary = train(dataclasses.replace(cfg, ensemble=2), *data, tmp_path / "ensemble")
    alone = [train(dataclasses.replace(cfg, seed=member_seed(3, m)), *data, tmp_path / f"alone{m}") for m in range(2)]
    assert member_seed(3, 1) == 1003 and summary["member_best_epochs"] == [a["best_epoch"] for a in alone]
    cutoffs = load_split(tiny_training["split"])["test"]
    scan = (pl.scan_parquet(tiny_training["examples"]), pl.scan_parquet(tiny_training["edges"]))
    both = gnn_outputs(tmp_path / "ensemble" / "model", *scan, cutoffs)
    single = [gnn_outputs(tmp_path / f"alone{m}" / "model", *scan, cutoffs) for m in range(2)]
    logit = np.mean([np.log(s["gnn_score"].to_numpy() / (1 - s["gnn_score"].to_numpy())) for s in single], axis=0)
    np.testing.assert_allclose(both["gnn_score"].to_numpy(), 1 / (1 + np.exp(-logit)), rtol=1e-5)
    np.testing.assert_allclose(np.stack(both["embedding"].to_numpy()),
                               np.hstack([np.stack(s["embedding"].to_numpy()) for s in single]), rtol=1e-5, atol=1e-6)
    model, _, config = load_model(tmp_path / "ensemble" / "model")
    assert config["architecture"]["members"] == 2 and len(model.members) == 2
    log = pl.read_csv(tmp_path / "ensemble" / "train_log.csv")
    assert log["member"].unique().sort().to_list() == [0, 1]
    predictions = pl.read_parquet(tmp_path / "ensemble" / "predictions.parquet").filter(pl.col("split") == "test")
    np.testing.assert_allclose(predictions["score"].to_numpy(), both["gnn_score"].to_numpy(), rtol=1e-6)


def test_relative_inputs_are_within_cutoff_percentiles_of_recent_level_and_growth(tiny_training):
    from hotseller.train.data import percentile_in_cutoff, snapshot

    np.testing.assert_allclose(percentile_in_cutoff(np.array([3.0, 1.0, 2.0, 2.0])), [0.875, 0.125, 0.5, 0.5])
    examples, edges = pl.scan_parquet(tiny_training["examples"]), pl.scan_parquet(tiny_training["edges"])
    cutoff = load_split(tiny_training["split"])["train"][-1]
    plain, relative = snapshot(examples, edges, cutoff, 6), snapshot(examples, edges, cutoff, 6, relative=True)
    assert relative.static.shape[1] == plain.static.shape[1] + 2
    torch.testing.assert_close(relative.static[:, :-2], plain.static)
    log_units = plain.seq[:, :, 0].double().numpy()  # by hand: last 4 weeks' mean, minus the 4 before
    recent, before = log_units[:, -4:].mean(1), log_units[:, -8:-4].mean(1)
    for column, values in ((-2, recent), (-1, recent - before)):
        ranks = np.array([(values < v).sum() + ((values == v).sum() + 1) / 2 for v in values])  # average ranks
        np.testing.assert_allclose(relative.static[:, column].numpy(), (ranks - 0.5) / values.size, atol=1e-6)


def test_neighbour_inputs_are_the_typed_graph_aggregates_by_hand(tiny_training):
    """train.neighbour_inputs: per relation group, log1p of the degree and the neighbours' mean recent level and growth,
    counted over the cutoff's rows of edges.parquet in both directions (the GBT's aggregates), beside the static
    features."""
    from hotseller.features import recent_units
    from hotseller.train.data import NEIGHBOUR_COLUMNS, snapshot

    examples, edges = pl.scan_parquet(tiny_training["examples"]), pl.scan_parquet(tiny_training["edges"])
    cutoff = load_split(tiny_training["split"])["train"][-1]
    plain, extended = snapshot(examples, edges, cutoff, 6), snapshot(examples, edges, cutoff, 6, neighbours=True)
    assert extended.static.shape[1] == plain.static.shape[1] + len(NEIGHBOUR_COLUMNS) == plain.static.shape[1] + 9
    torch.testing.assert_close(extended.static[:, :-9], plain.static)
    part = examples.filter(pl.col("cutoff") == cutoff).sort("product_idx").collect()
    position = {int(p): i for i, p in enumerate(part["product_idx"])}
    recent, growth = recent_units(plain.seq.numpy())
    group = {"category": 0, "seller": 1}
    rows = edges.filter(pl.col("cutoff") == cutoff).collect()
    assert rows.height > 0 and set(rows["kind"]) - set(group)  # event relations present, not only the rings
    neighbours = [[[] for _ in range(3)] for _ in range(part.height)]
    for src, dst, kind in rows.select("src", "dst", "kind").iter_rows():
        g = group.get(kind, 2)
        neighbours[position[src]][g].append(position[dst])
        neighbours[position[dst]][g].append(position[src])
    for node in range(part.height):
        for g in range(3):
            near = neighbours[node][g]
            expected = [np.log1p(len(near)), recent[near].mean(), growth[near].mean()] if near else [0.0, 0.0, 0.0]
            np.testing.assert_allclose(extended.static[node, -9 + 3 * g : -6 + 3 * g if g < 2 else None].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_neighbour_sequences_count_a_pair_once_and_skip_products_not_listed():
    """neighbour_sequences on a hand-built cutoff: a pair given under two event kinds and in both orders is one
    neighbour, a ring link on the same pair counts in its own group, and edges to a product not listed at the cutoff
    (position -1) or beyond the listed ones are left out."""
    from hotseller.train.data import neighbour_sequences, node_positions

    position = node_positions(np.array([3, 5, 7]))  # rows 0, 1, 2
    cut = pl.DataFrame({"src": [3, 5, 3, 3, 5, 7], "dst": [5, 3, 7, 7, 6, 9],
                        "kind": ["co_purchase", "co_review", "category", "co_purchase", "co_purchase", "seller"]})
    log_units = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
    out = neighbour_sequences(position, cut, log_units)
    category, seller, events = out[:, :, 0], out[:, :, 1], out[:, :, 2]
    np.testing.assert_allclose(category, [[5, 6], [0, 0], [1, 2]])
    np.testing.assert_allclose(seller, np.zeros((3, 2)))
    np.testing.assert_allclose(events, [[4, 5], [1, 2], [1, 2]])


def test_neighbour_sequences_are_the_neighbours_mean_weekly_units_by_hand(tiny_training):
    """train.neighbour_sequences: per relation group and week, the mean log units of the product's distinct neighbours
    in the cutoff's edges (a pair linked by two event kinds once; 0 without neighbours), after the product's own
    channels, which stay as they were."""
    from hotseller.features import SEQ_CHANNELS
    from hotseller.train.data import NEIGHBOUR_CHANNELS, snapshot

    examples, edges = pl.scan_parquet(tiny_training["examples"]), pl.scan_parquet(tiny_training["edges"])
    cutoff = load_split(tiny_training["split"])["train"][-1]
    plain, extended = snapshot(examples, edges, cutoff, 6), snapshot(examples, edges, cutoff, 6, neighbour_seq=True)
    c = len(SEQ_CHANNELS)
    assert extended.seq.shape == (*plain.seq.shape[:2], c + len(NEIGHBOUR_CHANNELS)) and len(NEIGHBOUR_CHANNELS) == 3
    torch.testing.assert_close(extended.seq[:, :, :c], plain.seq)
    part = examples.filter(pl.col("cutoff") == cutoff).sort("product_idx").collect()
    position = {int(p): i for i, p in enumerate(part["product_idx"])}
    log_units = plain.seq[:, :, SEQ_CHANNELS.index("log_units")].numpy()
    group = {"category": 0, "seller": 1}
    neighbours = [[set() for _ in range(3)] for _ in range(part.height)]
    for src, dst, kind in edges.filter(pl.col("cutoff") == cutoff).select("src", "dst", "kind").collect().iter_rows():
        g = group.get(kind, 2)
        neighbours[position[src]][g].add(position[dst])
        neighbours[position[dst]][g].add(position[src])
    assert any(neighbours[node][2] for node in range(part.height))  # event neighbours present, not only the rings
    for node in range(part.height):
        for g in range(3):
            near = sorted(neighbours[node][g])
            expected = log_units[near].mean(0) if near else np.zeros(log_units.shape[1])
            np.testing.assert_allclose(extended.seq[node, :, c + g].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_an_ensemble_killed_in_its_second_member_resumes_to_the_uninterrupted_run(tiny_training, tmp_path):
    """Each member checkpoints in member<i>/: after a SIGKILL during member 1, --resume keeps member 0 as it finished and
    continues member 1 from its last epoch; the ensemble's metrics and every member's log equal an uninterrupted run."""
    epochs, extra = 4, ("--ensemble", "2")
    subprocess.run(train_command(tiny_training, tmp_path / "full", epochs, extra=extra), check=True, capture_output=True)
    killed = tmp_path / "killed"
    second = killed / "member1" / "checkpoint.pt"
    proc = subprocess.Popen(train_command(tiny_training, killed, epochs, extra=extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        if second.exists() and checkpoint.load(second)["epoch"] >= 1:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training ended before the kill: make the run longer"
    assert checkpoint.load(second)["epoch"] < epochs and not (killed / "metrics.json").exists()
    subprocess.run(train_command(tiny_training, killed, epochs, resume=True, extra=extra), check=True, capture_output=True)
    assert json.loads((killed / "metrics.json").read_text()) == json.loads((tmp_path / "full" / "metrics.json").read_text())
    assert history_without_times(killed) == history_without_times(tmp_path / "full")
    assert {row["member"] for row in history_without_times(killed)} == {0, 1}


def test_an_offset_column_is_the_last_static_input_unscaled_and_added_to_the_hot_logit(tiny_training, tmp_path):
    """train.offset_column: the column comes last among the static inputs, is not standardised (it is a logit), the
    other columns are exactly the run without it, and the network's hot logit is its own plus that column; the saved
    model (scored through hybrid.gnn_outputs) does the same as the trained one."""
    from hotseller.hybrid import gnn_outputs

    examples = pl.read_parquet(tiny_training["examples"])
    rng = np.random.default_rng(0)
    with_offset = tmp_path / "examples.parquet"
    examples.insert_column(2, pl.Series("s_prior_logit", rng.normal(-2.0, 1.5, examples.height), dtype=pl.Float32)).write_parquet(with_offset)
    split = load_split(tiny_training["split"])
    plain, plain_norm, n_cat = load_snapshots(tiny_training["examples"], tiny_training["edges"], split)
    snaps, norm, _ = load_snapshots(with_offset, tiny_training["edges"], split, offset_column="s_prior_logit")
    assert norm.static_columns == plain_norm.static_columns + ["s_prior_logit"]
    snap, ref = snaps["test"][0], plain["test"][0]
    raw = examples.filter(pl.col("cutoff") == snap.cutoff).sort("product_idx")  # insert_column added it in place
    np.testing.assert_array_equal(snap.static[:, -1].numpy(), raw["s_prior_logit"].to_numpy())
    torch.testing.assert_close(snap.static[:, :-1], ref.static)

    torch.manual_seed(0)
    model = HotSellerNet(snap.seq.shape[-1], snap.static.shape[-1], n_cat, hidden=16, offset=True).eval()
    alike = HotSellerNet(snap.seq.shape[-1], snap.static.shape[-1], n_cat, hidden=16).eval()
    alike.load_state_dict(model.state_dict())
    with torch.no_grad():
        out, own = (m(snap.seq, snap.static, snap.category, snap.edge_index) for m in (model, alike))
    torch.testing.assert_close(out["hot"] - own["hot"], snap.static[:, -1])
    torch.testing.assert_close(out["embedding"], own["embedding"])

    train(TrainConfig(**FAST, offset_column="s_prior_logit"), with_offset, tiny_training["edges"], tiny_training["split"], tmp_path / "run")
    scored = gnn_outputs(tmp_path / "run" / "model", pl.scan_parquet(with_offset), pl.scan_parquet(tiny_training["edges"]), split["test"])
    predictions = pl.read_parquet(tmp_path / "run" / "predictions.parquet").filter(pl.col("split") == "test")
    np.testing.assert_allclose(predictions["score"].to_numpy(), scored["gnn_score"].to_numpy(), rtol=1e-6)


def test_an_offset_column_the_examples_lack_is_named(tiny_training):
    with pytest.raises(UserError, match="train.offset_column is 's_missing'"):
        load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]), offset_column="s_missing")


@pytest.mark.parametrize("encoder", CHOICES["encoder"])
@pytest.mark.parametrize("gnn", CHOICES["gnn"])
def test_every_encoder_reads_the_last_week_and_every_graph_layer_but_none_reads_the_neighbours(encoder, gnn):
    """Each encoder and graph layer the config offers (train.config.CHOICES), run forward: node 0's hot logit moves
    with its own last week (the encoder reads it) and with its neighbour's history (the graph layer passes it on),
    except `none`, which has no graph layer and must not move; node 2, linked to nobody, never moves with node 1."""
    from hotseller.graph import EDGE_FEATURES

    torch.manual_seed(0)
    model = HotSellerNet(n_channels=3, n_static=2, n_categories=2, hidden=8, gnn=gnn, encoder=encoder, dropout=0.0).eval()
    seq, static, category = torch.randn(3, 6, 3), torch.randn(3, 2), torch.tensor([0, 1, 0])
    edge_index = torch.tensor([[0, 1], [1, 0]])  # 0 - 1, both directions; 2 alone
    # What a typed layer reads of an edge is its relation group (here the event group), a featured one its features.
    edge_attr = {"rgcn": torch.tensor([2, 2]), "gat_edges": torch.ones(2, len(EDGE_FEATURES))}.get(gnn)

    def hot(s: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(s, static, category, edge_index, edge_attr)["hot"]

    base = hot(seq)
    own, neighbour = seq.clone(), seq.clone()
    own[0, -1] += 1.0
    neighbour[1] += 1.0
    assert abs(hot(own)[0] - base[0]) > 1e-6
    moved = hot(neighbour)
    assert (abs(moved[0] - base[0]) > 1e-6) == (gnn != "none")
    assert torch.equal(moved[2], base[2])


def test_a_recency_weight_trains_as_the_latest_cutoff_listed_twice(tiny_training):
    """With a half-life of one cutoff the latest of two training cutoffs weighs twice the one before (both scaled by
    the same constant), so with one optimizer step per epoch the gradient is, up to that constant, the one of the
    two snapshots with the latest listed twice; Adam's steps do not see a constant scale, so the weights match."""
    snaps, _, n_categories = load_snapshots(tiny_training["examples"], tiny_training["edges"], load_split(tiny_training["split"]))
    older, latest = snaps["train"][-2:]
    world, device = init_world("cpu")
    exact = dict(FAST, epochs=2, dropout=0.0, w_contrast=0.0, use_mixup=False, use_cutmix=False, grad_clip=1e9,
                 full_graph_max_nodes=10**6)
    weighted = refit(TrainConfig(**exact | {"accumulation_steps": 2, "recency_half_life": 1.0}), [older, latest], n_categories, 2,
                     world, device, None).state_dict()
    listed_twice = refit(TrainConfig(**exact | {"accumulation_steps": 3}), [older, latest, latest], n_categories, 2, world, device,
                         None).state_dict()
    unweighted = refit(TrainConfig(**exact | {"accumulation_steps": 2}), [older, latest], n_categories, 2, world, device,
                       None).state_dict()
    for key in weighted:
        torch.testing.assert_close(weighted[key], listed_twice[key], atol=1e-6, rtol=1e-4)
    assert not all(torch.allclose(weighted[k], unweighted[k], atol=1e-6, rtol=1e-4) for k in weighted)


def test_the_model_card_calls_the_network_a_graph_network_only_when_it_has_graph_layers():
    from hotseller.model_card import architecture_line

    train = {"encoder": "gru", "gnn_layers": 2, "hidden_dim": 64}
    plain = architecture_line(train | {"gnn": "none"}, 26)
    assert "gru encoder over 26 weeks" in plain and "then no graph layers (train.gnn none; it sees no graph)" in plain and "sage" not in plain
    fed = architecture_line(train | {"gnn": "none", "neighbour_inputs": True, "neighbour_sequences": True}, 26)
    assert ("no graph layers (train.gnn none; the graph reaches it only as inputs: its neighbours' aggregates per relation "
            "group and its neighbours' weekly units as sequence channels)") in fed
    graph = architecture_line(train | {"gnn": "sage"}, 26)
    assert "then 2 sage graph layers over the cutoff's product graph;" in graph and "no graph layers" not in graph
    both = architecture_line(train | {"gnn": "sage", "neighbour_inputs": True}, 26)
    assert "then 2 sage graph layers over the cutoff's product graph (and as inputs: its neighbours' aggregates per relation group);" in both


def test_the_model_card_gives_focal_parameters_only_for_the_focal_loss():
    """Since the twenty-third round the default loss is bce, which has no alpha or gamma: the card must not list them."""
    from hotseller.model_card import loss_text

    train = {"focal_alpha": 0.25, "focal_gamma": 2.0}
    assert loss_text(train | {"loss": "bce"}) == "bce"
    assert loss_text(train | {"loss": "focal"}) == "focal (alpha 0.25, gamma 2.0)"


def test_the_model_card_says_where_the_networks_started_only_for_a_transfer():
    from hotseller.model_card import start_lines

    assert start_lines({"init_from": "", "init_parts": "encoder"}) == []
    assert start_lines({"init_from": "results/realistic_draw8/train/model", "init_parts": "encoder"}) == [
        "Start (transfer): each network took the sequence encoder of the network in results/realistic_draw8/train/model "
        "(member by member), then trained as above."]
    assert "every weight but the static-input layer" in start_lines({"init_from": "m", "init_parts": "shared"})[0]
