"""Training checkpoints that resume exactly, written with torch.save and read with ``weights_only=True``.

A checkpoint holds the model, optimiser and scheduler state, the step, the
config, and for every process its torch/CUDA/numpy/Python RNG states and its
batch source's state. Everything is tensors and plain Python values, so the
restricted (pickle-free) loader reads it. Writes go to a temporary file that
then replaces the old one, so a run killed mid-write keeps its last checkpoint.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

CHECKPOINT_FORMAT = 1
LATEST = "latest.pt"


def capture_rng() -> dict:
    """The random states of torch (CPU and CUDA), numpy's global generator and Python's ``random``."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def restore_rng(state: dict) -> None:
    """Put back what :func:`capture_rng` saved."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def save_checkpoint(path: str | Path, payload: dict) -> Path:
    """Write ``payload`` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    torch.save({"format": CHECKPOINT_FORMAT, **payload}, temporary)
    os.replace(temporary, path)
    return path


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint with the pickle-free loader; ValueError when it is not one of ours."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a training checkpoint of format {CHECKPOINT_FORMAT}")
    return payload


def model_from_checkpoint(path: str | Path):
    """The trained :class:`FaceXray` of a checkpoint (eval mode, CPU), e.g. to export with save_weights."""
    from facexray_forensics.model.registry import create

    payload = load_checkpoint(path)
    settings = payload["config"]["model"]
    model = create(settings["name"], class_head=settings.get("class_head", "gap"))
    model.load_state_dict(payload["model"], strict=True)
    return model.eval()
