"""Evidence: where items come from and how their bytes become frames.

- :class:`ItemSource` is anything with ``items() -> Iterator[Item]``;
  :class:`FileSource` walks files and folders. The files inside disk images
  become items of their own (:mod:`~facexray_forensics.evidence.disk_image`).
- :func:`open_read_only` and :func:`hash_stream` touch evidence without
  changing it; :func:`sniff` names a file's type from its bytes.
- :func:`decode_frames` turns an item into frames under :class:`DecodeLimits`,
  by the decoder registered for its kind in :data:`FRAME_DECODERS`.
- :func:`load_known_hashes` reads hashdeep, NSRL-style and plain hash lists.
"""

from collections.abc import Iterator
from typing import Protocol

from facexray_forensics.evidence.decode import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_VIDEO_FRAMES,
    FRAME_DECODERS,
    DecodeError,
    DecodeLimits,
    decode_frames,
    decode_still_image,
    unsupported_reason,
)
from facexray_forensics.evidence.files import (
    HASH_ALGORITHMS,
    FileSource,
    display_name,
    hash_stream,
    inside,
    item_from_origin,
    open_read_only,
)
from facexray_forensics.evidence.known import KnownHashes, load_known_hashes
from facexray_forensics.evidence.magic import HEADER_SIZE, sniff
from facexray_forensics.records import Item


class ItemSource(Protocol):
    """Yields the items of one kind of evidence, in a stable order with stable names, and says in
    ``warnings`` how it took what it was given (the scan records them in custody and the reports)."""

    warnings: list[str]

    def items(self) -> Iterator[Item]: ...


__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_VIDEO_FRAMES",
    "FRAME_DECODERS",
    "HASH_ALGORITHMS",
    "HEADER_SIZE",
    "DecodeError",
    "DecodeLimits",
    "FileSource",
    "ItemSource",
    "KnownHashes",
    "decode_frames",
    "decode_still_image",
    "display_name",
    "hash_stream",
    "inside",
    "item_from_origin",
    "load_known_hashes",
    "open_read_only",
    "sniff",
    "unsupported_reason",
]
