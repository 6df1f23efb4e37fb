"""Training configuration, read from a TOML file (see training/configs/).

Every key has a default here; a file overrides what it names, and an unknown
section or key is an error, so a typo never silently trains something else.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from facexray_forensics.blending.config import SamplerConfig


@dataclass
class ModelConfig:
    name: str = "hrnet_w18"
    class_head: str = "gap"  # "gap" (the paper's NN_c) or "log_pool" (see model.facexray)
    pretrained: bool = False  # start the backbone from the offline ImageNet weights of the `train` extra
    # A local ImageNet checkpoint to warm-start the backbone from, or a weights directory (with
    # model_card.json) whose whole network a new chunk continues from, with a fresh optimiser; "" for none.
    init: str = ""
    freeze_backbone_steps: int = 0  # train only the heads for this many first steps
    # The trunk's first N layers keep their starting weights and BN statistics throughout: when
    # continuing a trained model, their backward pass is work that buys little (MobileNetV2 only).
    frozen_trunk_layers: int = 0


@dataclass
class DataConfig:
    # "synthetic" (blends of random textures), "bi" (the CPU BI sampler in loader workers)
    # or "gpu" (the BI sampler rendering batches on the training device).
    source: str = "synthetic"
    index: str = ""  # face index directory, for "bi" and "gpu"
    split: str = ""  # split record (`fxr-forensic data split`): train on its train sources only; "" = all of the index
    workers: int = 4  # loader processes for "bi"; 0 draws in the training process
    image_size: int = 256
    crop_scale: float = 1.3  # the crop square over the landmark extent; must match the index's
    seed: int = 0


@dataclass
class LossConfig:
    xray_weight: float = 100.0  # λ in λ·BCE(X-ray) + CE(class)


@dataclass
class OptimConfig:
    learning_rate: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    total_steps: int = 1000
    decay_fraction: float = 0.25  # the learning rate falls linearly to 0 over this last share of the steps


@dataclass
class RunConfig:
    batch_size: int = 32  # per process
    device: str = "auto"  # "auto" (CUDA when present), "cpu", "cuda", "cuda:1", ...
    bf16: bool = True  # bf16 autocast, on CUDA (and on the CPU with cpu_too)
    channels_last: bool = True  # on CUDA (and on the CPU with cpu_too)
    cpu_too: bool = False  # apply bf16 and channels_last on the CPU as well (tests exercise the CUDA path)
    compile: bool = False  # torch.compile the model (CUDA graphs with compile_mode "reduce-overhead")
    compile_mode: str = "default"
    checkpoint_dir: str = "runs/default"
    checkpoint_every: int = 500
    log_every: int = 50
    # Learning curve: every curve_every steps (0: never) the model is scored on this evaluation set
    # (`fxr-forensic data evaluation-set`, held-out sources) into <checkpoint_dir>/curve.jsonl.
    curve_set: str = ""
    curve_every: int = 0
    seed: int = 0  # model initialisation


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    # The BI sampler's knobs, [sampler] in the file (data.source "bi"; the GPU sampler draws alpha blends only).
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Raise ValueError for settings that cannot train."""
        from facexray_forensics.model.registry import list_models

        from facexray_forensics.model.facexray import CLASS_HEADS

        if self.model.name not in list_models():
            raise ValueError(f"model.name {self.model.name!r} is not one of {list_models()}")
        if self.model.class_head not in CLASS_HEADS:
            raise ValueError(f"model.class_head must be one of {CLASS_HEADS}, got {self.model.class_head!r}")
        if self.model.pretrained and self.model.init:
            raise ValueError("model.pretrained and model.init are two starting points; give one")
        if self.model.frozen_trunk_layers < 0:
            raise ValueError(f"model.frozen_trunk_layers must be >= 0, got {self.model.frozen_trunk_layers}")
        if self.run.curve_every < 0 or (self.run.curve_every and not self.run.curve_set):
            raise ValueError("run.curve_every needs run.curve_set, an evaluation-set directory")
        if self.data.source not in ("synthetic", "bi", "gpu"):
            raise ValueError(f"data.source must be 'synthetic', 'bi' or 'gpu', got {self.data.source!r}")
        if self.data.source == "gpu" and self.sampler != SamplerConfig():
            raise ValueError("[sampler] settings apply to data.source 'bi'; the GPU sampler has its own defaults")
        if self.data.source != "synthetic" and not self.data.index:
            raise ValueError(f"data.source {self.data.source!r} needs data.index, a face index directory")
        if self.data.image_size < 32 or self.data.image_size % 32:
            raise ValueError(f"data.image_size must be a multiple of 32, got {self.data.image_size}")
        if self.optim.total_steps < 1 or not 0.0 <= self.optim.decay_fraction <= 1.0:
            raise ValueError("optim.total_steps must be >= 1 and optim.decay_fraction in [0, 1]")
        if self.optim.learning_rate <= 0 or self.run.batch_size < 1:
            raise ValueError("optim.learning_rate must be > 0 and run.batch_size >= 1")
        if self.run.checkpoint_every < 1 or self.run.log_every < 1:
            raise ValueError("run.checkpoint_every and run.log_every must be >= 1")


def _section(cls, values: dict, name: str):
    if not isinstance(values, dict):
        raise ValueError(f"[{name}] must be a table")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
    converted = {}
    for key, value in values.items():
        default = getattr(cls(), key)
        if isinstance(default, tuple):
            value = tuple(value)
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default):
            raise ValueError(f"[{name}] {key} must be {type(default).__name__}, got {value!r}")
        converted[key] = value
    return cls(**converted)


def config_from_dict(data: dict) -> TrainConfig:
    """Build and validate a config from a parsed TOML document."""
    sections = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
    unknown = set(data) - set(sections)
    if unknown:
        raise ValueError(f"unknown section(s): {', '.join(sorted(unknown))}")
    classes = {"model": ModelConfig, "data": DataConfig, "loss": LossConfig, "sampler": SamplerConfig,
               "optim": OptimConfig, "run": RunConfig}
    config = TrainConfig(**{name: _section(cls, data.get(name, {}), name) for name, cls in classes.items()})
    config.validate()
    return config


def load_config(path: str | Path) -> TrainConfig:
    """Read a TOML training config. Relative paths in it stay relative to the working directory."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: {error}") from error
    return config_from_dict(data)
