"""Training hyperparameters: one dataclass, the seed system's flags and defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from hotseller.errors import UserError

# The settings that take one of a few names: the CLI offers them as argparse choices, the schema as enums (a test
# checks the two agree and that the model builds each).
CHOICES = {
    "loss": ("focal", "bce"),
    "amp": ("auto", "fp16", "bf16", "off"),
    "encoder": ("gru", "conv", "transformer"),
    "gnn": ("sage", "gat", "rgcn", "gat_edges", "none"),
    "device": ("auto", "cpu", "cuda"),
    "rank_loss": ("pairwise", "listwise"),
    "sales_target": ("percentile", "log1p", "log1p_z"),
    "init_parts": ("shared", "encoder"),
}


@dataclass
class TrainConfig:
    """Defaults are the seed's `train_ultimate.py` values; config.yaml may choose others (see its schema)."""

    epochs: int = 30
    batch_size: int = 16
    lr: float = 2e-4
    weight_decay: float = 1e-4
    warmup_ratio: float = 0.1
    loss: str = "focal"  # one of CHOICES["loss"]
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    label_smoothing: float = 0.1
    w_contrast: float = 0.15
    contrast_temperature: float = 0.07
    w_rating: float = 0.3
    w_engagement: float = 0.2
    w_sales: float = 0.0  # future-sales head: units in (t, t+H] as sales_target says (0 = off)
    sales_target: str = "percentile"  # one of CHOICES["sales_target"]: their within-cutoff percentile, their log1p, or that standardised in its cutoff
    w_rank: float = 0.0  # ranking term within each group beside the classification loss (0 = off)
    rank_loss: str = "pairwise"  # one of CHOICES["rank_loss"]: RankNet's pairs or ListNet's list
    use_mixup: bool = False
    mixup_alpha: float = 0.3
    use_cutmix: bool = False
    cutmix_ratio: float = 0.3
    aug_prob: float = 0.5
    accumulation_steps: int = 4
    grad_clip: float = 1.0
    patience: int = 15
    min_delta: float = 5e-4
    amp: str = "auto"  # one of CHOICES["amp"]
    seed: int = 0
    hidden_dim: int = 64
    encoder: str = "gru"  # one of CHOICES["encoder"]
    gnn: str = "sage"  # one of CHOICES["gnn"]
    gnn_layers: int = 2
    full_graph_max_nodes: int = 1_000_000  # a snapshot up to this size trains whole; a larger one in sampled mini-batches
    num_neighbors: list[int] = field(default_factory=lambda: [10, 5])  # per GNN layer, for sampled mini-batches; -1 = all
    dropout: float = 0.1
    ema_decay: float = 0.0  # validate and keep an exponential moving average of the weights, per optimizer step (0 = off)
    relative_inputs: bool = False  # recent level and growth as percentiles within the cutoff, beside the static features
    neighbour_sequences: bool = False  # per relation group, the neighbours' mean weekly log units as sequence channels
    neighbour_inputs: bool = False  # the GBT's typed graph aggregates (degree, neighbours' recent level and growth) as inputs
    offset_column: str = ""  # a static column holding another model's logit, added to the hot logit ("" = none)
    recency_half_life: float = 0.0  # each training cutoff's loss weight halves this many cutoffs back from the latest (0 = off)
    ensemble: int = 1  # networks trained from different seeds and averaged (1 = a single network)
    init_from: str = ""  # a saved model folder (another market's) whose weights each network starts from ("" = fresh)
    init_parts: str = "shared"  # one of CHOICES["init_parts"]: all but the static-input layer and category embedding, or the encoder
    device: str = "auto"  # one of CHOICES["device"]
    threads: int = 0  # torch CPU threads; 0 keeps torch's default

    def __post_init__(self) -> None:
        """A named setting outside its few names fails here, not as a silent fall-back in the loop (benchmarks build
        configs from JSON without argparse or the schema)."""
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise UserError(f"train.{name} is {getattr(self, name)!r}: use one of {', '.join(allowed)}")
        if self.recency_half_life < 0:
            raise UserError(f"train.recency_half_life is {self.recency_half_life}: give 0 (off) or a half-life in training cutoffs, e.g. 5")

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_section(cls, params: dict) -> "TrainConfig":
        """A config.yaml `train` section (as `stage_params` gives it) as a config, keys that are no field left out."""
        return cls(**{k: v for k, v in params.items() if k in cls.names()})
