"""Disk images as items of a scan: an item for each file inside an image, with a picklable opener
that reads it in place, and the expansion of a scan's items into the files inside their images."""

from __future__ import annotations

import dataclasses
import io
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from facexray_forensics.evidence.disk_image.image import DiskImage, Parents
from facexray_forensics.evidence.disk_image.listing import ImageFile
from facexray_forensics.evidence.disk_image.readers import CHUNK, LIBRARY_ERRORS, TskFileStream, split_segment
from facexray_forensics.evidence.files import display_name, open_read_only, path_origin
from facexray_forensics.evidence.magic import HEADER_SIZE, sniff
from facexray_forensics.records import Item, raw_path

_OPEN: dict[tuple[int, bytes, Parents], DiskImage] = {}
_OPEN_LOCK = threading.Lock()


def _shared_image(path: bytes, parents: Parents = ()) -> DiskImage:
    """One open DiskImage per image and process (a forked worker opens its own)."""
    key = (os.getpid(), path, parents)
    with _OPEN_LOCK:
        image = _OPEN.get(key)
        if image is None:
            image = _OPEN[key] = DiskImage(path, parents)
        return image


@dataclass(frozen=True)
class InnerFileOpener:
    """A picklable ``Item.open`` for a file inside a disk image (``parents``: one inside others, as for DiskImage)."""

    image_path: bytes
    partition_offset: int
    inode: int
    size: int
    parents: Parents = ()

    def __call__(self) -> BinaryIO:
        try:
            handle = _shared_image(self.image_path, self.parents).volume_at(self.partition_offset).handle
            file = handle.open_meta(inode=self.inode)
        except (KeyError, ValueError, *LIBRARY_ERRORS) as error:
            raise OSError(f"cannot open inode {self.inode} at offset {self.partition_offset}: {error}") from error
        return io.BufferedReader(TskFileStream(file, self.size), buffer_size=CHUNK)


class DiskImageSource:
    """Items for the files inside one disk image (an ``ItemSource``).

    ``name`` is how the image itself is named in the scan (its item name);
    inner items are named ``name:PARTITION_OFFSET:INODE:/inner/path``, so a
    file in an image inside an image names both. ``parents`` places an image
    that is a file inside others, as for :class:`DiskImage`; each inner item's
    origin lists them, outermost first, under ``"parents"``.
    """

    def __init__(self, path: str | bytes | os.PathLike, name: str | None = None, parents: Parents = ()):
        self.path = os.path.abspath(os.fsencode(path))
        self.name = name if name is not None else display_name(self.path)
        self.parents = tuple(parents)
        self.warnings: list[str] = []

    def items(self) -> Iterator[Item]:
        """Every regular file in every readable volume, deleted ones included, in a stable order."""
        for file in _shared_image(self.path, self.parents).files():
            yield self._item(file)

    def _item(self, file: ImageFile) -> Item:
        """The item of one file; one whose records are broken, or whose first bytes cannot be read, says why."""
        volume = file.volume
        opener = InnerFileOpener(self.path, volume.offset, file.inode, file.size, self.parents)
        origin = {
            "image": self.name,
            **path_origin(self.path, "image_path"),
            **({"parents": [{"partition_offset": offset, "inode": inode} for offset, inode in self.parents]}
               if self.parents else {}),
            "partition_offset": volume.offset,
            "partition": volume.description,
            "filesystem": volume.filesystem,
            "inode": file.inode,
            "inner_path": file.inner_path,
            "deleted": file.deleted,
            **file.times,
        }
        kind, mime = "other", None
        if file.problem is not None:
            origin["open_error"] = file.problem
        else:
            try:
                with opener() as stream:
                    kind, mime = sniff(stream.read(HEADER_SIZE))
            except OSError as error:
                origin["open_error"] = str(error)
        name = f"{self.name}:{volume.offset}:{file.inode}:{file.inner_path}"
        return Item(name=name, kind=kind, mime=mime, size=file.size, open=opener, origin=origin)


def _parents(origin: Mapping[str, Any]) -> Parents:
    return tuple((parent["partition_offset"], parent["inode"]) for parent in origin.get("parents", ()))


def image_location(item: Item) -> tuple[bytes, Parents] | None:
    """Where a disk-image item's bytes are, as :class:`DiskImage` takes them: the evidence file's path, and
    for an image inside images the place of its file in each; None for an item of a source without paths."""
    if "path" in item.origin:
        return raw_path(item.origin), ()
    if "image_path" in item.origin:
        own = (item.origin["partition_offset"], item.origin["inode"])
        return raw_path(item.origin, "image_path"), (*_parents(item.origin), own)
    return None


def _as_split_segment(item: Item) -> Item:
    """A later segment of a split raw image as the disk-image item it is, for the disk-image plugin to record.

    Its own bytes, from the middle of a disk, cannot say so: its name and its
    first segment's bytes do. A split archive (``photos.zip.002``) stays as it is.
    """
    split = split_segment(raw_path(item.origin)) if "path" in item.origin and item.kind != "disk_image" else None
    if split is None or split[1] == 1:
        return item
    try:
        with open_read_only(split[0]) as stream:
            kind, _ = sniff(stream.read(HEADER_SIZE))
    except OSError:
        return item
    if kind != "disk_image":
        return item
    return dataclasses.replace(item, kind="disk_image", mime="application/x-raw-disk-image")


def expand_disk_images(items: Iterable[Item]) -> Iterator[Item]:
    """Each item, followed by the files inside it when it is a disk image, and theirs, down to :data:`.image.MAX_IMAGE_DEPTH`.

    Only the first segment of an E01 or split raw set is opened (it reads the
    others); an image that cannot be read as a disk, or lies too deep, passes
    through unexpanded, and the disk-image plugin, which opens it again, records why.
    """
    for item in map(_as_split_segment, items):
        yield item
        location = image_location(item)
        if item.kind != "disk_image" or location is None or "open_error" in item.origin:
            continue
        try:
            yield from expand_disk_images(DiskImageSource(location[0], item.name, location[1]).items())
        except (ValueError, *LIBRARY_ERRORS):
            continue


def inner_item(name: str, kind: str, mime: str | None, size: int, origin: dict) -> Item:
    """The Item a disk-image ``origin`` (as :class:`DiskImageSource` recorded it) describes, to read it again."""
    opener = InnerFileOpener(raw_path(origin, "image_path"), origin["partition_offset"], origin["inode"], size,
                             _parents(origin))
    return Item(name=name, kind=kind, mime=mime, size=size, open=opener, origin=origin)
