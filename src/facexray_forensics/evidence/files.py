"""Evidence on a file system: read-only opening, hashing and the folder walk.

Nothing here writes. Files are opened with O_RDONLY and, where the kernel
permits it, O_NOATIME, so reading evidence leaves its access time alone;
directories are listed through descriptors opened the same way. Links are
never followed: a symbolic link becomes an item of kind "other" that records
its target and is never opened, so a link loop or a link out of the tree cannot lead the walk
anywhere.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from facexray_forensics.evidence.magic import HEADER_SIZE, sniff
from facexray_forensics.records import Item, raw_path

HASH_ALGORITHMS = ("md5", "sha1", "sha256")
_CHUNK = 1 << 20
_NOATIME = getattr(os, "O_NOATIME", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _open_descriptor(path: bytes | str, flags: int, dir_fd: int | None = None) -> int:
    """os.open with O_NOATIME when permitted (only the owner or root may ask for it)."""
    try:
        return os.open(path, flags | _NOATIME, dir_fd=dir_fd)
    except PermissionError:
        if not _NOATIME:
            raise
        return os.open(path, flags, dir_fd=dir_fd)


def open_read_only(path: bytes | str) -> BinaryIO:
    """Open an evidence file for reading only, without following a final link.

    Raises OSError when the path cannot be opened or is not a regular file
    (a FIFO or device could block or never end, so it is refused).
    """
    descriptor = _open_descriptor(path, os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(f"not a regular file: {os.fsdecode(path)!r}")
        return os.fdopen(descriptor, "rb", buffering=_CHUNK)
    except BaseException:
        os.close(descriptor)
        raise


def hash_stream(stream: BinaryIO, chunk_size: int = _CHUNK) -> tuple[dict[str, str], int]:
    """MD5, SHA-1 and SHA-256 of everything left in ``stream``, in one pass.

    Returns ``({"md5": hex, "sha1": hex, "sha256": hex}, bytes_read)``.
    """
    digests = [hashlib.new(name) for name in HASH_ALGORITHMS]
    total = 0
    while chunk := stream.read(chunk_size):
        total += len(chunk)
        for digest in digests:
            digest.update(chunk)
    return {name: digest.hexdigest() for name, digest in zip(HASH_ALGORITHMS, digests)}, total


def display_name(raw: bytes) -> str:
    """A path as text: UTF-8 where it is, backslash escapes for bytes that are not."""
    return raw.decode("utf-8", errors="backslashreplace")


def path_origin(raw: bytes, key: str = "path") -> dict[str, str]:
    """A path for an item's origin: its text, and its exact bytes as hex when the text cannot give
    them back (read back by :func:`~facexray_forensics.records.raw_path`)."""
    origin = {key: display_name(raw)}
    if origin[key].encode("utf-8", errors="surrogateescape") != raw:
        origin[f"{key}_hex"] = raw.hex()
    return origin


@dataclass(frozen=True)
class FileOpener:
    """A picklable ``Item.open`` for a file on disk (items cross process boundaries)."""

    path: bytes

    def __call__(self) -> BinaryIO:
        return open_read_only(self.path)


def _read_header(path: bytes) -> bytes:
    with open_read_only(path) as stream:
        return stream.read(HEADER_SIZE)


def _file_item(path: bytes, name: str, size: int) -> Item:
    """An Item for a regular file; an unreadable header leaves it "other" (decoding reports why)."""
    origin: dict = path_origin(path)
    try:
        kind, mime = sniff(_read_header(path))
    except OSError as error:
        kind, mime = "other", None
        origin["open_error"] = f"{type(error).__name__}: {error.strerror or error}"
    return Item(name=name, kind=kind, mime=mime, size=size, open=FileOpener(path), origin=origin)


def _special_item(path: bytes, name: str, entry_stat: os.stat_result, dir_fd: int | None, entry: bytes) -> Item:
    """An item of kind "other" for what is not a regular file: links, FIFOs, sockets, devices.

    Its origin names the ``file_type`` (and a link's ``link_target``); it is never opened.
    """
    origin: dict = {**path_origin(path), "file_type": _FILE_TYPES.get(stat.S_IFMT(entry_stat.st_mode), "unknown")}
    if stat.S_ISLNK(entry_stat.st_mode):
        origin["link_target"] = display_name(os.readlink(entry, dir_fd=dir_fd))
    return Item(name=name, kind="other", mime=None, size=entry_stat.st_size, open=FileOpener(path), origin=origin)


_FILE_TYPES = {
    stat.S_IFLNK: "symbolic link",
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFDIR: "directory",
}


@dataclass(frozen=True)
class _Folder:
    """A directory met in a listing, to be listed in its turn."""

    path: bytes
    name: bytes


class FileSource:
    """Items from files and folders given on the command line (an ``ItemSource``).

    Each root is walked depth first in byte order of names, so the order and
    the names are the same on every run. An item's name is the root's own
    name followed by the path inside it ("evidence/cars/a.jpg"); a root
    given as a file is named by its file name. Two roots with the same last
    component are told apart by their full absolute path. A root that is
    itself a link is followed (the examiner named it); links inside are not.

    Overlapping roots are merged: a folder that lies inside another root
    (``scan ev ev/sub``), or any root given twice, is dropped, so its files
    are scanned once, under the outer root. A file named on its own keeps
    its own name even inside a folder root. :attr:`warnings` says what was
    merged, for the scan to report.
    """

    def __init__(self, roots: Iterable[str | bytes | os.PathLike]):
        given = [os.path.abspath(os.fsencode(root)) for root in roots]
        if not given:
            raise ValueError("no evidence given")
        for root in given:
            if not os.path.lexists(root):
                raise ValueError(f"evidence not found: {display_name(root)}")
        self.warnings: list[str] = []
        self.roots = self._without_overlaps(given)
        self._prefixes = self._root_prefixes()

    def _without_overlaps(self, roots: list[bytes]) -> list[bytes]:
        """The roots in the order given, less those another root already covers; a warning for each overlap."""
        resolved = [os.path.realpath(root) for root in roots]
        folders = [os.path.isdir(path) for path in resolved]
        kept = []
        for index, (root, path) in enumerate(zip(roots, resolved)):
            outer = next((roots[other] for other, base in enumerate(resolved) if folders[other] and _inside(path, base)), None)
            if path in resolved[:index]:
                self.warnings.append(f"evidence {display_name(root)} is given twice: it is scanned once")
            elif outer is not None and folders[index]:
                self.warnings.append(f"evidence {display_name(root)} lies inside {display_name(outer)}: "
                                     "its files are scanned once, under the latter")
            else:
                if outer is not None:  # a file the examiner named: kept under its own name, and said so
                    self.warnings.append(f"evidence {display_name(root)} also lies inside {display_name(outer)}: "
                                         "it is scanned under both names")
                kept.append(root)
        return kept

    def _root_prefixes(self) -> list[bytes]:
        bases = [os.path.basename(root.rstrip(b"/")) or b"/" for root in self.roots]
        clash = {base for base in bases if bases.count(base) > 1}
        return [root if base in clash else base for root, base in zip(self.roots, bases)]

    def items(self) -> Iterator[Item]:
        """Every entry under every root, in a stable order."""
        for root, prefix in zip(self.roots, self._prefixes):
            try:
                root_stat = os.stat(root)  # a root named by the examiner is followed, as find -H does
            except OSError:
                root_stat = os.lstat(root)  # a broken link: recorded as a link
            if stat.S_ISDIR(root_stat.st_mode):
                yield from _walk(os.path.realpath(root), prefix)
            elif stat.S_ISREG(root_stat.st_mode):
                yield _file_item(os.path.realpath(root), display_name(prefix), root_stat.st_size)
            else:
                parent = os.path.dirname(root)
                descriptor = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    yield _special_item(root, display_name(prefix), root_stat, descriptor, os.path.basename(root))
                finally:
                    os.close(descriptor)


def _inside(path: bytes, base: bytes) -> bool:
    """Whether the resolved ``path`` lies strictly inside the resolved directory ``base``."""
    return path.startswith(base.rstrip(b"/") + b"/")


def _walk(top: bytes, prefix: bytes) -> Iterator[Item]:
    """Every entry under the directory ``top``, depth first in byte order of names.

    A stack of listings, not recursion: a tree thousands of levels deep must
    not exhaust Python's stack, nor hold a descriptor open per level.
    """
    pending = [iter(_listing(top, prefix))]
    while pending:
        entry = next(pending[-1], None)
        if entry is None:
            pending.pop()
        elif isinstance(entry, _Folder):
            pending.append(iter(_listing(entry.path, entry.name)))
        else:
            yield entry


def _listing(directory: bytes, prefix: bytes) -> list[Item | _Folder]:
    """The entries of one directory in byte order of names: items, and folders still to list."""
    try:
        descriptor = _open_descriptor(directory, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    except OSError as error:
        return [_unlistable_item(directory, prefix, error)]
    try:
        with os.scandir(descriptor) as listing:
            names = sorted(os.fsencode(entry.name) for entry in listing)
        return [_entry(directory, prefix, name, descriptor) for name in names]
    finally:
        os.close(descriptor)


def _entry(directory: bytes, prefix: bytes, entry: bytes, descriptor: int) -> Item | _Folder:
    path = os.path.join(directory, entry)
    name = prefix + b"/" + entry
    try:
        entry_stat = os.stat(entry, dir_fd=descriptor, follow_symlinks=False)
    except OSError as error:  # vanished between listing and stat
        return _unlistable_item(path, name, error)
    if stat.S_ISDIR(entry_stat.st_mode):
        return _Folder(path, name)
    if stat.S_ISREG(entry_stat.st_mode):
        return _file_item(path, display_name(name), entry_stat.st_size)
    return _special_item(path, display_name(name), entry_stat, descriptor, entry)


def _unlistable_item(path: bytes, name: bytes, error: OSError) -> Item:
    origin = {**path_origin(path), "open_error": f"{type(error).__name__}: {error.strerror or error}"}
    return Item(name=display_name(name), kind="other", mime=None, size=0, open=FileOpener(path), origin=origin)


def item_from_origin(name: str, kind: str, mime: str | None, size: int, origin: dict) -> Item:
    """The Item a file-system ``origin`` (as :class:`FileSource` recorded it) describes, to read it again."""
    return Item(name=name, kind=kind, mime=mime, size=size, open=FileOpener(raw_path(origin)), origin=origin)


def inside(path: str | bytes | os.PathLike, roots: Iterable[str | bytes | os.PathLike]) -> bool:
    """True when ``path`` (after resolving links) lies in or is one of ``roots``."""
    target = os.path.realpath(os.fsencode(path))
    for root in roots:
        base = os.path.realpath(os.fsencode(root))
        if target == base or _inside(target, base):
            return True
    return False
