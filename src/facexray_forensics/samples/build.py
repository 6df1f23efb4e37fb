"""Generate the bundled sample evidence: ``python -m facexray_forensics.samples.build [DIRECTORY]``.

Everything is made from public-domain or CC0 pictures that ship inside
scikit-image (see README.md beside this file), with our own face detector,
the blending sampler's landmark-hull masks and our own ops. The result is
deterministic: the same seed gives the same pixels, so a test can check that
the committed files are what this module makes.
"""

from __future__ import annotations

import functools
import io
import sys
from pathlib import Path

import numpy as np

from facexray_forensics import ops
from facexray_forensics.samples import SAMPLES, evidence_dir

SEED = 2020
JPEG_QUALITY = 92
#: Fraction of the original JPEG kept in the truncated sample.
TRUNCATED_FRACTION = 0.6
#: Where in the grid the mask deformation may move a control point, in pixels.
MASK_JITTER = 6.0
#: Blur of the deformed mask: an odd kernel, as in the paper's sampler.
MASK_BLUR = 15

_DESCRIPTION = "Eileen Collins, NASA astronaut. Public domain (NASA), as shipped in scikit-image."
_SOFTWARE = "facexray-forensics sample generator"


def build(directory: str | Path | None = None) -> dict[str, Path]:
    """Write every sample of :data:`SAMPLES` into ``directory`` (the package's
    evidence folder by default) and return their paths by name."""
    from skimage import data  # scikit-image ships the pictures; a test extra, so imported here

    directory = Path(directory) if directory is not None else evidence_dir()
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    astronaut = data.astronaut()
    landmarks = _landmarks(astronaut)

    real_jpeg = _jpeg(astronaut, _exif(_DESCRIPTION))
    outputs = {
        "astronaut.jpg": real_jpeg,
        "astronaut.png": _png(astronaut),
        "astronaut_self_blended.jpg": _jpeg(self_blend(astronaut, landmarks, rng), _exif(_DESCRIPTION)),
        "astronaut_mirror_blended.jpg": _jpeg(mirror_blend(astronaut, landmarks, rng), _exif(_DESCRIPTION)),
        "coffee.jpg": _jpeg(
            data.coffee(), _exif("A cup of coffee. CC0 by Rachel Michetti, as shipped in scikit-image.")
        ),
        "astronaut_truncated.jpg": real_jpeg[: int(len(real_jpeg) * TRUNCATED_FRACTION)],
    }
    if set(outputs) != set(SAMPLES):
        raise RuntimeError("SAMPLES and build() must list the same files")
    paths = {}
    for name, content in outputs.items():
        path = directory / name
        path.write_bytes(content)
        paths[name] = path
    return paths


def self_blend(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The image's own face, colour-shifted and enlarged by 3% about its centre,
    blended back through a deformed hull mask: the seam is the only forgery."""
    height, width = image.shape[:2]
    background = image.astype(np.float32)
    # A per-channel gain and offset: the kind of colour mismatch a paste leaves.
    gain = np.array([1.07, 0.98, 0.90], dtype=np.float32)
    offset = np.array([6.0, 0.0, -4.0], dtype=np.float32)
    shifted = np.clip(background * gain + offset, 0.0, 255.0)
    centre = landmarks.mean(axis=0)
    grid = ops.grid_points(height, width)
    # out(dst) = in(src): sampling nearer the centre enlarges the face.
    source = (centre + (grid - centre) / 1.03).astype(np.float32)
    foreground = ops.warp_piecewise_affine(shifted, source, grid)
    mask = _deformed_mask(landmarks, (height, width), "inner", rng)
    blended, _, _ = ops.blend_with_xray(foreground, background, mask)
    return _to_uint8(blended)


def mirror_blend(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A second face pasted in: the mirrored, recoloured photograph's face,
    warped onto the original landmarks, colour-corrected as the paper's
    sampler does, and blended through a deformed hull mask.

    scikit-image ships no second lawfully shippable face photograph, so the
    mirror image stands in for another person's face: its skin texture,
    hair and lighting differ from the original at every point of the face.
    """
    height, width = image.shape[:2]
    donor = np.ascontiguousarray(image[:, ::-1])
    donor = _to_uint8(donor.astype(np.float32) * np.array([0.92, 1.0, 1.08], dtype=np.float32))
    donor_landmarks = _landmarks(donor)
    border = _border_points(height, width)
    warped = ops.warp_piecewise_affine(
        donor.astype(np.float32),
        np.concatenate([donor_landmarks, border]).astype(np.float32),
        np.concatenate([landmarks, border]).astype(np.float32),
    )
    background = image.astype(np.float32)
    mask = _deformed_mask(landmarks, (height, width), "face", rng)
    foreground = ops.colour_transfer(warped, background, mask)
    blended, _, _ = ops.blend_with_xray(foreground, background, mask)
    return _to_uint8(blended)


@functools.cache
def _detector():
    from facexray_forensics.faces import FaceDetector

    return FaceDetector("hog")


def _landmarks(image: np.ndarray) -> np.ndarray:
    """The 68 landmarks of the picture's most confident face."""
    faces = _detector().detect(image)
    if not faces:
        raise RuntimeError("no face found in the sample source picture")
    return np.asarray(max(faces, key=lambda face: face.confidence).landmarks, dtype=np.float32)


def _deformed_mask(
    landmarks: np.ndarray, shape: tuple[int, int], region: str, rng: np.random.Generator
) -> np.ndarray:
    """The hull mask of ``region``, warped by a random 4×4 grid deformation and blurred."""
    from facexray_forensics.blending.masks import hull_mask

    height, width = shape
    mask = hull_mask(landmarks, shape, region)
    grid = ops.grid_points(height, width)
    moved = grid.copy()
    inner = (grid[:, 0] > 0) & (grid[:, 0] < width - 1) & (grid[:, 1] > 0) & (grid[:, 1] < height - 1)
    moved[inner] += rng.uniform(-MASK_JITTER, MASK_JITTER, size=(int(inner.sum()), 2)).astype(np.float32)
    deformed = ops.warp_piecewise_affine(mask, grid, moved)
    return ops.gaussian_blur(deformed, MASK_BLUR)


def _border_points(height: int, width: int, per_side: int = 5) -> np.ndarray:
    """Points along the frame's edge, so a landmark warp covers the whole frame."""
    xs = np.linspace(0, width - 1, per_side)
    ys = np.linspace(0, height - 1, per_side)
    points = [(x, 0.0) for x in xs] + [(x, height - 1.0) for x in xs]
    points += [(0.0, y) for y in ys[1:-1]] + [(width - 1.0, y) for y in ys[1:-1]]
    return np.asarray(points, dtype=np.float32)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _exif(description: str) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010E] = description  # ImageDescription
    exif[0x0131] = _SOFTWARE  # Software
    return exif.tobytes()


def _jpeg(pixels: np.ndarray, exif: bytes) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=JPEG_QUALITY, exif=exif)
    return buffer.getvalue()


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: write the samples into the given folder or the package's."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 or (argv and argv[0] in ("-h", "--help")):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    paths = build(argv[0] if argv else None)
    total = sum(path.stat().st_size for path in paths.values())
    for name, path in paths.items():
        print(f"{path.stat().st_size:>9}  {path}")
    print(f"{total:>9}  bytes in {len(paths)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
