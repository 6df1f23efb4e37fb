"""Inference on aligned face crops: X-ray maps, calibrated probabilities and bands."""

from __future__ import annotations

import numpy as np
import torch

from facexray_forensics.model.weight_files import LoadedModel
from facexray_forensics.records import Band


class Predictor:
    """Run a verified model on batches of aligned crops.

    ``predict(crops)`` takes N×H×W×3 uint8 RGB crops (of the card's geometry,
    as the faces stage makes them) and returns (X-ray N×H×W float32 in (0, 1), calibrated
    probability N float64). ``model_sha256`` identifies the model for the
    custody log (the SHA-256 of its card, which lists every file's hash).
    The model runs channels_last, the layout the crops already have: its
    convolutions run about 1.3× faster on the CPU that way. A card with
    ``mirror_average`` has each crop scored with its mirror image and the two
    X-rays (the mirror's flipped back) and logit margins averaged.
    """

    def __init__(self, loaded: LoadedModel, device: str | torch.device = "cpu", batch_size: int = 16) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.device = torch.device(device)
        self.model = loaded.model.to(self.device).eval().to(memory_format=torch.channels_last)
        self.card = loaded.card
        self.model_sha256 = loaded.sha256
        self.batch_size = batch_size

    def margins(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs: (X-ray N×H×W float32, logit margin N float64, before calibration)."""
        if not isinstance(crops, np.ndarray):
            raise TypeError(f"crops must be a numpy array, got {type(crops).__name__}")
        if crops.dtype != np.uint8:
            raise TypeError(f"crops must be uint8 RGB, got {crops.dtype}")
        if crops.ndim != 4 or crops.shape[-1] != 3 or min(crops.shape[1:3], default=0) < 32:
            raise ValueError(f"crops must be N×H×W×3 with H, W >= 32, got shape {crops.shape}")
        xrays, margins = [], []
        with torch.inference_mode():
            for start in range(0, len(crops), self.batch_size):
                batch = torch.from_numpy(np.array(crops[start : start + self.batch_size]))  # a copy: crops may be read-only memmaps
                # N×H×W×3 permuted to N×3×H×W is already channels_last in memory.
                batch = batch.to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
                xray, margin = self._outputs(batch)
                xrays.append(xray.cpu().numpy())
                margins.append(margin.cpu().numpy())
        if not xrays:
            return np.zeros((0, *crops.shape[1:3]), np.float32), np.zeros(0, np.float64)
        return np.concatenate(xrays), np.concatenate(margins)

    def _outputs(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """X-rays N×H×W float32 and logit margins N float64 of an N×3×H×W batch."""
        xray, margin = self._one_view(batch)
        if self.card.mirror_average:
            mirrored_xray, mirrored_margin = self._one_view(batch.flip(3))
            xray, margin = (xray + mirrored_xray.flip(2)) / 2, (margin + mirrored_margin) / 2
        return xray, margin

    def _one_view(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xray, logits = self.model(batch)
        return xray[:, 0].float(), (logits[:, 1] - logits[:, 0]).double()

    def predict(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(X-ray N×H×W float32, calibrated probability of "blended" N float64)."""
        xray, margin = self.margins(crops)
        return xray, self.card.calibration.probability(margin)

    def band(self, probability: float) -> Band:
        """The verbal band of a calibrated probability, by the model card's thresholds."""
        return self.card.thresholds.band(probability)
