"""A small real scan for the export tests: files, a FAT image with a deleted file, hashed and expanded.

A plain module (not a conftest) so its helpers import by a unique name. The
scan runs the hashing and disk-image plugins only (no model); one item is
then marked scored, so the exports' score paths are exercised too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from facexray_forensics.plugins.builtin import DiskImagePlugin, HashingPlugin
from facexray_forensics.records import Band, ScanReport, Status
from facexray_forensics.scan import Output, Scan, ScanCase, ScanSettings

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "facexray_forensics" / "samples" / "evidence"
FAT_TOOLS = ("mkfs.fat", "mcopy", "mdel")
SCORED = ("evidence/astronaut_self_blended.jpg", 0.9312, Band.STRONG)


def fat_tools_missing() -> bool:
    return any(shutil.which(tool) is None for tool in FAT_TOOLS)


def make_evidence(root: Path) -> dict[str, bytes]:
    """Write the evidence folder; return the bytes of every file by its item name (inner files too)."""
    evidence = root / "evidence"
    evidence.mkdir()
    contents = {}
    for name in ("astronaut.jpg", "astronaut_self_blended.jpg"):
        contents[f"evidence/{name}"] = (SAMPLES / name).read_bytes()
        (evidence / name).write_bytes(contents[f"evidence/{name}"])
    odd = "bell\x07name.txt"  # a control character XML cannot hold
    contents[f"evidence/{odd}"] = b"a file with an awkward name\n"
    (evidence / odd).write_bytes(contents[f"evidence/{odd}"])
    staging = root / "staging"
    staging.mkdir()
    inner = {"photo.jpg": (SAMPLES / "astronaut.jpg").read_bytes()[::-1], "gone.bin": os.urandom(3000)}
    image = evidence / "card.img"
    environment = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    subprocess.run(["mkfs.fat", "-C", str(image), "2048"], check=True, capture_output=True)
    for name, data in inner.items():
        (staging / name).write_bytes(data)
        subprocess.run(["mcopy", "-i", str(image), str(staging / name), f"::/{name}"], check=True, capture_output=True, env=environment)
    subprocess.run(["mdel", "-i", str(image), "::/gone.bin"], check=True, capture_output=True, env=environment)
    contents["evidence/card.img"] = image.read_bytes()
    contents["inner:/photo.jpg"] = inner["photo.jpg"]
    contents["inner:/_one.bin"] = inner["gone.bin"]  # FAT overwrites a deleted name's first character
    return contents


def scan_evidence(root: Path) -> ScanReport:
    """Scan ``root/evidence`` (hashing and disk images only) and mark one item as scored."""
    output = root / "out"
    output.mkdir()
    report = Scan(
        [root / "evidence"],
        [Output(output / "scan.json", lambda report, path: Path(path).write_text("{}"))],
        [HashingPlugin(), DiskImagePlugin()],
        settings=ScanSettings(workers=1),
        case=ScanCase(case="2026-117", exhibit="EX1", examiner="A. Examiner", command_line=["fxr-forensic", "scan", "evidence"]),
        progress=False,
    ).run()
    name, score, band = SCORED
    item = next(item for item in report.items if item.name == name)
    item.status, item.reason, item.score, item.band = Status.SCORED, None, score, band
    return report


def content_of(item, contents: dict[str, bytes]) -> bytes:
    """The original bytes of a report item."""
    if "inner_path" in item.origin:
        return contents[f"inner:{item.origin['inner_path']}"]
    return contents[item.name]
