"""Training throughput: samples per second of full optimisation steps, for a training config,
beside the paper's anchor (HRNetV2-W18 at 256) timed in the same run.

With ``index`` the config's own batch source runs in the loop (the BI sampler
in its loader workers, drawing from that face index), so the figure is what a
training run gets; without it, blends are synthesised on the training device.
The anchor uses the same batch size, device and bf16/channels_last settings.
"""

from __future__ import annotations

import copy
import time

import torch

from facexray_forensics.train.config import TrainConfig
from facexray_forensics.train.data import SyntheticBlends
from facexray_forensics.train.loop import build_step, make_source, resolve_device

ANCHOR_MODEL, ANCHOR_SIZE = "hrnet_w18", 256


def _time_steps(config: TrainConfig, index: str | None, steps: int, warmup: int) -> dict:
    """Samples per second of ``steps`` timed steps of ``config`` after ``warmup`` untimed ones."""
    config = copy.deepcopy(config)
    config.optim.total_steps = steps + warmup
    target = resolve_device(config.run.device)
    if index is not None:
        config.data.source, config.data.index = "bi", index
        source = make_source(config, 0, target)
    else:
        source = SyntheticBlends(config.run.batch_size, config.data.image_size, seed=0, device=target)
    config.validate()
    step = build_step(config, target)
    batches = iter(source)

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
    return {
        "samples_per_s": round(steps * config.run.batch_size / seconds, 2),
        "model": config.model.name,
        "image_size": config.data.image_size,
        "data": f"BI sampler on {index}" if index is not None else "synthetic blends made on the training device",
        "final_loss": round(float(loss), 4),
    }


def run(config: TrainConfig, index: str | None = None, steps: int = 10, warmup: int = 3,
        anchor: bool = True) -> dict:
    """Time ``config`` (and, with ``anchor``, HRNetV2-W18 at 256 with the same run settings).

    Returns a JSON-able dict: ``samples_per_s`` for the config, ``anchor_samples_per_s`` and
    ``speedup`` over the anchor, and the settings both shared.
    """
    if steps < 1 or warmup < 0:
        raise ValueError(f"need steps >= 1 and warmup >= 0, got {steps} and {warmup}")
    target = resolve_device(config.run.device)
    fast = target.type == "cuda" or config.run.cpu_too
    result = _time_steps(config, index, steps, warmup)
    report = {
        **result,
        "device": torch.cuda.get_device_name(target) if target.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "batch": config.run.batch_size,
        "steps": steps,
        "warmup": warmup,
        "bf16": config.run.bf16 and fast,
        "channels_last": config.run.channels_last and fast,
        "compile": config.run.compile,
        "frozen_trunk_layers": config.model.frozen_trunk_layers,
        "torch": torch.__version__,
    }
    if anchor:
        reference = copy.deepcopy(config)
        reference.model.name, reference.model.pretrained, reference.model.init = ANCHOR_MODEL, False, ""
        reference.model.class_head, reference.model.frozen_trunk_layers = "gap", 0
        reference.data.image_size = ANCHOR_SIZE
        # The anchor's cost is its network's; synthetic data keeps it free of a 256-pixel index.
        anchor_result = _time_steps(reference, None, steps, warmup)
        report["anchor"] = f"{ANCHOR_MODEL} at {ANCHOR_SIZE}, {anchor_result['data']}"
        report["anchor_samples_per_s"] = anchor_result["samples_per_s"]
        report["speedup"] = round(report["samples_per_s"] / anchor_result["samples_per_s"], 2)
    return report
