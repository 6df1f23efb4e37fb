"""The EXIF plugin: camera, software, dates, GPS and editing-software tags of images."""

from __future__ import annotations

from collections.abc import Mapping

from facexray_forensics.metadata import read_exif
from facexray_forensics.plugins import Plugin
from facexray_forensics.records import Column, Finding, Item


class ExifPlugin(Plugin):
    """Summarise an image's EXIF with :func:`facexray_forensics.metadata.read_exif`.

    Metadata never decides an item's outcome: a file whose EXIF cannot be
    parsed gets the summary with its ``error`` set.
    """

    name = "exif"
    version = "1.0.0"
    handles = frozenset({"image"})
    requires = ("hashing",)
    parallel = True
    columns = (
        Column("camera_make", str, "the camera maker the EXIF names"),
        Column("camera_model", str, "the camera model the EXIF names"),
        Column("software", str, "the EXIF Software tag: what last wrote the file"),
        Column("editing_software", list, "editing programs the EXIF tags name (Photoshop, GIMP, ...)"),
    )
    description = "EXIF summary: camera, software, dates, GPS present, editing-software tags."

    def process(self, item: Item, earlier: Mapping[str, Finding]) -> Finding:
        try:
            with item.open() as stream:
                summary = read_exif(stream)
        except OSError as error:
            summary = {"error": f"cannot read: {error.strerror or error}"}
        return Finding(self.name, self.version, values=summary)
