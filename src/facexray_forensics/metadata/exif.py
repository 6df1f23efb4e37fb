"""EXIF summary of one image for an examiner: camera, software, dates, GPS, editors."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, BinaryIO

import exifread

# exifread warns through logging about every file without EXIF; a library
# must not print, so its records reach only handlers the application set up.
logging.getLogger("exifread").addHandler(logging.NullHandler())

# Substrings (lower case) of Software / ProcessingSoftware / XMP CreatorTool
# values written by photo editors and face-altering apps, mapped to the name
# shown in reports. A camera's own firmware string matches none of them.
EDITORS: Mapping[str, str] = {
    "photoshop": "Adobe Photoshop",
    "lightroom": "Adobe Lightroom",
    "camera raw": "Adobe Camera Raw",
    "gimp": "GIMP",
    "snapseed": "Snapseed",
    "faceapp": "FaceApp",
    "facetune": "Facetune",
    "meitu": "Meitu",
    "picsart": "PicsArt",
    "affinity photo": "Affinity Photo",
    "pixelmator": "Pixelmator",
    "paint.net": "Paint.NET",
    "paintshop": "Corel PaintShop",
    "luminar": "Luminar",
    "capture one": "Capture One",
    "darktable": "darktable",
    "rawtherapee": "RawTherapee",
    "krita": "Krita",
    "photopea": "Photopea",
    "photoscape": "PhotoScape",
    "polarr": "Polarr",
    "vsco": "VSCO",
    "fotor": "Fotor",
    "canva": "Canva",
    "acdsee": "ACDSee",
    "picasa": "Picasa",
    "dxo": "DxO",
}

# XMP packets sit near the start of JPEG, PNG and WebP files; scanning this
# much keeps the cost bounded on large files.
_XMP_WINDOW = 4 << 20
_CREATOR_TOOL = re.compile(
    rb"CreatorTool(?:=\"([^\"]{0,512})\"|>([^<]{0,512})</)",
)

_EXIF_DATE = "%Y:%m:%d %H:%M:%S"

# (key in our dict, exifread tag names in order of preference)
_TEXT_TAGS = (
    ("camera_make", ("Image Make",)),
    ("camera_model", ("Image Model",)),
    ("software", ("Image Software",)),
    ("processing_software", ("Image ProcessingSoftware", "Image Tag 0x000B")),
)
_DATE_TAGS = (
    ("date_original", "EXIF DateTimeOriginal", "EXIF OffsetTimeOriginal"),
    ("date_digitised", "EXIF DateTimeDigitized", "EXIF OffsetTimeDigitized"),
    ("date_modified", "Image DateTime", "EXIF OffsetTime"),
)
_SIZE_TAGS = (
    ("width", ("EXIF ExifImageWidth", "Image ImageWidth")),
    ("height", ("EXIF ExifImageLength", "Image ImageLength")),
)


def empty_summary() -> dict[str, Any]:
    """The summary of an image that carries no metadata: every key, all unset."""
    return {
        "exif_present": False,
        "camera_make": None,
        "camera_model": None,
        "software": None,
        "processing_software": None,
        "creator_tool": None,
        "date_original": None,
        "date_digitised": None,
        "date_modified": None,
        "gps_present": False,
        "gps_latitude": None,
        "gps_longitude": None,
        "width": None,
        "height": None,
        "orientation": None,
        "orientation_description": None,
        "editing_software": [],
        "error": None,
    }


def read_exif(source: bytes | bytearray | memoryview | BinaryIO) -> dict[str, Any]:
    """Summarise the EXIF (and XMP CreatorTool) of an image.

    ``source`` is the file's bytes or a binary stream, which is read from its
    start (it is seeked, never written). Returns :func:`empty_summary`'s keys:
    camera make and model, software, the three EXIF dates (ISO 8601, with the
    UTC offset when the file records one), whether GPS tags are present and
    the decimal coordinates when they are, the EXIF-declared dimensions,
    the orientation, and ``editing_software``: the editors of :data:`EDITORS`
    named in Software, ProcessingSoftware or XMP CreatorTool.

    Bad content never raises: a file exifread cannot parse gives the summary
    with ``error`` set to the reason. A ``source`` of another type is a
    programming error and raises TypeError.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        stream: BinaryIO = io.BytesIO(bytes(source))
    elif hasattr(source, "read") and hasattr(source, "seek"):
        stream = source
    else:
        raise TypeError(f"read_exif needs bytes or a seekable binary stream, got {type(source).__name__}")

    summary = empty_summary()
    try:
        tags = exifread.process_file(stream, details=False, extract_thumbnail=False)
        _fill_from_tags(summary, tags)
        stream.seek(0)
        summary["creator_tool"] = _creator_tool(stream.read(_XMP_WINDOW))
    except Exception as error:  # exifread raises many kinds on malformed files
        summary["error"] = f"metadata unreadable: {type(error).__name__}: {error}"
    summary["editing_software"] = editors_named(
        summary["software"], summary["processing_software"], summary["creator_tool"]
    )
    return summary


def editors_named(*values: str | None) -> list[str]:
    """The editors of :data:`EDITORS` that any of ``values`` names, sorted, without repeats."""
    found = set()
    for value in values:
        if value:
            lowered = value.lower()
            found.update(name for key, name in EDITORS.items() if key in lowered)
    return sorted(found)


def _fill_from_tags(summary: dict[str, Any], tags: Mapping[str, Any]) -> None:
    summary["exif_present"] = any(not name.startswith(("JPEGThumbnail", "TIFFThumbnail")) for name in tags)
    for key, names in _TEXT_TAGS:
        summary[key] = _first_text(tags, names)
    for key, date_name, offset_name in _DATE_TAGS:
        summary[key] = _date(_first_text(tags, (date_name,)), _first_text(tags, (offset_name,)))
    for key, names in _SIZE_TAGS:
        summary[key] = _first_integer(tags, names)
    orientation = tags.get("Image Orientation")
    if orientation is not None:
        summary["orientation"] = _first_integer(tags, ("Image Orientation",))
        summary["orientation_description"] = _clean(str(orientation.printable))
    summary["gps_present"] = "Image GPSInfo" in tags or any(name.startswith("GPS ") for name in tags)
    summary["gps_latitude"] = _coordinate(tags, "GPS GPSLatitude", "GPS GPSLatitudeRef", "S")
    summary["gps_longitude"] = _coordinate(tags, "GPS GPSLongitude", "GPS GPSLongitudeRef", "W")


def _clean(text: str | bytes) -> str | None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.replace("\x00", "").strip()
    return text or None


def _first_text(tags: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        tag = tags.get(name)
        if tag is None:
            continue
        values = tag.values
        text = _clean(values if isinstance(values, (str, bytes)) else str(tag.printable))
        if text:
            return text
    return None


def _first_integer(tags: Mapping[str, Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        tag = tags.get(name)
        values = getattr(tag, "values", None)
        if isinstance(values, list) and values and isinstance(values[0], int):
            return int(values[0])
    return None


def _date(text: str | None, offset: str | None) -> str | None:
    """EXIF's "YYYY:MM:DD HH:MM:SS" as ISO 8601; other text is kept as written."""
    if text is None:
        return None
    try:
        moment = datetime.strptime(text, _EXIF_DATE)
    except ValueError:
        return text  # blank-padded or malformed dates are evidence too
    iso = moment.isoformat()
    if offset and re.fullmatch(r"[+-]\d{2}:\d{2}", offset):
        iso += offset
    return iso


def _coordinate(tags: Mapping[str, Any], name: str, reference_name: str, negative: str) -> float | None:
    tag = tags.get(name)
    values = getattr(tag, "values", None)
    if not isinstance(values, list) or len(values) != 3:
        return None
    try:
        degrees, minutes, seconds = (float(value) for value in values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None  # a zero denominator: the device wrote no fix
    value = degrees + minutes / 60.0 + seconds / 3600.0
    if _first_text(tags, (reference_name,)) == negative:
        value = -value
    return value


def _creator_tool(head: bytes) -> str | None:
    match = _CREATOR_TOOL.search(head)
    if match is None:
        return None
    return _clean(match.group(1) or match.group(2))
