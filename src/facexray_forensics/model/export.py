"""Export: turn a training checkpoint into a shippable weights directory, calibrated on held-out faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facexray_forensics.data.sets import EvaluationSet, alpha_blended, poisson_blended


def held_out_margins(predictor, item: EvaluationSet) -> tuple[np.ndarray, np.ndarray]:
    """Logit margins and labels over the alpha-blended, Poisson-blended and real faces of ``item``."""
    blended = [predictor.margins(images)[1] for images, _ in (alpha_blended(item), poisson_blended(item))]
    real = predictor.margins(np.ascontiguousarray(item.real))[1]
    margins = np.concatenate(blended + [real])
    labels = np.concatenate([np.ones(sum(len(m) for m in blended), np.int64), np.zeros(len(real), np.int64)])
    return margins, labels


def export_model(checkpoint: str | Path, directory: str | Path, calibration_set: EvaluationSet,
                 method: str = "isotonic", notes: dict | None = None, device: str = "cpu",
                 mirror_average: bool = False):
    """Save a checkpoint's model with a calibration and band edges fitted on ``calibration_set``.

    The calibration set must be held out from training and should be
    disjoint from the set the model card's evaluation table comes from. With ``mirror_average``
    the card has each crop scored with its mirror image, and the calibration is fitted on that.
    Returns the written :class:`~facexray_forensics.model.ModelCard`.
    """
    from facexray_forensics.model import LoadedModel, ModelCard, Predictor, save_weights
    from facexray_forensics.model.calibration import calibrate
    from facexray_forensics.train.checkpoint import load_checkpoint, model_from_checkpoint

    from facexray_forensics.faces.extract import CropGeometry

    payload = load_checkpoint(checkpoint)
    config = payload["config"]
    model = model_from_checkpoint(checkpoint)
    card = ModelCard(
        architecture=model.architecture,
        class_head=model.class_head_kind,
        geometry=CropGeometry(size=config["data"]["image_size"], scale=config["data"].get("crop_scale", 1.3)),
        mirror_average=mirror_average,
    )
    predictor = Predictor(LoadedModel(model, card, "unsaved", Path(checkpoint).parent), device)
    margins, labels = held_out_margins(predictor, calibration_set)
    card.calibration, card.thresholds = calibrate(margins, labels, method)
    card.notes = dict(notes or {})
    training = card.notes.setdefault("training", {})
    # Cumulative over every chunk: a chunk that continued from shipped weights adds to their count.
    prior = payload.get("prior_training") or {}
    training["steps_this_chunk"] = int(payload["step"])
    chunk_samples = int(payload["step"]) * config["run"]["batch_size"] * int(payload["world_size"])
    training["samples_seen"] = int(prior.get("samples_seen", 0)) + chunk_samples
    training["train_seconds"] = round(float(prior.get("train_seconds", 0.0)) + float(payload.get("train_seconds", 0.0)), 1)
    if prior.get("continued_from"):
        training["continued_from_card_sha256"] = prior["continued_from"]
    card.notes["calibration_set"] = {"blended": int(labels.sum()), "real": int((labels == 0).sum()), "method": method}
    return save_weights(model.cpu(), directory, card)

