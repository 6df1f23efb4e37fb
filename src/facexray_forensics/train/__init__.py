"""Training the Face X-ray model: config files, the resumable loop and checkpoints.

Public surface::

    load_config(path) -> TrainConfig
    train(config, source=None, max_minutes=None, max_steps=None) -> TrainResult
    face_xray_loss(...), SyntheticBlends, Batched, BatchSource
    load_checkpoint(path), model_from_checkpoint(path)
"""

from facexray_forensics.train.checkpoint import load_checkpoint, model_from_checkpoint
from facexray_forensics.train.config import TrainConfig, config_from_dict, load_config
from facexray_forensics.train.data import Batched, BatchSource, SyntheticBlends
from facexray_forensics.train.loop import TrainResult, face_xray_loss, train

__all__ = [
    "BatchSource",
    "Batched",
    "SyntheticBlends",
    "TrainConfig",
    "TrainResult",
    "config_from_dict",
    "face_xray_loss",
    "load_checkpoint",
    "load_config",
    "model_from_checkpoint",
    "train",
]
