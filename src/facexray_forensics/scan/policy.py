"""Scan policy every front end shares: which plugins run, and which renderer writes which file.

A front end (the CLI, and through it the Autopsy module) turns its options
into :class:`ScanSettings` (named as the scan and its plugins declare them),
:class:`ReportFiles` and a :class:`ScanCase`, and makes one call:
:func:`scan_to_files`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from facexray_forensics.evidence import DecodeError, DecodeLimits, decode_frames, item_from_origin
from facexray_forensics.evidence.disk_image.items import inner_item
from facexray_forensics.plugins import Plugin, Setting, discover_plugins, select_plugins, setting_table
from facexray_forensics.plugins.builtin import BUILTIN_PLUGINS
from facexray_forensics.records import ItemReport, ScanReport
from facexray_forensics.scan.executor import HASHING
from facexray_forensics.scan.pipeline import Scan
from facexray_forensics.scan.settings import Output, ScanCase, ScanSettings

PathLike = str | os.PathLike


@dataclass(frozen=True)
class ReportFiles:
    """Where each kind of report goes; None leaves it out. The first one given names the custody log and journal."""

    report: PathLike | None = None  # the examiner's PDF
    json: PathLike | None = None
    csv: PathLike | None = None
    case_uco: PathLike | None = None
    dfxml: PathLike | None = None
    xray_images: PathLike | None = None  # a JSON index, with each scored face's X-ray map as a PNG beside it

    def requested(self) -> bool:
        return any(getattr(self, kind.name) for kind in fields(self))


def installed_setting_table() -> dict[str, Setting]:
    """The settings of the scan and of every usable plugin, built-in and installed: the front ends' options."""
    return setting_table([entry.plugin for entry in discover_plugins(BUILTIN_PLUGINS) if entry.plugin is not None])


def scan_plugins(only: Sequence[str] = (), exclude: Sequence[str] = (), warn: Callable[[str], None] = lambda line: None) -> list[Plugin]:
    """Instances of the plugins a scan runs, built-in and installed, in run order (see ``select_plugins``).

    An installed plugin that cannot load is left out, with a ``warn`` line,
    unless ``only`` names it: then selecting it fails with its reason.
    """
    entries = discover_plugins(BUILTIN_PLUGINS)
    for entry in entries:
        if entry.error is not None and entry.name not in only:
            warn(f"leaving out plugin {entry.name} from {entry.source}: {entry.error}")
    # Hashing runs whatever else is chosen: the custody chain records every item's hashes.
    chosen = (*only, HASHING) if only else ()
    return [plugin() for plugin in select_plugins(entries, chosen, exclude)]


def report_outputs(files: ReportFiles) -> list[Output]:
    """An :class:`Output` for each file asked for, in the order of :class:`ReportFiles`."""
    # Imported here: the renderers (reportlab, OpenCV) load only for a scan that writes.
    from facexray_forensics.renderers.case_uco import render_case_uco
    from facexray_forensics.renderers.csv import render_csv
    from facexray_forensics.renderers.dfxml import render_dfxml
    from facexray_forensics.renderers.json import render_json
    from facexray_forensics.renderers.pdf import render_pdf
    from facexray_forensics.renderers.xray_images import render_xray_images

    renderers = {
        "report": lambda report, path: render_pdf(report, path, frames=frame_loader(report.settings)),
        "json": render_json,
        "csv": render_csv,
        "case_uco": render_case_uco,
        "dfxml": render_dfxml,
        "xray_images": render_xray_images,
    }
    return [Output(getattr(files, kind), render) for kind, render in renderers.items() if getattr(files, kind)]


def scan_to_files(evidence: Sequence[PathLike], files: ReportFiles, settings: ScanSettings, case: ScanCase,
                  only: Sequence[str] = (), exclude: Sequence[str] = (), resume: bool = False, progress: bool = True,
                  warn: Callable[[str], None] = lambda line: None) -> ScanReport:
    """Scan ``evidence`` with the selected plugins into ``files``: a :class:`Scan` with the scan's policy applied.

    Raises ValueError for a bad selection or placement, before anything is written.
    """
    outputs = report_outputs(files)
    plugins = scan_plugins(only, exclude, warn)
    return Scan(evidence, outputs, plugins, settings=settings, case=case, resume=resume, progress=progress, notify=warn).run()


def frame_loader(settings: Mapping[str, Any]) -> Callable[[ItemReport, int], Any]:
    """A ``frames(item_report, frame_index)`` callable for renderers: decodes the item again,
    read-only and under the limits a scan's recorded ``settings`` name, exactly as it did;
    None when it cannot."""
    limits = DecodeLimits(**{field.name: settings[field.name] for field in fields(DecodeLimits) if field.name in settings})

    def frames(report: ItemReport, frame_index: int):
        origin = dict(report.origin)
        if "image_path" in origin:
            item = inner_item(report.name, report.kind, report.mime, report.size, origin)
        elif "path" in origin:
            item = item_from_origin(report.name, report.kind, report.mime, report.size, origin)
        else:
            return None
        try:
            for frame in decode_frames(item, limits):
                if frame.index == frame_index:
                    return frame.pixels
        except DecodeError:
            return None
        return None

    return frames
