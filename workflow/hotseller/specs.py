"""What an example and a graph are made of: the settings the features, graph, package and forecast stages share.

Kept in a module of their own, light enough that the command-line parser takes their defaults from here without
importing those stages; so editing a stage does not rerun the others (hotseller.sources reads what each runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from hotseller.weeks import example_stride


@dataclass(frozen=True)
class LabelSpec:
    """What an example looks like: W weeks of history, an H-week label window, the hot share, text features or not."""

    window_weeks: int = 12
    horizon_weeks: int = 4
    hot_quantile: float = 0.05
    stride_weeks: int = 2
    text_embeddings: bool = False
    text_dims: int = 16
    train_stride_weeks: int = 0  # 0: as stride_weeks; else a finer grid of examples that only training cutoffs use

    @property
    def example_stride(self) -> int:
        """Weeks between the cutoffs examples are made at: validation and test take every stride_weeks-th."""
        return example_stride(self.stride_weeks, self.train_stride_weeks)


@dataclass(frozen=True)
class GraphSpec:
    """Which edges the graph holds."""

    relation_kinds: tuple[str, ...] = ("co_purchase", "co_review", "repeat_customer")
    min_weight: float = 1.0
    category_degree: int = 4
    seller_degree: int = 2
    seed: int = 0
