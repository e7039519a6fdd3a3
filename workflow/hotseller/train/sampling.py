"""Neighbour-sampled mini-batches of one snapshot with PyG's NeighborLoader, on any install.

PyG's NeighborSampler runs its sampling kernel from `pyg-lib` or `torch-sparse`. Neither has a wheel on
PyPI for this torch (pyg-lib is not on PyPI at all; torch-sparse is source-only and takes minutes to
build), so `TorchNeighborSampler` keeps PyG's sampler and loader and replaces only the kernel with the
same uniform sampling written in torch operations, used when neither library is importable. With one
of them installed, PyG's own kernel runs and nothing here is used.
"""

from __future__ import annotations

import warnings

import torch
import torch_geometric.typing
from torch_geometric.data import Data
from torch_geometric.loader import NeighborLoader
from torch_geometric.sampler import NeighborSampler, SamplerOutput


def has_compiled_sampler() -> bool:
    return bool(torch_geometric.typing.WITH_PYG_LIB or torch_geometric.typing.WITH_TORCH_SPARSE)


def sample_uniform(colptr: torch.Tensor, row: torch.Tensor, seeds: torch.Tensor, num_neighbors: list[int]) -> SamplerOutput:
    """Uniform neighbour sampling without replacement over a CSC graph, hop by hop (what torch-sparse does).

    Hop k draws up to num_neighbors[k] in-edges (all of them for -1) of each node found at hop k-1; nodes
    are numbered seeds first, then in the order hops discover them. `row`/`col` are local source/target
    ids of the sampled edges and `edge` their positions in the CSC arrays (PyG maps those to edge ids).
    Randomness is torch's global generator, so a checkpoint's RNG state repeats the draw.
    """
    num_nodes = colptr.numel() - 1
    local = torch.full((num_nodes,), -1, dtype=torch.long)
    local[seeds] = torch.arange(seeds.numel())
    nodes, rows, cols, edges = [seeds], [], [], []
    frontier, n_found = seeds, seeds.numel()
    for fanout in num_neighbors:
        start, degree = colptr[frontier], colptr[frontier + 1] - colptr[frontier]
        owner = torch.repeat_interleave(torch.arange(frontier.numel()), degree)  # frontier position of each candidate
        offset = torch.arange(owner.numel()) - torch.repeat_interleave(degree.cumsum(0) - degree, degree)
        position = start[owner] + offset  # CSC position of every in-edge of the frontier
        if fanout >= 0:
            # A random order within each node's in-edges, then the first `fanout`: sampling without replacement.
            order = torch.argsort(owner.double() + torch.rand(owner.numel(), dtype=torch.double))
            rank = torch.empty_like(order)
            rank[order] = offset
            keep = rank < fanout
            owner, position = owner[keep], position[keep]
        source = row[position]
        new = torch.unique(source[local[source] < 0])
        local[new] = torch.arange(n_found, n_found + new.numel())
        n_found += new.numel()
        nodes.append(new)
        rows.append(local[source])
        cols.append(local[frontier[owner]])
        edges.append(position)
        frontier = new
    cat = (lambda parts: torch.cat(parts)) if rows else (lambda parts: torch.empty(0, dtype=torch.long))
    return SamplerOutput(node=torch.cat(nodes), row=cat(rows), col=cat(cols), edge=cat(edges), batch=None)


class TorchNeighborSampler(NeighborSampler):
    """PyG's NeighborSampler with a torch kernel for homogeneous graphs when no compiled one is installed."""

    def _sample(self, seed, seed_time=None, **kwargs) -> SamplerOutput:
        if has_compiled_sampler() or isinstance(seed, dict) or seed_time is not None or self.disjoint or self.replace:
            return super()._sample(seed, seed_time, **kwargs)
        return sample_uniform(self.colptr, self.row, seed, self.num_neighbors.get_mapped_values())


def neighbor_sampler(edge_index: torch.Tensor, num_nodes: int, num_neighbors: list[int]) -> NeighborSampler:
    """A sampler of one snapshot's graph (built once: it sorts the edges into CSC)."""
    with warnings.catch_warnings():  # PyG warns that sampling without pyg-lib is deprecated: the kernel above is ours
        warnings.filterwarnings("ignore", message=".*without a 'pyg-lib' installation")
        return TorchNeighborSampler(Data(edge_index=edge_index, num_nodes=num_nodes), num_neighbors=list(num_neighbors))


def sampled_subgraph(sampler: NeighborSampler, edge_index: torch.Tensor, seeds: torch.Tensor,
                     edge_attr: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Node ids (the seeds first), local edge_index (int64) and, when given, the edges' attributes of the seeds' sampled
    neighbourhood, via NeighborLoader (it slices every per-edge attribute by the sampled edge ids).

    `edge_index` only names the edge store (the loader builds the batch's edges from the sampler's output), so
    a snapshot's compact int32 copy serves.
    """
    data = Data(edge_index=edge_index, num_nodes=sampler.num_nodes)
    if edge_attr is not None:
        data.edge_attr = edge_attr
    loader = NeighborLoader(data, num_neighbors=sampler.num_neighbors, input_nodes=seeds, batch_size=seeds.numel(),
                            shuffle=False, neighbor_sampler=sampler)
    batch = next(iter(loader))
    return batch.n_id, batch.edge_index, batch.edge_attr if edge_attr is not None else None
