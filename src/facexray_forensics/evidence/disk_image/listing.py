"""The files of a file system in a disk image: regular files, allocated or deleted, with their times;
FAT entries The Sleuth Kit skips (a size beyond the volume) read from the directory's own bytes."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from facexray_forensics.evidence.disk_image.readers import LIBRARY_ERRORS, SECTOR
from facexray_forensics.evidence.disk_image.volumes import Volume

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


def volume_files(reader, volume: Volume) -> Iterator[ImageFile]:
    """Every regular file of ``volume`` read through ``reader``, depth first in byte order of names."""
    # A stack of listings, not recursion: a hostile image may nest directories thousands deep.
    root = volume.handle.info.root_inum
    seen = {root}
    pending = [iter(_listing(reader, volume, _Subdirectory(root, "", deleted=False)))]
    while pending:
        entry = next(pending[-1], None)
        if entry is None:
            pending.pop()
        elif isinstance(entry, ImageFile):
            yield entry
        elif entry.inode not in seen:  # a deleted directory's entry may point back up the tree
            seen.add(entry.inode)
            pending.append(iter(_listing(reader, volume, entry)))


def _listing(reader, volume: Volume, directory: _Subdirectory) -> list[ImageFile | _Subdirectory]:
    """One directory's files and subdirectories, in byte order of names."""
    try:
        named = _named_entries(volume, volume.handle.open_dir(inode=directory.inode), directory.path)
        if volume.filesystem.startswith("FAT"):
            listed = {entry.inode for _, entry in named if isinstance(entry, ImageFile)}
            named += _oversized_fat_files(reader, volume, directory, listed)
    except LIBRARY_ERRORS as error:
        if directory.deleted:
            return []  # a deleted directory whose blocks were reused: nothing of it is left to list
        problem = f"the directory cannot be listed: {error}"
        return [ImageFile(volume, directory.inode, directory.path or "/", 0, False, problem=problem)]
    return [entry for _, entry in sorted(named, key=lambda pair: pair[0])]


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
    first_data_sector = _fat_first_data_sector(reader.read(volume.offset, SECTOR))
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
