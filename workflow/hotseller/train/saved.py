"""A trained model as people pass it around: tensors in `weights.pt` plus a JSON config in `model.json`.

Loading never runs code: `weights.pt` is read with torch.load(weights_only=True), which refuses any pickle that
is not plain tensors and containers (a crafted file that would call a function is an error, not an execution).
The resume checkpoint (checkpoint.py) keeps its full state and is read only from a run's own output folder.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import torch

from hotseller import atomic
from hotseller.errors import UserError
from hotseller.graph import RELATION_GROUPS
from hotseller.model_files import MODEL_FILES
from hotseller.train import checkpoint
from hotseller.train.data import Normalizer
from hotseller.train.model import Ensemble, HotSellerNet, as_one

WEIGHTS, CONFIG = MODEL_FILES
NORMALIZER_TENSORS = ("seq_mean", "seq_std", "static_mean", "static_std")


class ModelFileError(UserError):
    """A model folder that cannot be used: missing files, or a weights file that is not weights only."""


def save_model(folder: Path, model: HotSellerNet, norm: Normalizer, config: dict) -> None:
    """weights.pt (model and normalizer tensors) and model.json (`config`: architecture, static columns, ...)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu() for k, v in model.state_dict().items()}
    tensors |= {f"normalizer.{k}": getattr(norm, k).detach().cpu() for k in NORMALIZER_TENSORS}
    checkpoint.save_atomic(tensors, folder / WEIGHTS)
    atomic.write_json(config | {"static_columns": list(norm.static_columns)}, folder / CONFIG)


def read_config(folder: Path) -> dict:
    path = Path(folder) / CONFIG
    if not path.exists():
        raise ModelFileError(f"{path}: no model config here; --model takes a folder holding {WEIGHTS} and {CONFIG} "
                             f"(e.g. results/<dataset>/model)")
    return json.loads(path.read_text())


def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """The tensors of weights.pt, refusing anything a weights-only unpickler would not accept."""
    path = Path(folder) / WEIGHTS
    if not path.exists():
        raise ModelFileError(f"{path}: no weights file here; --model takes a folder holding {WEIGHTS} and {CONFIG}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFileError(f"{path}: refused, not a weights-only file (loading it would run code or it is damaged): {first}") from None


def load_model(folder: Path) -> tuple[HotSellerNet | Ensemble, Normalizer, dict]:
    """The model in eval mode (one network, or an ensemble of `members`), its normalizer and its config, without
    running any code from the files."""
    config = read_config(folder)
    tensors = read_weights(folder)
    arch = config["architecture"]

    def network() -> HotSellerNet:
        return HotSellerNet(arch["n_channels"], arch["n_static"], arch["n_categories"], arch["hidden_dim"], arch["gnn"],
                            arch["gnn_layers"], arch["dropout"], arch["encoder"], arch.get("relations", len(RELATION_GROUPS)),
                            arch.get("offset", False))

    members = int(arch.get("members", 1))
    model = as_one([network() for _ in range(members)])
    model.load_state_dict({k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")})
    model.eval()
    norm = Normalizer(**{k: tensors[f"normalizer.{k}"] for k in NORMALIZER_TENSORS}, static_columns=config["static_columns"])
    return model, norm, config
