"""Bundled sample evidence, generated from public-domain pictures by our own code.

:func:`evidence_dir` is the folder to scan (``fxr-forensic scan`` on it runs
the whole job); :data:`SAMPLES` says what each file is and what a scan should
make of it. ``python -m facexray_forensics.samples.build`` regenerates the
files (a developer step: it needs scikit-image from the ``test`` extra).
README.md beside this file records provenance and licences.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: file name -> (what it is, the ground truth, the scan status it should get)
SAMPLES: dict[str, tuple[str, str, str]] = {
    "astronaut.jpg": ("the original photograph, JPEG", "real", "scored"),
    "astronaut.png": ("the original photograph, lossless PNG copy", "real", "scored"),
    "astronaut_self_blended.jpg": (
        "the astronaut's own face, colour-shifted and slightly enlarged, blended back into the photograph "
        "through a deformed landmark-hull mask",
        "blended",
        "scored",
    ),
    "astronaut_mirror_blended.jpg": (
        "the face of the mirrored, recoloured photograph warped onto the original landmarks, colour-corrected "
        "and blended in through a deformed landmark-hull mask",
        "blended",
        "scored",
    ),
    "coffee.jpg": ("a cup of coffee: no face", "no face", "no_face"),
    "astronaut_truncated.jpg": ("the original JPEG cut to 60% of its bytes", "corrupt", "unreadable"),
}


def evidence_dir() -> Path:
    """The folder of bundled sample evidence inside the installed package."""
    return Path(str(files(__name__) / "evidence"))
