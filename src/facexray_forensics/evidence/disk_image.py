"""Files inside disk images, read in place: no mounting, no root, no copies.

The Sleuth Kit (pytsk3) reads partition tables (DOS/MBR, GPT, ...) and file
systems (FAT, ext2/3/4, NTFS, HFS+, ISO 9660, ...); libewf (pyewf) reads
Expert Witness (E01) images. Both read through our own read-only file
handles (:func:`~facexray_forensics.evidence.files.open_read_only`), so the
image is never opened for writing and its access time is left alone.

Every regular file becomes an :class:`~facexray_forensics.records.Item`,
deleted ones included (flagged in ``origin["deleted"]``), named
``IMAGE:PARTITION_OFFSET:INODE:/inner/path`` so the name is unique and says
where the bytes are. ``Item.open`` returns a read-only stream over the file's
content, read straight from the image, so hashing and decoding need no
temporary copy. The opener is a small picklable value: a worker process
opens the image itself on first use.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO

from facexray_forensics.evidence.files import display_name, open_read_only
from facexray_forensics.evidence.magic import HEADER_SIZE, sniff
from facexray_forensics.records import Item

_EWF_SIGNATURE = b"EVF\x09\x0d\x0a\xff\x00"
_CHUNK = 1 << 20

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


class _RawReader:
    """Positional reads from a raw image file (pread needs no shared offset, so threads may share it)."""

    def __init__(self, path: bytes):
        self._stream = open_read_only(path)
        self.size = os.fstat(self._stream.fileno()).st_size

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._stream.fileno(), length, offset)

    def close(self) -> None:
        self._stream.close()


class _EwfReader:
    """Reads from the media inside E01 segment files (libewf seeks, so one reader at a time)."""

    def __init__(self, path: bytes):
        import pyewf  # libewf-python: the reference reader of the EWF format, from its author

        names = pyewf.glob(os.fsdecode(path))
        self._streams = [open_read_only(os.fsencode(name)) for name in names]
        self._handle = pyewf.handle()
        try:
            self._handle.open_file_objects(self._streams)
        except Exception:
            self.close()
            raise
        self.size = self._handle.get_media_size()
        self.segments = [os.fsencode(name) for name in names]
        self._lock = threading.Lock()

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


@dataclass
class Volume:
    """One file system found in an image: where it starts and what it is, or why it could not be read."""

    offset: int  # bytes from the start of the image
    description: str  # the partition's description, or "whole image" without a partition table
    filesystem: str | None = None
    error: str | None = None
    handle: Any = field(default=None, repr=False)  # pytsk3.FS_Info


class DiskImage:
    """An open disk image: its volumes, its files, and for E01 its acquisition record.

    Use as a context manager. Raises ValueError when neither a partition
    table nor a file system is found.
    """

    def __init__(self, path: str | bytes | os.PathLike):
        self.path = os.path.abspath(os.fsencode(path))
        with open_read_only(self.path) as stream:
            header = stream.read(HEADER_SIZE)
        segment = ewf_segment_number(header)
        if segment is not None and segment != 1:
            raise ValueError(f"EWF segment {segment}: the image is read from its first segment (.E01)")
        self.format = "ewf" if segment == 1 else "raw"
        try:
            self._reader = _EwfReader(self.path) if self.format == "ewf" else _RawReader(self.path)
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot open {self.format} image: {error}") from error
        self._image = _tsk_image(self._reader)
        self.partition_table: str | None = None
        self.volumes = self._find_volumes()
        if not any(volume.handle is not None for volume in self.volumes):
            problems = "; ".join(f"{volume.description}: {volume.error}" for volume in self.volumes)
            self.close()
            raise ValueError(f"no readable file system in the image ({problems or 'nothing found'})")

    def __enter__(self) -> DiskImage:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Release the image's file handles."""
        self._reader.close()

    @property
    def size(self) -> int:
        """Bytes of media (for E01, the acquired disk, not the compressed file)."""
        return self._reader.size

    def _find_volumes(self) -> list[Volume]:
        import pytsk3

        try:
            table = pytsk3.Volume_Info(self._image)
        except OSError:
            return [self._open_filesystem(0, "whole image")]
        self.partition_table = _enum_name(table.info.vstype, "TSK_VS_TYPE_")
        block_size = table.info.block_size
        volumes = []
        for partition in table:
            if not partition.flags & pytsk3.TSK_VS_PART_FLAG_ALLOC:
                continue  # unallocated gaps and the tables themselves
            description = partition.desc.decode("utf-8", "replace") if isinstance(partition.desc, bytes) else str(partition.desc)
            volumes.append(self._open_filesystem(partition.start * block_size, f"partition {partition.addr}: {description}"))
        return volumes

    def _open_filesystem(self, offset: int, description: str) -> Volume:
        import pytsk3

        try:
            handle = pytsk3.FS_Info(self._image, offset=offset)
        except OSError as error:
            return Volume(offset=offset, description=description, error=f"no file system read: {error}".strip())
        return Volume(offset=offset, description=description, filesystem=_enum_name(handle.info.ftype, "TSK_FS_TYPE_"), handle=handle)

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
            "volumes": [
                {"offset": volume.offset, "description": volume.description, "filesystem": volume.filesystem, "error": volume.error}
                for volume in self.volumes
            ],
        }
        if self.format == "ewf":
            record["segments"] = [display_name(segment) for segment in self._reader.segments]
            record["header"] = self._reader.header()
            record["stored_hashes"] = self._reader.stored_hashes()
        return record

    def verify(self) -> dict[str, Any]:
        """Recompute the media's MD5 (and SHA-1 when stored) and compare with what the E01 stores.

        Returns ``{"stored": {...}, "computed": {...}, "verified": bool or None}``;
        ``verified`` is None for raw images, which store no hash.
        """
        stored = self._reader.stored_hashes() if self.format == "ewf" else {}
        names = [name for name in ("md5", "sha1", "sha256") if name in stored] or ["md5"]
        digests = {name: hashlib.new(name) for name in names}
        for offset in range(0, self.size, _CHUNK):
            chunk = self._reader.read(offset, min(_CHUNK, self.size - offset))
            for digest in digests.values():
                digest.update(chunk)
        computed = {name: digest.hexdigest() for name, digest in digests.items()}
        verified = None if not stored else all(computed[name] == stored[name] for name in names)
        return {"stored": stored, "computed": computed, "verified": verified}

    def files(self) -> Iterator[tuple[Volume, int, str, Any]]:
        """``(volume, inode, inner_path, meta)`` for every regular file, allocated or deleted."""
        for volume in self.volumes:
            if volume.handle is not None:
                yield from _walk(volume, volume.handle.open_dir(path="/"), "", set())


def _enum_name(value: int, prefix: str) -> str:
    """A pytsk3 enum value by its short name (8192, "TSK_FS_TYPE_" -> "EXT4")."""
    import pytsk3

    for name in dir(pytsk3):
        if name.startswith(prefix) and not name.endswith(("DETECT", "ENUM")) and getattr(pytsk3, name) == value:
            return name[len(prefix):]
    return str(int(value))


#: The Sleuth Kit lists a FAT volume label as an empty regular file of this name; it holds no content.
_FAT_LABEL_SUFFIX = b"(Volume Label Entry)"


def _walk(volume: Volume, directory, path: str, seen: set[int]) -> Iterator[tuple[Volume, int, str, Any]]:
    import pytsk3

    entries = []
    for entry in directory:
        name = entry.info.name.name
        if name in (b".", b"..") or entry.info.meta is None:
            continue
        entries.append((name, entry))
    for name, entry in sorted(entries, key=lambda pair: pair[0]):
        meta = entry.info.meta
        inner = f"{path}/{name.decode('utf-8', 'backslashreplace')}"
        if meta.type in (pytsk3.TSK_FS_META_TYPE_DIR, pytsk3.TSK_FS_META_TYPE_VIRT_DIR):
            if meta.addr in seen:
                continue  # a deleted directory's entry may point back up the tree
            seen.add(meta.addr)
            try:
                subdirectory = entry.as_directory()
            except OSError:
                continue  # a deleted directory whose blocks were reused
            yield from _walk(volume, subdirectory, inner, seen)
        elif meta.type == pytsk3.TSK_FS_META_TYPE_REG and not name.endswith(_FAT_LABEL_SUFFIX):
            yield volume, meta.addr, inner, entry


def _is_deleted(entry) -> bool:
    import pytsk3

    return bool(
        entry.info.name.flags & pytsk3.TSK_FS_NAME_FLAG_UNALLOC or entry.info.meta.flags & pytsk3.TSK_FS_META_FLAG_UNALLOC
    )


def _utc(seconds: int) -> str | None:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z") if seconds else None


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
        data = self._file.read_random(self._position, length)
        if not data:
            raise OSError(f"no data at offset {self._position} of {self._size}")
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


_OPEN: dict[tuple[int, bytes], DiskImage] = {}
_OPEN_LOCK = threading.Lock()


def _shared_image(path: bytes) -> DiskImage:
    """One open DiskImage per image and process (a forked worker opens its own)."""
    key = (os.getpid(), path)
    with _OPEN_LOCK:
        image = _OPEN.get(key)
        if image is None:
            image = _OPEN[key] = DiskImage(path)
        return image


@dataclass(frozen=True)
class InnerFileOpener:
    """A picklable ``Item.open`` for a file inside a disk image."""

    image_path: bytes
    partition_offset: int
    inode: int
    size: int

    def __call__(self) -> BinaryIO:
        image = _shared_image(self.image_path)
        try:
            handle = image.volume_at(self.partition_offset).handle
            file = handle.open_meta(inode=self.inode)
        except (KeyError, OSError) as error:
            raise OSError(f"cannot open inode {self.inode} at offset {self.partition_offset}: {error}") from error
        return io.BufferedReader(TskFileStream(file, self.size), buffer_size=_CHUNK)


class DiskImageSource:
    """Items for the files inside one disk image (an ``ItemSource``).

    ``name`` is how the image itself is named in the scan (its item name);
    inner items are named ``name:PARTITION_OFFSET:INODE:/inner/path``.
    """

    def __init__(self, path: str | bytes | os.PathLike, name: str | None = None):
        self.path = os.path.abspath(os.fsencode(path))
        self.name = name if name is not None else display_name(self.path)

    def items(self) -> Iterator[Item]:
        """Every regular file in every readable volume, deleted ones included, in a stable order."""
        image = _shared_image(self.path)
        for volume, inode, inner_path, entry in image.files():
            opener = InnerFileOpener(self.path, volume.offset, inode, entry.info.meta.size)
            origin = {
                "image": self.name,
                "image_path": display_name(self.path),
                "partition_offset": volume.offset,
                "partition": volume.description,
                "filesystem": volume.filesystem,
                "inode": inode,
                "inner_path": inner_path,
                "deleted": _is_deleted(entry),
                "modified_utc": _utc(entry.info.meta.mtime),
                "accessed_utc": _utc(entry.info.meta.atime),
                "changed_utc": _utc(entry.info.meta.ctime),
                "created_utc": _utc(entry.info.meta.crtime),
            }
            try:
                with opener() as stream:
                    kind, mime = sniff(stream.read(HEADER_SIZE))
            except OSError as error:
                kind, mime = "other", None
                origin["open_error"] = str(error)
            yield Item(
                name=f"{self.name}:{volume.offset}:{inode}:{inner_path}",
                kind=kind,
                mime=mime,
                size=opener.size,
                open=opener,
                origin=origin,
            )


def image_path(item: Item) -> bytes | None:
    """The file-system path of an item found by :class:`~facexray_forensics.evidence.files.FileSource`."""
    if "path_hex" in item.origin:
        return bytes.fromhex(item.origin["path_hex"])
    return os.fsencode(item.origin["path"]) if "path" in item.origin else None


def expand_disk_images(items: Iterable[Item]) -> Iterator[Item]:
    """Each item, followed by the files inside it when it is a disk image.

    Only the first segment of an E01 set is opened (it reads the others);
    an image that cannot be read as a disk passes through unexpanded, and the
    disk-image plugin records why.
    """
    for item in items:
        yield item
        path = image_path(item)
        if item.kind != "disk_image" or path is None or "open_error" in item.origin:
            continue
        try:
            yield from DiskImageSource(path, name=item.name).items()
        except (OSError, ValueError):
            continue


def inner_item(name: str, kind: str, mime: str | None, size: int, origin: dict) -> Item:
    """The Item a disk-image ``origin`` (as :class:`DiskImageSource` recorded it) describes, to read it again."""
    opener = InnerFileOpener(os.fsencode(origin["image_path"]), origin["partition_offset"], origin["inode"], size)
    return Item(name=name, kind=kind, mime=mime, size=size, open=opener, origin=origin)
