"""Turn a training checkpoint into a shippable weights directory, calibrated on held-out faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facexray_forensics.evaluation.sets import EvaluationSet, alpha_blended, poisson_blended


def held_out_margins(predictor, item: EvaluationSet) -> tuple[np.ndarray, np.ndarray]:
    """Logit margins and labels over the alpha-blended, Poisson-blended and real faces of ``item``."""
    blended = [predictor.margins(images)[1] for images, _ in (alpha_blended(item), poisson_blended(item))]
    real = predictor.margins(np.ascontiguousarray(item.real))[1]
    margins = np.concatenate(blended + [real])
    labels = np.concatenate([np.ones(sum(len(m) for m in blended), np.int64), np.zeros(len(real), np.int64)])
    return margins, labels


def export_model(checkpoint: str | Path, directory: str | Path, calibration_set: EvaluationSet,
                 method: str = "isotonic", notes: dict | None = None, device: str = "cpu"):
    """Save a checkpoint's model with a calibration and band edges fitted on ``calibration_set``.

    The calibration set must be held out from training and should be
    disjoint from the set the model card's evaluation table comes from.
    Returns the written :class:`~facexray_forensics.model.ModelCard`.
    """
    from facexray_forensics.model import LoadedModel, ModelCard, Predictor, save_weights
    from facexray_forensics.model.calibration import calibrate
    from facexray_forensics.train.checkpoint import load_checkpoint, model_from_checkpoint

    payload = load_checkpoint(checkpoint)
    architecture = payload["config"]["model"]["name"]
    model = model_from_checkpoint(checkpoint)
    predictor = Predictor(LoadedModel(model, ModelCard(architecture), "unsaved", Path(checkpoint).parent), device)
    margins, labels = held_out_margins(predictor, calibration_set)
    calibration, thresholds = calibrate(margins, labels, method)
    card_notes = dict(notes or {})
    card_notes.setdefault("training", {})["steps"] = int(payload["step"])
    card_notes["calibration_set"] = {"blended": int(labels.sum()), "real": int((labels == 0).sum()), "method": method}
    return save_weights(model.cpu(), directory, ModelCard(architecture, calibration, thresholds, notes=card_notes))

