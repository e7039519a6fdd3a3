"""The multi-task hot-seller network: temporal encoder + static features -> GNN -> task heads."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint
from torch_geometric.nn import GATv2Conv, RGCNConv, SAGEConv

from hotseller.graph import EDGE_FEATURES, RELATION_GROUPS

CATEGORY_DIM = 16
TYPED_GNNS = ("rgcn",)  # GNN layers that read each edge's relation group (graph.RELATION_GROUPS)
FEATURED_GNNS = ("gat_edges",)  # GNN layers that read each edge's features (graph.EDGE_FEATURES)
ENCODE_CHUNK = 16_384  # products through the temporal encoder at once; its activations are the memory that grows


class ConvEncoder(nn.Module):
    """Two 1-D convolutions over the weeks, then mean and max pooling over time."""

    def __init__(self, n_channels: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(n_channels, hidden, 3, padding=1), nn.GELU(), nn.Conv1d(hidden, hidden, 3, padding=1), nn.GELU())
        self.out = nn.Linear(2 * hidden, hidden)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        h = self.net(seq.transpose(1, 2))
        return self.out(torch.cat([h.mean(-1), h.amax(-1)], dim=1))


class TransformerEncoder(nn.Module):
    """One small self-attention layer over the weeks with learned week positions, mean-pooled."""

    def __init__(self, n_channels: int, hidden: int, max_weeks: int = 512) -> None:
        super().__init__()
        self.inp = nn.Linear(n_channels, hidden)
        self.position = nn.Parameter(torch.zeros(max_weeks, hidden))
        layer = nn.TransformerEncoderLayer(hidden, nhead=4, dim_feedforward=2 * hidden, dropout=0.0, batch_first=True)
        self.layer = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        weeks = seq.shape[1]
        return self.layer(self.inp(seq) + self.position[-weeks:]).mean(1)


class GRUEncoder(nn.Module):
    """A GRU over the weeks; its last hidden state summarises the sequence."""

    def __init__(self, n_channels: int, hidden: int) -> None:
        super().__init__()
        self.gru = nn.GRU(n_channels, hidden, batch_first=True)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        return self.gru(seq)[1][-1]


ENCODERS = {"gru": GRUEncoder, "conv": ConvEncoder, "transformer": TransformerEncoder}
# train.gnn -> one layer (hidden width, relation groups); "none" trains without the graph (the ablation's no_gnn)
GNN_LAYERS = {
    "sage": lambda hidden, relations: SAGEConv(hidden, hidden),
    "gat": lambda hidden, relations: GATv2Conv(hidden, hidden, heads=1),
    "rgcn": lambda hidden, relations: RGCNConv(hidden, hidden, relations, aggr="mean"),
    "gat_edges": lambda hidden, relations: GATv2Conv(hidden, hidden, heads=1, edge_dim=len(EDGE_FEATURES)),
    "none": None,
}


class HotSellerNet(nn.Module):
    """Encodes each product's W-week sequence (GRU, 1-D conv or transformer) and static features, mixes in its graph
    neighbourhood (residual), and predicts hot / rating / engagement.

    The GNN layer: GraphSAGE or GATv2 over all edges alike, R-GCN (`rgcn`): a mean and a weight matrix per relation
    group, so a product's few co-purchase neighbours are not averaged away among its many same-category ones, or GATv2
    reading each edge's features (`gat_edges`: the pair's summed event weights, how lately its last event was, its
    relation groups), so attention can weigh a pair bought together last week above a ring link.

    The projection head feeds the supervised contrastive term only. With `offset`, the last static feature is a logit
    (another model's, e.g. the trees' out-of-fold score) added to the hot head's, so the network learns only what that
    model misses: one round of boosting with the GNN as the second learner (train.offset_column).
    """

    def __init__(self, n_channels: int, n_static: int, n_categories: int, hidden: int = 64, gnn: str = "sage",
                 gnn_layers: int = 2, dropout: float = 0.1, encoder: str = "gru", relations: int = len(RELATION_GROUPS),
                 offset: bool = False) -> None:
        super().__init__()
        self.offset = offset
        self.encoder = ENCODERS[encoder](n_channels, hidden)
        self.category = nn.Embedding(n_categories + 1, CATEGORY_DIM)  # the last row is "unseen category"
        self.static = nn.Sequential(nn.Linear(n_static + CATEGORY_DIM, hidden), nn.GELU())
        self.fuse = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU(), nn.Dropout(dropout))
        layer = GNN_LAYERS[gnn]
        self.typed, self.featured = gnn in TYPED_GNNS, gnn in FEATURED_GNNS
        self.convs = nn.ModuleList([layer(hidden, relations) for _ in range(gnn_layers)] if layer else [])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in self.convs])
        self.dropout = nn.Dropout(dropout)
        self.hot = nn.Linear(hidden, 1)
        self.rating = nn.Linear(hidden, 1)
        self.engagement = nn.Linear(hidden, 1)
        self.sales = nn.Linear(hidden, 1)  # future units, as train.sales_target says (train.w_sales)
        self.projection = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden // 2))
        self.encode_chunk = ENCODE_CHUNK

    def encode(self, seq: torch.Tensor, static: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
        """Each product on its own: its sequence, static features and category, before any graph mixing."""
        return self.fuse(torch.cat([self.encoder(seq), self.static(torch.cat([static, self.category(category)], dim=1))], dim=1))

    def encode_all(self, seq: torch.Tensor, static: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
        """`encode` over any number of products, `encode_chunk` at a time, so memory is bounded by one chunk.

        With gradients on, each chunk is checkpointed (torch.utils.checkpoint keeps only its inputs and recomputes
        its activations, with the same dropout draws, in backward): the exact gradient of a whole graph for one
        extra encoder forward per chunk. One chunk or fewer runs plainly.
        """
        n, chunk = seq.shape[0], self.encode_chunk
        if n <= chunk:
            return self.encode(seq, static, category)
        run = (lambda *a: checkpoint(self.encode, *a, use_reentrant=False)) if torch.is_grad_enabled() else self.encode
        return torch.cat([run(seq[i : i + chunk], static[i : i + chunk], category[i : i + chunk]) for i in range(0, n, chunk)])

    def propagate(self, h: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None) -> torch.Tensor:
        """`edge_attr` is what the layer reads of each edge: its relation group (typed layers), its features
        (featured layers), or nothing."""
        if (self.typed or self.featured) and edge_attr is None:
            raise ValueError("this GNN layer reads its edges' relation groups or features: build snapshots with typed=True / featured=True")
        extra = {"edge_type": edge_attr} if self.typed else {"edge_attr": edge_attr} if self.featured else {}
        for conv, norm in zip(self.convs, self.norms):
            h = norm(h + self.dropout(torch.relu(conv(h, edge_index, **extra))))
        return h

    def heads(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            "hot": self.hot(h).squeeze(-1),
            "rating": 3.0 + self.rating(h).squeeze(-1),  # ratings are centred on the scale's midpoint
            "engagement": self.engagement(h).squeeze(-1),
            "sales": self.sales(h).squeeze(-1),
            "projection": self.projection(h),
            "embedding": h,
        }

    def forward(self, seq: torch.Tensor, static: torch.Tensor, category: torch.Tensor, edge_index: torch.Tensor,
                edge_attr: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        out = self.heads(self.propagate(self.encode_all(seq, static, category), edge_index, edge_attr))
        if self.offset:
            out["hot"] = out["hot"] + static[:, -1]
        return out


class Ensemble(nn.Module):
    """Networks trained alike from different seeds (train.ensemble), used as one: their hot logits and other head
    outputs averaged, their embeddings side by side (each member's own space; a mean of unaligned spaces means nothing).
    """

    AVERAGED = ("hot", "rating", "engagement", "sales")

    def __init__(self, members: list[HotSellerNet]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, seq: torch.Tensor, static: torch.Tensor, category: torch.Tensor, edge_index: torch.Tensor,
                edge_attr: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        outs = [member(seq, static, category, edge_index, edge_attr) for member in self.members]
        return {k: torch.stack([o[k] for o in outs]).mean(0) for k in self.AVERAGED} | {
            "embedding": torch.cat([o["embedding"] for o in outs], dim=1)}


def as_one(members: list[HotSellerNet]) -> nn.Module:
    """One network as itself, several as their Ensemble: what training saves and loading rebuilds."""
    return members[0] if len(members) == 1 else Ensemble(members)
