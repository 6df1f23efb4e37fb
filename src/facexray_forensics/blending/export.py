"""Write BI samples to disk for a person to look at: PNGs, the draw as JSON, a contact sheet."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from facexray_forensics.blending.config import SamplerConfig
from facexray_forensics.blending.sampler import BlendSampler

#: Values of the 16-bit mask and X-ray PNGs: float = png / MAP_SCALE.
MAP_SCALE = 65535


def write_samples(
    index_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    count: int,
    seed: int = 0,
    config: SamplerConfig | None = None,
    sheet_columns: int = 8,
    progress: bool = True,
) -> list[Path]:
    """Write samples 0..count-1 of stream ``seed`` into ``out_dir``.

    Per sample ``NNNNNN``: ``NNNNNN_image.png`` (RGB, 8-bit), ``NNNNNN_mask.png``
    (the softened mask M of Eq. 1 and 2) and ``NNNNNN_xray.png`` (4·M·(1−M)),
    both 16-bit grey (value / 65535), and ``NNNNNN_draw.json`` (label and draw
    parameters). ``contact_sheet.png`` shows each sample above its X-ray.
    Returns the paths of the JSON files.
    """
    import cv2
    from tqdm import tqdm

    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    sampler = BlendSampler(index_dir, config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written, tiles = [], []
    for number in tqdm(range(count), desc="blending", unit="sample", disable=not progress):
        record = sampler.sample(seed, number)
        stem = out / f"{number:06d}"
        cv2.imwrite(f"{stem}_image.png", cv2.cvtColor(record.image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(f"{stem}_mask.png", _to_uint16(record.softened))
        cv2.imwrite(f"{stem}_xray.png", _to_uint16(record.xray))
        draw = {"seed": seed, "number": number, "label": record.label, **record.params,
                "config": sampler.config.as_dict()}
        Path(f"{stem}_draw.json").write_text(json.dumps(draw, indent=1))
        written.append(Path(f"{stem}_draw.json"))
        xray = cv2.cvtColor(np.rint(record.xray * 255).astype(np.uint8), cv2.COLOR_GRAY2RGB)
        tiles.append(np.concatenate([record.image, xray], axis=0))
    _write_sheet(out / "contact_sheet.png", tiles, sheet_columns)
    return written


def _to_uint16(values: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(values, 0.0, 1.0) * MAP_SCALE).astype(np.uint16)


def _write_sheet(path: Path, tiles: list[np.ndarray], columns: int, tile_width: int = 128) -> None:
    """A grid of (image over X-ray) tiles, shrunk to ``tile_width`` wide, at most 64 tiles."""
    import cv2

    tiles = tiles[:64]
    height, width = tiles[0].shape[:2]
    small = [cv2.resize(t, (tile_width, tile_width * height // width), interpolation=cv2.INTER_AREA)
             for t in tiles]
    columns = min(columns, len(small))
    rows = -(-len(small) // columns)
    blank = np.zeros_like(small[0])
    small += [blank] * (rows * columns - len(small))
    sheet = np.concatenate([np.concatenate(small[r * columns:(r + 1) * columns], axis=1)
                            for r in range(rows)], axis=0)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
