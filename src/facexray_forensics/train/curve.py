"""Learning curves: held-out quality against samples seen, recorded while training.

Every ``run.curve_every`` steps the model is scored on a fixed evaluation set
of held-out sources (alpha- and Poisson-blended pairs against real faces) and
one JSON line is appended to ``curve.jsonl``: step, samples seen, training
seconds so far (wall clock, and CPU of the training process), class AUC per
blend method and the X-ray's pixel AUC. The blends are made once, up front,
so every point of a run, and every run on the same set, sees the same images.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from facexray_forensics.model.metrics import class_metrics, xray_metrics

# Pixel stride of the X-ray metrics: every 4th pixel each way is plenty for a pixel AUC.
_PIXEL_STRIDE = 4


class LearningCurve:
    """Score a model on one held-out set, again and again, into a JSON-lines file."""

    def __init__(self, evaluation_dir: str | Path, path: str | Path, device: torch.device, batch_size: int = 64) -> None:
        from facexray_forensics.data.sets import alpha_blended, poisson_blended, read_evaluation_set

        item = read_evaluation_set(evaluation_dir)
        self.sets = {"alpha": alpha_blended(item), "poisson": poisson_blended(item)}
        self.real = np.ascontiguousarray(item.real)
        self.path = Path(path)
        self.device = device
        self.batch_size = batch_size
        self.started = time.monotonic()
        self.cpu_started = time.process_time()
        self.spent = 0.0  # wall seconds spent scoring, left out of the training time
        self.cpu_spent = 0.0

    def _outputs(self, model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xrays, margins = [], []
        for start in range(0, len(images), self.batch_size):
            batch = torch.from_numpy(np.array(images[start:start + self.batch_size]))  # a copy: sets are read-only memmaps
            batch = batch.to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
            xray, logits = model(batch)
            xrays.append(xray[:, 0].float().cpu().numpy())
            margins.append((logits[:, 1] - logits[:, 0]).double().cpu().numpy())
        return np.concatenate(xrays), np.concatenate(margins)

    def score(self, model) -> dict:
        """Class AUC per blend method, and the pixel AUC over all of them, of ``model`` now."""
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                real_xrays, real_margins = self._outputs(model, self.real)
                scores: dict = {}
                truths, predictions = [np.zeros_like(real_xrays)], [real_xrays]
                for name, (images, true_xrays) in self.sets.items():
                    xrays, margins = self._outputs(model, images)
                    labels = np.r_[np.ones(len(margins)), np.zeros(len(real_margins))]
                    scores[f"{name}_auc"] = class_metrics(labels, np.r_[margins, real_margins])["auc"]
                    truths.append(true_xrays)
                    predictions.append(xrays)
                scores["pixel_auc"] = xray_metrics(np.concatenate(truths), np.concatenate(predictions),
                                                   stride=_PIXEL_STRIDE)["pixel_auc"]
        finally:
            model.train(was_training)
        return scores

    def record(self, model, step: int, samples: int, seconds_before: float = 0.0) -> dict:
        """Score ``model`` and append the point; ``seconds_before`` is training time of earlier chunks."""
        scoring_started, scoring_cpu_started = time.monotonic(), time.process_time()
        point = {
            "step": step,
            "samples": samples,
            "train_seconds": round(seconds_before + scoring_started - self.started - self.spent, 1),
            "cpu_seconds": round(scoring_cpu_started - self.cpu_started - self.cpu_spent, 1),
            **{key: round(float(value), 5) for key, value in self.score(model).items()},
        }
        self.spent += time.monotonic() - scoring_started
        self.cpu_spent += time.process_time() - scoring_cpu_started
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(json.dumps(point) + "\n")
        return point
