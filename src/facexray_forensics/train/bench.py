"""Training throughput: samples per second of full optimisation steps on synthetic blends."""

from __future__ import annotations

import time

import torch

from facexray_forensics.model.hrnet import WIDTHS
from facexray_forensics.train.config import TrainConfig
from facexray_forensics.train.data import SyntheticBlends
from facexray_forensics.train.loop import build_step, resolve_device


def run(
    model: str = "hrnet_w18",
    batch: int = 32,
    image_size: int = 256,
    steps: int = 10,
    warmup: int = 3,
    device: str = "auto",
    bf16: bool = True,
    channels_last: bool = True,
    compile: bool = False,
    compile_mode: str = "default",
) -> dict:
    """Time ``steps`` training steps after ``warmup`` untimed ones; data is made on the training device.

    bf16 and channels_last take effect on CUDA only. Returns a JSON-able dict
    with ``samples_per_s``, ``device``, ``batch`` and ``width`` among others.
    """
    if steps < 1 or warmup < 0:
        raise ValueError(f"need steps >= 1 and warmup >= 0, got {steps} and {warmup}")
    config = TrainConfig()
    config.model.name = model
    config.data.image_size = image_size
    config.run.batch_size = batch
    config.run.device = device
    config.run.bf16 = bf16
    config.run.channels_last = channels_last
    config.run.compile = compile
    config.run.compile_mode = compile_mode
    config.optim.total_steps = steps + warmup
    config.validate()
    target = resolve_device(device)
    step = build_step(config, target)
    batches = iter(SyntheticBlends(batch, image_size, seed=0, device=target))

    def synchronise() -> None:
        if target.type == "cuda":
            torch.cuda.synchronize(target)

    for _ in range(warmup):
        step(next(batches))
    synchronise()
    started = time.perf_counter()
    for _ in range(steps):
        loss, _ = step(next(batches))
    synchronise()
    seconds = time.perf_counter() - started
    fast = target.type == "cuda"
    return {
        "samples_per_s": round(steps * batch / seconds, 2),
        "device": torch.cuda.get_device_name(target) if fast else f"cpu ({torch.get_num_threads()} threads)",
        "batch": batch,
        "width": WIDTHS[model],
        "model": model,
        "image_size": image_size,
        "steps": steps,
        "warmup": warmup,
        "bf16": bf16 and fast,
        "channels_last": channels_last and fast,
        "compile": compile,
        "compile_mode": compile_mode if compile else None,
        "data": "synthetic blends made on the training device",
        "final_loss": round(float(loss), 4),
        "torch": torch.__version__,
    }
