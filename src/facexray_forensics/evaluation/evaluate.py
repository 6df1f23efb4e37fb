"""Evaluate a model on held-out test sets; results laid out like the paper's Table 7.

Each row pits one blended test set (alpha-blended BI, Poisson-blended,
Laplacian-blended), undegraded or degraded (JPEG, H.264, down-up scaling),
against the held-out real faces degraded the same way, so that no row can be
told apart by its compression alone: class AUC, AP, EER and TPR at 1% FPR of
the model's score, and the X-ray's pixel AUC and IoU at 0.5 (over the blended
and real faces of the row). A row "all blended" pools the undegraded blended
sets against the undegraded real faces. Ranking metrics use the raw logit
margin, which every calibration maps monotonically, so they describe the
network itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facexray_forensics.data.sets import BLENDS, DEGRADATIONS, EvaluationSet, blended_sets, degradation
from facexray_forensics.model.metrics import class_metrics, xray_metrics

ALL_BLENDED = "all blended"

_COLUMNS = (
    ("auc", "AUC"),
    ("ap", "AP"),
    ("eer", "EER"),
    ("tpr_at_1pct_fpr", "TPR @ 1% FPR"),
    ("pixel_auc", "X-ray pixel AUC"),
    ("iou", "X-ray IoU @ 0.5"),
)


def score_row(
    blended: tuple[np.ndarray, np.ndarray, np.ndarray], real: tuple[np.ndarray, np.ndarray], pixel_stride: int = 1
) -> dict:
    """Metrics of one blended set against real faces.

    ``blended`` is (margins N, true X-rays N×H×W, predicted X-rays N×H×W);
    ``real`` is (margins M, predicted X-rays M×H×W).
    """
    margins, true_xrays, predicted_xrays = blended
    real_margins, real_xrays = real
    labels = np.concatenate([np.ones(len(margins), np.int64), np.zeros(len(real_margins), np.int64)])
    return {
        "blended": int(len(margins)),
        "real": int(len(real_margins)),
        **class_metrics(labels, np.concatenate([margins, real_margins])),
        **xray_metrics(np.concatenate([true_xrays, np.zeros_like(real_xrays)]),
                       np.concatenate([predicted_xrays, real_xrays]), stride=pixel_stride),
    }


def score_rows(
    blended: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    real: dict[str, tuple[np.ndarray, np.ndarray]],
    pixel_stride: int = 1,
) -> dict[str, dict]:
    """:func:`score_row` of each blended set against the real faces' outputs ``real`` gives under the same name."""
    return {name: score_row(outputs, real[name], pixel_stride) for name, outputs in blended.items()}


def row_name(blend: str, degradation_name: str) -> str:
    """A report row's name: the blend set's, then the degradation's label unless there is none."""
    label = degradation(degradation_name).label
    return f"{blend} · {label}" if label else blend


def _model_outputs(predictor, item: EvaluationSet, degradations, progress: bool):
    """The model's outputs per report row, as :func:`score_rows` takes them (blended, real).

    The real faces go through the model once per degradation; every row of
    that degradation is scored against them.
    """
    from tqdm import tqdm

    for degradation_name in degradations:
        degradation(degradation_name)  # fail on an unknown name before the slow blends and model runs
    sets = blended_sets(item)
    blended, real = {}, {}
    for degradation_name in tqdm(degradations, desc="evaluate", unit="degradation", disable=not progress):
        degrade = degradation(degradation_name).apply
        real_xrays, real_margins = predictor.margins(degrade(np.ascontiguousarray(item.real)))
        for blend, (images, true_xrays) in sets.items():
            predicted_xrays, margins = predictor.margins(degrade(images))
            row = row_name(blend, degradation_name)
            blended[row] = (margins, true_xrays, predicted_xrays)
            real[row] = (real_margins, real_xrays)
    return blended, real


def evaluate(predictor, item: EvaluationSet, pixel_stride: int = 4, progress: bool = True,
             degradations=tuple(DEGRADATIONS)) -> dict:
    """Run ``predictor`` (a :class:`~facexray_forensics.model.Predictor`) on the test sets of ``item``.

    ``degradations`` names the keys of :data:`~facexray_forensics.data.sets.DEGRADATIONS`
    to report (default: all, "none" included); each gives one row per blended set.
    """
    blended, real = _model_outputs(predictor, item, degradations, progress)
    rows = score_rows(blended, real, pixel_stride)
    if "none" in degradations:
        pooled = tuple(np.concatenate([blended[blend][i] for blend in BLENDS]) for i in range(3))
        # Dict merging keeps a key's first position: the pooled row follows the undegraded ones.
        rows = {**{blend: rows[blend] for blend in BLENDS},
                ALL_BLENDED: score_row(pooled, real[BLENDS[0]], pixel_stride), **rows}
    return {
        "model_sha256": predictor.model_sha256,
        "architecture": predictor.card.architecture,
        "pixel_stride": pixel_stride,
        "degradations": list(degradations),
        "rows": rows,
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
