"""Train / held-out split of real faces by source, recorded as a file so every run uses the same one.

A source (one person in LFW, one file in UTKFace or Helen; see
``facexray_forensics.data.index.source_of``) goes wholly to one side, so
no face of a held-out person is ever seen in training. The side is decided by
the SHA-256 of a salt and the source id, so it does not depend on which
other files exist, and adding photos later never moves an existing source.

The record (JSON) lists every file with its source, side and SHA-256, so a
later run can check it evaluates on exactly the recorded files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from facexray_forensics.custody import file_sha256

SPLIT_FORMAT = 1
TRAIN = "train"
HELD_OUT = "held_out"


def side_of(source: str, held_out_fraction: float, salt: str = "facexray-split-v1") -> str:
    """TRAIN or HELD_OUT for one source id, from the hash of salt and id."""
    if not 0.0 < held_out_fraction < 1.0:
        raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction}")
    digest = hashlib.sha256(f"{salt}\0{source}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2.0**64
    return HELD_OUT if position < held_out_fraction else TRAIN


@dataclass
class Split:
    """Which side each file and source is on; ``files`` maps relative path -> {source, side, sha256}."""

    held_out_fraction: float
    salt: str
    files: dict[str, dict] = field(default_factory=dict)

    def sources(self, side: str) -> set[str]:
        return {entry["source"] for entry in self.files.values() if entry["side"] == side}

    def paths(self, side: str) -> list[str]:
        return sorted(path for path, entry in self.files.items() if entry["side"] == side)

    def check_held_out(self, sources: Iterable[str]) -> None:
        """ValueError naming the first source that is not held out (evaluation must use held-out sources only)."""
        held_out = self.sources(HELD_OUT)
        for source in sources:
            if source not in held_out:
                raise ValueError(f"source {source!r} is not in the held-out split; evaluate on held-out sources only")

    def to_dict(self) -> dict:
        return {
            "format": SPLIT_FORMAT,
            "held_out_fraction": self.held_out_fraction,
            "salt": self.salt,
            "counts": {
                side: {"files": len(self.paths(side)), "sources": len(self.sources(side))} for side in (TRAIN, HELD_OUT)
            },
            "files": dict(sorted(self.files.items())),
        }


def split_files(
    files: Iterable[tuple[str, str]],
    held_out_fraction: float = 0.1,
    salt: str = "facexray-split-v1",
    root: str | Path | None = None,
) -> Split:
    """Split (relative path, source id) pairs by source; with ``root``, record each file's SHA-256 too."""
    split = Split(held_out_fraction, salt)
    for relative, source in files:
        entry = {"source": source, "side": side_of(source, held_out_fraction, salt)}
        if root is not None:
            entry["sha256"] = file_sha256(Path(root) / relative)
        split.files[relative] = entry
    return split


def split_directory(root: str | Path, held_out_fraction: float = 0.1, source_depth: int = 2, hashes: bool = True) -> Split:
    """Split every file below ``root`` by source, with the face index's own source rule."""
    from facexray_forensics.data.index import list_inputs, source_of

    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory")
    pairs = [(path.as_posix(), source_of(path, False, source_depth)) for path in list_inputs(root)]
    return split_files(pairs, held_out_fraction, root=root if hashes else None)


def write_split(split: Split, path: str | Path) -> None:
    Path(path).write_text(json.dumps(split.to_dict(), indent=1) + "\n")


def read_split(path: str | Path) -> Split:
    data = json.loads(Path(path).read_text())
    if data.get("format") != SPLIT_FORMAT:
        raise ValueError(f"{path} is not a split record of format {SPLIT_FORMAT}")
    return Split(float(data["held_out_fraction"]), data["salt"], dict(data["files"]))
