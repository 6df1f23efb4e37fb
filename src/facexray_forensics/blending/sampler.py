"""The blended-image (BI) sampler of paper §3.2, from real faces only.

One blended sample:

1. a background face, and a random one of its nearest faces of another source
   (the neighbour table) as the foreground;
2. a mask: the convex hull of the background's landmarks over a random region
   (:mod:`.masks`);
3. a random piecewise-affine deformation of the mask on a 4×4 grid;
4. a Gaussian blur of random odd kernel size;
5. colour correction of the foreground towards the background inside the mask;
6. the blend (Eq. 1) and the face X-ray (Eq. 2) of the 3×3-softened mask; or,
   where the config draws another method, the Laplacian-pyramid blend through
   that softened mask, or the Poisson blend through it binarised at 0.5 (whose
   X-ray is then Eq. 2 of the softened binary mask), from :mod:`.methods`.

A real sample is the background face alone, with an all-zero mask and X-ray.
Augmentations then apply alike to real and blended samples (colour jitter,
down-and-up resizing, blur, noise, JPEG re-compression, an H.264 intra frame, horizontal flip; the
flip moves the mask and X-ray with the image), each with its own probability
so that the average cost stays low. The final image is always rounded to 8-bit
levels, so real and blended samples cannot be told apart by quantisation.

All per-pixel blending work goes through :mod:`facexray_forensics.ops`.

Determinism: sample ``i`` of seed ``s`` depends only on ``(s, i)`` (its
generator is ``numpy.random.default_rng([s, i])``), so a sampler's whole state
is ``(seed, next_index)``: resume a run by starting at the number of samples
already consumed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from facexray_forensics.blending.augment import FLOAT_AUGMENTATIONS, degrade, h264, plan_augmentation, to_uint8
from facexray_forensics.blending.codecs import jpeg_round_trip
from facexray_forensics.blending.config import SamplerConfig
from facexray_forensics.blending.masks import hull_mask
from facexray_forensics.data.neighbours import nearest_other_source
from facexray_forensics.data.index import FaceIndex


@dataclass
class SampleRecord:
    """One sample and how it was drawn.

    ``image`` H×W×3 uint8 (what the model sees, after augmentation);
    ``mask`` H×W float32, the deformed and blurred hull mask before softening;
    ``softened`` H×W float32, the mask after the 3×3 Gaussian (the M of Eq. 1
    and Eq. 2); ``xray`` H×W float32 = 4·softened·(1−softened); ``label`` 1 for
    blended, 0 for real (then mask, softened and xray are all zero).
    ``params`` is JSON-ready: background and foreground face numbers, their
    sources, region, grid offsets, blur size, colour mode, augmentations.
    ``foreground`` and ``background`` are the float32 crops in [0, 1] as read
    from the index (no colour correction, flip or augmentation), for other
    blending methods on the same mask, e.g. Poisson blending in the
    evaluation (flip the mask back first if ``params["augment"]["flip"]``).
    """

    image: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    softened: np.ndarray = field(repr=False)
    xray: np.ndarray = field(repr=False)
    label: int
    params: dict
    foreground: np.ndarray | None = field(default=None, repr=False)
    background: np.ndarray | None = field(default=None, repr=False)


class _Timer:
    """Accumulates CPU seconds of this thread per stage when asked to (CPU, not wall
    time, so a busy shared machine does not inflate the split); costs nothing otherwise."""

    def __init__(self, totals: dict | None) -> None:
        self.totals = totals

    @contextmanager
    def stage(self, name: str):
        if self.totals is None:
            yield
            return
        started = time.thread_time()
        yield
        self.totals[name] = self.totals.get(name, 0.0) + time.thread_time() - started


class BlendSampler:
    """Draws BI samples from a face index.

    ``index`` is a :class:`FaceIndex` or its folder. ``sources`` restricts
    the pool (backgrounds and foregrounds) to faces of these sources (names
    from ``index.source_names``), e.g. held-out sources for evaluation; the
    neighbour table is then recomputed inside the pool, ``neighbours`` per face.
    """

    def __init__(
        self,
        index: FaceIndex | str | Path,
        config: SamplerConfig | None = None,
        sources: Iterable[str] | None = None,
        neighbours: int = 100,
    ) -> None:
        self.index = index if isinstance(index, FaceIndex) else FaceIndex(index)
        self.config = config or SamplerConfig()
        self.size = self.index.size
        if sources is None:
            self.pool = np.arange(len(self.index), dtype=np.int64)
            table = self.index.neighbours.astype(np.int64)
        else:
            number = {name: i for i, name in enumerate(self.index.source_names)}
            wanted = set(sources)
            missing = wanted - number.keys()
            if missing:
                raise ValueError(f"unknown sources: {sorted(missing)[:5]}")
            self.pool = np.flatnonzero(np.isin(self.index.sources, [number[name] for name in wanted]))
            local = self._pool_table(neighbours)
            # Back to global face numbers, -1 kept; rows indexed by global face number.
            table = np.full((len(self.index), local.shape[1]), -1, dtype=np.int64)
            table[self.pool] = np.where(local >= 0, self.pool[np.maximum(local, 0)], -1)
        if len(self.pool) == 0:
            raise ValueError("the face pool is empty")
        # The table's rows end in -1 where fewer neighbours exist; a face needs one to be a background.
        self._table = table
        self._counts = (table >= 0).sum(axis=1)
        self._backgrounds = self.pool[self._counts[self.pool] > 0]
        self._grid = None
        self._region_cumulative = _cumulative(self.config.region_weights)
        self._method_cumulative = _cumulative(self.config.blend_method_weights)
        # A fixed bank of Gaussian noise; each sample takes a window at a random offset.
        self._noise = np.random.default_rng(0x5EED).standard_normal(
            (2 * self.size, 2 * self.size, 3), dtype=np.float32)

    def _pool_table(self, neighbours: int) -> np.ndarray:
        """The neighbour table inside the pool, cached in the index folder (every loader
        worker of a held-out or training split would otherwise recompute it)."""
        import hashlib
        import os

        key = hashlib.sha256(np.ascontiguousarray(self.pool).tobytes() + str(neighbours).encode()).hexdigest()
        cache = Path(self.index.folder) / "pools" / f"neighbours-{key[:20]}.npy"
        if cache.is_file():
            table = np.load(cache)
            if table.shape == (len(self.pool), neighbours):
                return table
        table = nearest_other_source(self.index.landmarks[self.pool], self.index.sources[self.pool], k=neighbours)
        try:
            cache.parent.mkdir(exist_ok=True)
            partial = cache.with_suffix(f".{os.getpid()}.partial")
            with open(partial, "wb") as file:
                np.save(file, table)
            os.replace(partial, cache)  # atomic: concurrent workers never read half a file
        except OSError:
            pass  # a read-only index still works, it just recomputes
        return table

    def _neighbours_of(self, face: int) -> np.ndarray:
        return self._table[face, : self._counts[face]]

    @property
    def grid(self) -> np.ndarray:
        from facexray_forensics import ops

        if self._grid is None:
            self._grid = ops.grid_points(self.size, self.size, self.config.grid, self.config.grid)
        return self._grid

    def sample(self, seed: int, number: int, **kwargs) -> SampleRecord:
        """Sample ``number`` of the stream ``seed``: ``draw(default_rng([seed, number]))``."""
        return self.draw(np.random.default_rng([seed, number]), **kwargs)

    def draw(
        self,
        rng: np.random.Generator,
        label: int | None = None,
        augment: bool | None = None,
        timings: dict | None = None,
    ) -> SampleRecord:
        """Draw one sample with ``rng``. ``label`` forces real (0) or blended (1);
        ``augment`` overrides the config; ``timings``, if given, gathers seconds per stage."""
        import cv2

        config = self.config
        timer = _Timer(timings)
        size = self.size
        if label is None:
            label = int(rng.random() < config.blend_probability)
        if label not in (0, 1):
            raise ValueError(f"label must be 0 or 1, got {label!r}")
        if label == 1 and len(self._backgrounds) == 0:
            raise ValueError("no face in the pool has a neighbour of another source; cannot blend")
        params: dict = {"label": label}
        with timer.stage("load"):
            background_face, foreground_face = self._draw_faces(rng, label)
            background_pixels = np.array(self.index.crops[background_face])
            background = np.multiply(background_pixels, np.float32(1 / 255), dtype=np.float32)
        params["background"] = background_face
        params["background_source"] = self.index.source_names[self.index.sources[background_face]]
        foreground = None
        if label:
            params["foreground"] = foreground_face
            params["foreground_source"] = self.index.source_names[self.index.sources[foreground_face]]
            with timer.stage("load"):
                foreground = np.multiply(self.index.crops[foreground_face], np.float32(1 / 255),
                                         dtype=np.float32)
            mask = self._blurred_mask(rng, background_face, params, timer)
            image, mask, softened, xray = self._blend(rng, mask, foreground, background, params, timer)
        else:
            image = None
            mask = np.zeros((size, size), np.float32)
            softened = np.zeros((size, size), np.float32)
            xray = np.zeros((size, size), np.float32)
        do_augment = config.augment if augment is None else augment
        plan = plan_augmentation(rng, config, size) if do_augment else {}
        pixels = self._augmented_pixels(image, background, background_pixels, plan, timer)
        if plan.get("flip"):
            with timer.stage("flip"):
                pixels = cv2.flip(pixels, 1)
                if label:  # a real sample's maps are all zero
                    mask, softened, xray = (cv2.flip(a, 1) for a in (mask, softened, xray))
        params["augment"] = plan
        return SampleRecord(image=pixels, mask=mask, softened=softened, xray=xray, label=label,
                            params=params, foreground=foreground, background=background)

    def _draw_faces(self, rng: np.random.Generator, label: int) -> tuple[int, int | None]:
        """(background, foreground) face numbers: a blended sample's foreground is one of the
        background's neighbours of another source; a real sample has none."""
        if not label:
            return int(self.pool[rng.integers(len(self.pool))]), None
        background_face = int(self._backgrounds[rng.integers(len(self._backgrounds))])
        candidates = self._neighbours_of(background_face)
        return background_face, int(candidates[rng.integers(len(candidates))])

    def _blurred_mask(self, rng: np.random.Generator, face: int, params: dict, timer: _Timer) -> np.ndarray:
        """The hull mask of a drawn region of ``face``, deformed and blurred as drawn."""
        from facexray_forensics import ops

        config, size = self.config, self.size
        with timer.stage("mask"):
            region = config.regions[_pick(self._region_cumulative, rng)]
            mask = hull_mask(self.index.landmarks[face], size, region)
        params["region"] = region
        if config.deform:
            with timer.stage("deform"):
                scale = rng.uniform(*config.deform_scale)
                offsets = rng.normal(0.0, scale * size, size=self.grid.shape).astype(np.float32)
                mask = ops.warp_piecewise_affine(mask, self.grid, self.grid + offsets)
            params["deform_scale"] = round(float(scale), 5)
            params["grid_offsets"] = np.round(offsets.astype(np.float64), 3).tolist()
        with timer.stage("blur"):
            low, high = config.blur_kernel_for(size)
            kernel = int(2 * rng.integers(low // 2, high // 2 + 1) + 1)
            mask = ops.gaussian_blur(mask, kernel)
        params["blur_kernel"] = kernel
        return mask

    def _blend(self, rng: np.random.Generator, mask: np.ndarray, foreground: np.ndarray,
               background: np.ndarray, params: dict, timer: _Timer):
        """(image, mask, softened, xray) of the colour-corrected foreground blended into the
        background through ``mask``, by Eq. 1 or the drawn other method."""
        from facexray_forensics import ops

        config, size = self.config, self.size
        with timer.stage("blend"):
            # Only the mask's support (plus 2 pixels, which the 3×3 softening reaches
            # as zeros) can change: colour statistics are taken inside the mask and
            # the blend leaves the background elsewhere. Working on that window gives
            # the full-image result for less work.
            rows = np.flatnonzero(mask.max(axis=1) > 0)
            cols = np.flatnonzero(mask.max(axis=0) > 0)
        if len(rows) == 0:
            raise ValueError(f"the {params['region']} mask of face {params['background']} is empty")
        top, bottom = max(0, rows[0] - 2), min(size, rows[-1] + 3)
        left, right = max(0, cols[0] - 2), min(size, cols[-1] + 3)
        window = (slice(top, bottom), slice(left, right))
        part_mask = np.ascontiguousarray(mask[window])
        part_background = np.ascontiguousarray(background[window])
        part_foreground = np.ascontiguousarray(foreground[window])
        colour_mode = "none"
        if config.colour_correction:
            with timer.stage("colour"):
                colour_mode = config.colour_modes[rng.integers(len(config.colour_modes))]
                part_foreground = ops.colour_transfer(part_foreground, part_background, part_mask,
                                                      match_std=colour_mode == "mean_std")
                np.clip(part_foreground, 0.0, 1.0, out=part_foreground)
        params["colour_mode"] = colour_mode
        params["window"] = [int(top), int(bottom), int(left), int(right)]
        with timer.stage("blend"):
            part_image, part_xray, part_softened = ops.blend_with_xray(
                part_foreground, part_background, part_mask)
            image = background.copy()
            image[window] = part_image
            xray = np.zeros((size, size), np.float32)
            xray[window] = part_xray
            softened = np.zeros((size, size), np.float32)
            softened[window] = part_softened
        # Drawn only when there is a choice, so a one-method config keeps its streams.
        method = config.blend_methods[_pick(self._method_cumulative, rng)] if len(config.blend_methods) > 1 \
            else config.blend_methods[0]
        params["blend_method"] = method
        if method == "alpha":
            return image, mask, softened, xray
        with timer.stage(method):
            corrected = foreground.copy()
            corrected[window] = part_foreground
            return _other_blend(method, corrected, background, softened)

    def _augmented_pixels(self, image: np.ndarray | None, background: np.ndarray,
                          background_pixels: np.ndarray, plan: dict, timer: _Timer) -> np.ndarray:
        """The 8-bit sample after the planned augmentations but the flip; ``image`` None
        for a real sample (the background)."""
        if image is None and not plan.keys() & FLOAT_AUGMENTATIONS:
            pixels = background_pixels  # a real sample that stays 8-bit: no round trip through float
        else:
            if image is None:
                image = background.copy()
            image = degrade(image, plan, self._noise, timer.stage)
            with timer.stage("quantise"):
                np.clip(image, 0.0, 1.0, out=image)
                pixels = to_uint8(image)
        if "jpeg" in plan:
            with timer.stage("jpeg"):
                pixels = jpeg_round_trip(pixels, plan["jpeg"])
        if "h264" in plan:
            with timer.stage("h264"):
                pixels = h264(pixels, plan, self.config.h264_frames)
        return pixels


def _cumulative(weights: tuple[float, ...]) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    return np.cumsum(weights / weights.sum())


def _pick(cumulative: np.ndarray, rng: np.random.Generator) -> int:
    """One index drawn with the probabilities whose running sum is ``cumulative``."""
    return int(np.searchsorted(cumulative, rng.random(), side="right").clip(max=len(cumulative) - 1))


def _other_blend(method: str, foreground: np.ndarray, background: np.ndarray, softened: np.ndarray):
    """(image, mask, softened, xray) of the pair (float32 in [0, 1]) blended by ``method`` through
    the softened mask: Laplacian through it as it is, Poisson through it binarised at 0.5."""
    from facexray_forensics import ops
    from facexray_forensics.blending.methods import laplacian_blend, laplacian_levels, poisson_blend, poisson_region

    front, back = to_uint8(foreground), to_uint8(background)
    if method == "laplacian":
        pixels = laplacian_blend(front, back, softened, laplacian_levels(*softened.shape))
        mask = softened
    else:
        binary = poisson_region(softened)
        pixels = poisson_blend(front, back, binary)
        mask = binary.astype(np.float32)
        softened = np.clip(ops.soften_mask(mask), 0.0, 1.0)
    image = np.multiply(pixels, np.float32(1 / 255), dtype=np.float32)
    return image, mask, softened, ops.face_xray(softened)


class BlendDataset(torch.utils.data.IterableDataset):
    """An endless (or ``length``-long) stream of BI samples as torch tensors.

    Yields ``(image 3×S×S float32 in [0, 1], xray 1×S×S float32, label int64)``.
    Sample ``i`` is ``BlendSampler.sample(seed, i)`` for i = start, start+1, ...
    Workers of a DataLoader take turns by chunks of ``chunk`` samples, so
    with ``chunk`` equal to the loader's batch size the batches come out
    as samples [start + kB, start + (k+1)B) in order whatever the number of
    workers: to resume after ``n`` consumed samples, pass ``start=n`` (or
    ``load_state_dict(state_dict(consumed=n))``). Iterated in this process
    (no workers), ``state_dict()`` alone tracks the position.
    The index is opened lazily in each worker (memory-mapped, shared by
    the page cache), so the dataset pickles small. With forked workers, call
    ``cv2.setNumThreads(1)`` in the parent before the loader starts: OpenCV's
    thread pool only contends with the workers, and reconfiguring it inside
    a forked child can deadlock.
    """

    def __init__(
        self,
        index_dir: str | Path,
        seed: int = 0,
        start: int = 0,
        length: int | None = None,
        chunk: int = 32,
        config: SamplerConfig | None = None,
        sources: Iterable[str] | None = None,
    ) -> None:
        super().__init__()
        if seed < 0 or start < 0 or chunk < 1 or (length is not None and length < 0):
            raise ValueError("seed and start must be >= 0, chunk >= 1 and length >= 0")
        self.index_dir = str(index_dir)
        self.seed, self.start, self.length, self.chunk = int(seed), int(start), length, int(chunk)
        self.config = config
        self.sources = None if sources is None else sorted(sources)
        self._sampler: BlendSampler | None = None
        self._next = self.start

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_sampler"] = None
        return state

    @property
    def sampler(self) -> BlendSampler:
        if self._sampler is None:
            self._sampler = BlendSampler(self.index_dir, self.config, self.sources)
        return self._sampler

    def state_dict(self, consumed: int | None = None) -> dict:
        """What resumes this stream: after ``consumed`` samples from ``start``, or, without
        it, after the samples this object itself has yielded (iteration in this process)."""
        position = self._next if consumed is None else self.start + int(consumed)
        return {"seed": self.seed, "start": position}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.start = int(state["seed"]), int(state["start"])
        self._next = self.start

    def tensors(self, number: int):
        record = self.sampler.sample(self.seed, number)
        # numpy, not torch: a torch op here wakes its OpenMP pool, which then
        # competes with the ops' own threads (20× slower on a busy 2-core machine).
        image = torch.from_numpy(np.multiply(record.image.transpose(2, 0, 1), np.float32(1 / 255),
                                             dtype=np.float32))
        xray = torch.from_numpy(record.xray)[None]
        return image, xray, torch.tensor(record.label, dtype=torch.int64)

    def __iter__(self) -> Iterator:
        info = torch.utils.data.get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        end = None if self.length is None else self.start + self.length
        block = worker
        while True:
            first = self.start + block * self.chunk
            if end is not None and first >= end:
                return
            last = first + self.chunk if end is None else min(first + self.chunk, end)
            for number in range(first, last):
                sample = self.tensors(number)
                self._next = number + 1  # set before handing it over: it counts as consumed
                yield sample
            block += workers
