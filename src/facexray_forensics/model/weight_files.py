"""Weights on disk: safetensors shards plus a JSON model card that records each file's SHA-256.

A weights directory holds ``model_card.json`` and ``model-00001-of-0000N.safetensors``
files of at most 16 MiB each (the largest file a device call can return).
Loading recomputes every file's SHA-256 and refuses any mismatch, so a
changed or swapped file never runs. Nothing is unpickled.

The shipped default model lives in ``facexray_forensics/model/weights/default/``
inside the package; :func:`default_model_dir` returns it once it holds a card.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from facexray_forensics.custody import file_sha256
from facexray_forensics.faces.extract import CropGeometry
from facexray_forensics.model.calibration import BandThresholds, Calibration
from facexray_forensics.model.facexray import FaceXray

CARD_NAME = "model_card.json"
MAX_SHARD_BYTES = 16 * 1024 * 1024
# Room for each shard's JSON header inside the 16 MiB limit.
_HEADER_ALLOWANCE = 256 * 1024
# 2 added the input geometry and the class head; a format-1 card is read as 256-pixel crops, "gap" head.
# 3 added mirror_average; an older card is read without it.
CARD_FORMAT = 3
_READABLE_FORMATS = (1, 2, 3)


@dataclass
class ModelCard:
    """What a weights directory declares: architecture and class head, the input
    geometry the faces stage must produce, calibration, bands, file hashes and free notes.

    With ``mirror_average`` every crop is scored together with its mirror image and the two
    results are averaged; the calibration was fitted on those averages, so it is part of the model.

    ``notes`` carries the human-facing parts (training data and its limits,
    steps, time, the evaluation table); the loader does not interpret them.
    """

    architecture: str
    class_head: str = "gap"
    geometry: CropGeometry = field(default_factory=CropGeometry)
    calibration: Calibration = field(default_factory=Calibration)
    thresholds: BandThresholds = field(default_factory=lambda: BandThresholds(0.5, 0.8, 0.95))
    files: dict[str, str] = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    mirror_average: bool = False

    def to_dict(self) -> dict:
        return {
            "format": CARD_FORMAT,
            "architecture": self.architecture,
            "class_head": self.class_head,
            "geometry": self.geometry.to_dict(),
            "mirror_average": self.mirror_average,
            "calibration": self.calibration.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "files": dict(sorted(self.files.items())),
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        if data.get("format") not in _READABLE_FORMATS:
            raise ValueError(f"unsupported model card format {data.get('format')!r} (expected one of {_READABLE_FORMATS})")
        return cls(
            architecture=data["architecture"],
            class_head=data.get("class_head", "gap"),
            geometry=CropGeometry.from_dict(data["geometry"]) if "geometry" in data else CropGeometry(),
            calibration=Calibration.from_dict(data["calibration"]),
            thresholds=BandThresholds.from_dict(data["thresholds"]),
            files=dict(data["files"]),
            notes=dict(data.get("notes", {})),
            mirror_average=bool(data.get("mirror_average", False)),
        )


@dataclass
class LoadedModel:
    """A verified model: the network in eval mode, its card, and the SHA-256 of the card file."""

    model: FaceXray
    card: ModelCard
    sha256: str
    directory: Path


def _shards(state: dict[str, torch.Tensor], limit: int) -> list[dict[str, torch.Tensor]]:
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if nbytes > limit:
            raise ValueError(f"tensor {key} ({nbytes} bytes) alone exceeds the shard limit of {limit} bytes")
        if size + nbytes > limit and shards[-1]:
            shards.append({})
            size = 0
        shards[-1][key] = tensor
        size += nbytes
    return shards


def save_weights(model: FaceXray, directory: str | Path, card: ModelCard) -> ModelCard:
    """Write ``model``'s weights as safetensors shards and the card (with file hashes) to ``directory``.

    Returns the card as written. The directory must not already hold a card.
    """
    from safetensors.torch import save_file

    if (card.architecture, card.class_head) != (model.architecture, model.class_head_kind):
        raise ValueError(f"card names {card.architecture!r} with class head {card.class_head!r}, "
                         f"but the model is {model.architecture!r} with {model.class_head_kind!r}")
    directory = Path(directory)
    if (directory / CARD_NAME).exists():
        raise ValueError(f"{directory} already holds a model card; write to an empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().to("cpu").contiguous() for key, value in model.state_dict().items()}
    shards = _shards(state, MAX_SHARD_BYTES - _HEADER_ALLOWANCE)
    files = {}
    for number, shard in enumerate(shards, start=1):
        name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(directory / name), metadata={"architecture": card.architecture})
        files[name] = file_sha256(directory / name)
    written = dataclasses.replace(card, files=files)
    (directory / CARD_NAME).write_text(json.dumps(written.to_dict(), indent=2) + "\n")
    return written


def load_weights(directory: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Verify every file against the card's SHA-256 and load the model in eval mode.

    Raises ValueError, naming the file, when a hash differs or a file is missing.
    """
    from safetensors.torch import load_file

    from facexray_forensics.model.registry import create

    directory = Path(directory)
    card, card_bytes = _read_card(directory)
    card_path = directory / CARD_NAME
    if not card.files:
        raise ValueError(f"{card_path} lists no weights files")
    state: dict[str, torch.Tensor] = {}
    for name, expected in card.files.items():
        path = directory / name
        if Path(name).name != name or not path.is_file():
            raise ValueError(f"weights file {path} listed in the card is missing")
        actual = file_sha256(path)
        if actual != expected:
            raise ValueError(f"SHA-256 mismatch for {path}: card says {expected}, file has {actual}")
        state.update(load_file(str(path)))
    model = create(card.architecture, class_head=card.class_head)
    model.load_state_dict(state, strict=True)
    model.to(device).eval()
    return LoadedModel(model, card, hashlib.sha256(card_bytes).hexdigest(), directory)


def _read_card(directory: Path) -> tuple[ModelCard, bytes]:
    card_path = directory / CARD_NAME
    if not card_path.is_file():
        raise ValueError(f"{directory} holds no {CARD_NAME}; is it a weights directory?")
    card_bytes = card_path.read_bytes()
    try:
        return ModelCard.from_dict(json.loads(card_bytes)), card_bytes
    except (KeyError, TypeError, ValueError) as error:  # JSONDecodeError is a ValueError
        raise ValueError(f"{card_path} is not a valid model card: {error}") from error


def read_card(directory: str | Path) -> ModelCard:
    """The card of a weights directory, without loading (or verifying) the weights:
    for what must be known before the model loads, such as the input geometry."""
    return _read_card(Path(directory))[0]


def default_model_dir() -> Path | None:
    """The packaged default weights directory, or None while no model is shipped."""
    directory = Path(__file__).resolve().parent / "weights" / "default"
    return directory if (directory / CARD_NAME).is_file() else None
