"""What a file is, from its first bytes (never from its name).

Each rule says where a signature sits and what it means. The kind decides
what the scan does with a file: images and videos go to their frame decoders
(:data:`~facexray_forensics.evidence.decode.FRAME_DECODERS`), disk images are
read for the files inside them (:mod:`~facexray_forensics.evidence.disk_image`),
and a file no rule names is "other".
"""

from __future__ import annotations

#: How many leading bytes :func:`sniff` wants: enough for ISO 9660's "CD001" at 32769.
HEADER_SIZE = 34 * 1024

_MPEG_TS_PACKET = 188


def _riff(header: bytes, form: bytes) -> bool:
    return header[:4] == b"RIFF" and header[8:12] == form


def _iso_bmff_brand(header: bytes) -> bytes | None:
    """The major brand of an ISO base-media file (MP4, MOV, HEIF), or None."""
    if header[4:8] == b"ftyp" and len(header) >= 12:
        return header[8:12]
    return None


def _mpeg_ts(header: bytes) -> bool:
    packets = [header[offset] for offset in range(0, min(len(header), 5 * _MPEG_TS_PACKET), _MPEG_TS_PACKET)]
    return len(packets) >= 3 and all(byte == 0x47 for byte in packets)


_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


def sniff(header: bytes) -> tuple[str, str | None]:
    """Return ``(kind, mime)`` for a file whose first bytes are ``header``.

    ``kind`` is "image", "video", "disk_image" or "other". ``mime`` is None
    when nothing matched. Pass at least :data:`HEADER_SIZE` bytes when the
    file has them; shorter headers are fine (fewer rules can match).
    """
    if not isinstance(header, (bytes, bytearray, memoryview)):
        raise TypeError(f"sniff needs bytes, got {type(header).__name__}")
    header = bytes(header)
    if header[:3] == b"\xff\xd8\xff":
        return "image", "image/jpeg"
    if header[:8] == b"\x89PNG\r\n\x1a\n":
        return "image", "image/png"
    if header[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "image/gif"
    if _riff(header, b"WEBP"):
        return "image", "image/webp"
    if header[:2] == b"BM" and len(header) >= 26:
        return "image", "image/bmp"
    if header[:4] in (b"II*\x00", b"MM\x00*"):
        return "image", "image/tiff"
    brand = _iso_bmff_brand(header)
    if brand in _HEIF_BRANDS:
        return "image", "image/heif"
    if brand is not None:
        return "video", "video/quicktime" if brand == b"qt  " else "video/mp4"
    if header[:4] == b"\x1a\x45\xdf\xa3":
        return "video", "video/webm" if b"webm" in header[:64] else "video/x-matroska"
    if _riff(header, b"AVI "):
        return "video", "video/x-msvideo"
    if header[:3] == b"FLV":
        return "video", "video/x-flv"
    if header[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "video", "video/mpeg"
    if _mpeg_ts(header):
        return "video", "video/mp2t"
    if header[:8] == b"EVF\x09\x0d\x0a\xff\x00":
        return "disk_image", "application/x-ewf"
    if header[:4] == b"QFI\xfb":
        return "disk_image", "application/x-qemu-disk"
    if header[:4] == b"KDMV":
        return "disk_image", "application/x-vmdk"
    if header[:8] == b"vhdxfile":
        return "disk_image", "application/x-vhdx"
    if header[512:520] == b"EFI PART":
        return "disk_image", "application/x-raw-disk-image"
    if header[32769:32774] == b"CD001":
        return "disk_image", "application/x-iso9660-image"
    if header[1080:1082] == b"\x53\xef":
        return "disk_image", "application/x-ext-filesystem"
    if header[3:11] == b"NTFS    ":
        return "disk_image", "application/x-ntfs-filesystem"
    if header[510:512] == b"\x55\xaa" and (header[54:59] == b"FAT12" or header[54:59] == b"FAT16" or header[82:87] == b"FAT32"):
        return "disk_image", "application/x-fat-filesystem"
    if header[510:512] == b"\x55\xaa" and len(header) >= 4096:
        return "disk_image", "application/x-raw-disk-image"  # an MBR boot signature
    return "other", None
