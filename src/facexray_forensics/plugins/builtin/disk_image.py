"""The disk-image plugin: what an image says about itself, and for E01 whether its data still match."""

from __future__ import annotations

from collections.abc import Mapping

from facexray_forensics.evidence.disk_image.image import DiskImage, LaterSegmentError, NestedTooDeepError
from facexray_forensics.evidence.disk_image.items import image_location
from facexray_forensics.evidence.disk_image.readers import LIBRARY_ERRORS, UnreadableImageError
from facexray_forensics.plugins import Plugin, ScanContext
from facexray_forensics.records import Finding, Item, Status


class DiskImagePlugin(Plugin):
    """Record a disk image's format, partition table and file systems.

    For an E01 it also records the acquisition header (case number,
    examiner, evidence number, dates, notes) and recomputes the MD5 of the
    acquired media to compare with the one stored at acquisition: a mismatch
    makes the image "unreadable" with the two hashes in the reason. The files
    inside are items of their own (see :func:`facexray_forensics.evidence.disk_image.items.expand_disk_images`),
    so the image itself has no score: its status is "container".

    A recognised image that cannot be read (an E01 cut short, missing a
    segment or failing its own checksums; a split raw image missing a
    segment; a file system cut off by the end of the image) is "unreadable"
    with the library's reason. Partition table entries left out as bad are
    listed in ``values["problems"]``. The later segments of an E01 or split
    raw set are "container" items that name their first segment. An image
    inside images is read like the others, down to
    :data:`~facexray_forensics.evidence.disk_image.image.MAX_IMAGE_DEPTH`; one
    deeper is "unsupported", with the limit in its reason.

    In a scan that shows progress, the E01 check shows a bar of the bytes
    read (it reads the whole acquired disk).
    """

    name = "disk_image"
    version = "1.0.0"
    handles = frozenset({"disk_image"})
    requires = ("hashing",)
    parallel = True
    description = "Disk images: partitions and file systems; for E01 the acquisition header and a check of its stored MD5."

    progress = False

    def start_up(self, context: ScanContext) -> None:
        self.progress = context.progress

    def process(self, item: Item, earlier: Mapping[str, Finding]) -> Finding:
        location = image_location(item)
        if location is None:
            return Finding(self.name, self.version, status=Status.UNSUPPORTED, reason="not a file, nor a file in a disk image")
        values: dict = {}
        try:
            with DiskImage(*location) as image:
                values.update(image.acquisition())
                if image.format == "ewf":
                    values["verification"] = self._verify(image, item.name)
                cut_short = image.cut_short
        except (UnreadableImageError, *LIBRARY_ERRORS) as error:
            return Finding(self.name, self.version, values=values, status=Status.UNREADABLE,
                           reason=f"the disk image cannot be read: {error}")
        except LaterSegmentError as error:
            return Finding(self.name, self.version, values=error.values, status=Status.CONTAINER, reason=str(error))
        except NestedTooDeepError as error:
            return Finding(self.name, self.version, status=Status.UNSUPPORTED, reason=str(error))
        except ValueError as error:
            return Finding(self.name, self.version, status=Status.UNSUPPORTED, reason=f"not read as a disk image: {error}")
        return self._container(values, cut_short)

    def _verify(self, image: DiskImage, name: str) -> dict:
        """The E01 check, with a bar of the bytes read when ``progress`` is on."""
        from tqdm import tqdm

        with tqdm(total=image.size, unit="B", unit_scale=True, desc=f"verify {name}", leave=False,
                  disable=not self.progress, dynamic_ncols=True) as bar:
            return image.verify(lambda done, total: bar.update(done - bar.n))

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
