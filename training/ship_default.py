"""Turn a training checkpoint into the shipped default model, if it beats the one shipped.

Usage: python training/ship_default.py CHECKPOINT NOTES_JSON [--force]

1. export: calibration and band edges fitted on the held-out calibration set, each crop scored
   with its mirror image and the two averaged (measured on the shipped chunk-3 weights: held-out
   class AUC +0.03 alpha, +0.12 Poisson, +0.7 and +0.8 on their H.264 CRF 30 rows);
2. evaluate on the held-out evaluation set, every blend and degradation row;
3. compare with the shipped default's card: replace it only when the held-out
   class AUC (alpha and Poisson, undegraded) is no worse on both and better on one;
4. record the sample evidence's reference scores (what the packaged-model test
   checks), merge the notes and the evaluation into the card, render MODEL_CARD.md.

The sets are those of training/README.md (local/calib128, local/eval128).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "src" / "facexray_forensics" / "model" / "weights" / "default"
CALIBRATION_SET = ROOT / "local" / "calib128"
EVALUATION_SET = ROOT / "local" / "eval128"
SPLIT = ROOT / "training" / "splits" / "shared_data.json"
CANDIDATE = ROOT / "local" / "candidate"
HEADLINE_ROWS = ("alpha-blended BI", "Poisson-blended")


def fxr(*arguments: str) -> None:
    subprocess.run([str(ROOT / ".venv" / "bin" / "fxr-forensic"), *arguments], check=True)


def headline(card_path: Path) -> tuple[float, ...] | None:
    """The undegraded class AUCs a card's evaluation reports, or None without one."""
    if not card_path.is_file():
        return None
    rows = json.loads(card_path.read_text())["notes"].get("evaluation", {}).get("rows", {})
    return tuple(rows[name]["auc"] for name in HEADLINE_ROWS) if all(n in rows for n in HEADLINE_ROWS) else None


def reference_scores(directory: Path) -> dict[str, float]:
    """The default model's highest face probability on each scored sample image."""
    from facexray_forensics.evidence import DecodeLimits, FileSource
    from facexray_forensics.faces.extract import DetectionSettings, FaceExtractor
    from facexray_forensics.model import Predictor, load_weights
    from facexray_forensics.samples import SAMPLES, evidence_dir

    loaded = load_weights(directory)
    predictor = Predictor(loaded)
    extractor = FaceExtractor(DetectionSettings(), loaded.card.geometry)
    scores = {}
    for name, (_, _, status) in sorted(SAMPLES.items()):
        if status != "scored":
            continue
        item = next(FileSource([evidence_dir() / name]).items())
        crops = [crop.aligned.crop for frame in extractor.item_faces(item, DecodeLimits()) for crop in frame.crops]
        scores[name] = round(float(max(predictor.predict(np.stack(crops))[1])), 6)
    return scores


def main(checkpoint: str, notes_file: str, force: bool) -> None:
    shutil.rmtree(CANDIDATE, ignore_errors=True)
    fxr("model", "export", checkpoint, str(CANDIDATE), "--calibration-set", str(CALIBRATION_SET), "--split", str(SPLIT),
        "--notes", notes_file, "--mirror-average")
    fxr("model", "evaluate", str(EVALUATION_SET), "--model", str(CANDIDATE), "--split", str(SPLIT),
        "--out", str(CANDIDATE / "evaluation"))
    fxr("model", "card", str(CANDIDATE), "--evaluation", str(CANDIDATE / "evaluation" / "evaluation.json"))
    new, old = headline(CANDIDATE / "model_card.json"), headline(DEFAULT / "model_card.json")
    print(f"held-out class AUC (alpha, Poisson): candidate {new}, shipped {old}")
    better = old is None or (all(n >= o for n, o in zip(new, old)) and any(n > o for n, o in zip(new, old)))
    if not (better or force):
        print("not shipped: the candidate does not beat the shipped default")
        return
    notes = {"reference_prediction": {"sample_evidence_max_probability": reference_scores(CANDIDATE)}}
    (CANDIDATE / "reference.json").write_text(json.dumps(notes))
    fxr("model", "card", str(CANDIDATE), "--notes", str(CANDIDATE / "reference.json"))
    shutil.rmtree(DEFAULT, ignore_errors=True)
    DEFAULT.mkdir(parents=True)
    for path in CANDIDATE.iterdir():
        if path.is_file() and path.suffix in (".safetensors", ".json", ".md") and path.name != "reference.json":
            shutil.copy2(path, DEFAULT / path.name)
    print(f"shipped to {DEFAULT}")


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--force"]
    if len(arguments) != 2:
        sys.exit(__doc__)
    main(*arguments, force="--force" in sys.argv)
