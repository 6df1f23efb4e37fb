"""Fixtures shared by several test folders: models with random weights (never a default model)."""

import json
import shutil

import pytest


@pytest.fixture(scope="session")
def random_model(tmp_path_factory):
    """A weights directory holding HRNet-W18 with random weights (seed 0) and the default bands."""
    import torch

    from facexray_forensics.model import ModelCard, create, save_weights

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("model") / "random"
    save_weights(create("hrnet_w18"), directory, ModelCard("hrnet_w18"))
    return directory


@pytest.fixture(scope="session")
def flagging_model(tmp_path_factory, random_model):
    """The same weights with every band edge at 0: each scored face is "strong", so the scan flags it."""
    directory = tmp_path_factory.mktemp("model") / "flagging"
    shutil.copytree(random_model, directory)
    card_path = directory / "model_card.json"
    card = json.loads(card_path.read_text())
    card["thresholds"].update(inconclusive=0.0, moderate=0.0, strong=0.0)
    card_path.write_text(json.dumps(card))
    return directory
