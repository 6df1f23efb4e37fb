"""Averaging a chunk with the weights it started from: numpy's average, and only with that start."""

import numpy as np
import pytest
import torch

from facexray_forensics.model import ModelCard, create, load_weights, save_weights
from facexray_forensics.train.checkpoint import average_with_start, load_checkpoint, save_checkpoint


def _chunk(tmp_path, start_sha256):
    """A checkpoint of a differently initialised network that says it continued from tmp_path/start."""
    torch.manual_seed(1)
    trained = create("hrnet_w18_small", class_head="log_pool")
    for name, buffer in trained.named_buffers():
        if name.endswith("num_batches_tracked"):
            buffer.fill_(7)
    payload = {
        "model": trained.state_dict(),
        "config": {"model": {"name": "hrnet_w18_small", "class_head": "log_pool", "init": str(tmp_path / "start")}},
        "step": 3, "world_size": 1, "train_seconds": 12.0,
        "prior_training": {"samples_seen": 100, "train_seconds": 50.0, "continued_from": start_sha256},
    }
    return save_checkpoint(tmp_path / "latest.pt", payload)


@pytest.fixture
def start(tmp_path):
    torch.manual_seed(0)
    save_weights(create("hrnet_w18_small", class_head="log_pool"), tmp_path / "start",
                 ModelCard("hrnet_w18_small", class_head="log_pool"))
    return load_weights(tmp_path / "start")


@pytest.mark.parametrize("share", [0.0, 0.3, 0.5, 1.0])
def test_floating_weights_are_the_weighted_average_and_counters_the_chunks(tmp_path, start, share):
    path = _chunk(tmp_path, start.sha256)
    trained = load_checkpoint(path)["model"]
    averaged = average_with_start(path, share)
    start_state = start.model.state_dict()
    assert averaged["model"].keys() == trained.keys()
    for name, tensor in averaged["model"].items():
        if tensor.is_floating_point():
            expected = (1 - share) * start_state[name].double().numpy() + share * trained[name].double().numpy()
            np.testing.assert_allclose(tensor.double().numpy(), expected, rtol=1e-6, atol=1e-7)
        else:
            assert torch.equal(tensor, trained[name])
    assert averaged["prior_training"]["averaged_with_start"] == share
    assert averaged["step"] == 3 and averaged["prior_training"]["samples_seen"] == 100


def test_a_start_that_is_not_the_recorded_one_is_refused(tmp_path, start):
    path = _chunk(tmp_path, "f" * 64)
    with pytest.raises(ValueError, match="started from ffff"):
        average_with_start(path)
    with pytest.raises(ValueError, match="share must be in"):
        average_with_start(_chunk(tmp_path, start.sha256), 1.5)
