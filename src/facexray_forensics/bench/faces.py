"""Face recall on composites: real faces pasted into large frames, ``auto`` beside ``hog``.

Each frame is a background made here (a colour gradient, rectangles,
ellipses and lines, patches of scikit-image's public-domain pictures that
have no face in them, sensor noise) at 720p, 1080p or 4K, with one real face
pasted in. The face comes from a photo in
``../shared/data`` (LFW, Helen): cut with its surroundings, scaled
to a width drawn from one of :data:`WIDTH_BINS`, and pasted through a
feathered ellipse, under one of :data:`CONDITIONS`:

- ``plain``: upright, as photographed;
- ``occluded``: a flat surgical-mask polygon over nose, mouth and chin, drawn
  from the source face's own landmarks;
- ``rotated``: turned in the image plane by 10° to 30° either way;
- ``blurred``: linear motion blur of the whole frame, 4-8% of the face width long.

Every frame is then JPEG-coded at a quality from 50 to 90. The ground-truth
box is the source face's own HOG box, scaled and moved with the face; it
stays upright when the face turns, as a detector's box does. A detection
matches the face when their IoU is at least :data:`MATCH_IOU`; every other
kept detection is a false one. The frames, faces and conditions are
deterministic given the seed.

Both detectors see the same frames through the scan's own face path
(:class:`~facexray_forensics.faces.extract.FaceExtractor`: detection,
landmarks, the ``min_face`` and confidence cuts, alignment), and its time
per frame is measured. ``min_face`` defaults to :data:`DEFAULT_MIN_FACE`, the
smallest bin's 40 px less a fifth, since a detector's boxes step by a sixth
of their side between pyramid levels; the scan's default is 64.

Limitations: one face per frame (``auto`` stops at the first sure face, so
a second face in a frame is not what this measures); the source photos are
those where HOG finds exactly one sure face with its head and neck in the
photo (UTKFace's crops are too tight to paste), which favours faces HOG
likes before they are shrunk, turned, masked and blurred; LFW faces are
about 110 px in their photos, so the widest bin enlarges them up to five
times.
"""

from __future__ import annotations

import functools
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from facexray_forensics.faces.extract import FrameFaces

RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
#: Face widths (ground-truth box side, pixels), inclusive.
WIDTH_BINS = ((40, 63), (64, 127), (128, 255), (256, 600))
CONDITIONS = ("plain", "occluded", "rotated", "blurred")
MATCH_IOU = 0.4
DEFAULT_MIN_FACE = 32
DEFAULT_DATA = Path("../shared/data")
#: scikit-image pictures with no face (astronaut, camera and chelsea, the cat, are left out).
TEXTURES = ("coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "brick", "grass", "gravel")
#: Surgical blue, white, black cloth (RGB).
MASK_COLOURS = ((150, 190, 220), (235, 235, 232), (40, 40, 46))
#: Jaw points 1-15 (cheek to chin to cheek) and the nose bridge (28): a mask from the nose down.
MASK_LANDMARKS = [*range(1, 16), 28]
#: The ellipse a face is pasted through (half-axes in box sides, centre raised by a tenth of a
#: side: the box spans brows to chin, so the head reaches further up), and its soft edge.
ELLIPSE_AXES, ELLIPSE_RAISE, FEATHER = (0.75, 0.95), 0.1, 0.08


@dataclass(frozen=True)
class SourceFace:
    """A real photo (RGB) with its one face's detector box and 68 landmarks."""

    pixels: np.ndarray = field(repr=False)
    box: tuple[float, float, float, float]
    landmarks: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Composite:
    """One benchmark frame (RGB, after JPEG) and the face in it."""

    pixels: np.ndarray = field(repr=False)
    truth: tuple[float, float, float, float]
    condition: str
    width: float


def _ellipse(box: tuple[float, float, float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Centre and half-axes of the head-and-neck ellipse around a face box."""
    x0, y0, x1, y1 = box
    side = x1 - x0
    return ((x0 + x1) / 2, (y0 + y1) / 2 - ELLIPSE_RAISE * side), (ELLIPSE_AXES[0] * side, ELLIPSE_AXES[1] * side)


def source_face(pixels: np.ndarray, detector) -> SourceFace | None:
    """The photo's face when ``detector`` finds exactly one, is sure of it, and the photo holds
    its head and neck (tight crops such as UTKFace's do not: pasted, their edge would cut the
    face); else None."""
    from facexray_forensics.faces.detect import SURE_CONFIDENCE

    faces = detector.detect(pixels)
    if len(faces) != 1 or faces[0].confidence < SURE_CONFIDENCE:
        return None
    (x, y), (half_width, half_height) = _ellipse(faces[0].box)
    height, width = pixels.shape[:2]
    if x - half_width < 0 or y - half_height < 0 or x + half_width > width or y + half_height > height:
        return None
    return SourceFace(pixels, faces[0].box, faces[0].landmarks)


@functools.cache
def _textures() -> tuple[np.ndarray, ...]:
    from skimage import data

    pictures = (getattr(data, name)() for name in TEXTURES)
    return tuple(np.ascontiguousarray(np.dstack([p] * 3) if p.ndim == 2 else p) for p in pictures)


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Clutter with no face: a colour gradient, shapes, picture patches, sensor noise."""
    import cv2

    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.arange(width, dtype=np.float32)[None, :] * np.cos(angle)
            + np.arange(height, dtype=np.float32)[:, None] * np.sin(angle))
    ramp = (ramp - ramp.min()) / max(1.0, float(np.ptp(ramp)))
    start, end = rng.uniform(30, 225, 3).astype(np.float32), rng.uniform(30, 225, 3).astype(np.float32)
    canvas = (start + ramp[:, :, None] * (end - start)).astype(np.uint8)
    for _ in range(int(rng.integers(20, 60))):
        _draw_shape(canvas, rng)
    for _ in range(int(rng.integers(2, 6))):
        _paste_texture(canvas, rng)
    noisy = canvas + rng.standard_normal(canvas.shape, dtype=np.float32) * rng.uniform(2, 8)
    return cv2.GaussianBlur(np.clip(noisy, 0, 255).astype(np.uint8), (0, 0), 0.8)


def _draw_shape(canvas: np.ndarray, rng: np.random.Generator) -> None:
    import cv2

    height, width = canvas.shape[:2]
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
    size = int(height * rng.uniform(0.02, 0.3))
    thickness = -1 if rng.random() < 0.6 else int(rng.integers(1, 8))
    kind = rng.integers(3)
    if kind == 0:
        cv2.rectangle(canvas, (x, y), (x + size, y + int(size * rng.uniform(0.3, 2))), colour, thickness)
    elif kind == 1:
        axes = (size, int(size * rng.uniform(0.3, 1)))
        cv2.ellipse(canvas, (x, y), axes, float(rng.uniform(0, 180)), 0, 360, colour, thickness)
    else:
        end = (x + int(rng.integers(-size, size + 1) * 3), y + int(rng.integers(-size, size + 1) * 3))
        cv2.line(canvas, (x, y), end, colour, max(1, thickness), cv2.LINE_AA)


def _paste_texture(canvas: np.ndarray, rng: np.random.Generator) -> None:
    """A scaled picture pasted at a random place, in place (natural edges and texture)."""
    import cv2

    pictures = _textures()
    picture = pictures[rng.integers(len(pictures))]
    height, width = canvas.shape[:2]
    factor = height * rng.uniform(0.15, 0.5) / picture.shape[0]
    patch = cv2.resize(picture, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    top, left = int(rng.integers(0, height - patch.shape[0] + 1)), int(rng.integers(0, width - patch.shape[1] + 1))
    canvas[top : top + patch.shape[0], left : left + patch.shape[1]] = patch


def _prepared(face: SourceFace, width: float) -> tuple[SourceFace, float]:
    """The source shrunk by area averaging where the face must get smaller (warpAffine alone
    would alias), and the enlargement still to do."""
    import cv2

    factor = width / (face.box[2] - face.box[0])
    if factor >= 1.0:
        return face, factor
    size = (max(1, round(face.pixels.shape[1] * factor)), max(1, round(face.pixels.shape[0] * factor)))
    pixels = cv2.resize(face.pixels, size, interpolation=cv2.INTER_AREA)
    return SourceFace(pixels, tuple(v * factor for v in face.box), face.landmarks * np.float32(factor)), 1.0


def _feathered_ellipse(face: SourceFace) -> np.ndarray:
    """The paste weight over the source photo: head and neck through a soft-edged ellipse."""
    import cv2

    centre, axes = _ellipse(face.box)
    alpha = np.zeros(face.pixels.shape[:2], np.float32)
    cv2.ellipse(alpha, tuple(round(v) for v in centre), tuple(round(v) for v in axes), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(alpha, (0, 0), max(0.5, FEATHER * (face.box[2] - face.box[0])))


def _paste(canvas: np.ndarray, face: SourceFace, matrix: np.ndarray) -> np.ndarray:
    """``canvas`` with ``face`` warped in by ``matrix`` (source to frame) through its ellipse."""
    import cv2

    height, width = face.pixels.shape[:2]
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float64) @ matrix.T
    left, top = np.maximum(np.floor(corners.min(0)), 0).astype(int)
    right, bottom = np.minimum(np.ceil(corners.max(0)), canvas.shape[1::-1]).astype(int)
    frame = canvas.copy()
    if right <= left or bottom <= top:
        return frame
    # Warp only the region the photo covers: a whole 4K frame per face would cost ten times more.
    shifted = matrix.copy()
    shifted[:, 2] -= (left, top)
    size = (int(right - left), int(bottom - top))
    patch = cv2.warpAffine(face.pixels, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    alpha = cv2.warpAffine(_feathered_ellipse(face), shifted, size, flags=cv2.INTER_LINEAR)[:, :, None]
    region = frame[top:bottom, left:right]
    region[:] = (region * (1.0 - alpha) + patch * alpha + 0.5).astype(np.uint8)
    return frame


def _draw_mask(frame: np.ndarray, face: SourceFace, matrix: np.ndarray, colour: tuple[int, int, int]) -> None:
    """A flat surgical mask from the nose bridge down over the jaw line, in place."""
    import cv2

    points = face.landmarks[MASK_LANDMARKS] @ matrix[:, :2].T + matrix[:, 2]
    cv2.fillPoly(frame, [np.round(points * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)


def _motion_blur(frame: np.ndarray, length: float, angle: float) -> np.ndarray:
    import cv2

    size = max(3, int(round(length)) | 1)
    middle = size // 2
    dx, dy = middle * np.cos(np.radians(angle)), middle * np.sin(np.radians(angle))
    kernel = np.zeros((size, size), np.float32)
    cv2.line(kernel, (round(middle - dx), round(middle - dy)), (round(middle + dx), round(middle + dy)), 1.0, 1, cv2.LINE_AA)
    return cv2.filter2D(frame, -1, kernel / kernel.sum())


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    encoded = cv2.imencode(".jpg", frame[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
    return np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[:, :, ::-1])


def composite(rng: np.random.Generator, face: SourceFace, canvas: np.ndarray, condition: str, width: float) -> Composite:
    """``face`` pasted into ``canvas`` at ``width`` pixels (its box side) under ``condition``,
    at a random place wholly inside the frame; JPEG-coded at a random quality."""
    import cv2

    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    height, frame_width = canvas.shape[:2]
    half = width / 2
    if 2 * half > min(height, frame_width):
        raise ValueError(f"a {width}-px face does not fit a {frame_width}x{height} frame")
    centre = np.array([rng.uniform(half, frame_width - half), rng.uniform(half, height - half)])
    angle = rng.choice([-1.0, 1.0]) * rng.uniform(10, 30) if condition == "rotated" else 0.0
    face, enlargement = _prepared(face, width)
    x0, y0, x1, y1 = face.box
    middle = ((x0 + x1) / 2, (y0 + y1) / 2)
    matrix = cv2.getRotationMatrix2D(middle, angle, enlargement)
    matrix[:, 2] += centre - middle
    frame = _paste(canvas, face, matrix)
    if condition == "occluded":
        _draw_mask(frame, face, matrix, MASK_COLOURS[rng.integers(len(MASK_COLOURS))])
    if condition == "blurred":
        frame = _motion_blur(frame, width * rng.uniform(0.04, 0.08), rng.uniform(0, 180))
    frame = _jpeg(frame, int(rng.integers(50, 91)))
    # The box turns with the face no more than a detector's does: upright, the source's size, scaled.
    box_height = (y1 - y0) * enlargement
    truth = (centre[0] - half, centre[1] - box_height / 2, centre[0] + half, centre[1] + box_height / 2)
    return Composite(frame, tuple(float(v) for v in truth), condition, float(width))


def width_bin(width: float) -> str:
    """The name ("40-63", ...) of the width bin holding ``width``."""
    for low, high in WIDTH_BINS:
        if low <= width <= high:
            return f"{low}-{high}"
    raise ValueError(f"face width {width} is outside the bins {WIDTH_BINS}")


def source_paths(data_dir: str | os.PathLike) -> list[Path]:
    """The face photos under ``data_dir`` (lfw/NAME/*.jpg, helen/*.jpg), sorted."""
    root = Path(data_dir)
    paths = sorted([*root.glob("lfw/*/*.jpg"), *root.glob("helen/*.jpg")])
    if not paths:
        raise FileNotFoundError(
            f"no face photos under {root} (expected lfw/ and helen/ of the shared data; give --data DIR)"
        )
    return paths


class _Sources:
    """Draws source faces from the photos, each photo read and detected once."""

    def __init__(self, paths: list[Path], root: Path) -> None:
        from facexray_forensics.faces import FaceDetector

        self.paths, self.root = paths, root
        self.detector = FaceDetector("hog")
        self.faces: dict[Path, SourceFace | None] = {}

    def draw(self, rng: np.random.Generator) -> SourceFace:
        import cv2

        for _ in range(1000):
            path = self.paths[rng.integers(len(self.paths))]
            if path not in self.faces:
                pixels = np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1])
                self.faces[path] = source_face(pixels, self.detector)
            if self.faces[path] is not None:
                return self.faces[path]
        raise ValueError(f"no photo under {self.root} has one sure face")

    def used(self) -> dict[str, int]:
        """Photos with a usable face, per set (the first folder under the data root)."""
        return dict(Counter(path.relative_to(self.root).parts[0] for path, face in self.faces.items() if face))


class _Tally:
    """Faces found, false detections and time, per detector."""

    def __init__(self) -> None:
        self.faces, self.found, self.detectors = Counter(), Counter(), Counter()
        self.frames = self.false = 0
        self.seconds = self.cpu_seconds = 0.0

    def add(self, case: Composite, result: FrameFaces, seconds: float, cpu_seconds: float) -> None:
        from facexray_forensics.faces import box_iou

        overlaps = [box_iou(case.truth, crop.detected.box) for crop in result.crops]
        hit = bool(overlaps) and max(overlaps) >= MATCH_IOU
        key = (case.condition, width_bin(case.width))
        self.faces[key] += 1
        self.found[key] += hit
        self.false += len(overlaps) - hit
        self.frames += 1
        self.seconds += seconds
        self.cpu_seconds += cpu_seconds
        self.detectors[result.detector] += 1

    def recall(self, conditions=CONDITIONS, widths=None) -> float | None:
        keys = [key for key in self.faces if key[0] in conditions and (widths is None or key[1] in widths)]
        total = sum(self.faces[key] for key in keys)
        return round(sum(self.found[key] for key in keys) / total, 4) if total else None

    def summary(self) -> dict:
        names = [width_bin(low) for low, _ in WIDTH_BINS]
        unoccluded = ("plain", "rotated", "blurred")
        return {
            "recall": self.recall(),
            "recall_by_width": {name: self.recall(widths=[name]) for name in names},
            "recall_by_condition": {condition: self.recall([condition]) for condition in CONDITIONS},
            "recall_by_condition_and_width": {
                condition: {name: self.recall([condition], [name]) for name in names} for condition in CONDITIONS
            },
            "targets": {
                "unoccluded_64_plus": self.recall(unoccluded, names[1:]),
                "occluded_64_plus": self.recall(["occluded"], names[1:]),
                "unoccluded_40_63": self.recall(unoccluded, names[:1]),
            },
            "false_detections_per_frame": round(self.false / self.frames, 4),
            "ms_per_frame": round(self.seconds * 1000 / self.frames, 1),
            # CPU time does not grow when other programs share the cores, so it measures the work itself.
            "cpu_ms_per_frame": round(self.cpu_seconds * 1000 / self.frames, 1),
            "detectors": dict(sorted(self.detectors.items())),
        }


#: The issue's targets: least recall for the keys of each detector's "targets", most false detections per frame.
TARGETS = {"unoccluded_64_plus": 0.98, "occluded_64_plus": 0.90, "unoccluded_40_63": 0.90,
           "false_detections_per_frame": 0.05}


def run(frames: int = 200, resolution: str = "1080p", seed: int = 0, data_dir: str | os.PathLike = DEFAULT_DATA,
        min_face: int = DEFAULT_MIN_FACE, progress: bool = True) -> dict:
    """Recall, false detections and time per frame of ``auto`` and ``hog`` on ``frames`` composites."""
    from tqdm import tqdm

    from facexray_forensics.faces.extract import DetectionSettings, FaceExtractor
    from facexray_forensics.records import Frame

    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {list(RESOLUTIONS)}, got {resolution!r}")
    width, height = RESOLUTIONS[resolution]
    sources = _Sources(source_paths(data_dir), Path(data_dir))
    extractors = {name: FaceExtractor(DetectionSettings(detector=name, min_face=min_face)) for name in ("auto", "hog")}
    tallies = {name: _Tally() for name in extractors}
    rng = np.random.default_rng(seed)
    load_before = os.getloadavg()[0]
    for index in tqdm(range(frames), desc="bench faces", unit="frame", disable=not progress):
        # Cycling through bins and conditions keeps every cell of the table equally filled.
        low, high = WIDTH_BINS[index % len(WIDTH_BINS)]
        condition = CONDITIONS[index // len(WIDTH_BINS) % len(CONDITIONS)]
        face = sources.draw(rng)
        case = composite(rng, face, background(rng, width, height), condition, int(rng.integers(low, high + 1)))
        for name, extractor in extractors.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            result = extractor.frame_faces(Frame(case.pixels, index))
            tallies[name].add(case, result, time.perf_counter() - start, time.process_time() - cpu_start)
    counted = tallies["auto"].faces
    return {
        "resolution": resolution,
        "frame_size": f"{width}x{height}",
        "frames": frames,
        "faces_per_frame": 1,
        "seed": seed,
        "min_face": min_face,
        "match_iou": MATCH_IOU,
        "jpeg_quality": [50, 90],
        "faces_by_condition_and_width": {
            condition: {width_bin(low): counted[(condition, width_bin(low))] for low, _ in WIDTH_BINS}
            for condition in CONDITIONS
        },
        "source_photos": sources.used(),
        "smallest_face_px": {name: {key: round(value, 1) for key, value in extractor.detector.smallest_faces(height, width).items()}
                             for name, extractor in extractors.items()},
        "targets": TARGETS,
        **{name: tally.summary() for name, tally in tallies.items()},
        "cpus": os.cpu_count(),
        # Other work on the machine slows every pass; the 1-minute load before and after the run.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
