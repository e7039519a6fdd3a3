"""Transfer: a network that starts from the weights another market's network learnt (train.init_from), then trains
as usual: a start from elsewhere for the small real samples. The static-input layer and the category embedding always
start fresh: the attributes and categories they read mean other things in another market. (Trees can learn from
another market's rows instead; the forty-second round measured both, docs/rounds.md.)"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from hotseller.errors import UserError
from hotseller.train.config import CHOICES
from hotseller.train.model import Ensemble, HotSellerNet
from hotseller.train.saved import ModelFileError, load_model

log = logging.getLogger(__name__)
DATASET_OWN = ("static.", "category.")  # parameter prefixes of the static-input layer and the category embedding


def donor(folder: Path, member: int) -> HotSellerNet:
    """The saved network whose weights member `member` starts from (an ensemble's members in turn). Loading builds
    networks, which draws from torch's generator: it runs on a forked one, so a run with a source draws its dropout
    and sampling exactly as the same seed's fresh run does."""
    with torch.random.fork_rng(devices=[]):
        try:
            model, _, _ = load_model(folder)
        except ModelFileError as err:
            raise UserError(f"train.init_from {folder}: not a saved model folder ({err})") from None
    members = list(model.members) if isinstance(model, Ensemble) else [model]
    return members[member % len(members)]


def graph_layer(model: nn.Module) -> str | None:
    """The class of a network's graph layers (None without any): weights of two kinds of layer can share a shape."""
    convs = getattr(model, "convs", None)
    return type(convs[0]).__name__ if convs else None


def initialise(model: HotSellerNet, folder: str | Path, member: int, parts: str) -> list[str]:
    """Copy `parts` of the saved network in `folder` into `model` (in place) and return the names copied: `shared`,
    every weight but DATASET_OWN's; `encoder`, the sequence encoder's alone. A weight the source lacks (graph layers
    it was trained without) stays fresh; a source without this encoder, with other graph layers, or with a weight of
    another shape is a user's mistake, named."""
    if parts not in CHOICES["init_parts"]:
        raise UserError(f"train.init_parts is {parts!r}: use one of {', '.join(CHOICES['init_parts'])}")
    source_net = donor(Path(folder), member)
    source, own = source_net.state_dict(), model.state_dict()
    wanted = [k for k in own if k.startswith("encoder.")] if parts == "encoder" else [k for k in own if not k.startswith(DATASET_OWN)]
    lacking = [k for k in wanted if k.startswith("encoder.") and k not in source]
    if lacking:
        raise UserError(f"train.init_from {folder}: its network has no {lacking[0]}; give a model trained with the same train.encoder")
    theirs, ours = graph_layer(source_net), graph_layer(model)
    if parts == "shared" and None not in (theirs, ours) and theirs != ours:
        raise UserError(f"train.init_from {folder}: its graph layers are {theirs}, this network's {ours}; "
                        f"give a model trained with the same train.gnn, or train.init_parts: encoder")
    for name in wanted:
        if name in source and source[name].shape != own[name].shape:
            raise UserError(f"train.init_from {folder}: its network does not fit this one ({name} is {tuple(source[name].shape)} there, "
                            f"{tuple(own[name].shape)} here); train both with the same hidden_dim, encoder and sequence inputs")
    copied = [k for k in wanted if k in source]
    model.load_state_dict(own | {k: source[k] for k in copied})
    log.info("Started from %s (member %d): %d of %d weight tensors (%s)", folder, member, len(copied), len(own), parts)
    return copied
