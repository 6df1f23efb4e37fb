"""Held-out evaluation material: blend pairs and real faces on disk, the test sets made from them, and their degradations.

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

From one such directory come four test sets (paper §5, Table 7 layout):
alpha-blended BI (the sampler's blends, X-ray by Eq. 2 of M), Poisson-blended
(``cv2.seamlessClone`` of the same pairs through the same masks, binarised at
0.5), Laplacian-blended (Burt–Adelson multiband blend of the same pairs
through M, X-ray by Eq. 2 of M) and the real faces (X-ray all zero).

Evidence is rarely a pristine crop, so each set can also be degraded
(:data:`DEGRADATIONS`): JPEG re-encoding at quality 60, 75 or 90, H.264 at
CRF 23 or 30 (the crops as frames of one video), or downscaling by half and
back. A degradation changes the pixels only; the true X-rays stay those of
the blend.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from facexray_forensics.blending.codecs import h264_round_trip

SET_FORMAT = 1
ALPHA = "alpha-blended BI"
POISSON = "Poisson-blended"
LAPLACIAN = "Laplacian-blended"
BLENDS = (ALPHA, POISSON, LAPLACIAN)  # the blended test sets, in report order
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
    """Poisson blends (:func:`~facexray_forensics.blending.methods.poisson_blend`) of the pairs
    through their masks binarised at 0.5 (:func:`~facexray_forensics.blending.methods.poisson_region`).

    The true X-ray is Eq. 2 of that binary region after the usual 3×3 softening.
    """
    from facexray_forensics import ops
    from facexray_forensics.blending.methods import poisson_blend, poisson_region

    binary = poisson_region(item.mask)
    images = np.stack([poisson_blend(f, b, m) for f, b, m in zip(item.foreground, item.background, binary)])
    softened = ops.soften_mask(binary.astype(np.float32)[..., None])
    return images, np.asarray(ops.face_xray(softened), dtype=np.float32)[..., 0]


def laplacian_blended(item: EvaluationSet) -> tuple[np.ndarray, np.ndarray]:
    """Laplacian-pyramid blends of the pairs through M (uint8) and their X-rays by Eq. 2 of M (float32).

    The foreground is not colour-corrected: the multiband blend itself
    smooths the colour step across the seam.
    """
    from facexray_forensics import ops
    from facexray_forensics.blending.methods import laplacian_blend, laplacian_levels

    mask = np.ascontiguousarray(item.mask, dtype=np.float32)
    levels = laplacian_levels(*mask.shape[1:])
    images = np.stack([laplacian_blend(f, b, m, levels) for f, b, m in zip(item.foreground, item.background, mask)])
    return images, np.asarray(ops.face_xray(mask[..., None]), dtype=np.float32)[..., 0]


def blended_sets(item: EvaluationSet) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The blended test sets of ``item`` by name: (images N×H×W×3 uint8, true X-rays N×H×W float32)."""
    return {ALPHA: alpha_blended(item), POISSON: poisson_blended(item), LAPLACIAN: laplacian_blended(item)}


def jpeg(images: np.ndarray, quality: int) -> np.ndarray:
    """Each RGB uint8 crop re-encoded as a JPEG of the given quality and decoded."""
    from facexray_forensics.blending.codecs import jpeg_round_trip

    return np.stack([jpeg_round_trip(image, quality) for image in images])


def down_up(images: np.ndarray, factor: float = 0.5) -> np.ndarray:
    """Each crop downscaled by ``factor`` (area averaging) and scaled back up (bilinear), as a re-upload would."""
    import cv2

    height, width = images.shape[1:3]
    small = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.stack([
        cv2.resize(cv2.resize(np.ascontiguousarray(image), small, interpolation=cv2.INTER_AREA),
                   (width, height), interpolation=cv2.INTER_LINEAR)
        for image in images
    ])


@dataclass(frozen=True)
class Degradation:
    label: str  # how a report row names it; empty for none
    apply: Callable[[np.ndarray], np.ndarray]  # N×H×W×3 uint8 -> the same shape and dtype


DEGRADATIONS = {
    "none": Degradation("", np.asarray),
    "jpeg60": Degradation("JPEG q60", partial(jpeg, quality=60)),
    "jpeg75": Degradation("JPEG q75", partial(jpeg, quality=75)),
    "jpeg90": Degradation("JPEG q90", partial(jpeg, quality=90)),
    "h264crf23": Degradation("H.264 CRF 23", partial(h264_round_trip, crf=23)),
    "h264crf30": Degradation("H.264 CRF 30", partial(h264_round_trip, crf=30)),
    "downup": Degradation("down-up ×0.5", partial(down_up, factor=0.5)),
}


def degradation(name: str) -> Degradation:
    """The degradation of that name (a key of :data:`DEGRADATIONS`); ValueError for others."""
    if name not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {name!r}; known: {', '.join(DEGRADATIONS)}")
    return DEGRADATIONS[name]
