"""Known-file hash lists: hashdeep output, NSRL-style CSV and plain hash lists.

An examiner skips files known to be irrelevant (operating-system files,
vendor images) by their hashes. Every hash in the list is taken, whatever
column it sits in, with its algorithm named by its column header or, for
headerless lines, by its length (32 hex digits MD5, 40 SHA-1, 64 SHA-256).
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field

_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_COLUMN_NAMES = {"md5": "md5", "sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256"}


@dataclass
class KnownHashes:
    """Sets of known hex digests per algorithm, lower case."""

    digests: dict[str, set[str]] = field(default_factory=lambda: {name: set() for name in _LENGTHS.values()})
    source: str | None = None

    def __len__(self) -> int:
        return sum(len(values) for values in self.digests.values())

    def add(self, algorithm: str, digest: str) -> None:
        """Add one digest; a value of the wrong length for its algorithm is ignored."""
        digest = digest.strip().lower()
        if _HEX.match(digest) and _LENGTHS.get(len(digest)) == algorithm:
            self.digests[algorithm].add(digest)

    def match(self, hashes: dict[str, str]) -> str | None:
        """The algorithm by which ``hashes`` (md5/sha1/sha256 -> hex) is known, or None."""
        for algorithm in ("sha256", "sha1", "md5"):
            value = hashes.get(algorithm)
            if value and value.lower() in self.digests[algorithm]:
                return algorithm
        return None


def _columns(header: list[str]) -> dict[int, str]:
    return {
        index: _COLUMN_NAMES[name.strip().strip('"').lower()]
        for index, name in enumerate(header)
        if name.strip().strip('"').lower() in _COLUMN_NAMES
    }


def parse_known_hashes(text: str, source: str | None = None) -> KnownHashes:
    """Parse a hash list from its text. Unparseable lines are skipped.

    - hashdeep: ``%%%%`` header lines, the column line ``%%%% size,md5,sha256,filename``,
      ``#`` comments, then CSV rows;
    - NSRL-style CSV: a first row of quoted column names such as "SHA-1","MD5";
    - plain lists: a hash as the first field of each line (md5sum / sha256sum output).
    """
    known = KnownHashes(source=source)
    columns: dict[int, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("%%%%"):
            body = stripped[4:].strip()
            if "," in body:
                columns = _columns(body.split(","))
            continue
        row = next(csv.reader(io.StringIO(stripped)), [])
        header = _columns(row)
        if header:
            columns = header
            continue
        if columns:
            for index, algorithm in columns.items():
                if index < len(row):
                    known.add(algorithm, row[index])
        else:
            first = re.split(r"[\s,]+", stripped, maxsplit=1)[0].strip('"')
            algorithm = _LENGTHS.get(len(first))
            if algorithm:
                known.add(algorithm, first)
    return known


def load_known_hashes(path: str | os.PathLike) -> KnownHashes:
    """Read a known-file hash list (see :func:`parse_known_hashes`); ValueError when it holds none."""
    with open(path, encoding="utf-8", errors="replace") as stream:
        known = parse_known_hashes(stream.read(), source=os.fspath(path))
    if not len(known):
        raise ValueError(f"no MD5, SHA-1 or SHA-256 hashes found in {os.fspath(path)}")
    return known
