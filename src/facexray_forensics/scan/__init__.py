"""The scan: evidence through plugins into a ScanReport, with custody and resume.

:func:`run_scan` is the one entry point; :data:`BUILTIN_PLUGINS` are its
default plugin classes (instantiate them: ``[cls() for cls in BUILTIN_PLUGINS]``).
"""

from facexray_forensics.plugins.builtin import BUILTIN_PLUGINS
from facexray_forensics.scan.pipeline import (
    Output,
    ScanCase,
    ScanSettings,
    ScanTimings,
    check_placement,
    frame_loader,
    output_paths,
    run_scan,
)

__all__ = [
    "BUILTIN_PLUGINS",
    "Output",
    "ScanCase",
    "ScanSettings",
    "ScanTimings",
    "check_placement",
    "frame_loader",
    "output_paths",
    "run_scan",
]
