"""Where the scan writes, and how: never into the evidence, never through a link.

Before anything starts, every output path is checked twice over. Its folder
must lie outside every evidence root, by path (links resolved) and by device
and inode, climbing the folder's real parents, so a bind mount or a
symlinked alias of the evidence is caught as well as a plain prefix.
Whatever already sits at an output path must be a regular file with a single
link: a symbolic link, a hard link (it may be an evidence file), a FIFO (it
would hang the scan), a socket, a device or a folder is refused. The custody
log and the journal are appended to in place (their own modules open them):
this check, made before they are opened, keeps them off links; without
``--resume`` they must not exist at all.

Reports are rendered into a private folder made inside their output folder,
then renamed into place with :func:`os.replace`. A rename replaces the
directory entry, never the file an existing entry points to, so no write
follows a link that was planted there, and a reader never sees half a
report. A failure while writing (read-only folder, full disk) is an
:class:`OutputError`: the journal keeps every finished item for ``--resume``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from facexray_forensics.evidence import hash_stream, inside
from facexray_forensics.records import ScanReport


class OutputError(Exception):
    """The outputs could not be written; the message is one line, fit for the examiner."""


def output_error(error: OSError) -> OutputError:
    """An OutputError that says what failed and where."""
    where = f": {os.fsdecode(error.filename)}" if error.filename else ""
    return OutputError(
        f"outputs could not be written ({error.strerror or error}{where}); "
        "finished items stay in the journal, so --resume can complete the scan once this is fixed"
    )


@contextlib.contextmanager
def output_failures() -> Iterator[None]:
    """Turn an OSError raised while writing outputs into an :class:`OutputError`."""
    try:
        yield
    except OSError as error:
        raise output_error(error) from error


# ---- before the scan ---------------------------------------------------------------------


def check_placement(paths: Sequence[Path], evidence: Sequence[str | os.PathLike]) -> None:
    """Raise ValueError when any output path lies inside the evidence, by path or by device and inode."""
    roots = _identities(evidence)
    for path in paths:
        if inside(path, evidence) or not roots.isdisjoint(_real_ancestors(path)):
            raise ValueError(f"refusing to write {path}: it is inside the evidence ({', '.join(map(os.fspath, evidence))})")
    names = [os.path.realpath(path) for path in paths]
    if len(set(names)) != len(names):
        raise ValueError("two outputs name the same file")


def check_targets(reports: Sequence[Path], records: Sequence[Path], resume: bool) -> None:
    """Raise ValueError unless every output path is free or holds a plain file of ours.

    ``reports`` are replaced at the end; ``records`` (custody log, journal)
    are appended to, and without ``resume`` must not exist yet.
    """
    for path in [*reports, *records]:
        problem = unsafe_target(path)
        if problem is not None:
            raise ValueError(f"refusing to write {path}: {problem}")
    if not resume:
        for path in records:
            if os.path.lexists(path):
                raise ValueError(f"{path} already exists: pass --resume to continue that scan, or write the report elsewhere")


def unsafe_target(path: Path) -> str | None:
    """Why writing at ``path`` is unsafe, or None when nothing is there or a single-link regular file is.

    Only lstat is used: a FIFO is never opened, a link never followed.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link (outputs never follow links)"
    if not stat.S_ISREG(info.st_mode):
        return f"it is a {_file_type(info.st_mode)}, not a regular file"
    if info.st_nlink > 1:
        return f"it has {info.st_nlink} hard links, and another name may be evidence"
    return None


def make_output_folders(folders: Sequence[Path]) -> None:
    """Create the output folders (placement is checked first: they lie outside the evidence)."""
    with output_failures():
        for folder in sorted(set(folders)):
            folder.mkdir(parents=True, exist_ok=True)


def _identities(paths: Sequence[str | os.PathLike]) -> set[tuple[int, int]]:
    """(st_dev, st_ino) of each path that exists, links followed."""
    found = set()
    for path in paths:
        with contextlib.suppress(OSError):
            info = os.stat(path)
            found.add((info.st_dev, info.st_ino))
    return found


def _real_ancestors(path: Path) -> set[tuple[int, int]]:
    """(st_dev, st_ino) of the nearest existing folder above ``path`` and of each real parent up to /.

    Parents are reached through "..", as the kernel resolves it, not by
    cutting the path: a symlinked alias climbs the tree it points into, and
    a bind mount of an evidence root has that root's device and inode. A
    folder that cannot be climbed is refused: then nobody can tell.
    """
    existing = Path(os.path.abspath(path)).parent
    while not existing.is_dir():
        existing = existing.parent
    try:
        return _climb(existing)
    except OSError as error:
        raise ValueError(f"refusing to write {path}: cannot tell whether it is inside the evidence ({error.strerror or error})") from error


def _climb(folder: Path) -> set[tuple[int, int]]:
    """(st_dev, st_ino) of ``folder`` and of every folder above it, by descriptors, so no path grows."""
    found: set[tuple[int, int]] = set()
    descriptor = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    try:
        while (identity := _descriptor_identity(descriptor)) not in found:  # / is its own parent
            found.add(identity)
            parent = os.open("..", os.O_PATH | os.O_DIRECTORY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = parent
    finally:
        os.close(descriptor)
    return found


def _descriptor_identity(descriptor: int) -> tuple[int, int]:
    info = os.fstat(descriptor)
    return info.st_dev, info.st_ino


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


# ---- at the end --------------------------------------------------------------------------


def write_output(render: Callable[[ScanReport, Path], Any], report: ScanReport, path: Path) -> str:
    """Render ``report`` to ``path`` and write ``path.sha256``, each by rename; return the SHA-256.

    The renderer writes into a fresh private folder beside ``path`` under the
    final name, so files it derives from that name (X-ray pictures) come out
    right and move into place with it.
    """
    with output_failures(), tempfile.TemporaryDirectory(prefix=".fxr-writing-", dir=path.parent) as staging:
        staged = Path(staging) / path.name
        render(report, staged)
        with open(staged, "rb") as stream:
            digest = hash_stream(stream)[0]["sha256"]
        staged.with_name(f"{path.name}.sha256").write_text(f"{digest}  {path.name}\n")
        _move_into_place(Path(staging), path.parent)
    return digest


def _move_into_place(staging: Path, folder: Path) -> None:
    """Rename every file in ``staging`` into ``folder``, durably; refuse all before renaming any."""
    names = sorted(os.listdir(staging))  # a report sorts before its .sha256: the digest never precedes it
    for name in names:
        problem = unsafe_target(folder / name)
        if problem is not None:
            raise OutputError(f"refusing to write {folder / name}: {problem}")
    for name in names:
        _fsync(staging / name)
        os.replace(staging / name, folder / name)
    _fsync(folder)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
