"""The disk-image plugin: what an image says about itself, and for E01 whether its data still match."""

from __future__ import annotations

from collections.abc import Mapping

from facexray_forensics.evidence.disk_image import (
    LIBRARY_ERRORS,
    DiskImage,
    UnreadableImageError,
    ewf_segment_number,
    image_path,
)
from facexray_forensics.evidence.magic import HEADER_SIZE
from facexray_forensics.plugins import Plugin
from facexray_forensics.records import Finding, Item, Status


class DiskImagePlugin(Plugin):
    """Record a disk image's format, partition table and file systems.

    For an E01 it also records the acquisition header (case number,
    examiner, evidence number, dates, notes) and recomputes the MD5 of the
    acquired media to compare with the one stored at acquisition: a mismatch
    makes the image "unreadable" with the two hashes in the reason. The files
    inside are items of their own (see :func:`facexray_forensics.evidence.disk_image.expand_disk_images`),
    so the image itself has no score: its status is "container".

    A recognised image that cannot be read (an E01 cut short, missing a
    segment or failing its own checksums; a file system cut off by the end
    of the image) is "unreadable" with the library's reason. Partition table
    entries left out as bad are listed in ``values["problems"]``.
    """

    name = "disk_image"
    version = "1.0.0"
    handles = frozenset({"disk_image"})
    requires = ("hashing",)
    parallel = True
    description = "Disk images: partitions and file systems; for E01 the acquisition header and a check of its stored MD5."

    def process(self, item: Item, earlier: Mapping[str, Finding]) -> Finding:
        path = image_path(item)
        if path is None:
            return Finding(self.name, self.version, status=Status.UNSUPPORTED, reason="a disk image inside a disk image is not opened")
        with item.open() as stream:
            segment = ewf_segment_number(stream.read(HEADER_SIZE))
        if segment is not None and segment > 1:
            return Finding(
                self.name,
                self.version,
                values={"format": "ewf", "segment": segment},
                status=Status.CONTAINER,
                reason=f"segment {segment} of an E01 set: its files are read through the first segment",
            )
        values: dict = {}
        try:
            with DiskImage(path) as image:
                values.update(image.acquisition())
                if image.format == "ewf":
                    values["verification"] = image.verify()
                cut_short = image.cut_short
        except (UnreadableImageError, *LIBRARY_ERRORS) as error:
            return Finding(self.name, self.version, values=values, status=Status.UNREADABLE,
                           reason=f"the disk image cannot be read: {error}")
        except ValueError as error:
            return Finding(self.name, self.version, status=Status.UNSUPPORTED, reason=f"not read as a disk image: {error}")
        return self._container(values, cut_short)

    def _container(self, values: dict, cut_short: bool) -> Finding:
        finding = Finding(self.name, self.version, values=values, status=Status.CONTAINER)
        verification = values.get("verification")
        problems = "; ".join(values["problems"])
        if verification is not None and verification["verified"] is False:
            finding.status = Status.UNREADABLE
            finding.reason = f"E01 media hash mismatch: stored {verification['stored']}, recomputed {verification['computed']}"
        elif cut_short:
            finding.status = Status.UNREADABLE
            finding.reason = f"the disk image is cut short ({problems}); the files it still holds are scanned as items of their own"
        else:
            finding.reason = "a disk image: its files are scanned as items of their own (IMAGE:OFFSET:INODE:/path)"
            if problems:
                finding.reason += f"; problems: {problems}"
        return finding
