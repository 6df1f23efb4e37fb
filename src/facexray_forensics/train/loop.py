"""The training loop of the paper (§4): λ·BCE(X-ray) + CE(class), Adam, linear decay over the last quarter.

Runs in time-bounded chunks: ``train(config, max_minutes=...)`` resumes from
``<checkpoint_dir>/latest.pt`` when it exists, trains until the step budget,
the time budget or ``max_steps`` is spent, and leaves a checkpoint from which
the next call continues exactly (same next batch, same next loss).

Under ``torchrun`` (WORLD_SIZE > 1) each process trains on its own data
stream (seeded by rank) with DistributedDataParallel: NCCL on CUDA, gloo on
CPU. ``run.batch_size`` is per process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from facexray_forensics.model.facexray import FaceXray
from facexray_forensics.model.registry import create
from facexray_forensics.train.checkpoint import LATEST, capture_rng, load_checkpoint, restore_rng, save_checkpoint
from facexray_forensics.train.config import TrainConfig
from facexray_forensics.train.data import Batched, BatchSource, GeneratorBatches, LoaderBatches, SyntheticBlends


def face_xray_loss(
    xray_logits: torch.Tensor,
    class_logits: torch.Tensor,
    xray_target: torch.Tensor,
    labels: torch.Tensor,
    xray_weight: float = 100.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Paper Eq. 3–5: ``λ·BCE(X-ray) + CE(class)``.

    The BCE is the mean over pixels (a sum, as Eq. 4 is written, would scale
    with the image size and make λ meaningless), computed from logits in
    float32 so bf16 autocast cannot make it overflow.
    """
    bce = F.binary_cross_entropy_with_logits(xray_logits.float(), xray_target.float())
    ce = F.cross_entropy(class_logits.float(), labels)
    return xray_weight * bce + ce, {"bce": bce.detach(), "ce": ce.detach()}


def learning_rate_factor(total_steps: int, decay_fraction: float):
    """Multiplier of the base rate at a step: 1, then linear to 0 over the last ``decay_fraction`` of the steps."""
    decay_steps = max(1, round(total_steps * decay_fraction)) if decay_fraction > 0 else 0
    decay_start = total_steps - decay_steps

    def factor(step: int) -> float:
        if decay_steps == 0 or step < decay_start:
            return 1.0
        return max(0.0, (total_steps - step) / decay_steps)

    return factor


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """"auto" picks this process's CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    return device


class _LogitsModule(nn.Module):
    """Expose ``forward_logits`` as ``forward``, so DDP and torch.compile wrap the training path."""

    def __init__(self, model: FaceXray) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.forward_logits(x)


class TrainStep:
    """One optimisation step, shared by the loop and the throughput benchmark.

    ``bf16`` and ``channels_last`` apply on CUDA, and on the CPU too when
    ``cpu_too`` is set (so tests can exercise them). ``network`` is what runs
    the forward pass: the model itself, its DDP wrapper, or a compiled module.
    """

    def __init__(
        self,
        model: FaceXray,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        device: torch.device,
        xray_weight: float,
        bf16: bool,
        channels_last: bool,
        network: nn.Module | None = None,
        frozen_layers: tuple[nn.Module, ...] = (),
    ) -> None:
        self.model = model
        self.frozen_layers = frozen_layers
        self.network = network if network is not None else _LogitsModule(model)
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.device = device
        self.xray_weight = xray_weight
        self.bf16 = bf16
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self._frozen: bool | None = None  # no mode set yet: the first step sets it

    def __call__(self, batch, freeze_backbone: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        image, xray, label = (t.to(self.device, non_blocking=True) for t in batch)
        image = image.contiguous(memory_format=self.memory_format)
        # Switching modes walks every module; do it only when the mode changes.
        if not self.model.training or freeze_backbone != self._frozen:
            self.model.train()
            for layer in self.frozen_layers:
                layer.eval()  # their BN statistics stay as they started
            if freeze_backbone:
                self.model.backbone.eval()  # keep the warm-start BN statistics too
            self._frozen = freeze_backbone
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.bf16 else nullcontext()
        with autocast:
            xray_logits, class_logits = self.network(image)
        loss, parts = face_xray_loss(xray_logits, class_logits, xray, label, self.xray_weight)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if freeze_backbone:
            # Adam skips parameters without a gradient, so the backbone stays exactly as warm-started.
            for parameter in self.model.backbone.parameters():
                parameter.grad = None
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach(), parts


def build_model(config: TrainConfig) -> FaceXray:
    """The config's network at its starting point: random, ImageNet-pretrained backbone,
    a warm-started backbone, or a whole weights directory to continue from."""
    torch.manual_seed(config.run.seed)
    settings = config.model
    init = Path(settings.init) if settings.init else None
    if init is not None and init.is_dir():
        from facexray_forensics.model.weight_files import load_weights

        loaded = load_weights(init)
        if (loaded.card.architecture, loaded.card.class_head) != (settings.name, settings.class_head):
            raise ValueError(f"{init} holds {loaded.card.architecture} with a {loaded.card.class_head!r} head; "
                             f"the config trains {settings.name} with {settings.class_head!r}")
        print(f"continuing from {init} (card SHA-256 {loaded.sha256}), fresh optimiser", file=sys.stderr)
        trained = loaded.card.notes.get("training", {})
        # What the weights already cost, so the next export's card counts every chunk.
        loaded.model.prior_training = {"samples_seen": int(trained.get("samples_seen", 0)),
                                       "train_seconds": float(trained.get("train_seconds", 0.0)),
                                       "continued_from": loaded.sha256}
        return loaded.model
    model = create(settings.name, init=init, pretrained=settings.pretrained, class_head=settings.class_head)
    if hasattr(model, "init_report"):
        print(model.init_report.summary(), file=sys.stderr)
    return model


def build_step(config: TrainConfig, device: torch.device, distributed: bool = False) -> TrainStep:
    """Model, optimiser, scheduler and the wrappers the config asks for, ready to step."""
    model = build_model(config).to(device)
    frozen_layers = _freeze_trunk_layers(model, config.model.frozen_trunk_layers)
    fast = device.type == "cuda" or config.run.cpu_too
    channels_last = config.run.channels_last and fast
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=config.optim.learning_rate, betas=config.optim.betas, weight_decay=config.optim.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, learning_rate_factor(config.optim.total_steps, config.optim.decay_fraction)
    )
    network: nn.Module = _LogitsModule(model)
    if distributed:
        network = nn.parallel.DistributedDataParallel(
            network,
            device_ids=[device.index] if device.type == "cuda" else None,
            # Frozen-backbone steps still compute backbone gradients, so every parameter is used.
            find_unused_parameters=False,
        )
    if config.run.compile:
        network = torch.compile(network, mode=config.run.compile_mode)
    return TrainStep(model, optimizer, scheduler, device, config.loss.xray_weight, config.run.bf16 and fast, channels_last,
                     network, frozen_layers)


def _freeze_trunk_layers(model: FaceXray, count: int) -> tuple[nn.Module, ...]:
    """Take the trunk's first ``count`` layers out of training (no gradients, BN in eval mode)."""
    if count == 0:
        return ()
    if not hasattr(model.backbone, "leading_layers"):
        raise ValueError(f"model.frozen_trunk_layers needs a trunk with ordered layers; {model.architecture} has none")
    layers = tuple(model.backbone.leading_layers(count))
    for layer in layers:
        layer.requires_grad_(False)
    return layers


def make_source(config: TrainConfig, rank: int, device: torch.device) -> BatchSource:
    """The batch source a config names, seeded per process, drawing from training sources only."""
    seed = config.data.seed + 7919 * rank
    if config.data.source == "synthetic":
        return SyntheticBlends(config.run.batch_size, config.data.image_size, seed, device)
    from facexray_forensics.data.index import FaceIndex

    index = FaceIndex(config.data.index)
    sources = None
    if config.data.split:
        from facexray_forensics.data.split import TRAIN, read_split

        sources = sorted(read_split(config.data.split).sources(TRAIN) & set(index.source_names))
        if not sources:
            raise ValueError(f"no source of {config.data.index} is on the train side of {config.data.split}")
    if index.size != config.data.image_size:
        raise ValueError(f"the index holds {index.size}-pixel crops but data.image_size is {config.data.image_size}")
    index_scale = index.manifest["settings"].get("scale", 1.3)
    if abs(index_scale - config.data.crop_scale) > 1e-9:
        raise ValueError(f"the index's crops cover {index_scale}× the landmarks but data.crop_scale is {config.data.crop_scale}")
    if config.data.source == "gpu":
        from facexray_forensics.blending.gpu_sampler import GpuBlendSampler

        return GeneratorBatches(GpuBlendSampler(index, sources=sources, device=device), config.run.batch_size, seed)
    from facexray_forensics.blending.sampler import BlendDataset

    dataset = BlendDataset(config.data.index, seed=seed, chunk=config.run.batch_size, config=config.sampler,
                           sources=sources)
    if config.data.workers == 0:
        return Batched(dataset, config.run.batch_size)
    return LoaderBatches(dataset, config.run.batch_size, config.data.workers, pin_memory=device.type == "cuda")


@dataclass
class TrainResult:
    """What one chunk did."""

    step: int  # steps completed in total, over all chunks
    finished: bool  # the step budget is spent
    losses: list[float] = field(default_factory=list)  # this process's loss at each step of this chunk
    checkpoint: Path | None = None
    seconds: float = 0.0
    samples_per_s: float = 0.0  # over all processes
    model: FaceXray | None = field(default=None, repr=False)  # the trained network (this process's copy)


@dataclass
class _Distributed:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @classmethod
    def from_environment(cls) -> _Distributed:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        return cls(int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world_size)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def train(
    config: TrainConfig,
    source: BatchSource | None = None,
    max_minutes: float | None = None,
    max_steps: int | None = None,
    resume: bool = True,
    progress: bool = True,
) -> TrainResult:
    """Train one chunk; see the module docstring. Returns what the chunk did."""
    config.validate()
    world = _Distributed.from_environment()
    device = resolve_device(config.run.device, world.local_rank)
    _join_process_group(world, device)
    step_fn = build_step(config, device, world.enabled)
    source = source if source is not None else make_source(config, world.rank, device)
    directory = Path(config.run.checkpoint_dir)
    step, seconds_before = 0, 0.0
    if resume and (directory / LATEST).is_file():
        step, seconds_before = _resume(directory / LATEST, config, step_fn, source, world)
    curve = _learning_curve(config, directory, device, world)
    losses: list[torch.Tensor] = []
    started = time.monotonic()
    budget = None if max_minutes is None else max_minutes * 60.0
    chunk_steps = 0
    last_step_seconds = 0.0
    checkpoint = None
    bar = _progress_bar(config, step, world) if progress else None
    batches = iter(source)
    try:
        while step < config.optim.total_steps:
            if max_steps is not None and chunk_steps >= max_steps:
                break
            if budget is not None and _out_of_time(budget, started, chunk_steps, last_step_seconds, world, device):
                break
            step_started = time.monotonic()  # the batch's wait counts: it is part of what one more step costs
            batch = next(batches)
            loss, parts = step_fn(batch, freeze_backbone=step < config.model.freeze_backbone_steps)
            last_step_seconds = time.monotonic() - step_started
            losses.append(loss)
            step += 1
            chunk_steps += 1
            if bar is not None:
                bar.update(1)
            if step % config.run.log_every == 0 and world.rank == 0:
                _log(directory, step, loss, parts, step_fn, config, chunk_steps, time.monotonic() - started, world, bar)
            if curve is not None and step % config.run.curve_every == 0:
                curve.record(step_fn.model, step, step * config.run.batch_size * world.world_size, seconds_before)
            if step % config.run.checkpoint_every == 0:
                checkpoint = _save(directory, config, step, step_fn, source, world,
                                   seconds_before + _training_seconds(started, curve))
    finally:
        if bar is not None:
            bar.close()
    if chunk_steps and (checkpoint is None or step % config.run.checkpoint_every):
        checkpoint = _save(directory, config, step, step_fn, source, world,
                           seconds_before + _training_seconds(started, curve))
    seconds = time.monotonic() - started
    rate = chunk_steps * config.run.batch_size * world.world_size / seconds if seconds > 0 else 0.0
    return TrainResult(step=step, finished=step >= config.optim.total_steps, losses=[float(v) for v in losses],
                       checkpoint=checkpoint, seconds=seconds, samples_per_s=rate, model=step_fn.model)


def _join_process_group(world: _Distributed, device: torch.device) -> None:
    """Under torchrun, join the other processes (NCCL on CUDA, gloo on the CPU) unless already joined."""
    if world.enabled and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def _learning_curve(config: TrainConfig, directory: Path, device: torch.device, world: _Distributed):
    """The learning curve the config asks for, kept by rank 0 only; else None."""
    if not (config.run.curve_every and world.rank == 0):
        return None
    from facexray_forensics.train.curve import LearningCurve

    return LearningCurve(config.run.curve_set, directory / "curve.jsonl", device)


def _progress_bar(config: TrainConfig, step: int, world: _Distributed):
    """A progress bar over all the steps on rank 0, starting at ``step``; None on the other ranks."""
    if world.rank != 0:
        return None
    from tqdm import tqdm

    return tqdm(total=config.optim.total_steps, initial=step, desc="train", unit="step", file=sys.stderr)


def _out_of_time(budget: float, started: float, chunk_steps: int, last_step_seconds: float,
                 world: _Distributed, device: torch.device) -> bool:
    """Whether one more step, at the last step's pace with margin, would overrun the budget on any rank.

    The first step is no guide: torch.compile can make it last minutes, which
    would end a short chunk after it. The ranks agree each step (a host sync),
    so call this only under a time budget.
    """
    elapsed = time.monotonic() - started
    ahead = elapsed + 2.0 * last_step_seconds if chunk_steps > 1 else elapsed
    return _any_rank(chunk_steps > 0 and ahead > budget, world, device)


def _training_seconds(started: float, curve) -> float:
    """Wall seconds of this chunk, less the time the learning curve spent scoring."""
    return time.monotonic() - started - (curve.spent if curve is not None else 0.0)


def _any_rank(flag: bool, world: _Distributed, device: torch.device) -> bool:
    if not world.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def _log(directory, step, loss, parts, step_fn, config, chunk_steps, seconds, world, bar) -> None:
    record = {
        "step": step,
        "loss": float(loss),
        "bce": float(parts["bce"]),
        "ce": float(parts["ce"]),
        "learning_rate": step_fn.scheduler.get_last_lr()[0],
        "samples_per_s": chunk_steps * config.run.batch_size * world.world_size / max(seconds, 1e-9),
    }
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "log.jsonl", "a") as handle:
        handle.write(json.dumps(record) + "\n")
    if bar is not None:
        bar.set_postfix(loss=f"{record['loss']:.4f}", lr=f"{record['learning_rate']:.2e}")


def _save(directory: Path, config: TrainConfig, step: int, step_fn: TrainStep, source, world: _Distributed,
          train_seconds: float) -> Path:
    own = {"rng": capture_rng(), "source": source.state_dict()}
    if world.enabled:
        ranks: list = [None] * world.world_size
        dist.all_gather_object(ranks, own)
    else:
        ranks = [own]
    path = directory / LATEST
    if world.rank == 0:
        save_checkpoint(
            path,
            {
                "step": step,
                "train_seconds": train_seconds,
                "prior_training": getattr(step_fn.model, "prior_training", None),
                "config": config.to_dict(),
                "world_size": world.world_size,
                "model": step_fn.model.state_dict(),
                "optimizer": step_fn.optimizer.state_dict(),
                "scheduler": step_fn.scheduler.state_dict(),
                "ranks": ranks,
            },
        )
    if world.enabled:
        dist.barrier()
    return path


def _resume(path: Path, config: TrainConfig, step_fn: TrainStep, source, world: _Distributed) -> tuple[int, float]:
    payload = load_checkpoint(path)
    saved = payload["config"]
    if saved["model"]["name"] != config.model.name or saved["run"]["batch_size"] != config.run.batch_size:
        raise ValueError(f"{path} was made with model {saved['model']['name']} and batch {saved['run']['batch_size']}; "
                         f"this config has {config.model.name} and {config.run.batch_size}")
    if payload["world_size"] != world.world_size:
        raise ValueError(f"{path} was made by {payload['world_size']} processes; resume it with as many, not {world.world_size}")
    step_fn.model.load_state_dict(payload["model"])
    step_fn.optimizer.load_state_dict(payload["optimizer"])
    step_fn.scheduler.load_state_dict(payload["scheduler"])
    own = payload["ranks"][world.rank]
    source.load_state_dict(own["source"])
    restore_rng(own["rng"])
    return int(payload["step"]), float(payload.get("train_seconds", 0.0))
