"""The hashing plugin: MD5, SHA-1 and SHA-256 of every item, and known-file skipping."""

from __future__ import annotations

from collections.abc import Mapping

from facexray_forensics.evidence import KnownHashes, hash_stream, unsupported_reason
from facexray_forensics.plugins import ITEM_KINDS, Plugin, ScanContext
from facexray_forensics.records import Finding, Item, Status


class HashingPlugin(Plugin):
    """Stream each item once through MD5, SHA-1 and SHA-256.

    Reads ``context.resources["known_hashes"]`` (a :class:`KnownHashes`, optional):
    an item on that list gets the status "known_file" and no further analysis.
    Links and special files are not opened; they are recorded as unsupported.
    """

    name = "hashing"
    version = "1.0.0"
    handles = ITEM_KINDS
    parallel = True
    description = "MD5, SHA-1 and SHA-256 of each item; skips files on a known-file hash list."

    def start_up(self, context: ScanContext) -> None:
        self.known: KnownHashes | None = context.resources.get("known_hashes")

    def process(self, item: Item, earlier: Mapping[str, Finding]) -> Finding:
        if "file_type" in item.origin or "open_error" in item.origin:
            status = Status.UNREADABLE if "open_error" in item.origin else Status.UNSUPPORTED
            return Finding(self.name, self.version, status=status, reason=unsupported_reason(item))
        try:
            with item.open() as stream:
                hashes, length = hash_stream(stream)
        except OSError as error:
            return Finding(
                self.name, self.version, status=Status.UNREADABLE, reason=f"cannot read: {error.strerror or error}"
            )
        values: dict = {**hashes, "bytes_hashed": length}
        finding = Finding(self.name, self.version, values=values)
        if length != item.size:
            values["size_at_listing"] = item.size  # it changed between the walk and the hash
        algorithm = self.known.match(hashes) if self.known is not None else None
        if algorithm is not None:
            finding.status = Status.KNOWN_FILE
            finding.reason = f"{algorithm.upper()} is on the known-file list {self.known.source or ''}".rstrip()
        return finding
