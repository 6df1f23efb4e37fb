"""The Face X-ray model: HRNetV2 backbone, X-ray and class heads, weights I/O, calibration and inference.

Public surface::

    create(name="hrnet_w18", features_only=False, init=None), list_models()
    FaceXray, HRNet
    ModelCard, save_weights(model, directory, card), load_weights(directory) -> LoadedModel
    Calibration, fit_temperature, fit_isotonic, BandThresholds, fit_band_thresholds
    Predictor(loaded, device), default_model_dir()
"""

from facexray_forensics.model.calibration import (
    BandThresholds,
    Calibration,
    fit_band_thresholds,
    fit_isotonic,
    fit_temperature,
)
from facexray_forensics.model.facexray import FaceXray
from facexray_forensics.model.hrnet import HRNet
from facexray_forensics.model.predictor import Predictor
from facexray_forensics.model.registry import create, list_models
from facexray_forensics.model.weight_files import LoadedModel, ModelCard, default_model_dir, load_weights, save_weights

__all__ = [
    "BandThresholds",
    "Calibration",
    "FaceXray",
    "HRNet",
    "LoadedModel",
    "ModelCard",
    "Predictor",
    "create",
    "default_model_dir",
    "fit_band_thresholds",
    "fit_isotonic",
    "fit_temperature",
    "list_models",
    "load_weights",
    "save_weights",
]
