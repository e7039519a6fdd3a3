"""Transfer (train.init_from): a network starts from another market's saved weights, member by member, with the
layers that read the dataset's own attributes and categories fresh; a source that does not fit is named."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hotseller.errors import UserError
from hotseller.model_files import init_inputs
from hotseller.split import load_split
from hotseller.train.config import TrainConfig
from hotseller.train.data import Normalizer
from hotseller.train.distributed import init_world
from hotseller.train.loop import new_trainer, snapshots_for, train
from hotseller.train.model import CATEGORY_DIM, HotSellerNet, as_one
from hotseller.train.saved import save_model
from hotseller.train.transfer import initialise
from hotseller.tune import run_tune

OWN = ("static.0.weight", "static.0.bias", "category.weight")  # by hand: the layers HotSellerNet reads attributes with


def net(seed: int, n_static: int = 3, n_categories: int = 4, hidden: int = 16, encoder: str = "gru", gnn: str = "none") -> HotSellerNet:
    torch.manual_seed(seed)
    return HotSellerNet(5, n_static, n_categories, hidden, gnn, dropout=0.0, encoder=encoder)


def saved(folder, members: list[HotSellerNet]):
    """A model folder as training writes it (weights.pt + model.json), its normalizer a placeholder."""
    n_static = members[0].static[0].in_features - CATEGORY_DIM
    norm = Normalizer(torch.zeros(5), torch.ones(5), torch.zeros(n_static), torch.ones(n_static), [f"s{i}" for i in range(n_static)])
    arch = {"n_channels": 5, "n_static": n_static, "n_categories": members[0].category.num_embeddings - 1, "hidden_dim": members[0].hot.in_features,
            "gnn": {"SAGEConv": "sage", "GATv2Conv": "gat"}.get(type(members[0].convs[0]).__name__, "none") if members[0].convs else "none",
            "gnn_layers": 2, "dropout": 0.0, "encoder": "gru" if hasattr(members[0].encoder, "gru") else "conv",
            "members": len(members)}
    save_model(folder, as_one(members), norm, {"architecture": arch})
    return folder


def test_shared_parts_are_every_weight_but_the_datasets_own_inputs(tmp_path):
    source = net(1, n_static=7, n_categories=9)  # another market: other attributes, other categories
    target = net(2)
    fresh = {k: v.clone() for k, v in target.state_dict().items()}
    copied = initialise(target, saved(tmp_path / "src", [source]), 0, "shared")
    assert set(copied) == set(fresh) - set(OWN)
    for name, value in target.state_dict().items():
        expected = fresh[name] if name in OWN else source.state_dict()[name]
        assert torch.equal(value, expected), name


def test_the_encoder_part_is_the_sequence_encoder_alone(tmp_path):
    source, target = net(1), net(2)
    fresh = {k: v.clone() for k, v in target.state_dict().items()}
    copied = initialise(target, saved(tmp_path / "src", [source]), 0, "encoder")
    assert sorted(copied) == ["encoder.gru.bias_hh_l0", "encoder.gru.bias_ih_l0", "encoder.gru.weight_hh_l0", "encoder.gru.weight_ih_l0"]
    for name, value in target.state_dict().items():
        assert torch.equal(value, source.state_dict()[name] if name in copied else fresh[name]), name


def test_an_ensembles_members_start_from_the_saved_members_in_turn(tmp_path):
    folder = saved(tmp_path / "src", [net(1), net(2)])
    sources = [net(1), net(2)]
    for member, expected in [(0, sources[0]), (1, sources[1]), (2, sources[0])]:
        target = net(10 + member)
        initialise(target, folder, member, "shared")
        assert torch.equal(target.hot.weight, expected.hot.weight) and torch.equal(target.encoder.gru.weight_hh_l0, expected.encoder.gru.weight_hh_l0)


def test_graph_layers_the_source_was_trained_without_start_fresh(tmp_path):
    source, target = net(1), net(2, gnn="sage")
    fresh = {k: v.clone() for k, v in target.state_dict().items()}
    copied = initialise(target, saved(tmp_path / "src", [source]), 0, "shared")
    layers = [k for k in fresh if k.startswith(("convs.", "norms."))]
    assert layers and not set(layers) & set(copied) and set(copied) == set(fresh) - set(OWN) - set(layers)
    assert all(torch.equal(target.state_dict()[k], fresh[k]) for k in layers)


@pytest.mark.parametrize("source, target, fault", [
    (dict(hidden=32), {}, "(96, 5) there, (48, 5) here"),
    (dict(encoder="conv"), {}, "has no encoder.gru"),
    (dict(gnn="sage"), dict(gnn="gat"), "its graph layers are SAGEConv, this network's GATv2Conv"),
])
def test_a_source_that_does_not_fit_is_named(tmp_path, source, target, fault):
    with pytest.raises(UserError, match=r"train.init_from .*src") as err:
        initialise(net(2, **target), saved(tmp_path / "src", [net(1, **source)]), 0, "shared")
    assert fault in str(err.value)


def test_a_folder_without_a_model_is_named_as_the_setting(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"^train.init_from .*empty: not a saved model folder"):
        initialise(net(2), tmp_path / "empty", 0, "shared")


def test_tune_refuses_to_search_what_a_source_fixes(tmp_path):
    base = TrainConfig(init_from=str(tmp_path / "src"))
    with pytest.raises(UserError, match=r"tune.space searches \['encoder', 'hidden_dim'\], but train.init_from"):
        run_tune(base, {"hidden_dim": {"choices": [32, 64]}, "encoder": {"choices": ["gru"]}, "lr": {"low": 1e-3, "high": 1e-2}},
                 tmp_path, tmp_path, tmp_path, "tiny", 1, 0, tmp_path / "tune")


def test_training_starts_each_member_from_its_source_member_and_fingerprints_it(tiny_training, tmp_path, caplog):
    """The trainer's network is the source's member, but for its own attribute layers; the same source gives the same
    run (determinism), and the source's files are part of what a resumed checkpoint must match."""
    data = (tiny_training["examples"], tiny_training["edges"], tiny_training["split"])
    cfg = TrainConfig(epochs=1, batch_size=128, lr=2e-3, hidden_dim=16, accumulation_steps=1, threads=1, gnn="none")
    snaps, _, n_categories = snapshots_for(cfg, *data[:2], load_split(tiny_training["split"]))
    n_static = snaps["train"][0].static.shape[-1]
    sources = [net(1, n_static=n_static + 2), net(2, n_static=n_static + 2)]
    folder = saved(tmp_path / "src", sources)
    started = dataclasses.replace(cfg, init_from=str(folder))
    world, device = init_world("cpu")
    new_trainer(cfg, snaps["train"], n_categories, world, device, None)
    drawn_fresh = torch.get_rng_state()
    trainer, _ = new_trainer(started, snaps["train"], n_categories, world, device, None, member=1)
    assert torch.equal(torch.get_rng_state(), drawn_fresh)  # loading the source draws nothing from the run's generator
    for name, value in trainer.module.state_dict().items():
        if name not in OWN:
            assert torch.equal(value, sources[1].state_dict()[name]), name
    with caplog.at_level("INFO"):
        first = train(dataclasses.replace(started, ensemble=2), *data, tmp_path / "a")
    assert "(member 0): 18 of 21 weight tensors (shared)" in caplog.text and "(member 1): 18 of 21" in caplog.text
    caplog.clear()
    again = train(dataclasses.replace(started, ensemble=2), *data, tmp_path / "b")
    plain = train(dataclasses.replace(cfg, ensemble=2), *data, tmp_path / "c")
    assert first["val"] == again["val"] and first["val"] != plain["val"]
    assert init_inputs(str(folder)) == [f"{folder}/weights.pt", f"{folder}/model.json"] and init_inputs("") == []
    saved(folder, sources[::-1])  # another source in the same folder: a resume must not continue the old run
    with caplog.at_level("INFO"):
        train(dataclasses.replace(started, ensemble=2), *data, tmp_path / "a", resume=True)
    assert caplog.text.count("was written for another config or other inputs: starting from epoch 1") == 2
