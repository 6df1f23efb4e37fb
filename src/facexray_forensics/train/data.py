"""Where training batches come from: the seam between the loop and any sample source.

The loop takes a :class:`BatchSource`: an iterable of ``(image N×3×H×W float
in [0, 1], xray N×1×H×W float in [0, 1], label N int64)`` batches with a
``state_dict()``/``load_state_dict()`` pair, so that a checkpoint can put the
source back exactly where it was. Two are provided:

- :class:`SyntheticBlends`: blends of random smooth textures through a soft
  ellipse, made in torch on any device. No faces, so it only serves tests and
  throughput benchmarks, where it costs next to nothing.
- :class:`Batched`: groups any per-sample iterable (such as the BI sampler of
  ``facexray_forensics.blending``) into batches and carries its state.
- :class:`LoaderBatches`: the same through a torch DataLoader with worker
  processes, for datasets that can resume after a count of consumed samples
  (``BlendDataset.state_dict(consumed=n)``).
- :class:`GeneratorBatches`: batches made on the device by a sampler that
  draws from a ``torch.Generator`` (the GPU BI sampler); the state is the
  generator's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@runtime_checkable
class BatchSource(Protocol):
    def __iter__(self) -> Iterator[Batch]: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


class SyntheticBlends:
    """An endless, seeded stream of blended/real batches whose X-ray is 4·M·(1−M) of the blend mask.

    Batch k depends only on (seed, k), so the state is just the next k.
    Half of each batch (rounded down) is blended; the rest is real with a zero X-ray.
    """

    def __init__(self, batch_size: int, image_size: int = 256, seed: int = 0, device: str | torch.device = "cpu") -> None:
        if batch_size < 1 or image_size < 8:
            raise ValueError(f"need batch_size >= 1 and image_size >= 8, got {batch_size} and {image_size}")
        self.batch_size = batch_size
        self.image_size = image_size
        self.seed = seed
        self.device = torch.device(device)
        self.next_batch = 0

    def _texture(self, generator: torch.Generator, coarse: int) -> torch.Tensor:
        noise = torch.rand(self.batch_size, 3, coarse, coarse, generator=generator, device=self.device)
        return F.interpolate(noise, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)

    def make(self, index: int) -> Batch:
        """Batch number ``index`` of this stream."""
        generator = torch.Generator(device=self.device)
        generator.manual_seed(self.seed * 1_000_003 + index)
        n, size = self.batch_size, self.image_size
        background = self._texture(generator, 8)
        foreground = self._texture(generator, 16)
        centre = 0.35 + 0.3 * torch.rand(n, 2, 1, 1, generator=generator, device=self.device)
        radius = 0.15 + 0.15 * torch.rand(n, 2, 1, 1, generator=generator, device=self.device)
        softness = 0.02 + 0.05 * torch.rand(n, 1, 1, 1, generator=generator, device=self.device)
        axis = (torch.arange(size, device=self.device, dtype=torch.float32) + 0.5) / size
        distance = torch.sqrt(
            ((axis.view(1, 1, 1, size) - centre[:, 0:1]) / radius[:, 0:1]) ** 2
            + ((axis.view(1, 1, size, 1) - centre[:, 1:2]) / radius[:, 1:2]) ** 2
        )
        mask = torch.sigmoid((1.0 - distance) / softness)
        label = (torch.arange(n, device=self.device) < n // 2).long()
        mask = mask * label.view(n, 1, 1, 1)
        image = mask * foreground + (1.0 - mask) * background
        xray = 4.0 * mask * (1.0 - mask)
        return image, xray, label

    def __iter__(self) -> Iterator[Batch]:
        while True:
            batch = self.make(self.next_batch)
            self.next_batch += 1
            yield batch

    def state_dict(self) -> dict:
        return {"next_batch": self.next_batch, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        if state.get("seed") != self.seed:
            raise ValueError(f"checkpoint was made with data seed {state.get('seed')}, this run uses {self.seed}")
        self.next_batch = int(state["next_batch"])


class Batched:
    """Collate a per-sample iterable of (image, xray, label) into batches; its state comes along.

    ``samples`` must offer ``state_dict()`` and ``load_state_dict()`` that
    capture its position exactly, and must be consumed only through this
    object (no prefetching workers), so the saved state is the true position.
    """

    def __init__(self, samples: Iterable, batch_size: int) -> None:
        if not (hasattr(samples, "state_dict") and hasattr(samples, "load_state_dict")):
            raise TypeError(f"{type(samples).__name__} has no state_dict/load_state_dict, so runs could not resume exactly")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.samples = samples
        self.batch_size = batch_size

    def __iter__(self) -> Iterator[Batch]:
        iterator = iter(self.samples)
        while True:
            images, xrays, labels = [], [], []
            for image, xray, label in iterator:
                images.append(torch.as_tensor(image, dtype=torch.float32))
                xrays.append(torch.as_tensor(xray, dtype=torch.float32))
                labels.append(int(label))
                if len(images) == self.batch_size:
                    break
            if len(images) < self.batch_size:
                return  # a finite source ends; a partial batch is dropped
            yield torch.stack(images), torch.stack(xrays), torch.tensor(labels, dtype=torch.long)

    def state_dict(self) -> dict:
        return {"samples": self.samples.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.samples.load_state_dict(state["samples"])


class LoaderBatches:
    """Batches from a DataLoader with ``workers`` processes over a resumable per-sample dataset.

    ``dataset`` must yield samples in a fixed order whatever the number of
    workers, and offer ``state_dict(consumed=n)`` / ``load_state_dict`` (as
    ``facexray_forensics.blending.BlendDataset`` with ``chunk`` = batch size
    does). Prefetched batches are not counted: the state is the position
    after the batches handed to the loop.
    """

    def __init__(self, dataset, batch_size: int, workers: int = 4, pin_memory: bool = False) -> None:
        if batch_size < 1 or workers < 0:
            raise ValueError(f"need batch_size >= 1 and workers >= 0, got {batch_size} and {workers}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.workers = workers
        self.pin_memory = pin_memory
        self.consumed = 0

    def __iter__(self) -> Iterator[Batch]:
        loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            num_workers=self.workers,
            pin_memory=self.pin_memory,
            persistent_workers=False,
            prefetch_factor=4 if self.workers else None,
            # Spawned, not forked: a forked child inherits the parent's thread pools (the ops', OpenMP's)
            # without their threads and can hang on the first parallel call.
            multiprocessing_context="spawn" if self.workers else None,
        )
        for image, xray, label in loader:
            self.consumed += len(label)
            yield image, xray, label

    def state_dict(self) -> dict:
        return {"dataset": self.dataset.state_dict(consumed=self.consumed)}

    def load_state_dict(self, state: dict) -> None:
        self.dataset.load_state_dict(state["dataset"])
        self.consumed = 0  # counted from the dataset's new start


class GeneratorBatches:
    """Batches rendered on the device by ``sampler`` (``draw(batch_size, generator)`` then ``render``)."""

    def __init__(self, sampler, batch_size: int, seed: int = 0) -> None:
        self.sampler = sampler
        self.batch_size = batch_size
        self.generator = torch.Generator(device=sampler.device)
        self.generator.manual_seed(int(seed))

    def __iter__(self) -> Iterator[Batch]:
        while True:
            yield self.sampler.render(self.sampler.draw(self.batch_size, self.generator)).training_tensors()

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
