"""Multi-process training under torchrun (DistributedDataParallel) and preemption signals.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; without them everything here is a no-op, so a plain
`hotseller train` is a world of one. Every rank evaluates the same validation graph with the same weights,
so early-stopping decisions agree without communication; only training-loss sums are all-reduced, and
only rank 0 writes files.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def init_world(device_name: str) -> tuple[World, torch.device]:
    """Join the process group torchrun describes (NCCL on CUDA, gloo on CPU) and pick this rank's device."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    world = World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))
    cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    device = torch.device(f"cuda:{world.local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world.distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
        log.info("Rank %d of %d on %s (%s)", world.rank, world.size, device, dist.get_backend())
    return world, device


def all_reduce_mean(values: dict[str, float], world: World, device: torch.device) -> dict[str, float]:
    """Mean of per-rank numbers over all ranks (identity for a world of one)."""
    if not world.distributed:
        return values
    tensor = torch.tensor(list(values.values()), dtype=torch.float64, device=device)
    dist.all_reduce(tensor)  # every rank built `values` with the same keys in the same order
    return {k: float(v) / world.size for k, v in zip(values, tensor.tolist())}


def shutdown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


class Preempted(Exception):
    """Raised inside the loop when the scheduler asked us to stop (SIGTERM, or SIGUSR1 before the time limit)."""


class PreemptionGuard:
    """Turns SIGTERM / SIGUSR1 into a flag the loop checks between micro-batches.

    Slurm sends SIGTERM at the time limit or on preemption (and SIGKILL a grace period later); `--signal`
    can add SIGUSR1 earlier. The loop then stops at once: the last epoch's checkpoint is already on disk,
    and a rerun with --resume repeats the interrupted epoch from its start, exactly.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1)

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous = {}

    def __enter__(self) -> "PreemptionGuard":
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame) -> None:  # noqa: ARG002 - signal handler signature
        self.received = signum

    def check(self) -> None:
        if self.received is not None:
            raise Preempted(signal.Signals(self.received).name)
