"""X-ray images: each scored face's predicted X-ray map as a PNG, with a JSON index.

For tools that link to pictures rather than read a PDF: the Autopsy module
posts the path of an item's strongest face's X-ray as an attribute. The
images are written beside the index file, named
``<index stem>-<item number>-face<face number>.png`` (numbers in report
order, from 1), coloured with the PDF's heat-map (renderers.overlay). The index names,
for every item with a scored face, each image, the face's score and band and
the image's SHA-256, so the pictures can be checked like the reports.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import cv2

from facexray_forensics.records import ScanReport
from facexray_forensics.renderers.overlay import heat_map

FORMAT = "fxr-xray-images/1"


def render_xray_images(report: ScanReport, path: str | os.PathLike) -> None:
    """Write every scored face's X-ray map as a PNG beside ``path`` and the JSON index at ``path``."""
    index_path = Path(path)
    stem = index_path.name[: -len(index_path.suffix)] if index_path.suffix else index_path.name
    entries = []
    for item_number, item in enumerate(report.items, start=1):
        faces = []
        for face_number, face in enumerate(item.faces, start=1):
            if face.xray is None:
                continue
            ok, encoded = cv2.imencode(".png", cv2.cvtColor(heat_map(face.xray), cv2.COLOR_RGB2BGR))
            if not ok:
                raise ValueError(f"the X-ray of face {face_number} of {item.name} could not be encoded")
            name = f"{stem}-{item_number:05d}-face{face_number}.png"
            (index_path.parent / name).write_bytes(encoded.tobytes())
            faces.append({
                "face": face_number,
                "image": name,
                "score": face.score,
                "band": face.band.value,
                "image_sha256": hashlib.sha256(encoded.tobytes()).hexdigest(),
            })
        if faces:
            entries.append({"path": item.name, "sha256": item.hashes.get("sha256"), "faces": faces})
    document = {"format": FORMAT, "items": entries}
    index_path.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
