"""MTCNN (Zhang, Zhang, Li and Qiao, 2016): a three-stage cascade of small CNNs for faces.

P-Net slides a 12-pixel window over an image pyramid whose first level puts
``min_face`` at 12 pixels, R-Net re-scores each proposal at 24 pixels and
O-Net at 48 pixels, with a box correction at every stage and five landmarks
(eyes, nose tip, mouth corners) at the last. The networks are tiny, so one
1080p frame takes a fraction of a second on a CPU core, where dlib's mmod
CNN takes many seconds; and unlike HOG it scores faces whose lower half is
hidden. The weights are those converted from the authors' Caffe models that
the PyPI wheel ``facenet-pytorch`` (MIT) ships; this package carries them as
safetensors checked against their SHA-256 (``faces/weights/README.md``).

Boxes here are MTCNN's own: square-ish, from the brows to below the chin.
:mod:`facexray_forensics.faces.detect` maps them to the HOG box convention.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

#: Least face probability each stage keeps (P-Net, R-Net, O-Net). The authors' (0.6, 0.7, 0.7)
#: drop faces masked over nose and chin at the first two stages: on ``bench faces`` (1080p, seeds
#: 0-2) P/R at 0.4/0.3 found 90-95% of those against 82-90%, for 0.01-0.02 more false boxes a
#: frame and about 15% more time; 0.3/0.2 found no more and passed 0.05 false boxes a frame.
#: O-Net's final cut (and :data:`~facexray_forensics.faces.detect.MTCNN_MIN_PROBABILITY`) stays.
THRESHOLDS = (0.4, 0.3, 0.7)
#: Ratio of one pyramid level's side to the one before (the authors' value: area halves per two levels).
PYRAMID_FACTOR = 0.709
#: Window side of P-Net, and the input sides of R-Net and O-Net.
WINDOWS = (12, 24, 48)
#: Boxes overlapping this much are one face: within one pyramid level, across levels, after R-Net,
#: after O-Net (the last by intersection over the smaller box, so a box inside another is dropped).
NMS_LEVEL, NMS_PROPOSALS, NMS_REFINED, NMS_FINAL = 0.5, 0.7, 0.7, 0.7
#: The shipped weights (faces/weights/README.md) and the SHA-256 they are checked against.
WEIGHTS_PATH = Path(__file__).parent / "weights" / "mtcnn.safetensors"
WEIGHTS_SHA256 = "ef2c7271597273c189386081fc37089d986d65da01b484b10c860337cbacdbf3"


@dataclass(frozen=True)
class MtcnnFace:
    """One face: (x0, y0, x1, y1) in image pixels, O-Net's probability, five (x, y) landmarks."""

    box: tuple[float, float, float, float]
    probability: float
    landmarks: np.ndarray = field(repr=False)


class WeightsError(RuntimeError):
    """The shipped MTCNN weights are missing or not the recorded file."""


def _verified_weights() -> dict[str, torch.Tensor]:
    """The shipped weights, from one read whose SHA-256 must be :data:`WEIGHTS_SHA256`."""
    from safetensors.torch import load

    try:
        content = WEIGHTS_PATH.read_bytes()
    except OSError as error:
        raise WeightsError(f"cannot read the MTCNN weights {WEIGHTS_PATH}: {error}") from error
    actual = hashlib.sha256(content).hexdigest()
    if actual != WEIGHTS_SHA256:
        raise WeightsError(f"MTCNN weights {WEIGHTS_PATH} have SHA-256 {actual}, expected {WEIGHTS_SHA256}")
    return load(content)


class _Stage(nn.Module):
    """One MTCNN stage: 3x3 (last 2x2) convolutions with PReLU and max pooling, then for
    R-Net and O-Net one dense layer, then the heads (face/not-face, box offsets, landmarks).
    Parameter names follow the shipped state dicts."""

    def __init__(self, convs: list[tuple[int, int, int]], pools: dict[int, int],
                 dense: tuple[int, int] | None, heads: tuple[int, ...]) -> None:
        super().__init__()
        self.pools, self.depth = pools, len(convs)
        for index, (channels_in, channels_out, kernel) in enumerate(convs, 1):
            self.add_module(f"conv{index}", nn.Conv2d(channels_in, channels_out, kernel))
            self.add_module(f"prelu{index}", nn.PReLU(channels_out))
        self.dense = dense is not None
        if self.dense:
            self.add_module(f"dense{self.depth + 1}", nn.Linear(*dense))
            self.add_module(f"prelu{self.depth + 1}", nn.PReLU(dense[1]))
            width, prefix = dense[1], f"dense{self.depth + 2}_"
        else:
            width, prefix = convs[-1][1], f"conv{self.depth + 1}_"
        layer = nn.Linear if self.dense else functools.partial(nn.Conv2d, kernel_size=1)
        self.heads = [f"{prefix}{number}" for number in range(1, len(heads) + 1)]
        for name, outputs in zip(self.heads, heads):
            self.add_module(name, layer(width, outputs))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        for index in range(1, self.depth + 1):
            x = getattr(self, f"prelu{index}")(getattr(self, f"conv{index}")(x))
            if index in self.pools:
                x = nn.functional.max_pool2d(x, self.pools[index], 2, ceil_mode=True)
        if self.dense:
            # The Caffe models flatten in (width, height, channel) order.
            x = x.permute(0, 3, 2, 1).flatten(1)
            x = getattr(self, f"prelu{self.depth + 1}")(getattr(self, f"dense{self.depth + 1}")(x))
        outputs = [getattr(self, name)(x) for name in self.heads]
        return [torch.softmax(outputs[0], dim=1)[:, 1], *outputs[1:]]


@functools.cache
def load_stages() -> tuple[_Stage, _Stage, _Stage]:
    """P-Net, R-Net and O-Net with their weights, in evaluation mode (loaded once per process)."""
    stages = (
        _Stage([(3, 10, 3), (10, 16, 3), (16, 32, 3)], {1: 2}, None, (2, 4)),
        _Stage([(3, 28, 3), (28, 48, 3), (48, 64, 2)], {1: 3, 2: 3}, (576, 128), (2, 4)),
        _Stage([(3, 32, 3), (32, 64, 3), (64, 64, 3), (64, 128, 2)], {1: 3, 2: 3, 3: 2}, (1152, 256), (2, 4, 10)),
    )
    weights = _verified_weights()
    for stage, name in zip(stages, ("pnet", "rnet", "onet")):
        prefix = f"{name}."
        stage.load_state_dict({key[len(prefix):]: value for key, value in weights.items() if key.startswith(prefix)})
        stage.eval().requires_grad_(False)
    return stages


def _normalised(images: np.ndarray) -> torch.Tensor:
    """N×H×W×3 uint8 RGB to the networks' N×3×H×W input in about [-1, 1]."""
    return (torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() - 127.5) / 128.0


def non_maximum_suppression(boxes: np.ndarray, scores: np.ndarray, threshold: float,
                            over_smaller: bool = False) -> np.ndarray:
    """Indices of the boxes kept, best score first: each drops the later boxes whose overlap
    with it (intersection over union, or over the smaller box) exceeds ``threshold``."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order, kept = np.argsort(-scores, kind="stable"), []
    while order.size:
        best, rest = order[0], order[1:]
        kept.append(best)
        width = np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0])
        height = np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1])
        overlap = np.clip(width, 0, None) * np.clip(height, 0, None)
        base = np.minimum(areas[best], areas[rest]) if over_smaller else areas[best] + areas[rest] - overlap
        order = rest[overlap <= threshold * base]
    return np.array(kept, dtype=np.int64)


def _corrected(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Boxes moved by a stage's offsets, which are in box sides."""
    sides = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]] * 2, axis=1)
    return boxes + offsets * sides


def _squared(boxes: np.ndarray) -> np.ndarray:
    """Squares on the boxes' centres with their longer side: what the next stage is fed."""
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    halves = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])[:, None] / 2
    return np.concatenate([centres - halves, centres + halves], axis=1)


def _patches(image: np.ndarray, boxes: np.ndarray, side: int) -> np.ndarray:
    """Each box cut from ``image`` (black beyond its edges), resized to side × side."""
    import cv2

    height, width = image.shape[:2]
    patches = np.zeros((len(boxes), side, side, 3), np.uint8)
    for number, (x0, y0, x1, y1) in enumerate(np.round(boxes).astype(int)):
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        patch = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
        left, top, right, bottom = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if right > left and bottom > top:
            patch[top - y0 : bottom - y0, left - x0 : right - x0] = image[top:bottom, left:right]
        shrinking = patch.shape[0] > side
        patches[number] = cv2.resize(patch, (side, side), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return patches


def pyramid_scales(height: int, width: int, min_face: float) -> list[float]:
    """P-Net's pyramid: the first level puts ``min_face`` at the 12-pixel window, each next is
    :data:`PYRAMID_FACTOR` of the one before, down to the level whose shorter side is 12."""
    scales, scale = [], WINDOWS[0] / min_face
    while min(height, width) * scale >= WINDOWS[0]:
        scales.append(scale)
        scale *= PYRAMID_FACTOR
    return scales


def _proposals(image: np.ndarray, min_face: float) -> np.ndarray:
    """P-Net's candidate squares over the pyramid, suppressed within and across levels."""
    import cv2

    pnet = load_stages()[0]
    height, width = image.shape[:2]
    found = []
    for scale in pyramid_scales(height, width, min_face):
        size = (math.ceil(width * scale), math.ceil(height * scale))
        level = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        probability, offsets = (output[0].numpy() for output in pnet(_normalised(level[None])))
        rows, columns = np.nonzero(probability >= THRESHOLDS[0])
        if not rows.size:
            continue
        # P-Net's output cells step by 2 input pixels (its one pooling) and see 12.
        corners = np.stack([columns, rows], axis=1) * 2.0
        boxes = np.concatenate([corners, corners + WINDOWS[0]], axis=1) / scale
        scores = probability[rows, columns]
        keep = non_maximum_suppression(boxes, scores, NMS_LEVEL)
        found.append(np.concatenate([boxes, offsets[:, rows, columns].T, scores[:, None]], axis=1)[keep])
    if not found:
        return np.zeros((0, 4))
    candidates = np.concatenate(found)
    candidates = candidates[non_maximum_suppression(candidates[:, :4], candidates[:, 8], NMS_PROPOSALS)]
    return _squared(_corrected(candidates[:, :4], candidates[:, 4:8]))


@contextlib.contextmanager
def _one_thread():
    """Torch on one thread, then as it was. The networks' layers are too small to share out:
    on a 2-core machine busy with other work a 640x480 frame took 20 ms on one thread and
    600 ms on two, whose OpenMP threads wait on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def detect_faces(image: np.ndarray, min_face: float) -> list[MtcnnFace]:
    """The faces of an RGB uint8 image down to about ``min_face`` pixels of box side, best first."""
    with _one_thread(), torch.inference_mode():
        return _cascade(image, min_face)


def _cascade(image: np.ndarray, min_face: float) -> list[MtcnnFace]:
    _, rnet, onet = load_stages()
    boxes = _proposals(image, min_face)
    if len(boxes):
        probability, offsets = (output.numpy() for output in rnet(_normalised(_patches(image, boxes, WINDOWS[1]))))
        sure = probability >= THRESHOLDS[1]
        boxes, probability, offsets = boxes[sure], probability[sure], offsets[sure]
        keep = non_maximum_suppression(boxes, probability, NMS_REFINED)
        boxes = _squared(_corrected(boxes[keep], offsets[keep]))
    if not len(boxes):
        return []
    probability, offsets, points = (output.numpy() for output in onet(_normalised(_patches(image, boxes, WINDOWS[2]))))
    sure = probability >= THRESHOLDS[2]
    boxes, probability, offsets, points = boxes[sure], probability[sure], offsets[sure], points[sure]
    # Landmarks are in sides of the square O-Net saw, x of all five first.
    sides = (boxes[:, 2:] - boxes[:, :2])[:, None, :]
    landmarks = boxes[:, None, :2] + np.stack([points[:, :5], points[:, 5:]], axis=2) * sides
    boxes = _corrected(boxes, offsets)
    keep = non_maximum_suppression(boxes, probability, NMS_FINAL, over_smaller=True)
    return [MtcnnFace(tuple(float(v) for v in boxes[i]), float(probability[i]), landmarks[i].astype(np.float32))
            for i in keep]
