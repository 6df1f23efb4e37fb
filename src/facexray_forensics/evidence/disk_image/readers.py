"""The bytes of a disk image, whatever holds them: one raw file, the segments of a split raw image,
an E01 set (libewf), or a file inside another image; and a stream over one file inside an image.

Every reader has ``size``, ``segments`` (its own files, none for one inside an image),
``read(offset, length)`` and ``close()``.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import itertools
import os
import re
import threading
from typing import TYPE_CHECKING, BinaryIO

from facexray_forensics.evidence.files import display_name, open_read_only

if TYPE_CHECKING:
    from facexray_forensics.evidence.disk_image.image import DiskImage

_EWF_SIGNATURE = b"EVF\x09\x0d\x0a\xff\x00"
EWF_HEADER_SIZE = 13  # the signature, then the segment number at bytes 9-10
CHUNK = 1 << 20
SECTOR = 512

#: What pytsk3 and pyewf raise on a damaged image: OSError (IOError) from their own checks, and
#: RuntimeError from pytsk3 when a read it asked of our reader failed (a missing segment, a cut file).
LIBRARY_ERRORS = (OSError, RuntimeError)


class UnreadableImageError(ValueError):
    """A disk image that was recognised but cannot be read: cut short, a segment missing, a checksum that fails."""


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


class RawReader:
    """Positional reads from a raw image file (pread needs no shared offset, so threads may share it)."""

    def __init__(self, path: bytes):
        self._stream = open_read_only(path)
        self.size = os.fstat(self._stream.fileno()).st_size
        self.segments = [path]

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._stream.fileno(), length, offset)

    def close(self) -> None:
        self._stream.close()


class SplitRawReader:
    """Positional reads across the segment files of a split raw image, as from one file."""

    def __init__(self, segments: list[bytes]):
        self.segments = segments
        self._readers: list[RawReader] = []
        try:
            for segment in segments:
                self._readers.append(self._open(segment))
            sizes = [reader.size for reader in self._readers]
            for segment, size in zip(segments[1:-1], sizes[1:-1]):
                if size != sizes[0]:  # tools cut every segment but the last to one size
                    raise UnreadableImageError(f"segment {short_name(segment)} holds {size} bytes where the first holds "
                                               f"{sizes[0]}: a segment is cut short or does not belong to the set")
        except BaseException:
            self.close()
            raise
        self._starts = list(itertools.accumulate(sizes, initial=0))
        self.size = self._starts[-1]

    @staticmethod
    def _open(segment: bytes) -> RawReader:
        try:
            return RawReader(segment)
        except OSError as error:
            raise UnreadableImageError(f"segment {short_name(segment)} cannot be read: {error}") from error

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


def short_name(path: bytes) -> str:
    """A segment's file name, for messages."""
    return display_name(os.path.basename(path))


class InnerFileReader:
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
        return io.BufferedReader(TskFileStream(self._file, self.size), buffer_size=CHUNK)

    def close(self) -> None:
        pass  # the file belongs to the outer image, which DiskImage closes after this one


class EwfReader:
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
    def of_file(cls, path: bytes) -> EwfReader:
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


class MaskedReader:
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
