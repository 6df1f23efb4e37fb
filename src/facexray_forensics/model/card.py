"""The human-readable side of a weights directory: notes and evaluation merged into the card, and MODEL_CARD.md.

The JSON card (``model_card.json``) is what the loader verifies and the
custody log names by its SHA-256; ``MODEL_CARD.md`` is rendered from it, so
the two never disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

from facexray_forensics.custody import file_sha256
from facexray_forensics.model.weight_files import CARD_NAME, ModelCard

MARKDOWN_NAME = "MODEL_CARD.md"
_PERCENT_KEYS = ("auc", "ap", "eer", "tpr_at_1pct_fpr", "pixel_auc", "iou")


def update_card(directory: str | Path, notes: dict | None = None, evaluation: dict | None = None) -> ModelCard:
    """Merge ``notes`` (top-level keys replace) and an ``evaluate`` report into the card's notes.

    The weights files and their hashes are untouched; the card file, and so
    the model's SHA-256 as the scan records it, changes. Returns the new card.
    """
    path = Path(directory) / CARD_NAME
    card = ModelCard.from_dict(json.loads(path.read_text()))
    card.notes.update(notes or {})
    if evaluation is not None:
        card.notes["evaluation"] = evaluation
    path.write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    return card


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


_WEIGHTING_TEXT = {
    "equal": "blended and real faces weighted equally (the probability is for even prior odds)",
    "as_sampled": "every face weighted alike (the calibration set's blended:real mix is built in as a prior)",
}


def render_markdown(card: ModelCard, card_sha256: str) -> str:
    """The model card as Markdown: identity, notes, calibration, bands, evaluation table and file hashes."""
    lines = [f"# Model card: {card.architecture}", "", f"Card SHA-256 (the model's identity in scans): `{card_sha256}`", ""]
    notes = dict(card.notes)
    evaluation = notes.pop("evaluation", None)
    for key, value in notes.items():
        title = key.replace("_", " ").capitalize()
        if isinstance(value, dict):
            lines += [f"## {title}", ""] + [f"- **{name.replace('_', ' ')}**: {_value(item)}" for name, item in value.items()] + [""]
        else:
            lines += [f"## {title}", "", _value(value), ""]
    geometry = card.geometry
    lines += [
        "## Input",
        "",
        f"{geometry.size}×{geometry.size} RGB crops, a square {geometry.scale:g}× the landmark extent, "
        f"{geometry.normalisation} normalisation; each crop "
        + ("scored with its mirror image and the two averaged." if card.mirror_average else "scored once."),
        "",
    ]
    thresholds = card.thresholds.to_dict()
    lines += [
        "## Calibration and bands",
        "",
        f"Calibration: {card.calibration.method}, {_WEIGHTING_TEXT[card.calibration.class_weighting]}.",
        "",
        "| band starts at | calibrated probability |",
        "|---|---|",
    ]
    lines += [f"| {band} | {_value(thresholds[band])} |" for band in ("inconclusive", "moderate", "strong")]
    lines.append("")
    if evaluation:
        lines += [
            "## Held-out evaluation (`fxr-forensic model evaluate`, values in %)",
            "",
            "| test set | blended / real | AUC | AP | EER | TPR @ 1% FPR | X-ray pixel AUC | X-ray IoU @ 0.5 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, row in evaluation.get("rows", {}).items():
            cells = " | ".join(f"{100 * row[key]:.2f}" for key in _PERCENT_KEYS)
            lines.append(f"| {name} | {row['blended']} / {row['real']} | {cells} |")
        lines.append("")
    lines += ["## Files", "", "| file | SHA-256 |", "|---|---|"]
    lines += [f"| {name} | `{digest}` |" for name, digest in sorted(card.files.items())]
    return "\n".join(lines) + "\n"


def write_markdown(directory: str | Path) -> Path:
    """Render ``MODEL_CARD.md`` beside the card in ``directory`` and return its path."""
    directory = Path(directory)
    card = ModelCard.from_dict(json.loads((directory / CARD_NAME).read_text()))
    path = directory / MARKDOWN_NAME
    path.write_text(render_markdown(card, file_sha256(directory / CARD_NAME)))
    return path
