"""Partitions and file systems of a disk image, as The Sleuth Kit (pytsk3) reads them through one of
our readers; and the DOS partition table's own entries, for a table The Sleuth Kit refuses."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from facexray_forensics.evidence.disk_image.readers import SECTOR

def tsk_image(reader):
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


def read_partition_table(image):
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


def enum_name(value: int, prefix: str) -> str:
    """A pytsk3 enum value by its short name (8192, "TSK_FS_TYPE_" -> "EXT4")."""
    import pytsk3

    for name in dir(pytsk3):
        if name.startswith(prefix) and not name.endswith(("DETECT", "ENUM")) and getattr(pytsk3, name) == value:
            return name[len(prefix):]
    return str(int(value))


@dataclass(frozen=True)
class MbrEntry:
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


def mbr_entries(sector: bytes) -> list[MbrEntry]:
    """The used primary entries of an MBR; none when the sector has no boot signature."""
    if len(sector) < SECTOR or sector[510:512] != b"\x55\xaa":
        return []
    entries = [MbrEntry(slot, *struct.unpack_from("<4xB3xII", sector, 446 + 16 * slot)) for slot in range(4)]
    return [entry for entry in entries if entry.kind]
