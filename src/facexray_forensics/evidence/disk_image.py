"""Files inside disk images, read in place: no mounting, no root, no copies.

The Sleuth Kit (pytsk3) reads partition tables (DOS/MBR, GPT, ...) and file
systems (FAT, ext2/3/4, NTFS, HFS+, ISO 9660, ...); libewf (pyewf) reads
Expert Witness (E01) images. Both read through our own read-only file
handles (:func:`~facexray_forensics.evidence.files.open_read_only`), so the
image is never opened for writing and its access time is left alone.

An E01 set (``.E01``, ``.E02``, ...) and a split raw image (``disk.001``,
``disk.002``, ...; ``disk.raw.001``) are each read as one disk from their
first segment; the other segments stay items of their own, as "container"
segments, and are never opened as images. An image that is a file inside
another image is read through the outer image's file system, with no copy
made anywhere, down to :data:`MAX_IMAGE_DEPTH`.

Every regular file becomes an :class:`~facexray_forensics.records.Item`,
deleted ones included (flagged in ``origin["deleted"]``), named
``IMAGE:PARTITION_OFFSET:INODE:/inner/path`` so the name is unique and says
where the bytes are. ``Item.open`` returns a read-only stream over the file's
content, read straight from the image, so hashing and decoding need no
temporary copy. The opener is a small picklable value: a worker process
opens the image itself on first use.

Damaged images never stop a scan. What pytsk3 and pyewf raise on them
(:data:`LIBRARY_ERRORS`) becomes :class:`UnreadableImageError` for the
image, or an ``OSError`` for one file, and so a recorded outcome with its
reason. An MBR entry that points past the end of the disk is dropped and
noted rather than hiding the good partitions; a FAT entry whose recorded
size exceeds its volume, which The Sleuth Kit skips, is still listed.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import hashlib
import io
import itertools
import os
import re
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO

from facexray_forensics.evidence.files import display_name, open_read_only, path_origin
from facexray_forensics.evidence.magic import HEADER_SIZE, sniff
from facexray_forensics.records import Item, raw_path

_EWF_SIGNATURE = b"EVF\x09\x0d\x0a\xff\x00"
_EWF_HEADER_SIZE = 13  # the signature, then the segment number at bytes 9-10
_CHUNK = 1 << 20
_SECTOR = 512

#: What pytsk3 and pyewf raise on a damaged image: OSError (IOError) from their own checks, and
#: RuntimeError from pytsk3 when a read it asked of our reader failed (a missing segment, a cut file).
LIBRARY_ERRORS = (OSError, RuntimeError)


#: How deep images inside images are opened: the evidence file is depth 1, an image file inside it
#: depth 2, one inside that 3. Real cases stop there (an examiner's image kept on a seized drive that
#: was itself imaged); the limit bounds what a hostile image (one holding a copy of itself) can make a
#: scan open, and keeps the open images of a chain, each holding the next, few.
MAX_IMAGE_DEPTH = 3

#: Where a nested image's file lies in each image around it, outermost first: (partition offset, inode).
Parents = tuple[tuple[int, int], ...]


class UnreadableImageError(ValueError):
    """A disk image that was recognised but cannot be read: cut short, a segment missing, a checksum that fails."""


class NestedTooDeepError(ValueError):
    """A disk image inside disk images deeper than :data:`MAX_IMAGE_DEPTH`: recognised, never opened."""


#: Header values of an E01 acquisition, under the names our reports use.
_EWF_HEADER_NAMES = {
    "case_number": "case_number",
    "evidence_number": "evidence_number",
    "examiner_name": "examiner",
    "description": "description",
    "notes": "notes",
    "acquiry_date": "acquisition_date",
    "system_date": "system_date",
    "acquiry_software_version": "acquisition_software_version",
    "acquiry_operating_system": "acquisition_operating_system",
}


def ewf_segment_number(header: bytes) -> int | None:
    """The segment number of an EWF segment file (1 for .E01), or None when not EWF."""
    if header[:8] != _EWF_SIGNATURE or len(header) < 11:
        return None
    return int.from_bytes(header[9:11], "little")


#: A split raw image's segment names, as dd | split, FTK Imager and Guymager write them: disk.001, disk.002, ...
_SPLIT_NAME = re.compile(rb"(.+)\.(\d{3,})")


def split_segment(path: bytes) -> tuple[bytes, int] | None:
    """``(first segment's path, number)`` when ``path`` is named as a segment of a split raw image
    whose first segment (``.001``) is there; None otherwise."""
    match = _SPLIT_NAME.fullmatch(path)
    if match is None or not os.path.isfile(match[1] + b".001"):
        return None
    return match[1] + b".001", int(match[2])


def split_segments(first: bytes) -> list[bytes]:
    """Every segment of the split raw image whose first segment is ``first``, in order.

    A gap in the numbering is an :class:`UnreadableImageError`: every byte after it would be read at the wrong offset.
    """
    directory, name = os.path.split(first)
    pattern = re.compile(re.escape(name[:-4]) + rb"\.(\d{3,})")
    found = {int(match[1]): entry for entry in os.listdir(directory) if (match := pattern.fullmatch(entry))}
    missing = [number for number in range(1, max(found) + 1) if number not in found]
    if missing:
        raise UnreadableImageError(f"segment {missing[0]:03d} of the split image {display_name(name)} is missing "
                                   f"(segments up to {max(found):03d} are there)")
    return [os.path.join(directory, found[number]) for number in sorted(found)]


class _RawReader:
    """Positional reads from a raw image file (pread needs no shared offset, so threads may share it)."""

    def __init__(self, path: bytes):
        self._stream = open_read_only(path)
        self.size = os.fstat(self._stream.fileno()).st_size
        self.segments = [path]

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._stream.fileno(), length, offset)

    def close(self) -> None:
        self._stream.close()


class _SplitRawReader:
    """Positional reads across the segment files of a split raw image, as from one file."""

    def __init__(self, segments: list[bytes]):
        self.segments = segments
        self._readers: list[_RawReader] = []
        try:
            for segment in segments:
                self._readers.append(self._open(segment))
            sizes = [reader.size for reader in self._readers]
            for segment, size in zip(segments[1:-1], sizes[1:-1]):
                if size != sizes[0]:  # tools cut every segment but the last to one size
                    raise UnreadableImageError(f"segment {_base(segment)} holds {size} bytes where the first holds "
                                               f"{sizes[0]}: a segment is cut short or does not belong to the set")
        except BaseException:
            self.close()
            raise
        self._starts = list(itertools.accumulate(sizes, initial=0))
        self.size = self._starts[-1]

    @staticmethod
    def _open(segment: bytes) -> _RawReader:
        try:
            return _RawReader(segment)
        except OSError as error:
            raise UnreadableImageError(f"segment {_base(segment)} cannot be read: {error}") from error

    def read(self, offset: int, length: int) -> bytes:
        data = bytearray()
        index = bisect.bisect_right(self._starts, offset) - 1
        while len(data) < length and index < len(self._readers):
            start = offset + len(data) - self._starts[index]
            wanted = min(length - len(data), self._readers[index].size - start)
            chunk = self._readers[index].read(start, wanted)
            data += chunk
            if len(chunk) < wanted:
                break  # the segment is shorter than when it was opened: a short read, which callers report
            index += 1
        return bytes(data)

    def close(self) -> None:
        for reader in self._readers:
            reader.close()


def _base(path: bytes) -> str:
    return display_name(os.path.basename(path))


class _InnerFileReader:
    """Positional reads from an image that is a file inside another image, through that image's file system."""

    def __init__(self, outer: DiskImage, partition_offset: int, inode: int):
        self._file = outer.volume_at(partition_offset).handle.open_meta(inode=inode)
        self.size = self._file.info.meta.size
        self.segments: list[bytes] = []  # none of its own: its bytes lie in the outer image's
        self._lock = threading.Lock()  # one pytsk3 file, shared by a process's threads

    def read(self, offset: int, length: int) -> bytes:
        length = min(length, self.size - offset)
        if length <= 0:
            return b""
        with self._lock:
            return self._file.read_random(offset, length)

    def stream(self) -> BinaryIO:
        """A file object over the image's bytes, for libewf (an E01 stored inside an image)."""
        return io.BufferedReader(TskFileStream(self._file, self.size), buffer_size=_CHUNK)

    def close(self) -> None:
        pass  # the file belongs to the outer image, which DiskImage closes after this one


class _EwfReader:
    """Reads from the media inside E01 segment files (libewf seeks, so one reader at a time)."""

    def __init__(self, streams: list[BinaryIO], segments: list[bytes]):
        import pyewf  # libewf-python: the reference reader of the EWF format, from its author

        self._streams = streams
        self._handle = pyewf.handle()
        try:
            self._handle.open_file_objects(self._streams)
        except Exception:
            self.close()
            raise
        self.size = self._handle.get_media_size()
        self.segments = segments
        self._lock = threading.Lock()

    @classmethod
    def of_file(cls, path: bytes) -> _EwfReader:
        """The E01 set whose first segment is the file ``path``; libewf finds the other segments by name."""
        import pyewf

        segments = [os.fsencode(name) for name in pyewf.glob(os.fsdecode(path))]
        with contextlib.ExitStack() as opened:
            streams = [opened.enter_context(open_read_only(segment)) for segment in segments]
            opened.pop_all()  # the reader closes them from here
        return cls(streams, segments)

    def read(self, offset: int, length: int) -> bytes:
        with self._lock:
            return self._handle.read_buffer_at_offset(length, offset)

    def header(self) -> dict[str, str]:
        values = self._handle.get_header_values()
        return {ours: values[theirs] for theirs, ours in _EWF_HEADER_NAMES.items() if values.get(theirs)}

    def stored_hashes(self) -> dict[str, str]:
        return {name.lower(): value.lower() for name, value in self._handle.get_hash_values().items()}

    def close(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()
        for stream in self._streams:
            stream.close()


def _tsk_image(reader):
    """A pytsk3 image whose reads go through ``reader``."""
    import pytsk3  # The Sleuth Kit: partition tables and file systems, deleted files included

    class _ReaderImage(pytsk3.Img_Info):
        def __init__(self):
            super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

        def read(self, offset, length):
            return reader.read(offset, length)

        def get_size(self):
            return reader.size

        def close(self):
            pass  # the reader belongs to DiskImage

    return _ReaderImage()


def _partition_table(image):
    """pytsk3's reading of the image's partition table; None without one, or for one The Sleuth Kit refuses."""
    import pytsk3

    try:
        return pytsk3.Volume_Info(image)
    except OSError:
        return None


@dataclass
class Volume:
    """One file system found in an image: where it starts and what it is, or why it could not be read."""

    offset: int  # bytes from the start of the image
    description: str  # the partition's description, or "whole image" without a partition table
    filesystem: str | None = None
    error: str | None = None
    handle: Any = field(default=None, repr=False)  # pytsk3.FS_Info
    cut_short: bool = False  # the file system runs past the end of the image


class DiskImage:
    """An open disk image: its volumes, its files, and for E01 its acquisition record.

    ``path`` is the evidence file (an E01's or a split image's first
    segment). With ``parents`` the image is a file inside that one: the
    (partition offset, inode) of its file in each image around it, outermost
    first; the images around it are opened too, and closed with it.

    Use as a context manager. Raises ValueError when neither a partition
    table nor a file system is found, :class:`UnreadableImageError` (a
    ValueError too) when the image is recognised but cannot be read, and
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
            self._image = _tsk_image(self._reader)
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
                header = stream.read(_EWF_HEADER_SIZE)
        segment = ewf_segment_number(header)
        if segment is not None and segment != 1:
            raise ValueError(f"EWF segment {segment}: the image is read from its first segment (.E01)")
        split = split_segment(self.path) if inner is None else None
        if split is not None and split[1] != 1:
            raise ValueError(f"segment {split[1]} of a split raw image: the image is read from its first segment "
                             f"({_base(split[0])})")
        kind = "ewf" if segment == 1 else "raw"
        try:
            if inner is not None:
                return kind, _EwfReader([inner.stream()], []) if kind == "ewf" else inner
            if kind == "ewf":
                return kind, _EwfReader.of_file(self.path)
            return kind, _SplitRawReader(split_segments(split[0])) if split is not None else _RawReader(self.path)
        except (*LIBRARY_ERRORS, ValueError) as error:
            raise UnreadableImageError(f"cannot open the {kind} image: {error}") from error

    def _inner_file(self, outer: DiskImage) -> tuple[_InnerFileReader, bytes]:
        """A reader of this image's file inside ``outer``, and its first bytes."""
        try:
            inner = _InnerFileReader(outer, *self.parents[-1])
            return inner, inner.read(0, _EWF_HEADER_SIZE)
        except (KeyError, *LIBRARY_ERRORS) as error:
            raise UnreadableImageError(f"cannot open the image's file inside the image around it: {error}") from error

    def _readable_volumes(self) -> list[Volume]:
        try:
            self._media_chunk(0, min(_SECTOR, self.size))  # a damaged E01 may open, yet hold no readable media
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
        table = _partition_table(self._image)
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
        bad = [entry for entry in _mbr_entries(self._reader.read(0, _SECTOR)) if entry.start * _SECTOR >= self.size]
        table = _partition_table(_tsk_image(_MaskedReader(self._reader, [entry.position for entry in bad]))) if bad else None
        if table is None:
            return None
        self.problems += [entry.describe(self.size // _SECTOR) for entry in bad]
        return table

    def _partitions(self, table) -> list[Volume]:
        import pytsk3

        self.partition_table = _enum_name(table.info.vstype, "TSK_VS_TYPE_")
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
        volume = Volume(offset=offset, description=description, filesystem=_enum_name(handle.info.ftype, "TSK_FS_TYPE_"), handle=handle)
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
        for offset in range(0, self.size, _CHUNK):
            chunk = self._media_chunk(offset, min(_CHUNK, self.size - offset))
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
                yield from self._volume_files(volume)

    def _volume_files(self, volume: Volume) -> Iterator[ImageFile]:
        # A stack of listings, not recursion: a hostile image may nest directories thousands deep.
        root = volume.handle.info.root_inum
        seen = {root}
        pending = [iter(self._listing(volume, _Subdirectory(root, "", deleted=False)))]
        while pending:
            entry = next(pending[-1], None)
            if entry is None:
                pending.pop()
            elif isinstance(entry, ImageFile):
                yield entry
            elif entry.inode not in seen:  # a deleted directory's entry may point back up the tree
                seen.add(entry.inode)
                pending.append(iter(self._listing(volume, entry)))

    def _listing(self, volume: Volume, directory: _Subdirectory) -> list[ImageFile | _Subdirectory]:
        """One directory's files and subdirectories, in byte order of names."""
        try:
            named = _named_entries(volume, volume.handle.open_dir(inode=directory.inode), directory.path)
            if volume.filesystem.startswith("FAT"):
                listed = {entry.inode for _, entry in named if isinstance(entry, ImageFile)}
                named += _oversized_fat_files(self._reader, volume, directory, listed)
        except LIBRARY_ERRORS as error:
            if directory.deleted:
                return []  # a deleted directory whose blocks were reused: nothing of it is left to list
            problem = f"the directory cannot be listed: {error}"
            return [ImageFile(volume, directory.inode, directory.path or "/", 0, False, problem=problem)]
        return [entry for _, entry in sorted(named, key=lambda pair: pair[0])]


@dataclass(frozen=True)
class ImageFile:
    """A regular file in a volume as its file system records it, or a directory that cannot be listed."""

    volume: Volume
    inode: int
    inner_path: str
    size: int
    deleted: bool
    times: dict[str, str | None] = field(default_factory=dict)
    problem: str | None = None  # why its content is not read: the file system's records of it are broken


@dataclass(frozen=True)
class _Subdirectory:
    """A directory met in a listing, to be listed in its turn."""

    inode: int
    path: str
    deleted: bool


def _enum_name(value: int, prefix: str) -> str:
    """A pytsk3 enum value by its short name (8192, "TSK_FS_TYPE_" -> "EXT4")."""
    import pytsk3

    for name in dir(pytsk3):
        if name.startswith(prefix) and not name.endswith(("DETECT", "ENUM")) and getattr(pytsk3, name) == value:
            return name[len(prefix):]
    return str(int(value))


#: The Sleuth Kit lists a FAT volume label as an empty regular file of this name; it holds no content.
_FAT_LABEL_SUFFIX = b"(Volume Label Entry)"


def _named_entries(volume: Volume, directory, path: str) -> list[tuple[bytes, ImageFile | _Subdirectory]]:
    """``(name, entry)`` for the regular files and subdirectories of a pytsk3 directory."""
    import pytsk3

    named = []
    for entry in directory:
        name, meta = entry.info.name.name, entry.info.meta
        if name in (b".", b"..") or meta is None:
            continue
        inner = f"{path}/{name.decode('utf-8', 'backslashreplace')}"
        if meta.type in (pytsk3.TSK_FS_META_TYPE_DIR, pytsk3.TSK_FS_META_TYPE_VIRT_DIR):
            named.append((name, _Subdirectory(meta.addr, inner, _is_deleted(entry))))
        elif meta.type == pytsk3.TSK_FS_META_TYPE_REG and not name.endswith(_FAT_LABEL_SUFFIX):
            times = {key: _utc(getattr(meta, attribute)) for key, attribute in _TIMES.items()}
            named.append((name, ImageFile(volume, meta.addr, inner, meta.size, _is_deleted(entry), times)))
    return named


_TIMES = {"modified_utc": "mtime", "accessed_utc": "atime", "changed_utc": "ctime", "created_utc": "crtime"}


def _is_deleted(entry) -> bool:
    import pytsk3

    return bool(
        entry.info.name.flags & pytsk3.TSK_FS_NAME_FLAG_UNALLOC or entry.info.meta.flags & pytsk3.TSK_FS_META_FLAG_UNALLOC
    )


def _utc(seconds: int) -> str | None:
    try:
        moment = datetime.fromtimestamp(seconds, timezone.utc) if seconds else None
    except (OverflowError, OSError, ValueError):  # a hostile time no calendar holds: left out, not a crash
        return None
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _oversized_fat_files(reader, volume: Volume, directory: _Subdirectory, listed: set[int]) -> list[tuple[bytes, ImageFile]]:
    """Files of a FAT directory whose entry records a size larger than the whole volume.

    The Sleuth Kit takes such an entry for garbage and lists nothing for it,
    so the file would vanish from the report. Each comes back here from the
    directory's own bytes, numbered as The Sleuth Kit numbers entries, with
    its problem stated and its content left unread.
    """
    volume_bytes = volume.handle.info.block_count * volume.handle.info.block_size
    found = []
    for inode, entry, long_name in _fat_directory_entries(reader, volume, directory.inode):
        size = int.from_bytes(entry[28:32], "little")
        if inode in listed or entry[11] & _FAT_NOT_A_FILE or size <= volume_bytes:
            continue
        name = long_name or _fat_short_name(entry)
        problem = f"the size in the directory entry ({size} bytes) exceeds the whole volume ({volume_bytes} bytes)"
        file = ImageFile(volume, inode, f"{directory.path}/{name}", size, entry[0] == _FAT_DELETED, problem=problem)
        found.append((name.encode("utf-8", "surrogateescape"), file))
    return found


_FAT_DELETED = 0xE5
_FAT_LONG_NAME = 0x0F  # the attribute byte of a long-name piece
_FAT_NOT_A_FILE = 0x18  # a volume label or a directory
_FAT_FIRST_INODE = 3  # The Sleuth Kit's number of the first directory entry of the data area


def _fat_directory_entries(reader, volume: Volume, directory_inode: int) -> Iterator[tuple[int, bytes, str]]:
    """``(inode, 32-byte entry, long name or "")`` for each short entry of a FAT directory, up to its end mark."""
    sector_size = volume.handle.info.block_size
    per_sector = sector_size // 32
    first_data_sector = _fat_first_data_sector(reader.read(volume.offset, _SECTOR))
    pieces: list[str] = []
    for sector in _directory_sectors(volume.handle, directory_inode):
        data = reader.read(volume.offset + sector * sector_size, sector_size)
        for index in range(min(per_sector, len(data) // 32)):
            entry = data[32 * index : 32 * index + 32]
            if entry[0] == 0:
                return  # the end of the directory
            if entry[11] & 0x3F == _FAT_LONG_NAME:
                if entry[0] != _FAT_DELETED:  # pieces come last first
                    pieces.insert(0, (entry[1:11] + entry[14:26] + entry[28:32]).decode("utf-16-le", "replace"))
                continue
            long_name = "".join(pieces).split("\x00")[0]
            pieces = []
            yield (sector - first_data_sector) * per_sector + _FAT_FIRST_INODE + index, entry, long_name


def _fat_first_data_sector(boot_sector: bytes) -> int:
    """Where a FAT volume's root directory (FAT12/16) or first cluster (FAT32) starts, in sectors."""
    reserved, fat_count, sectors_per_fat = struct.unpack_from("<HBxxxxxH", boot_sector, 14)
    if sectors_per_fat == 0:  # FAT32 keeps it in a 32-bit field of its own
        (sectors_per_fat,) = struct.unpack_from("<I", boot_sector, 36)
    return reserved + fat_count * sectors_per_fat


def _directory_sectors(handle, inode: int) -> Iterator[int]:
    """The sectors (FAT's blocks) that hold a directory, in order."""
    for attribute in handle.open_meta(inode=inode):
        for run in attribute:
            yield from range(run.addr, run.addr + run.len)


def _fat_short_name(entry: bytes) -> str:
    """An 8.3 name as The Sleuth Kit shows it: lower case where the entry says so, "_" for a deleted first letter."""
    base, extension = entry[0:8].rstrip(b" "), entry[8:11].rstrip(b" ")
    if entry[0] == _FAT_DELETED:
        base = b"_" + base[1:]
    if entry[12] & 0x08:
        base = base.lower()
    if entry[12] & 0x10:
        extension = extension.lower()
    name = base + (b"." + extension if extension else b"")
    return name.decode("cp437")


@dataclass(frozen=True)
class _MbrEntry:
    """One of the four primary entries of a DOS partition table."""

    slot: int
    kind: int
    start: int  # sector
    sectors: int

    @property
    def position(self) -> tuple[int, int]:
        """Where the entry lies in the first sector: (offset, length)."""
        return 446 + 16 * self.slot, 16

    def describe(self, disk_sectors: int) -> str:
        return (f"partition table entry {self.slot + 1} (type 0x{self.kind:02x}) starts at sector {self.start}, "
                f"past the end of the disk ({disk_sectors} sectors): left out")


def _mbr_entries(sector: bytes) -> list[_MbrEntry]:
    """The used primary entries of an MBR; none when the sector has no boot signature."""
    if len(sector) < _SECTOR or sector[510:512] != b"\x55\xaa":
        return []
    entries = [_MbrEntry(slot, *struct.unpack_from("<4xB3xII", sector, 446 + 16 * slot)) for slot in range(4)]
    return [entry for entry in entries if entry.kind]


class _MaskedReader:
    """A reader that shows zeros over ``masks`` ((offset, length) pairs): a partition table without its bad entries."""

    def __init__(self, reader, masks: list[tuple[int, int]]):
        self._reader = reader
        self._masks = masks
        self.size = reader.size

    def read(self, offset: int, length: int) -> bytes:
        data = bytearray(self._reader.read(offset, length))
        for start, size in self._masks:
            low, high = max(start, offset), min(start + size, offset + len(data))
            if low < high:
                data[low - offset : high - offset] = bytes(high - low)
        return bytes(data)


class TskFileStream(io.RawIOBase):
    """A read-only, seekable stream over one file's content inside an image."""

    def __init__(self, file, size: int):
        super().__init__()
        self._file = file
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError(f"seek to negative position {base + offset}")
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer) -> int:
        length = min(len(buffer), self._size - self._position)
        if length <= 0:
            return 0
        try:
            data = self._file.read_random(self._position, length)
        except RuntimeError as error:  # pytsk3's form of a read of the image that failed
            raise OSError(f"cannot read offset {self._position} of {self._size}: {error}") from error
        if not data:
            raise OSError(f"the size in the directory entry ({self._size} bytes) exceeds the data the file system "
                          f"holds for the file: nothing at offset {self._position}")
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


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
        return io.BufferedReader(TskFileStream(file, self.size), buffer_size=_CHUNK)


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
    """Each item, followed by the files inside it when it is a disk image, and theirs, down to :data:`MAX_IMAGE_DEPTH`.

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
