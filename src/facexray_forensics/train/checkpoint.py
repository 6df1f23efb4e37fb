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


def average_with_start(path: str | Path, share: float = 0.5) -> dict:
    """A checkpoint whose weights are ``share`` of its own plus ``1 - share`` of the shipped
    weights its chunk continued from (a weight soup of two fine-tunings of one model).

    The start is the config's ``model.init`` directory, loaded with its SHA-256 check and
    required to be the card the chunk recorded as its start, so a default replaced since
    is refused. Floating tensors are averaged; counters (BatchNorm's batches seen) keep the
    checkpoint's. What the chunk cost is unchanged; ``averaged_with_start`` records the share.
    """
    from facexray_forensics.model.weight_files import load_weights

    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1], got {share}")
    payload = load_checkpoint(path)
    started_from = (payload.get("prior_training") or {}).get("continued_from")
    init = payload["config"]["model"].get("init")
    if not started_from or not init or not Path(init).is_dir():
        raise ValueError(f"{path} did not continue from a weights directory; there is no start to average with")
    start = load_weights(init)
    if start.sha256 != started_from:
        raise ValueError(f"{init} holds card {start.sha256}, but the chunk started from {started_from}")
    start_state = start.model.state_dict()
    payload["model"] = {
        name: torch.lerp(start_state[name].to(tensor.dtype), tensor, share) if tensor.is_floating_point() else tensor
        for name, tensor in payload["model"].items()
    }
    payload["prior_training"] = {**payload["prior_training"], "averaged_with_start": share}
    return payload
