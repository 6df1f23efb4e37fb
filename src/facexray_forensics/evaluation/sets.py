"""Held-out evaluation material: blend pairs and real faces on disk, and the three test sets made from them.

An evaluation-set directory holds

- ``foreground.npy``, ``background.npy``: N×H×W×3 uint8 aligned crops of
  faces from different held-out sources;
- ``mask.npy``: N×H×W float32, the final blending mask M of each pair (after
  the sampler's deformation, blur and softening), in [0, 1];
- ``blended.npy``: N×H×W×3 uint8, the BI sampler's blend of each pair through
  M (Eq. 1, after its colour correction of the foreground);
- ``real.npy``: M×H×W×3 uint8 real held-out faces;
- ``manifest.json``: the source ids of every pair and real face, so the
  evaluation can prove they are all held out.

From one such directory come three test sets (paper §5, Table 7 layout):
alpha-blended BI (the sampler's blends, X-ray by Eq. 2 of M), Poisson-blended
(``cv2.seamlessClone`` of the same pairs through the same masks, binarised at
0.5) and the real faces (X-ray all zero).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SET_FORMAT = 1
ALPHA = "alpha-blended BI"
POISSON = "Poisson-blended"
REAL = "real"


@dataclass
class EvaluationSet:
    foreground: np.ndarray
    background: np.ndarray
    mask: np.ndarray
    blended: np.ndarray
    real: np.ndarray
    pair_sources: list[tuple[str, str]]  # (foreground source, background source) per pair
    real_sources: list[str]

    def sources(self) -> set[str]:
        return {s for pair in self.pair_sources for s in pair} | set(self.real_sources)


def _validate(item: EvaluationSet) -> None:
    n = len(item.foreground)
    if item.foreground.dtype != np.uint8 or item.background.dtype != np.uint8 or item.real.dtype != np.uint8:
        raise TypeError("foreground, background and real crops must be uint8")
    if item.foreground.ndim != 4 or item.foreground.shape[-1] != 3 or item.background.shape != item.foreground.shape:
        raise ValueError(f"foreground and background must be N×H×W×3 of one shape, got {item.foreground.shape} and {item.background.shape}")
    if item.blended.shape != item.foreground.shape or item.blended.dtype != np.uint8:
        raise ValueError(f"blended must be N×H×W×3 uint8 like the pairs, got {item.blended.shape} {item.blended.dtype}")
    if item.mask.shape != item.foreground.shape[:3]:
        raise ValueError(f"mask must be N×H×W {item.foreground.shape[:3]}, got {item.mask.shape}")
    if item.real.ndim != 4 or item.real.shape[1:] != item.foreground.shape[1:]:
        raise ValueError(f"real crops must be M×H×W×3 like the pairs, got {item.real.shape}")
    if len(item.pair_sources) != n or len(item.real_sources) != len(item.real):
        raise ValueError("the manifest must name the sources of every pair and every real face")
    if n == 0 or len(item.real) == 0:
        raise ValueError("an evaluation set needs at least one pair and one real face")
    for foreground_source, background_source in item.pair_sources:
        if foreground_source == background_source:
            raise ValueError(f"pair blends source {foreground_source!r} with itself")


def evaluation_set_from_index(
    index_dir: str | Path, sources, pairs: int, reals: int, seed: int = 0, progress: bool = True
) -> EvaluationSet:
    """Draw ``pairs`` blends and ``reals`` real faces from the given (held-out) sources of a face index.

    Uses the BI sampler without augmentation, so the test sets differ only in
    how they blend: the stored mask is the sampler's softened mask M, the
    crops are the untouched foreground and background faces.
    """
    from tqdm import tqdm

    from facexray_forensics.blending.sampler import BlendSampler

    if pairs < 1 or reals < 1:
        raise ValueError(f"need at least one pair and one real face, got {pairs} and {reals}")
    sampler = BlendSampler(index_dir, sources=sorted(sources))
    foregrounds, backgrounds, masks, blends, pair_sources, real_faces, real_sources = [], [], [], [], [], [], []
    for number in tqdm(range(pairs + reals), desc="evaluation set", unit="sample", disable=not progress):
        label = int(number < pairs)
        record = sampler.draw(np.random.default_rng([seed, number]), label=label, augment=False)
        if label:
            foregrounds.append(_to_uint8(record.foreground))
            backgrounds.append(_to_uint8(record.background))
            masks.append(record.softened)
            blends.append(record.image)
            pair_sources.append((record.params["foreground_source"], record.params["background_source"]))
        else:
            real_faces.append(record.image)
            real_sources.append(record.params["background_source"])
    return EvaluationSet(np.stack(foregrounds), np.stack(backgrounds), np.stack(masks).astype(np.float32),
                         np.stack(blends), np.stack(real_faces), pair_sources, real_sources)


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8)


def write_evaluation_set(directory: str | Path, item: EvaluationSet) -> None:
    """Write an evaluation set (see the module docstring)."""
    _validate(item)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "foreground.npy", item.foreground)
    np.save(directory / "background.npy", item.background)
    np.save(directory / "mask.npy", item.mask.astype(np.float32))
    np.save(directory / "blended.npy", item.blended)
    np.save(directory / "real.npy", item.real)
    manifest = {
        "format": SET_FORMAT,
        "pairs": [{"foreground": f, "background": b} for f, b in item.pair_sources],
        "reals": list(item.real_sources),
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def read_evaluation_set(directory: str | Path) -> EvaluationSet:
    """Read an evaluation set, memory-mapped; ValueError when files are missing or disagree."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                  for name in ("foreground", "background", "mask", "blended", "real")}
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{directory} is not a readable evaluation set: {error}") from error
    if manifest.get("format") != SET_FORMAT:
        raise ValueError(f"{directory}/manifest.json is not of format {SET_FORMAT}")
    item = EvaluationSet(
        arrays["foreground"], arrays["background"], arrays["mask"], arrays["blended"], arrays["real"],
        [(p["foreground"], p["background"]) for p in manifest["pairs"]], list(manifest["reals"]),
    )
    _validate(item)
    return item


def alpha_blended(item: EvaluationSet) -> tuple[np.ndarray, np.ndarray]:
    """The BI sampler's blends of the pairs (uint8) and their X-rays by Eq. 2 of M (float32)."""
    from facexray_forensics import ops

    mask = np.ascontiguousarray(item.mask, dtype=np.float32)[..., None]
    return np.asarray(item.blended), np.asarray(ops.face_xray(mask), dtype=np.float32)[..., 0]


def poisson_blended(item: EvaluationSet) -> tuple[np.ndarray, np.ndarray]:
    """Poisson blends (``cv2.seamlessClone``, normal clone) of the pairs through their masks binarised at 0.5.

    The true X-ray is Eq. 2 of the binary mask after the usual 3×3 softening.
    The mask's outermost pixel ring is cleared, since seamlessClone needs its
    region inside the image.
    """
    import cv2

    from facexray_forensics import ops

    binary = (np.asarray(item.mask) >= 0.5).astype(np.uint8)
    binary[:, [0, -1], :] = 0
    binary[:, :, [0, -1]] = 0
    images = np.empty_like(np.asarray(item.background))
    for index in range(len(binary)):
        background = np.ascontiguousarray(item.background[index])
        if not binary[index].any():
            images[index] = background
            continue
        x, y, width, height = cv2.boundingRect(binary[index])
        centre = (x + width // 2, y + height // 2)
        images[index] = cv2.seamlessClone(
            np.ascontiguousarray(item.foreground[index]), background, binary[index] * 255, centre, cv2.NORMAL_CLONE
        )
    softened = ops.soften_mask(binary.astype(np.float32)[..., None])
    return images, np.asarray(ops.face_xray(softened), dtype=np.float32)[..., 0]
