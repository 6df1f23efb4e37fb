"""The scan: evidence through plugins into a ScanReport, with custody and resume.

``Scan(...).run()`` is the one entry point;
:func:`scan_to_files` is the same scan with the front ends' policy applied
(plugin selection, hashing always on, a renderer per report file).
:data:`BUILTIN_PLUGINS` are the default plugin classes (instantiate them:
``[cls() for cls in BUILTIN_PLUGINS]``).
"""

from facexray_forensics.plugins.builtin import BUILTIN_PLUGINS
from facexray_forensics.scan.executor import Executor, ItemResult, LocalExecutor
from facexray_forensics.scan.outputs import check_placement
from facexray_forensics.scan.pipeline import Scan
from facexray_forensics.scan.policy import (
    ReportFiles,
    frame_loader,
    installed_setting_table,
    report_outputs,
    scan_plugins,
    scan_to_files,
)
from facexray_forensics.scan.settings import Output, ScanCase, ScanSettings, ScanTimings, output_paths

__all__ = [
    "BUILTIN_PLUGINS",
    "Executor",
    "ItemResult",
    "LocalExecutor",
    "Output",
    "ReportFiles",
    "Scan",
    "ScanCase",
    "ScanSettings",
    "ScanTimings",
    "check_placement",
    "frame_loader",
    "installed_setting_table",
    "output_paths",
    "report_outputs",
    "scan_plugins",
    "scan_to_files",
]
