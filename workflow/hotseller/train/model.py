"""The multi-task hot-seller network: temporal encoder + static features -> GNN -> task heads."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GATv2Conv, SAGEConv

CATEGORY_DIM = 16


class HotSellerNet(nn.Module):
    """Encodes each product's W-week sequence (GRU) and static features, mixes in its graph
    neighbourhood (GraphSAGE or GATv2, residual), and predicts hot / rating / engagement.

    The projection head feeds the supervised contrastive term only.
    """

    def __init__(self, n_channels: int, n_static: int, n_categories: int, hidden: int = 64, gnn: str = "sage",
                 gnn_layers: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = nn.GRU(n_channels, hidden, batch_first=True)
        self.category = nn.Embedding(n_categories + 1, CATEGORY_DIM)  # the last row is "unseen category"
        self.static = nn.Sequential(nn.Linear(n_static + CATEGORY_DIM, hidden), nn.GELU())
        self.fuse = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU(), nn.Dropout(dropout))
        layer = {"sage": lambda: SAGEConv(hidden, hidden), "gat": lambda: GATv2Conv(hidden, hidden, heads=1), "none": None}[gnn]
        self.convs = nn.ModuleList([layer() for _ in range(gnn_layers)] if layer else [])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in self.convs])
        self.dropout = nn.Dropout(dropout)
        self.hot = nn.Linear(hidden, 1)
        self.rating = nn.Linear(hidden, 1)
        self.engagement = nn.Linear(hidden, 1)
        self.projection = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden // 2))

    def embed(self, seq: torch.Tensor, static: torch.Tensor, category: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        _, last = self.encoder(seq)
        own = torch.cat([last[-1], self.static(torch.cat([static, self.category(category)], dim=1))], dim=1)
        h = self.fuse(own)
        for conv, norm in zip(self.convs, self.norms):
            h = norm(h + self.dropout(torch.relu(conv(h, edge_index))))
        return h

    def forward(self, seq: torch.Tensor, static: torch.Tensor, category: torch.Tensor, edge_index: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.embed(seq, static, category, edge_index)
        return {
            "hot": self.hot(h).squeeze(-1),
            "rating": 3.0 + self.rating(h).squeeze(-1),  # ratings are centred on the scale's midpoint
            "engagement": self.engagement(h).squeeze(-1),
            "projection": self.projection(h),
            "embedding": h,
        }
