"""Calendar helpers shared by every stage: a week is the Monday that starts it."""

from __future__ import annotations

import polars as pl

from hotseller.errors import UserError


def week_start(expr: pl.Expr) -> pl.Expr:
    """Truncate a date or datetime expression to the Monday of its ISO week, as a Date."""
    return expr.cast(pl.Datetime("us")).dt.truncate("1w").cast(pl.Date)


def week_index(expr: pl.Expr, origin: pl.Expr | object) -> pl.Expr:
    """Whole weeks between a Monday date `expr` and the panel's first Monday `origin`."""
    origin_expr = origin if isinstance(origin, pl.Expr) else pl.lit(origin, dtype=pl.Date)
    return ((expr - origin_expr).dt.total_days() // 7).cast(pl.Int32)


def cutoff_weeks(n_weeks: int, window_weeks: int, horizon_weeks: int, stride_weeks: int) -> list[int]:
    """Cutoff week indices whose W-week history and H-week label window both fit in the panel.

    Counted back from the last usable cutoff so that the test cutoff is always the latest one,
    whatever the stride; features and graph call this with the same params so they agree.
    """
    last = n_weeks - 1 - horizon_weeks
    first = window_weeks - 1
    if last < first:
        raise UserError(
            f"panel has {n_weeks} weeks, fewer than window_weeks={window_weeks} + "
            f"horizon_weeks={horizon_weeks} needs; shorten the window (to no less than 8 weeks) or the horizon"
        )
    return list(range(last, first - 1, -stride_weeks))[::-1]


def example_stride(stride_weeks: int, train_stride_weeks: int) -> int:
    """The grid examples are made on: `train_stride_weeks` when set (0: `stride_weeks`). It must divide
    `stride_weeks` so that the evaluation grid, counted back from the same last cutoff, lies on it."""
    if train_stride_weeks == 0:
        return stride_weeks
    if train_stride_weeks < 0 or stride_weeks % train_stride_weeks:
        raise UserError(f"features.train_stride_weeks={train_stride_weeks} must divide features.stride_weeks={stride_weeks} "
                        f"(or be 0 for the same grid); e.g. 1 or 2 with a stride of 4")
    return train_stride_weeks


def on_stride(cutoffs: list[int], stride_weeks: int) -> list[int]:
    """The cutoffs on the evaluation grid: every `stride_weeks`-th week counted back from the last cutoff."""
    if not cutoffs:
        return []
    last = max(cutoffs)
    return sorted(c for c in set(cutoffs) if (last - c) % stride_weeks == 0)
