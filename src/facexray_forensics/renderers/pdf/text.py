"""Text for the PDF: values as words, markup escaping, and long names cut in the middle.

The PDF's standard fonts hold only cp1252, so every string the report draws
goes through :func:`plain` first; reportlab reads cell and paragraph text
as markup, hence :func:`markup` and the :class:`Markup` cells already escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from facexray_forensics.records import Band, FaceResult, ItemReport, Status

#: Characters of one table cell before the rest is left to the JSON report.
CELL_CHARACTERS = 2000
#: Characters of an item's name in a heading, and in a narrow table column, before it is cut in the
#: middle (its start and its file name stay); the item's page then gives it whole, and the JSON always does.
HEADING_NAME_CHARACTERS = 120
CELL_NAME_CHARACTERS = 300


class Markup(str):
    """A table cell that is already reportlab markup (escaped by its maker)."""


def plain(text: Any) -> str:
    """Text the PDF's standard fonts can show unambiguously: characters outside
    Latin-1 and undecodable file-name bytes become visible escapes."""
    text = str(text)
    out = []
    for character in text:
        code = ord(character)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 32 or 127 <= code < 160:
            out.append(f"\\x{code:02x}")
        elif code > 255 and not _in_standard_fonts(character):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(character)
    return "".join(out)


def _in_standard_fonts(character: str) -> bool:
    """Whether the PDF's standard fonts (WinAnsi encoding, i.e. cp1252) have ``character``."""
    try:
        character.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def markup(text: Any) -> str:
    """``text`` made plain and escaped for reportlab's paragraph markup."""
    return escape(plain(text))


def shortened(text: Any, limit: int) -> str:
    """``text`` made plain (see :func:`plain`) and, when longer than ``limit``, cut in the middle with an
    ellipsis: the start and the end (a path's file name) stay, and no escape is split."""
    pieces = [plain(character) for character in str(text)]
    if sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    head = _leading(pieces, limit // 3)
    tail = _leading(pieces[::-1], limit - limit // 3 - 1)[::-1]
    return "".join(head) + "\u2026" + "".join(tail)


def _leading(pieces: list[str], limit: int) -> list[str]:
    """The first of ``pieces`` that together hold at most ``limit`` characters."""
    taken, length = [], 0
    for piece in pieces:
        length += len(piece)
        if length > limit:
            break
        taken.append(piece)
    return taken


def name_cell(name: str) -> Markup:
    """An item's name for a narrow table column, cut in the middle when long."""
    return Markup(escape(shortened(name, CELL_NAME_CHARACTERS)))


def cell_markup(value: Any) -> str:
    """A table cell's value as markup; a very long one is cut, the rest left to the JSON report."""
    if isinstance(value, Markup):
        return value
    text = format_value(value)
    if len(text) > CELL_CHARACTERS:
        # A table cell cannot break across pages: a longer one would not fit.
        text = f"{text[:CELL_CHARACTERS]} ... ({len(text)} characters in all; see the JSON report)"
    return markup(text)


def format_value(value: Any) -> str:
    """A record's or a plugin's value as the report writes it."""
    if value is None:
        return "—"
    if isinstance(value, np.generic):
        value = value.item()  # numpy scalars from plugins read like Python ones
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, np.ndarray):
        return f"<array {'×'.join(map(str, value.shape))} {value.dtype}>"
    if isinstance(value, Status | Band):
        return value.value
    return str(value)


def flatten(values: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts and lists as (dotted key, scalar) rows, in their own order.

    Lists of plain scalars stay one row; empty containers are one row too.
    """
    if isinstance(values, Mapping):
        if not values and prefix:
            return [(prefix, "")]
        rows = []
        for key, value in values.items():
            rows.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(values, (list, tuple)):
        if all(not isinstance(value, (Mapping, list, tuple)) for value in values):
            return [(prefix, ", ".join(format_value(value) for value in values))]
        rows = []
        for index, value in enumerate(values):
            rows.extend(flatten(value, f"{prefix}[{index}]"))
        return rows
    return [(prefix, values)]


def score_text(value: float | None) -> str:
    """A probability to three decimals, or a dash for no score (never zero)."""
    return "—" if value is None else f"{value:.3f}"


def frame_label(face: FaceResult) -> str:
    """The face's frame number, with its time in a video when known."""
    if face.timestamp is None:
        return str(face.frame_index)
    return f"{face.frame_index} ({face.timestamp:.2f} s)"


def hash_check(item: ItemReport) -> str:
    """Whether the item's hashes at the end of the scan agree with those before it."""
    verified = item.hash_verified
    if verified is None:
        return "not rechecked"
    return "verified" if verified else "MISMATCH"
