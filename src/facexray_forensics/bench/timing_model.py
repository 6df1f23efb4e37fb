"""The weights a speed benchmark runs: the given ones, the packaged default, else random ones of the same size."""

from __future__ import annotations

from pathlib import Path


def timing_model(model_dir: str | None, scratch: Path) -> tuple[str, str]:
    """A weights directory and how it was chosen; random HRNet-W18 weights are saved in ``scratch``
    when no model is packaged (their scores mean nothing, their speed is a real model's)."""
    from facexray_forensics.model import ModelCard, create, default_model_dir, save_weights

    if model_dir:
        return str(model_dir), "given"
    packaged = default_model_dir()
    if packaged is not None:
        return str(packaged), "packaged"
    import torch

    torch.manual_seed(0)
    directory = scratch / "random-weights"
    save_weights(create("hrnet_w18"), directory, ModelCard("hrnet_w18"))
    return str(directory), "random weights (HRNet-W18, speed only)"
