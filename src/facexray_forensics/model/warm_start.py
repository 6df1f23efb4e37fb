"""Warm-start a backbone from a local ImageNet checkpoint (HRNet or MobileNetV2 layout), without pickle."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

# Wrappers that training scripts put around a state dict, and prefixes they put on its keys.
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict")
_KEY_PREFIXES = ("module.", "backbone.")


@dataclass(frozen=True)
class InitReport:
    """What a warm start did: keys loaded, backbone keys the file lacked, file keys the backbone lacks."""

    path: str
    loaded: int
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    ignored: tuple[str, ...]  # the checkpoint's classification-only keys

    def summary(self) -> str:
        return (
            f"{self.path}: loaded {self.loaded} tensors; {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.ignored)} classifier-only ignored"
        )


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read tensors from a .safetensors file, or a torch file with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
            raise ValueError(f"{path} is not a weights-only torch file: {error}") from error
        for key in _WRAPPER_KEYS:
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors")
    cleaned = {}
    for key, value in state.items():
        for prefix in _KEY_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
        cleaned[key] = value
    return cleaned


def load_backbone(backbone: nn.Module, path: str | Path) -> InitReport:
    """Copy matching tensors from ``path`` into ``backbone``; shape mismatches raise ValueError.

    Keys under the backbone's ``classification_only_prefixes`` (the ImageNet
    classifier's own layers) are listed as ignored, not as unexpected.
    """
    state = read_state_dict(path)
    ignored = tuple(sorted(k for k in state if k.startswith(tuple(backbone.classification_only_prefixes))))
    wanted = backbone.state_dict()
    usable = {}
    for key, value in state.items():
        if key in wanted:
            if tuple(value.shape) != tuple(wanted[key].shape):
                raise ValueError(
                    f"{path}: {key} has shape {tuple(value.shape)}, the backbone needs {tuple(wanted[key].shape)} "
                    "(is the checkpoint for this architecture?)"
                )
            usable[key] = value
    result = backbone.load_state_dict(usable, strict=False)
    unexpected = tuple(sorted(set(state) - set(wanted) - set(ignored)))
    return InitReport(str(path), len(usable), tuple(sorted(result.missing_keys)), unexpected, ignored)
