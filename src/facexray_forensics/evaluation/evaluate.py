"""Evaluate a model on held-out test sets; results laid out like the paper's Table 7.

Each row pits one blended test set against the same held-out real faces:
class AUC, AP, EER and TPR at 1% FPR of the model's score, and the X-ray's
pixel AUC and IoU at 0.5 (over the blended and real faces of the row).
Ranking metrics use the raw logit margin, which every calibration maps
monotonically, so they describe the network itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facexray_forensics.evaluation.metrics import class_metrics, xray_metrics
from facexray_forensics.evaluation.sets import ALPHA, POISSON, EvaluationSet, alpha_blended, poisson_blended

_COLUMNS = (
    ("auc", "AUC"),
    ("ap", "AP"),
    ("eer", "EER"),
    ("tpr_at_1pct_fpr", "TPR @ 1% FPR"),
    ("pixel_auc", "X-ray pixel AUC"),
    ("iou", "X-ray IoU @ 0.5"),
)


def score_rows(
    blended: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    real: tuple[np.ndarray, np.ndarray],
    pixel_stride: int = 1,
) -> dict[str, dict]:
    """Metrics per blended set against the real faces.

    ``blended`` maps a set name to (margins N, true X-rays N×H×W, predicted
    X-rays N×H×W); ``real`` is (margins M, predicted X-rays M×H×W). A row
    "all blended" pools every set when there are several.
    """
    real_margins, real_xrays = real
    rows = {}
    pooled = dict(blended)
    if len(blended) > 1:
        pooled["all blended"] = tuple(np.concatenate([parts[i] for parts in blended.values()]) for i in range(3))
    for name, (margins, true_xrays, predicted_xrays) in pooled.items():
        labels = np.concatenate([np.ones(len(margins), np.int64), np.zeros(len(real_margins), np.int64)])
        scores = np.concatenate([margins, real_margins])
        truth = np.concatenate([true_xrays, np.zeros_like(real_xrays)])
        predicted = np.concatenate([predicted_xrays, real_xrays])
        rows[name] = {
            "blended": int(len(margins)),
            "real": int(len(real_margins)),
            **class_metrics(labels, scores),
            **xray_metrics(truth, predicted, stride=pixel_stride),
        }
    return rows


def evaluate(predictor, item: EvaluationSet, pixel_stride: int = 4, progress: bool = True) -> dict:
    """Run ``predictor`` (a :class:`~facexray_forensics.model.Predictor`) on the three test sets of ``item``."""
    from tqdm import tqdm

    sets = {ALPHA: alpha_blended(item), POISSON: poisson_blended(item)}
    outputs = {}
    for name, (images, true_xrays) in tqdm(sets.items(), desc="evaluate", disable=not progress):
        predicted_xrays, margins = predictor.margins(images)
        outputs[name] = (margins, true_xrays, predicted_xrays)
    real_xrays, real_margins = predictor.margins(np.ascontiguousarray(item.real))
    return {
        "model_sha256": predictor.model_sha256,
        "architecture": predictor.card.architecture,
        "pixel_stride": pixel_stride,
        "rows": score_rows(outputs, (real_margins, real_xrays), pixel_stride),
    }


def _cell(value) -> str:
    return "n/a" if value is None else f"{100.0 * value:.2f}"


def markdown_table(report: dict) -> str:
    """The report as a Markdown table (percentages), in the layout of the paper's Table 7."""
    header = "| Test set | Blended / real | " + " | ".join(title for _, title in _COLUMNS) + " |"
    rule = "|" + "---|" * (len(_COLUMNS) + 2)
    lines = [header, rule]
    for name, row in report["rows"].items():
        cells = " | ".join(_cell(row[key]) for key, _ in _COLUMNS)
        lines.append(f"| {name} | {row['blended']} / {row['real']} | {cells} |")
    lines.append("")
    lines.append(
        f"Model {report['architecture']}, SHA-256 {report['model_sha256']}. All values in %; "
        f"EER lower is better. X-ray metrics threshold both maps at 0.5 (pixel stride {report['pixel_stride']})."
    )
    return "\n".join(lines) + "\n"


def write_report(report: dict, directory: str | Path) -> tuple[Path, Path]:
    """Write ``evaluation.json`` and ``evaluation.md`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = directory / "evaluation.json", directory / "evaluation.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    markdown_path.write_text(markdown_table(report))
    return json_path, markdown_path
