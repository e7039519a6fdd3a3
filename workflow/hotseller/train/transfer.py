"""Transfer: a network that starts from the weights another market's network learnt (train.init_from), then trains
as usual. Trees cannot carry what they learnt on one market into another; a network can, and the real samples are
small. The layers that read a dataset's own attributes and categories always start fresh: their inputs mean other
things in another market."""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from hotseller.errors import UserError
from hotseller.train.config import CHOICES
from hotseller.train.model import Ensemble, HotSellerNet
from hotseller.train.saved import load_model

log = logging.getLogger(__name__)
DATASET_OWN = ("static.", "category.")  # parameter prefixes that read the dataset's own attributes and categories


def donor(folder: Path, member: int) -> HotSellerNet:
    """The saved network whose weights member `member` starts from: an ensemble's members in turn."""
    model, _, _ = load_model(folder)
    members = list(model.members) if isinstance(model, Ensemble) else [model]
    return members[member % len(members)]


def initialise(model: nn.Module, folder: str | Path, member: int, parts: str) -> list[str]:
    """Copy `parts` of the saved network in `folder` into `model` (in place) and return the names copied: `shared`,
    every weight but DATASET_OWN's; `encoder`, the sequence encoder's alone. A weight the
    source lacks (graph layers it was trained without) stays fresh; an encoder it lacks or a weight whose shape
    differs is a user's mistake."""
    if parts not in CHOICES["init_parts"]:
        raise UserError(f"train.init_parts is {parts!r}: use one of {', '.join(CHOICES['init_parts'])}")
    source = donor(Path(folder), member).state_dict()
    own = model.state_dict()
    wanted = [k for k in own if k.startswith("encoder.")] if parts == "encoder" else [k for k in own if not k.startswith(DATASET_OWN)]
    for name in wanted:
        if name in source and source[name].shape != own[name].shape:
            raise UserError(f"train.init_from {folder}: its network does not fit this one ({name} is {tuple(source[name].shape)} there, "
                            f"{tuple(own[name].shape)} here); train both with the same hidden_dim, encoder and sequence inputs")
    lacking = [k for k in wanted if k.startswith("encoder.") and k not in source]
    if lacking:
        raise UserError(f"train.init_from {folder}: its network has no {lacking[0]}; give a model trained with the same train.encoder")
    copied = [k for k in wanted if k in source]
    model.load_state_dict(own | {k: source[k] for k in copied})
    log.info("Started from %s (member %d): %d of %d weight tensors (%s)", folder, member, len(copied), len(own), parts)
    return copied
