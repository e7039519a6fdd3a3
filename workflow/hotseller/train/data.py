"""From examples.parquet + edges.parquet to per-cutoff graph snapshots and seed-node micro-batches.

Each cutoff is one graph: its nodes are the products listed at that cutoff, its edges those built from
events up to it. A snapshot of at most `full_graph_max_nodes` nodes is one micro-batch: one forward over
its whole graph, the loss over all its nodes, so an epoch costs one pass over the data. A larger one is
cut into micro-batches of `batch_size` seed nodes, each with its neighbourhood sampled by PyG's
NeighborLoader (`num_neighbors` per hop, -1 = all: the exact k-hop receptive field), so memory per
micro-batch is bounded whatever the graph's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import torch
from torch_geometric.sampler import NeighborSampler

from hotseller.errors import UserError
from hotseller.features import SEQ_CHANNELS, STATIC_PREFIX, recent_units
from hotseller.graph import EDGE_FEATURES, RELATION_GROUPS, cutoff_aggregates, mean_operator, relation_group
from hotseller.train.sampling import neighbor_sampler, sampled_subgraph


@dataclass
class Snapshot:
    """One cutoff's graph with node inputs and targets (rating is NaN-free; rating_mask says where known)."""

    cutoff: int
    product_id: pl.Series  # Arrow strings: a numpy object array costs ~60 bytes a product more
    future_units: np.ndarray
    seq: torch.Tensor
    static: torch.Tensor
    category: torch.Tensor
    edges: torch.Tensor  # (2, E) int32, half of int64's memory; `edge_index` is the int64 copy PyG takes
    edge_attr: torch.Tensor | None  # what the GNN layer reads of each edge: (E,) int64 position in RELATION_GROUPS when
    # typed, (E, len(EDGE_FEATURES)) float32 when featured, else None
    hot: torch.Tensor
    rating: torch.Tensor
    rating_mask: torch.Tensor
    engagement: torch.Tensor
    sales: torch.Tensor  # within-cutoff percentile of future units, (rank - 0.5) / n: what the label thresholds

    @property
    def n_nodes(self) -> int:
        return self.hot.shape[0]

    @property
    def edge_index(self) -> torch.Tensor:
        return self.edges.long()


@dataclass
class Normalizer:
    """Per-channel standardisation fitted on the training examples only."""

    seq_mean: torch.Tensor
    seq_std: torch.Tensor
    static_mean: torch.Tensor
    static_std: torch.Tensor
    static_columns: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, snaps: list["Snapshot"], static_columns: list[str]) -> "Normalizer":
        seq_mean, seq_std = channel_stats([s.seq.reshape(-1, s.seq.shape[-1]) for s in snaps])
        static_mean, static_std = channel_stats([s.static for s in snaps])
        return cls(seq_mean, seq_std, static_mean, static_std, static_columns)

    def apply(self, snap: Snapshot) -> None:
        snap.seq = (snap.seq - self.seq_mean) / scale(self.seq_std)
        snap.static = (snap.static - self.static_mean) / scale(self.static_std)

    def state_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("seq_mean", "seq_std", "static_mean", "static_std", "static_columns")}


# A training column with a smaller sd than this is constant there (a dataset without reviews, a category ring in
# which every product has the same degree): it is scaled by 1, as scikit-learn's StandardScaler does, so a value it
# never took in training (a category smaller than any seen) is its plain distance from the training value, not that
# distance times a million (which drove a forecast's logits to -1e5 and every probability to 0).
CONSTANT_SD = 1e-6
FAR_SD = 10.0  # a standardised input beyond this many training sds is an extrapolation, which the forecast reports


def scale(std: torch.Tensor) -> torch.Tensor:
    """What a column is divided by: its training sd, or 1 where it was constant (CONSTANT_SD)."""
    return torch.where(std > CONSTANT_SD, std, torch.ones_like(std))


def far_inputs(snap: Snapshot, columns: list[str]) -> dict[str, int]:
    """Per static column of a standardised snapshot, how many products lie beyond FAR_SD training sds (none: {})."""
    far = (snap.static.abs() > FAR_SD).sum(0).tolist()
    return {name: int(n) for name, n in zip(columns, far) if n}


def channel_stats(parts: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-column mean and sample std over the rows of all parts, in two float64 passes: no concatenated copy of
    the training data (3.6 GB of sequences at a million products) and no cancellation from a sum of squares."""
    n = sum(p.shape[0] for p in parts)
    mean = sum(p.double().sum(0) for p in parts) / n
    var = sum(((p.double() - mean) ** 2).sum(0) for p in parts) / max(n - 1, 1)
    return mean.float(), var.sqrt().float()


def static_columns(examples: pl.DataFrame | pl.LazyFrame, offset_column: str = "") -> list[str]:
    """The examples' static feature columns without `offset_column` (train.offset_column): callers append that one
    after every computed input, so it is the last, the column the network adds to its hot logit."""
    names = examples.collect_schema().names()
    if offset_column and offset_column not in names:
        raise UserError(f"train.offset_column is {offset_column!r}, but the examples have no such column")
    return [c for c in names if c.startswith(STATIC_PREFIX) and c != offset_column]


RELATIVE_COLUMNS = ["rel_recent", "rel_growth"]  # train.relative_inputs: appended to the static features
NEIGHBOUR_COLUMNS = [f"nb_{stat}_{group}" for group in RELATION_GROUPS for stat in ("log_degree", "recent", "growth")]  # train.neighbour_inputs
NEIGHBOUR_CHANNELS = [f"nb_log_units_{group}" for group in RELATION_GROUPS]  # train.neighbour_sequences: appended to the sequence


def undirected(src: np.ndarray, dst: np.ndarray, n: int, kind: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Both directions of every edge, duplicates dropped: of each pair (flat, `kind` None), or of each pair and relation
    (typed), in (src, dst[, relation]) order: one sorted unique key per edge, what PyG's coalesce does for pairs."""
    groups = 1 if kind is None else len(RELATION_GROUPS)
    kind = np.zeros_like(src) if kind is None else kind
    both = torch.from_numpy(np.stack([np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([kind, kind])]))
    key = torch.unique((both[0] * n + both[1]) * groups + both[2])
    return torch.stack([key // groups // n, key // groups % n]), (None if groups == 1 else key % groups)


def pair_features(cut: pl.DataFrame, cutoff: int) -> pl.DataFrame:
    """One row per stored pair (src < dst) of one cutoff's edges with its EDGE_FEATURES: log1p of the summed weights of
    its events (co-purchases, co-reviews, repeat customers: every event kind; 0 for a ring link only), 1 / (1 + weeks
    since its last event) (0: none) and a flag per relation group it belongs to. A pair linked by several kinds is one
    edge that says so. Not standardised: a linear projection of five small numbers needs none."""
    events = len(RELATION_GROUPS) - 1
    return (
        cut.with_columns(group=pl.Series(relation_group(cut["kind"])))
        .group_by("src", "dst")
        .agg(log_weight=pl.col("weight").filter(pl.col("group") == events).sum().log1p(), last=pl.col("last_event_t").max(),
             **{f"is_{name}": (pl.col("group") == g).any() for g, name in enumerate(RELATION_GROUPS)})
        .with_columns(recency=(1.0 / (1 + cutoff - pl.col("last"))).fill_null(0.0))
        .sort("src", "dst")
    )


def featured_undirected(src: np.ndarray, dst: np.ndarray, features: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Both directions of each pair (given once each), the pair's features on both."""
    edge_index = torch.from_numpy(np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])]))
    return edge_index, torch.from_numpy(np.concatenate([features, features]).astype(np.float32))


def relative_inputs(seq: np.ndarray) -> np.ndarray:
    """Each product's recent level and growth (the persistence and momentum inputs) as percentiles among its cutoff's
    products: the label is a within-cutoff top share, so where a product stands that week, not the market's level."""
    return np.stack([percentile_in_cutoff(v) for v in recent_units(seq)], axis=1).astype(np.float32)


def neighbour_inputs(part: pl.DataFrame, cut: pl.DataFrame, seq: np.ndarray) -> np.ndarray:
    """The GBT's typed graph aggregates of one cutoff's products (graph.neighbour_aggregates) from that cutoff's edges,
    degrees as log1p: what the trees see of the neighbourhood, handed to the network instead of left for it to learn."""
    recent, growth = recent_units(seq)
    out = cutoff_aggregates(part["product_idx"], cut, recent, growth, typed=True)
    out[:, 0::3] = np.log1p(out[:, 0::3])
    return out


def neighbour_sequences(position: np.ndarray, cut: pl.DataFrame, log_units: np.ndarray) -> np.ndarray:
    """Per relation group, the neighbours' mean log units in each week of the window (products x weeks x groups; 0
    where a product has no neighbour in a group): the neighbours' own sequences side by side with the product's, so
    the temporal encoder can read a lead-lag (a neighbour taking off last week) against the product's own weeks. A pair
    linked by several event kinds counts once. `position[product_idx]` is a product's row (-1 or beyond: not in this
    cutoff)."""
    n, groups = log_units.shape[0], relation_group(cut["kind"])
    src, dst = cut["src"].to_numpy().astype(np.int64), cut["dst"].to_numpy().astype(np.int64)
    inside = (src < position.size) & (dst < position.size)
    src, dst = np.where(inside, position[np.where(inside, src, 0)], -1), np.where(inside, position[np.where(inside, dst, 0)], -1)
    keep = (src >= 0) & (dst >= 0)
    out = np.zeros((n, log_units.shape[1], len(RELATION_GROUPS)), dtype=np.float32)
    for g in range(len(RELATION_GROUPS)):
        pick = keep & (groups == g)
        out[:, :, g] = mean_operator(src[pick], dst[pick], n) @ log_units
    return out


def node_positions(product_idx: np.ndarray) -> np.ndarray:
    """position[product_idx] is that product's row in its cutoff's snapshot (product_idx sorted); -1 where a product
    is not listed at that cutoff. Edges may name products beyond its end: callers check the size."""
    position = np.full(int(product_idx.max()) + 1 if product_idx.size else 1, -1, dtype=np.int64)
    position[product_idx] = np.arange(product_idx.size)
    return position


def snapshot(examples: pl.LazyFrame, edges: pl.LazyFrame, cutoff: int, n_categories: int, relative: bool = False,
             typed: bool = False, neighbours: bool = False, featured: bool = False, neighbour_seq: bool = False,
             offset_column: str = "", sales_target: str = "percentile") -> Snapshot:
    """Tensors of one cutoff; edges are relabelled from product_idx to node positions and made undirected. With
    `relative`, the static features gain RELATIVE_COLUMNS, with `neighbours` NEIGHBOUR_COLUMNS; with `neighbour_seq`
    the sequence gains NEIGHBOUR_CHANNELS (neighbour_sequences); with `typed`, each
    edge keeps its relation group (`edge_attr`), so a pair linked by two kinds is two edges; with `featured`, each pair
    is one edge with its EDGE_FEATURES (`edge_attr`). With `offset_column`, that column is the last static feature.

    Reads only this cutoff's rows (the files are sorted by cutoff, so the scan skips the other row groups):
    a million-product market never holds all its examples as a DataFrame and as tensors at once.
    """
    if typed and featured:
        raise ValueError("a snapshot's edges carry relation groups (typed) or features (featured), not both")
    part = examples.filter(pl.col("cutoff") == cutoff).sort("product_idx").collect()
    n = part.height
    seq = torch.from_numpy(np.array(part["seq"].to_numpy(), dtype=np.float32)).reshape(n, -1, len(SEQ_CHANNELS))
    static = part.select(static_columns(part, offset_column)).to_numpy().astype(np.float32)
    if relative:
        static = np.hstack([static, relative_inputs(seq.numpy())])
    columns = ["kind"] if typed or neighbours or featured or neighbour_seq else []
    columns += ["weight", "last_event_t"] if featured else []
    cut = edges.filter(pl.col("cutoff") == cutoff).select("src", "dst", *columns).collect()
    if neighbours:
        static = np.hstack([static, neighbour_inputs(part, cut, seq.numpy())])
    if offset_column:
        static = np.hstack([static, part.select(offset_column).to_numpy().astype(np.float32)])
    position = node_positions(part["product_idx"].to_numpy().astype(np.int64))
    if neighbour_seq:
        log_units = seq[:, :, SEQ_CHANNELS.index("log_units")].numpy()
        seq = torch.cat([seq, torch.from_numpy(neighbour_sequences(position, cut, log_units))], dim=2)
    if featured:
        cut = pair_features(cut, cutoff)
    src, dst = cut["src"].to_numpy().astype(np.int64), cut["dst"].to_numpy().astype(np.int64)
    inside = (src < position.size) & (dst < position.size)
    src, dst = position[src[inside]], position[dst[inside]]
    keep = (src >= 0) & (dst >= 0)
    if featured:
        features = cut.select(EDGE_FEATURES).cast(pl.Float32).to_numpy()[inside][keep]
        edge_index, edge_attr = featured_undirected(src[keep], dst[keep], features)
    else:
        kind = relation_group(cut["kind"].filter(pl.Series(inside)))[keep] if typed else None
        edge_index, edge_attr = undirected(src[keep], dst[keep], n, kind)
    rating = part["rating_target"].to_numpy().astype(np.float32)
    category = part["category_idx"].fill_null(n_categories).clip(upper_bound=n_categories).to_numpy().astype(np.int64)
    return Snapshot(
        cutoff=cutoff,
        product_id=part["product_id"],
        future_units=part["future_units"].to_numpy(),
        seq=seq,
        static=torch.from_numpy(static),
        category=torch.from_numpy(category),
        edges=edge_index.int(),
        edge_attr=edge_attr,
        hot=torch.from_numpy(part["hot"].to_numpy().astype(np.float32)),
        rating=torch.from_numpy(np.nan_to_num(rating, nan=0.0)),
        rating_mask=torch.from_numpy(~np.isnan(rating)),
        engagement=torch.from_numpy(part["engagement"].to_numpy().astype(np.float32)),
        sales=torch.from_numpy(sales_target_values(part["future_units"], sales_target)),
    )


def percentile_in_cutoff(values: np.ndarray | pl.Series) -> np.ndarray:
    """(average rank - 0.5) / n of each value among its cutoff's, in (0, 1); 0 where unknown (null)."""
    values = pl.Series(values)
    ranks = values.rank("average").to_numpy().astype(np.float64)
    return np.nan_to_num((ranks - 0.5) / max(values.len(), 1), nan=0.0).astype(np.float32)


def sales_percentile(future_units: pl.Series) -> np.ndarray:
    """Each product's future units as a percentile in its cutoff; 0 where unknown (the forecast's week has no future yet)."""
    return percentile_in_cutoff(future_units)


def sales_target_values(future_units: pl.Series, form: str) -> np.ndarray:
    """The sales head's target (train.sales_target) for one cutoff's products: the within-cutoff percentile; log1p of
    the units themselves, the quantity the label thresholds on its own scale; or that log1p standardised within the
    cutoff (`log1p_z`: centred on the cutoff's mean, as the label is relative to its cutoff, and on a scale that does
    not grow with the market). 0 where unknown (the forecast's week)."""
    if form == "percentile":
        return sales_percentile(future_units)
    logged = np.log1p(future_units.fill_null(0.0).to_numpy().astype(np.float64))
    if form == "log1p_z":
        sd = logged.std()
        logged = (logged - logged.mean()) / sd if sd > 0 else np.zeros_like(logged)
    return logged.astype(np.float32)


def load_snapshots(examples_path, edges_path, split: dict[str, list[int]], relative: bool = False,
                   typed: bool = False, neighbours: bool = False, featured: bool = False,
                   neighbour_seq: bool = False, offset_column: str = "",
                   sales_target: str = "percentile") -> tuple[dict[str, list[Snapshot]], Normalizer, int]:
    """Snapshots per split (with `relative` / `neighbours`: RELATIVE_COLUMNS / NEIGHBOUR_COLUMNS among the static
    features; with `neighbour_seq`: NEIGHBOUR_CHANNELS in the sequence; with `typed`: edges keep their relation group;
    with `featured`: their EDGE_FEATURES; with `offset_column`: that column last and left as it is, a logit the network
    adds to its own), standardised with statistics of the training snapshots."""
    examples, edges = pl.scan_parquet(examples_path), pl.scan_parquet(edges_path)
    n_categories = int(examples.select(pl.col("category_idx").max()).collect().item() or 0) + 1
    snaps = {name: [snapshot(examples, edges, c, n_categories, relative=relative, typed=typed, neighbours=neighbours,
                             featured=featured, neighbour_seq=neighbour_seq, offset_column=offset_column,
                             sales_target=sales_target) for c in cutoffs]
             for name, cutoffs in split.items()}
    extra = (RELATIVE_COLUMNS if relative else []) + (NEIGHBOUR_COLUMNS if neighbours else [])
    norm = Normalizer.fit(snaps["train"], static_columns(examples, offset_column) + extra + ([offset_column] if offset_column else []))
    if offset_column:
        norm.static_mean[-1], norm.static_std[-1] = 0.0, 1.0
    for group in snaps.values():
        for snap in group:
            norm.apply(snap)
    return snaps, norm, n_categories


@dataclass
class MicroBatch:
    """Seed nodes of one snapshot with the subgraph they need; `seeds` indexes the subgraph's `nodes`."""

    snap: Snapshot
    nodes: torch.Tensor
    seeds: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor | None = None  # what the GNN layer reads of each edge (Snapshot.edge_attr)


class Batcher:
    """How snapshots become micro-batches: whole (full graph) up to `full_max_nodes`, else sampled mini-batches.

    Holds the NeighborSampler (a CSC copy of the graph) of the snapshot in use only: an epoch's plan visits a
    snapshot's micro-batches one after another, so each is built once per epoch (a sort of its edges), and a
    million-product market does not keep 21 copies of its graphs.
    """

    def __init__(self, batch_size: int, full_max_nodes: int, num_neighbors: list[int]) -> None:
        self.batch_size, self.full_max_nodes, self.num_neighbors = batch_size, full_max_nodes, list(num_neighbors)
        self._sampler: tuple[Snapshot, NeighborSampler] | None = None  # keyed by the snapshot itself, not its cutoff:
        # two snapshots of one cutoff (flat and typed edges) are different graphs

    def is_full(self, snap: Snapshot) -> bool:
        return snap.n_nodes <= max(self.full_max_nodes, self.batch_size)

    def plan(self, snaps: list[Snapshot], rng: np.random.Generator) -> list[tuple[int, torch.Tensor]]:
        """One epoch's micro-batches as (snapshot index, seed nodes): snapshots in random order, nodes shuffled.

        Cheap to compute, so every rank of a multi-process run computes the same plan and builds only its share.
        """
        plan = []
        for i in rng.permutation(len(snaps)):
            order = torch.from_numpy(rng.permutation(snaps[i].n_nodes))
            plan.extend([(int(i), order)] if self.is_full(snaps[i]) else [(int(i), chunk) for chunk in order.split(self.batch_size)])
        return plan

    def count(self, snaps: list[Snapshot]) -> int:
        return sum(1 if self.is_full(s) else -(-s.n_nodes // self.batch_size) for s in snaps)

    def micro_batch(self, snap: Snapshot, seeds: torch.Tensor) -> MicroBatch:
        """The whole snapshot when the seeds cover it, else the seeds' sampled neighbourhood (no GNN: the seeds)."""
        if seeds.numel() == snap.n_nodes:
            return MicroBatch(snap, torch.arange(snap.n_nodes), seeds, snap.edge_index, snap.edge_attr)
        if not self.num_neighbors or snap.edges.numel() == 0:
            no_edges = None if snap.edge_attr is None else snap.edge_attr[:0]
            return MicroBatch(snap, seeds, torch.arange(seeds.numel()), torch.empty(2, 0, dtype=torch.long), no_edges)
        if self._sampler is None or self._sampler[0] is not snap:
            self._sampler = None  # free the last snapshot's before building this one's
            self._sampler = (snap, neighbor_sampler(snap.edge_index, snap.n_nodes, self.num_neighbors))
        nodes, edge_index, edge_attr = sampled_subgraph(self._sampler[1], snap.edges, seeds, snap.edge_attr)
        return MicroBatch(snap, nodes, torch.arange(seeds.numel()), edge_index, edge_attr)
