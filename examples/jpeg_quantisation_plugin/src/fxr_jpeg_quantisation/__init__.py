"""An example third-party scan plugin: what a JPEG's quantisation tables say.

The tables are the step sizes a JPEG encoder divided its DCT coefficients by.
Cameras, phone apps and editors choose them differently, so they hint at the
software that wrote the file last: a photo straight from a camera rarely
carries libjpeg's own scaled tables, while an image resaved by an editor or a
forgery tool usually does. The plugin reads the markers with the standard
library only, estimates the libjpeg ("IJG") quality that best explains the
tables, and reports the coding process and chroma subsampling. It is an
investigative hint like every finding, not proof of editing.
"""

from __future__ import annotations

from collections.abc import Mapping

from facexray_forensics.plugins import Plugin, ScanContext, Setting
from facexray_forensics.records import Column, Finding, Item

__all__ = ["JpegQuantisationPlugin", "read_jpeg_header", "ijg_table", "estimate_quality"]

# ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), row by row.
LUMINANCE_BASE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
CHROMINANCE_BASE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32  # fmt: skip

CODING_PROCESSES = {0xC0: "baseline", 0xC1: "extended sequential", 0xC2: "progressive", 0xC3: "lossless"}
# Markers that stand alone, without a length field.
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def _zigzag_positions() -> list[int]:
    """Row-major index of each coefficient in the order a DQT segment stores them."""
    positions = []
    for diagonal in range(15):
        rows = range(max(0, diagonal - 7), min(diagonal, 7) + 1)
        # Even diagonals run from bottom-left to top-right, odd ones the other way.
        for row in reversed(rows) if diagonal % 2 == 0 else rows:
            positions.append(row * 8 + (diagonal - row))
    return positions


ZIGZAG = _zigzag_positions()


def read_jpeg_header(stream) -> dict:
    """Read the quantisation tables and frame header of a JPEG stream.

    Returns ``{"tables": {id: 64 step sizes, row by row}, "coding": str | None,
    "components": [(id, horizontal, vertical, table id), ...]}``. Stops at the
    first scan. Raises ValueError when the stream is not a JPEG or a marker
    segment is cut short.
    """
    if stream.read(2) != b"\xff\xd8":
        raise ValueError("not a JPEG: no start-of-image marker")
    header = {"tables": {}, "coding": None, "components": []}
    while True:
        byte = stream.read(1)
        if not byte:
            raise ValueError("the file ends before its first scan")
        if byte != b"\xff":
            raise ValueError(f"expected a marker, found byte 0x{byte[0]:02x}")
        marker = stream.read(1)
        while marker == b"\xff":  # fill bytes may pad before a marker
            marker = stream.read(1)
        if not marker:
            raise ValueError("the file ends inside a marker")
        code = marker[0]
        if code in _STANDALONE:
            continue
        if code in (0xD9, 0xDA):  # end of image, start of scan: the header is over
            return header
        length_bytes = stream.read(2)
        if len(length_bytes) < 2:
            raise ValueError(f"marker 0x{code:02x} is cut short")
        payload = stream.read(int.from_bytes(length_bytes, "big") - 2)
        if len(payload) < int.from_bytes(length_bytes, "big") - 2:
            raise ValueError(f"marker 0x{code:02x} is cut short")
        if code == 0xDB:
            _read_tables(payload, header["tables"])
        elif 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
            header["coding"] = CODING_PROCESSES.get(code, f"other (SOF{code - 0xC0})")
            header["components"] = [
                (payload[offset], payload[offset + 1] >> 4, payload[offset + 1] & 15, payload[offset + 2])
                for offset in range(6, 6 + 3 * payload[5], 3)
                if offset + 2 < len(payload)
            ]


def _read_tables(payload: bytes, tables: dict) -> None:
    offset = 0
    while offset < len(payload):
        precision, table_id = payload[offset] >> 4, payload[offset] & 15
        width = 2 if precision else 1
        body = payload[offset + 1 : offset + 1 + 64 * width]
        if len(body) < 64 * width:
            raise ValueError("a quantisation table is cut short")
        stored = [int.from_bytes(body[index : index + width], "big") for index in range(0, 64 * width, width)]
        natural = [0] * 64
        for value, position in zip(stored, ZIGZAG):
            natural[position] = value
        tables[table_id] = natural
        offset += 1 + 64 * width


def ijg_table(base: tuple[int, ...], quality: int) -> list[int]:
    """The table libjpeg writes for ``quality`` (1-100), limited to baseline's 1-255."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(max((step * scale + 50) // 100, 1), 255) for step in base]


def estimate_quality(tables: Mapping[int, list[int]]) -> tuple[int | None, int | None]:
    """The IJG quality whose tables are nearest, and their distance (0: an exact match).

    Table 0 is compared with the luminance base and table 1 with the
    chrominance base; the distance is the sum of absolute differences.
    Returns (None, None) without a table 0.
    """
    if 0 not in tables:
        return None, None
    bases = {0: LUMINANCE_BASE, 1: CHROMINANCE_BASE}
    compared = [table_id for table_id in (0, 1) if table_id in tables]

    def distance(quality: int) -> int:
        return sum(
            abs(found - expected)
            for table_id in compared
            for found, expected in zip(tables[table_id], ijg_table(bases[table_id], quality))
        )

    best = min(range(1, 101), key=distance)
    return best, distance(best)


def _subsampling(components: list[tuple[int, int, int, int]]) -> str | None:
    if not components:
        return None
    if len(components) == 1:
        return "greyscale"
    luma, chroma = components[0], components[1:]
    named = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0", (4, 1): "4:1:1"}
    if all((horizontal, vertical) == (1, 1) for _, horizontal, vertical, _ in chroma):
        return named.get((luma[1], luma[2]), f"{luma[1]}x{luma[2]}")
    return ",".join(f"{horizontal}x{vertical}" for _, horizontal, vertical, _ in components)


class JpegQuantisationPlugin(Plugin):
    """Reports a JPEG's quantisation tables as an estimated IJG quality."""

    name = "jpeg_quantisation"
    version = "0.1.0"
    handles = frozenset({"image"})
    description = "JPEG quantisation tables: estimated IJG quality, coding process, chroma subsampling."
    columns = (
        Column("estimated_ijg_quality", int, "the IJG quality whose tables are nearest the file's"),
        Column("chroma_subsampling", str, "chroma subsampling of the colour components, as 4:2:0"),
    )
    # Named after the plugin, as third-party settings must be: the flag is --jpeg-quantisation-max-distance.
    settings = (
        Setting("jpeg_quantisation_max_distance", "int", None, "Give an estimated IJG quality only for tables within "
                "this sum of absolute step differences of that quality's; farther ones were not made by libjpeg's "
                "scaling, and the estimate stays empty. Default: no limit.", minimum=0),
    )

    def start_up(self, context: ScanContext) -> None:
        self.max_distance = context.settings["jpeg_quantisation_max_distance"]

    def process(self, item: Item, earlier: Mapping[str, Finding]) -> Finding:
        """Read the item's JPEG header; a non-JPEG or a broken header gives a reason, not an error."""
        finding = Finding(plugin=self.name, version=self.version)
        try:
            with item.open() as stream:
                header = read_jpeg_header(stream)
        except (OSError, ValueError) as error:
            finding.reason = str(error)
            return finding
        quality, distance = estimate_quality(header["tables"])
        if self.max_distance is not None and distance is not None and distance > self.max_distance:
            quality = None
        luminance = header["tables"].get(0)
        finding.values = {
            "quantisation_tables": len(header["tables"]),
            "estimated_ijg_quality": quality,
            "ijg_table_distance": distance,
            "matches_ijg_tables": distance == 0,
            "mean_luminance_step": round(sum(luminance) / 64, 3) if luminance else None,
            "coding": header["coding"],
            "chroma_subsampling": _subsampling(header["components"]),
        }
        return finding
