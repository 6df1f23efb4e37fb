"""An open disk image: its reader, its volumes, its files, and for E01 its acquisition record and
hash check; an image inside images opens the images around it."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from facexray_forensics.evidence.disk_image.listing import ImageFile, volume_files
from facexray_forensics.evidence.disk_image.readers import (
    CHUNK,
    EWF_HEADER_SIZE,
    LIBRARY_ERRORS,
    SECTOR,
    EwfReader,
    InnerFileReader,
    MaskedReader,
    RawReader,
    SplitRawReader,
    UnreadableImageError,
    ewf_segment_number,
    short_name,
    split_segment,
    split_segments,
)
from facexray_forensics.evidence.disk_image.volumes import (
    Volume,
    enum_name,
    mbr_entries,
    read_partition_table,
    tsk_image,
)
from facexray_forensics.evidence.files import display_name, open_read_only

#: How deep images inside images are opened: the evidence file is depth 1, an image file inside it
#: depth 2, one inside that 3. Real cases stop there (an examiner's image kept on a seized drive that
#: was itself imaged); the limit bounds what a hostile image (one holding a copy of itself) can make a
#: scan open, and keeps the open images of a chain, each holding the next, few.
MAX_IMAGE_DEPTH = 3

#: Where a nested image's file lies in each image around it, outermost first: (partition offset, inode).
Parents = tuple[tuple[int, int], ...]


class NestedTooDeepError(ValueError):
    """A disk image inside disk images deeper than :data:`MAX_IMAGE_DEPTH`: recognised, never opened."""


class LaterSegmentError(ValueError):
    """A segment after the first of an E01 or split raw set: the image is read from its first segment.
    ``values`` says which (format, segment number, and for a split image its first segment's name)."""

    def __init__(self, message: str, values: dict[str, Any]):
        super().__init__(message)
        self.values = values


class DiskImage:
    """An open disk image: its volumes, its files, and for E01 its acquisition record.

    ``path`` is the evidence file (an E01's or a split image's first
    segment). With ``parents`` the image is a file inside that one: the
    (partition offset, inode) of its file in each image around it, outermost
    first; the images around it are opened too, and closed with it.

    Use as a context manager. Raises ValueError when neither a partition
    table nor a file system is found, :class:`UnreadableImageError` (a
    ValueError too) when the image is recognised but cannot be read,
    :class:`LaterSegmentError` (one too) for a segment after the first, and
    :class:`NestedTooDeepError` (one too) beyond :data:`MAX_IMAGE_DEPTH`.
    """

    def __init__(self, path: str | bytes | os.PathLike, parents: Parents = ()):
        self.path = os.path.abspath(os.fsencode(path))
        self.parents = tuple(parents)
        if len(self.parents) >= MAX_IMAGE_DEPTH:
            raise NestedTooDeepError(f"disk image nested deeper than {MAX_IMAGE_DEPTH}: not opened "
                                     f"(it lies {len(self.parents) + 1} images deep)")
        self.partition_table: str | None = None
        self.problems: list[str] = []  # what is wrong with the image but does not stop it being read
        self._closing = contextlib.ExitStack()  # this image's reader, then the images around it
        try:
            outer = self._closing.enter_context(DiskImage(self.path, self.parents[:-1])) if self.parents else None
            self.format, self._reader = self._open_reader(outer)
            self._closing.callback(self._reader.close)
            self._image = tsk_image(self._reader)
            self.volumes = self._readable_volumes()
        except BaseException:
            self.close()
            raise

    def _open_reader(self, outer: DiskImage | None) -> tuple[str, Any]:
        """The image's format ("ewf" or "raw") and a reader of its media."""
        if outer is not None:
            inner, header = self._inner_file(outer)
        else:
            inner = None
            with open_read_only(self.path) as stream:
                header = stream.read(EWF_HEADER_SIZE)
        segment = ewf_segment_number(header)
        if segment is not None and segment != 1:
            raise LaterSegmentError(f"segment {segment} of an E01 set: its files are read through the first segment",
                                    {"format": "ewf", "segment": segment})
        split = split_segment(self.path) if inner is None else None
        if split is not None and split[1] != 1:
            first = short_name(split[0])
            raise LaterSegmentError(f"segment {split[1]} of a split raw image: its files are read through the first "
                                    f"segment ({first})", {"format": "raw", "segment": split[1], "first_segment": first})
        kind = "ewf" if segment == 1 else "raw"
        try:
            if inner is not None:
                return kind, EwfReader([inner.stream()], []) if kind == "ewf" else inner
            if kind == "ewf":
                return kind, EwfReader.of_file(self.path)
            return kind, SplitRawReader(split_segments(split[0])) if split is not None else RawReader(self.path)
        except (*LIBRARY_ERRORS, ValueError) as error:
            raise UnreadableImageError(f"cannot open the {kind} image: {error}") from error

    def _inner_file(self, outer: DiskImage) -> tuple[InnerFileReader, bytes]:
        """A reader of this image's file inside ``outer``, and its first bytes."""
        try:
            inner = InnerFileReader(outer, *self.parents[-1])
            return inner, inner.read(0, EWF_HEADER_SIZE)
        except (KeyError, *LIBRARY_ERRORS) as error:
            raise UnreadableImageError(f"cannot open the image's file inside the image around it: {error}") from error

    def _readable_volumes(self) -> list[Volume]:
        try:
            self._media_chunk(0, min(SECTOR, self.size))  # a damaged E01 may open, yet hold no readable media
            volumes = self._find_volumes()
        except RuntimeError as error:  # pytsk3's form of a read of the image that failed
            raise UnreadableImageError(f"cannot read the {self.format} image: {error}") from error
        if not any(volume.handle is not None for volume in volumes):
            problems = "; ".join(f"{volume.description}: {volume.error}" for volume in volumes)
            raise ValueError(f"no readable file system in the image ({problems or 'nothing found'})")
        return volumes

    def __enter__(self) -> DiskImage:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Release the image's file handles, and the images around it."""
        self._closing.close()

    @property
    def size(self) -> int:
        """Bytes of media (for E01, the acquired disk, not the compressed file)."""
        return self._reader.size

    @property
    def cut_short(self) -> bool:
        """Whether a file system runs past the end of the image (it was cut short, or acquired in part)."""
        return any(volume.cut_short for volume in self.volumes)

    def _find_volumes(self) -> list[Volume]:
        table = read_partition_table(self._image)
        if table is not None:
            return self._partitions(table)
        whole = self._open_filesystem(0, "whole image")
        table = self._table_without_bad_entries() if whole.handle is None else None
        return [whole] if table is None else self._partitions(table)

    def _table_without_bad_entries(self):
        """The MBR read without its entries that start past the end of the disk, each noted in ``problems``.

        The Sleuth Kit refuses a whole table for one such entry, which would
        hide the good partitions. It reads the table through a view with
        those entries zeroed; file systems are then read from the image itself.
        """
        bad = [entry for entry in mbr_entries(self._reader.read(0, SECTOR)) if entry.start * SECTOR >= self.size]
        if not bad:
            return None
        table = read_partition_table(tsk_image(MaskedReader(self._reader, [entry.position for entry in bad])))
        if table is None:
            return None
        self.problems += [entry.describe(self.size // SECTOR) for entry in bad]
        return table

    def _partitions(self, table) -> list[Volume]:
        import pytsk3

        self.partition_table = enum_name(table.info.vstype, "TSK_VS_TYPE_")
        block_size = table.info.block_size
        volumes = []
        for partition in table:
            if not partition.flags & pytsk3.TSK_VS_PART_FLAG_ALLOC:
                continue  # unallocated gaps and the tables themselves
            description = partition.desc.decode("utf-8", "replace") if isinstance(partition.desc, bytes) else str(partition.desc)
            volumes.append(self._open_filesystem(partition.start * block_size, f"partition {partition.addr}: {description}"))
        self.problems += [f"{volume.description}: {volume.error}" for volume in volumes if volume.error]
        return volumes

    def _open_filesystem(self, offset: int, description: str) -> Volume:
        import pytsk3

        try:
            handle = pytsk3.FS_Info(self._image, offset=offset)
        except OSError as error:
            return Volume(offset=offset, description=description, error=f"no file system read: {error}".strip())
        volume = Volume(offset=offset, description=description, filesystem=enum_name(handle.info.ftype, "TSK_FS_TYPE_"), handle=handle)
        # The Sleuth Kit stops last_block_act at the image's end when the file system goes further.
        volume.cut_short = handle.info.last_block_act < handle.info.last_block
        if volume.cut_short:
            self.problems.append(
                f"{description}: its {volume.filesystem} file system runs to block {handle.info.last_block}, "
                f"but the image ends at block {handle.info.last_block_act}: the image is cut short"
            )
        return volume

    def volume_at(self, offset: int) -> Volume:
        """The volume starting at ``offset``; KeyError when there is none."""
        for volume in self.volumes:
            if volume.offset == offset and volume.handle is not None:
                return volume
        raise KeyError(f"no file system at offset {offset}")

    def acquisition(self) -> dict[str, Any]:
        """What the image says about itself: format, size, volumes and, for E01, the acquisition header."""
        record: dict[str, Any] = {
            "format": self.format,
            "media_size": self.size,
            "partition_table": self.partition_table,
            "problems": list(self.problems),
            "volumes": [
                {"offset": volume.offset, "description": volume.description, "filesystem": volume.filesystem, "error": volume.error}
                for volume in self.volumes
            ],
        }
        if self._reader.segments:
            record["segments"] = [display_name(segment) for segment in self._reader.segments]
        if self.format == "ewf":
            record["header"] = self._reader.header()
            record["stored_hashes"] = self._reader.stored_hashes()
        return record

    def verify(self, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Recompute the media's MD5 (and SHA-1 when stored) and compare with what the E01 stores.

        Returns ``{"stored": {...}, "computed": {...}, "verified": bool or None}``;
        ``verified`` is None for raw images, which store no hash. ``progress``
        is called with (bytes done, total) after each chunk: a large image takes minutes.
        """
        stored = self._reader.stored_hashes() if self.format == "ewf" else {}
        names = [name for name in ("md5", "sha1", "sha256") if name in stored] or ["md5"]
        digests = {name: hashlib.new(name) for name in names}
        for offset in range(0, self.size, CHUNK):
            chunk = self._media_chunk(offset, min(CHUNK, self.size - offset))
            for digest in digests.values():
                digest.update(chunk)
            if progress is not None:
                progress(offset + len(chunk), self.size)
        computed = {name: digest.hexdigest() for name, digest in digests.items()}
        verified = None if not stored else all(computed[name] == stored[name] for name in names)
        return {"stored": stored, "computed": computed, "verified": verified}

    def _media_chunk(self, offset: int, length: int) -> bytes:
        try:
            chunk = self._reader.read(offset, length)
        except OSError as error:
            raise UnreadableImageError(f"cannot read the media at byte {offset}: {error}") from error
        if len(chunk) != length:
            raise UnreadableImageError(f"the media ends at byte {offset + len(chunk)}, before its stated size of {self.size} bytes")
        return chunk

    def files(self) -> Iterator[ImageFile]:
        """Every regular file, allocated or deleted, volume by volume, depth first in byte order of names.

        A directory that cannot be listed comes as an :class:`ImageFile` with its ``problem``.
        """
        for volume in self.volumes:
            if volume.handle is not None:
                yield from volume_files(self._reader, volume)
